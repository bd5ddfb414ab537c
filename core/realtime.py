"""Websocket broadcasts from synchronous code, after the data they announce has been
committed. Each stage names its own groups (``tender_group``, ``opening_group``) and
builds its own events; this module only carries them."""

from __future__ import annotations

import asyncio
import json
import threading

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction
from rest_framework.exceptions import ParseError

from core.parsers import loads


def group_send(group: str, message: dict) -> None:
    """Send to a channel-layer group from synchronous code.

    From a thread that already runs an event loop (a sync caller inside an async
    framework, such as a test driving a browser) the send runs in a helper thread, since
    async_to_sync cannot run there."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, message)
        return
    worker = threading.Thread(target=async_to_sync(layer.group_send), args=(group, message))
    worker.start()
    worker.join()


def broadcast_on_commit(group: str, event: dict) -> None:
    """After the surrounding transaction commits, send ``event`` to every member of
    ``group``; consumers forward it to their clients as is."""

    def send():
        group_send(group, hall_message(event))

    transaction.on_commit(send)


def hall_message(event: dict) -> dict:
    """The channel-layer message that carries ``event`` to a hall's consumers: the event,
    and its JSON text encoded once here rather than once per connected client."""
    return {"type": "hall.event", "event": event, "text": json.dumps(event)}


class GroupJsonConsumer(AsyncJsonWebsocketConsumer):
    """What every live page's socket does the same way: refuse with a close code the
    client can read, join one group, answer malformed input with an error to that client
    only, answer ``ping`` and ``state``, and forward broadcasts encoded once by the sender
    (``hall_message``) without a database hop.

    A subclass defines ``_state()`` (the snapshot sent on joining and on ``state``)
    and may override ``receive_json`` for its own actions (calling ``super()`` for the
    rest)."""

    async def refuse(self, code: int = 4403) -> None:
        # Accept first: a close before accepting is an HTTP 403 at the handshake, and the
        # client never sees the documented close code.
        await self.accept()
        await self.close(code=code)

    async def join(self, group: str) -> None:
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
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

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "state":
            await self.send_json(await self._state())
        else:
            await self._error("unknown_type", "unknown message type")

    async def _error(self, code, message):
        await self.send_json({"type": "error", "code": code, "message": message})

    async def dispatch(self, message):
        # A broadcast touches no database, so it skips the close_old_connections() that
        # Channels runs before every handler: that is a hop to the one sync thread per
        # consumer per message, and with a thousand watchers in a process those hops,
        # one after another, were most of the time to reach the last client.
        if message.get("type") == "hall.event":
            text = message.get("text")
            if text is None:
                text = await self.encode_json(message["event"])
            await self.send(text_data=text)
        else:
            await super().dispatch(message)
