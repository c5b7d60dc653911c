from django.urls import path

from customers.api import CustomerDetailApi

urlpatterns = [
    path("customers/<str:external_id>/", CustomerDetailApi.as_view(), name="api-customer-detail"),
]
