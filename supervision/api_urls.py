from django.urls import path

from . import api, cases_api, flag_api

urlpatterns = [
    path("audit/events/", api.AuditEventsApi.as_view()),
    path("audit/verify/", api.AuditVerifyApi.as_view()),
    path("audit/checkpoints/", api.AuditCheckpointsApi.as_view()),
    # Public, no sign-in: the log's tree heads and proofs.
    path("audit/sth/", api.AuditTreeHeadsApi.as_view()),
    path("audit/sth/latest/", api.AuditTreeHeadLatestApi.as_view()),
    path("audit/consistency/", api.AuditConsistencyApi.as_view()),
    path("audit/inclusion/", api.AuditInclusionApi.as_view()),
    # The supervisor's risk queue (supervisors and operators).
    path("supervision/flags/", flag_api.FlagQueueApi.as_view()),
    path("supervision/flags/<int:tender_id>/", flag_api.FlagDetailApi.as_view()),
    # Supervisors' cases (operators may read the list).
    path("supervision/cases/", cases_api.CasesApi.as_view()),
    path("supervision/cases/<int:case_id>/", cases_api.CaseDetailApi.as_view()),
    path("supervision/cases/<int:case_id>/decide/", cases_api.CaseDecideApi.as_view()),
    path("supervision/cases/<int:case_id>/subjects/", cases_api.CaseSubjectApi.as_view()),
    path("supervision/cases/<int:case_id>/evidence/", cases_api.CaseEvidenceApi.as_view()),
    path("supervision/cases/<int:case_id>/steps/", cases_api.CaseStepApi.as_view()),
    path("supervision/cases/<int:case_id>/decision/", cases_api.CaseDecisionApi.as_view()),
    path("supervision/cases/<int:case_id>/decision.pdf",
         cases_api.CaseDecisionPdfApi.as_view()),
    path("supervision/records/<str:code>/", cases_api.PartyRecordApi.as_view()),
]
