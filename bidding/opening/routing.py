from django.urls import path

from .consumers import OpeningHallConsumer

websocket_urlpatterns = [
    path("ws/openings/<str:tender_id>/", OpeningHallConsumer.as_asgi()),
]
