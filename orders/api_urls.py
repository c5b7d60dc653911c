from django.urls import path

from orders.api import OrderDetailApi, OrderIngestApi, OrderListApi

urlpatterns = [
    path("orders/", OrderListApi.as_view(), name="api-order-list"),
    path("orders/batch/", OrderIngestApi.as_view(), name="api-order-batch"),
    path("orders/<str:tracking_number>/", OrderDetailApi.as_view(), name="api-order-detail"),
]
