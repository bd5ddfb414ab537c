"""Websocket routes of every app."""

from bidding.evaluation.routing import websocket_urlpatterns as evaluation_ws
from bidding.opening.routing import websocket_urlpatterns as opening_ws
from bidding.tenders.routing import websocket_urlpatterns as tenders_ws

websocket_urlpatterns = [*tenders_ws, *opening_ws, *evaluation_ws]
