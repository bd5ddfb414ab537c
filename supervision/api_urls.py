from django.urls import path

from . import api

urlpatterns = [
    path("audit/events/", api.AuditEventsApi.as_view()),
    path("audit/verify/", api.AuditVerifyApi.as_view()),
]
