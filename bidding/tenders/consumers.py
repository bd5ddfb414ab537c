"""Websocket consumers: thin. Authenticate in connect(), read through access functions."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework.exceptions import ParseError

from core.parsers import loads

from .policies import TenderNotFound, access_tender
from .realtime import tender_group, tender_state


class TenderFeedConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/tenders/<id>/``: the tender's status, now and whenever it changes.

    Anyone who may see the tender's page may watch it (drafts only their owners).
    On connect and on every change the client receives
    ``{"type": "tender.state", "status": ..., "deadline": ..., "available": [...]}``.
    """

    async def connect(self):
        tender_id = self.scope["url_route"]["kwargs"]["tender_id"]
        state = await self._state(tender_id)
        if state is None:
            # Accept first: a close before accepting is an HTTP 403 at the handshake, and
            # the client would never see the documented close code 4404.
            await self.accept()
            await self.close(code=4404)
            return
        self.group = tender_group(state["tender"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(state)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Malformed input answers an error instead of ending the consumer with an exception.
        try:
            content = loads(text_data) if text_data is not None else None
        except ParseError as exc:
            await self.send_json({"type": "error", "code": exc.detail.code or "invalid",
                                  "message": str(exc.detail)})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type",
                                  "message": "unknown message type"})

    async def tender_state(self, event):
        await self.send_json(event["state"])

    @database_sync_to_async
    def _state(self, tender_id):
        try:
            tender = access_tender(self.scope.get("user"), tender_id)
        except TenderNotFound:
            return None
        return tender_state(tender)
