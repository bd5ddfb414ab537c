from django.urls import path

from . import api

urlpatterns = [
    path("tenders/<str:tender_id>/bids/mine/headers/", api.MyEnvelopeHeadersApi.as_view()),
    path("tenders/<str:tender_id>/opening/", api.OpeningStateApi.as_view()),
    path("tenders/<str:tender_id>/opening/signin/", api.signin),
    path("tenders/<str:tender_id>/opening/decrypt/", api.decrypt),
    path("tenders/<str:tender_id>/opening/shares/", api.share),
    path("tenders/<str:tender_id>/opening/objections/", api.objection),
    path("tenders/<str:tender_id>/opening/answers/", api.answer),
    path("tenders/<str:tender_id>/opening/confirm/", api.confirm),
    path("tenders/<str:tender_id>/opening/record.pdf", api.OpeningRecordApi.as_view()),
    path("tenders/<str:tender_id>/opening/proof/", api.InclusionProofApi.as_view()),
    path("tenders/<str:tender_id>/opening/my-share/", api.MyKeyShareApi.as_view()),
]
