from django.urls import path

from . import refunds, views

app_name = "bids"
urlpatterns = [
    path("tenders/<str:tender_id>/bid/", views.bid_page, name="bid"),
    path("refunds/", refunds.refunds_page, name="refunds"),
    path("refunds/<uuid:bond_id>/refunded/", refunds.refund_record, name="refund_record"),
    path("tenders/<str:tender_id>/bid/bond/", views.bond_record, name="bond"),
]
