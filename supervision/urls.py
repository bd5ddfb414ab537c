from django.urls import path

from . import flag_views, views

app_name = "supervision"
urlpatterns = [
    path("audit/", views.audit_trail, name="audit"),
    path("flags/", flag_views.flag_queue, name="flags"),
    path("flags/<int:tender_id>/", flag_views.flag_detail, name="flag_detail"),
]
