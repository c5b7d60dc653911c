from django.urls import path

from complaints import views

urlpatterns = [
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/<str:token>/", views.complaint_detail, name="complaint-detail"),
]
