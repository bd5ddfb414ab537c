from django.urls import path

from .consumers import OpeningHallConsumer, TenderFeedConsumer

websocket_urlpatterns = [
    path("ws/tenders/<str:tender_id>/", TenderFeedConsumer.as_asgi()),
    path("ws/openings/<str:tender_id>/", OpeningHallConsumer.as_asgi()),
]
