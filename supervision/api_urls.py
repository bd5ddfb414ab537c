from django.urls import path

from . import api, flag_api

urlpatterns = [
    path("audit/events/", api.AuditEventsApi.as_view()),
    path("audit/verify/", api.AuditVerifyApi.as_view()),
    # Public, no sign-in: the log's tree heads and proofs.
    path("audit/sth/", api.AuditTreeHeadsApi.as_view()),
    path("audit/sth/latest/", api.AuditTreeHeadLatestApi.as_view()),
    path("audit/consistency/", api.AuditConsistencyApi.as_view()),
    path("audit/inclusion/", api.AuditInclusionApi.as_view()),
    # The supervisor's risk queue (supervisors and operators).
    path("supervision/flags/", flag_api.FlagQueueApi.as_view()),
    path("supervision/flags/<int:tender_id>/", flag_api.FlagDetailApi.as_view()),
]
