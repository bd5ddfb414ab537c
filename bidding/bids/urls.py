from django.urls import path

from . import views

app_name = "bids"
urlpatterns = [
    path("tenders/<str:tender_id>/bid/", views.bid_page, name="bid"),
]
