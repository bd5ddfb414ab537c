from django.urls import path

from . import api, bids_api

urlpatterns = [
    path("tenders/", api.TenderListCreateApi.as_view(), name="api-tenders"),
    path("tenders/mine/", api.MyTendersApi.as_view(), name="api-tenders-mine"),
    path("tenders/<str:tender_id>/", api.TenderDetailApi.as_view(), name="api-tender"),
    path("tenders/<str:tender_id>/publish/", api.TenderPublishApi.as_view()),
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
    path("tenders/<str:tender_id>/bids/uploads/", bids_api.UploadStartApi.as_view()),
    path("tenders/<str:tender_id>/bids/mine/", bids_api.MyBidApi.as_view()),
    path("tenders/<str:tender_id>/bids/mine/receipt/", bids_api.MyReceiptApi.as_view()),
    path("tenders/<str:tender_id>/bids/mine/receipt.pdf", bids_api.MyReceiptApi.as_view(),
         {"fmt": "pdf"}),
    path("tenders/<str:tender_id>/bids/withdraw/", bids_api.WithdrawApi.as_view()),
    path("tenders/<str:tender_id>/bond/", bids_api.BondApi.as_view()),
    path("bids/uploads/<str:upload_id>/", bids_api.UploadApi.as_view()),
    path("bids/uploads/<str:upload_id>/chunks/<int:index>/", bids_api.UploadChunkApi.as_view()),
    path("bids/uploads/<str:upload_id>/complete/", bids_api.UploadCompleteApi.as_view()),
    path("bonds/refunds-due/", bids_api.RefundsDueApi.as_view()),
    path("bonds/<int:bond_id>/refunded/", bids_api.RefundDoneApi.as_view()),
    path("notifications/", bids_api.NotificationsApi.as_view()),
]
