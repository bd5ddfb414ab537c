from django.urls import path

from . import api

urlpatterns = [
    path("tenders/", api.TenderListCreateApi.as_view(), name="api-tenders"),
    path("tenders/mine/", api.MyTendersApi.as_view(), name="api-tenders-mine"),
    path("tenders/<str:tender_id>/", api.TenderDetailApi.as_view(), name="api-tender"),
    path("tenders/<str:tender_id>/publish/", api.TenderPublishApi.as_view()),
    path("tenders/<str:tender_id>/cancel/", api.TenderCancelApi.as_view()),
    path("tenders/<str:tender_id>/suspend/", api.TenderSuspendApi.as_view()),
    path("tenders/<str:tender_id>/resume/", api.TenderResumeApi.as_view()),
    path("tenders/<str:tender_id>/transitions/", api.TenderTransitionsApi.as_view()),
    path("tenders/<str:tender_id>/documents/", api.TenderDocumentsApi.as_view()),
    path("tenders/<str:tender_id>/documents/<str:document_id>/", api.TenderDocumentApi.as_view()),
    path(
        "tenders/<str:tender_id>/documents/<str:document_id>/download/",
        api.TenderDocumentDownloadApi.as_view(),
        name="api-document-download",
    ),
    path("tenders/<str:tender_id>/obtain/", api.TenderObtainApi.as_view()),
    path("tenders/<str:tender_id>/register/", api.TenderRegisterApi.as_view()),
    path("tenders/<str:tender_id>/clarifications/", api.ClarificationsApi.as_view()),
    path(
        "tenders/<str:tender_id>/clarifications/<str:clarification_id>/answer/",
        api.ClarificationAnswerApi.as_view(),
    ),
    path("tenders/<str:tender_id>/amendments/", api.AmendmentsApi.as_view()),
    path("tenders/<str:tender_id>/custody/", api.TenderCustodyApi.as_view()),
]
