from django.urls import path

from . import api

urlpatterns = [
    path("tenders/<str:tender_id>/bids/", api.BidSubmitApi.as_view()),
    path("tenders/<str:tender_id>/bids/uploads/", api.UploadStartApi.as_view()),
    path("tenders/<str:tender_id>/bids/mine/", api.MyBidApi.as_view()),
    path("tenders/<str:tender_id>/bids/mine/receipt/", api.MyReceiptApi.as_view()),
    path("tenders/<str:tender_id>/bids/mine/receipt.pdf", api.MyReceiptApi.as_view(),
         {"fmt": "pdf"}),
    path("tenders/<str:tender_id>/bids/withdraw/", api.WithdrawApi.as_view()),
    path("tenders/<str:tender_id>/bond/", api.BondApi.as_view()),
    path("bids/uploads/<str:upload_id>/", api.UploadApi.as_view()),
    path("bids/uploads/<str:upload_id>/chunks/<int:index>/", api.UploadChunkApi.as_view()),
    path("bids/uploads/<str:upload_id>/complete/", api.UploadCompleteApi.as_view()),
    path("bonds/refunds-due/", api.RefundsDueApi.as_view()),
    path("bonds/<uuid:bond_id>/refunded/", api.RefundDoneApi.as_view()),
]
