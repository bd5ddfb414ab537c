"""Websocket routes of every app."""

from bidding.routing import websocket_urlpatterns as bidding_ws

websocket_urlpatterns = [*bidding_ws]
