"""Websocket routes of the evaluation room."""

from django.urls import path

from .consumers import EvaluationRoomConsumer

websocket_urlpatterns = [
    path("ws/tenders/<str:tender_id>/evaluation/", EvaluationRoomConsumer.as_asgi()),
]
