"""The opening hall's websocket consumer: thin. It authenticates in connect() through
``policies.access_hall``, reads through ``selectors.hall_state`` and acts through
``actions.perform``; the state lives in the database, never in the socket."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework.exceptions import ParseError

from core.parsers import loads

from .actions import perform
from .policies import HallRefused, access_hall
from .realtime import opening_group
from .selectors import hall_state


class OpeningHallConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/openings/<tender id>/``: the live opening hall.

    On connect the client gets ``hall.state`` (everything it may see); afterwards every
    change arrives as a small event (``hall.phase``, ``hall.announce``, ``hall.counters``,
    ``hall.signin``, ``hall.objection``, ``hall.answer``, ``hall.share``,
    ``hall.confirmed``, ``hall.closed``). Clients act by sending ``{"type": ...}``:
    ``state``, ``signin``, ``decrypt`` (``bid_key``, ``price_sheet_key``), ``share``
    (``share``), ``objection`` (``text``), ``answer`` (``objection``, ``answer``),
    ``confirm`` (``remark``), ``ping``. A refused action answers
    ``{"type": "error", "code", "message"}`` to that client only. After a reconnect the
    client receives the full state again: nothing lives in the socket.
    """

    actions = {"signin", "decrypt", "share", "objection", "answer", "confirm"}

    async def connect(self):
        self.tender_id = self.scope["url_route"]["kwargs"]["tender_id"]
        try:
            self.tender_pk, self.role = await self._enter()
        except HallRefused:  # no such tender, or not a participant: the same answer
            # Accept first: a close before accepting is an HTTP 403 at the handshake, and
            # the client never sees the documented close code.
            await self.accept()
            await self.close(code=4403)
            return
        self.group = opening_group(self.tender_pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await self._state())

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Malformed input (not JSON, binary, too deep, NUL in text) answers an error to
        # this client instead of ending the consumer with an exception.
        if text_data is None:
            await self._error("invalid", "Messages are JSON text.")
            return
        try:
            content = loads(text_data)
        except ParseError as exc:
            await self._error(exc.detail.code or "invalid", str(exc.detail))
            return
        await self.receive_json(content, **kwargs)

    async def _error(self, code, message):
        await self.send_json({"type": "error", "code": code, "message": message})

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "state":
            await self.send_json(await self._state())
        elif kind in self.actions:
            error = await self._act(kind, content)
            if error:
                await self.send_json({"type": "error", **error})
            else:
                await self.send_json({"type": "ok", "action": kind})
        else:
            await self._error("unknown_type", "unknown message type")

    async def dispatch(self, message):
        # A broadcast touches no database, so it skips the close_old_connections() that
        # Channels runs before every handler: that is a hop to the one sync thread per
        # consumer per message, and with a thousand watchers in a process those hops,
        # one after another, were most of the time to reach the last client.
        if message.get("type") == "hall.event":
            await self.hall_event(message)
        else:
            await super().dispatch(message)

    async def hall_event(self, event):
        # The sender encodes the event once (``core.realtime.hall_message``); every consumer
        # forwards the same text.
        text = event.get("text")
        if text is None:
            text = await self.encode_json(event["event"])
        await self.send(text_data=text)

    @database_sync_to_async
    def _enter(self):
        tender, role = access_hall(self.scope.get("user"), self.tender_id)
        return tender.pk, role

    @database_sync_to_async
    def _state(self):
        tender, role = access_hall(self.scope.get("user"), self.tender_pk)
        return hall_state(tender, self.scope.get("user"), role)

    @database_sync_to_async
    def _act(self, kind, content):
        return perform(self.scope.get("user"), self.tender_pk, kind, content)
