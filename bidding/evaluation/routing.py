"""Websocket routes of the evaluation room."""

websocket_urlpatterns: list = []
