from django.urls import path

from . import views

app_name = "evaluation"

P = "tenders/<str:tender_id>/evaluation/"

urlpatterns = [
    path(P, views.room, name="room"),
    path(P + "chair-vote/", views.chair_vote, name="chair_vote"),
    path(P + "criteria/", views.criteria, name="criteria"),
    path(P + "bids/", views.bids, name="bids"),
    path(P + "bids/<str:key>/", views.bid_document, name="document"),
    path(P + "bids/<str:key>/document", views.bid_document_inline, name="document_inline"),
    path(P + "bids/<str:key>/download", views.bid_document_download,
         name="document_download"),
    path(P + "sheets/<str:stage>/", views.sheet, name="sheet"),
    path(P + "chair/", views.chair, name="chair"),
    path(P + "report/", views.report, name="report"),
    path(P + "report/view.pdf", views.report_pdf, name="report_pdf"),
]
