"""Websocket consumers: thin. Authenticate in connect(), read through access functions."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

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
            await self.close(code=4404)
            return
        self.group = tender_group(state["tender"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(state)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message": "unknown message type"})

    async def tender_state(self, event):
        await self.send_json(event["state"])

    @database_sync_to_async
    def _state(self, tender_id):
        try:
            tender = access_tender(self.scope.get("user"), tender_id)
        except TenderNotFound:
            return None
        return tender_state(tender)
