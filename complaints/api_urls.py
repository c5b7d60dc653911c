from django.urls import path

from complaints import api

urlpatterns = [
    path("complaints/", api.ComplaintListApi.as_view(), name="api-complaint-list"),
    path("complaints/<str:reference>/", api.ComplaintDetailApi.as_view(), name="api-complaint-detail"),
    path("complaints/<str:reference>/messages/", api.ComplaintMessageApi.as_view(), name="api-complaint-messages"),
    path("complaints/<str:reference>/assign/", api.ComplaintAssignApi.as_view(), name="api-complaint-assign"),
    path(
        "complaints/<str:reference>/transitions/", api.ComplaintTransitionApi.as_view(), name="api-complaint-transition"
    ),
]
