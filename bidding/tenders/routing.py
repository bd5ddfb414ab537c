from django.urls import path

from .consumers import TenderFeedConsumer

websocket_urlpatterns = [
    path("ws/tenders/<str:tender_id>/", TenderFeedConsumer.as_asgi()),
]
