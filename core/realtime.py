"""Websocket broadcasts from synchronous code, after the data they announce has been
committed. Each stage names its own groups (``tender_group``, ``opening_group``) and
builds its own events; this module only carries them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading

from asgiref.sync import async_to_sync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction
from rest_framework.exceptions import ParseError

from core.parsers import loads

log = logging.getLogger(__name__)


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


def _run_eagerly(coro) -> asyncio.Task | None:
    """Run ``coro`` at once, in the caller's turn of the event loop. None if it finished
    without having to wait (a socket's write normally does); otherwise a task that
    finishes it, so that one slow socket waits alone."""
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_finish(coro, waiting_on))


async def _finish(coro, waiting_on) -> None:
    """Drive a coroutine started by ``_run_eagerly`` to its end, as a task would."""
    try:
        while True:
            if waiting_on is None:  # a bare yield: give the loop one turn
                await asyncio.sleep(0)
            else:
                await asyncio.wait([waiting_on])
            waiting_on = coro.send(None)
    except StopIteration:
        pass
    finally:
        coro.close()


class _GroupHub:
    """The members of one group in this process, behind one channel-layer subscription.

    A broadcast arrives once per process, is decoded once, and its text (encoded once by
    the sender, ``hall_message``) is written to every member socket in one pass, instead
    of being queued, woken, decoded and dispatched once per socket. A member socket that
    cannot take the write at once (a slow reader) gets its own queue and task, so it
    never holds up the others; messages reach each socket in the order sent."""

    hubs: dict[tuple[int, str], _GroupHub] = {}

    def __init__(self, layer, group: str):
        self.layer, self.group = layer, group
        self.loop = asyncio.get_running_loop()
        self.members: dict[GroupJsonConsumer, None] = {}  # insertion-ordered set
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.ready = asyncio.ensure_future(self._subscribe())

    @classmethod
    async def enter(cls, layer, group: str, member: GroupJsonConsumer) -> _GroupHub:
        key = (id(layer), group)
        hub = cls.hubs.get(key)
        if hub is None or hub.loop is not asyncio.get_running_loop():
            hub = cls.hubs[key] = cls(layer, group)
        hub.members[member] = None
        try:
            await asyncio.shield(hub.ready)
        except BaseException:
            await hub.leave(member)
            raise
        return hub

    async def leave(self, member: GroupJsonConsumer) -> None:
        self.members.pop(member, None)
        if self.members:
            return
        key = (id(self.layer), self.group)
        if self.hubs.get(key) is self:
            del self.hubs[key]
        if self.listener is not None:
            self.listener.cancel()
        if self.channel is not None:
            with contextlib.suppress(Exception):
                await self.layer.group_discard(self.group, self.channel)

    async def _subscribe(self) -> None:
        channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, channel)
        self.channel = channel
        self.listener = asyncio.ensure_future(self._listen())

    async def _listen(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            try:
                self._fan_out(message)
            except Exception:  # one bad message must not end the hall's broadcasts
                log.exception("broadcast to group %s failed", self.group)

    def _fan_out(self, message: dict) -> None:
        if message.get("type") == "hall.event":
            text = message.get("text")
            if text is None:
                text = json.dumps(message["event"])
            for member in list(self.members):
                member._deliver(text)
        else:  # another kind of group message: each member's own handler
            for member in list(self.members):
                asyncio.ensure_future(member.dispatch(message))


class GroupJsonConsumer(AsyncJsonWebsocketConsumer):
    """What every live page's socket does the same way: refuse with a close code the
    client can read, join one group, answer malformed input with an error to that client
    only, answer ``ping`` and ``state``, and forward broadcasts encoded once by the sender
    (``hall_message``) without a database hop.

    A subclass defines ``_state()`` (the snapshot sent on joining and on ``state``)
    and may override ``receive_json`` for its own actions (calling ``super()`` for the
    rest).

    The sockets of one group in a process share one channel-layer subscription
    (``_GroupHub``); a socket has no channel of its own (``channel_layer_alias = None``:
    nothing is ever sent to one socket through the layer), which also spares every
    connect and disconnect a round trip to Redis."""

    channel_layer_alias = None
    _hub: _GroupHub | None = None
    # Broadcasts waiting for this socket: while it joins (until its state is sent) and
    # while a write to it has to wait. None when writes go straight through.
    _outbox: list[str] | None = None

    async def refuse(self, code: int = 4403) -> None:
        # Accept first: a close before accepting is an HTTP 403 at the handshake, and the
        # client never sees the documented close code.
        await self.accept()
        await self.close(code=code)

    async def join(self, group: str) -> None:
        self.group = group
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("live pages need a channel layer (CHANNEL_LAYERS)")
        # Subscribed before the state is read, so nothing sent after the snapshot is lost;
        # what arrives meanwhile is held until the snapshot has gone out.
        self._outbox = []
        self._hub = await _GroupHub.enter(layer, group, self)
        try:
            await self.accept()
            await self.send_json(await self._state())
            await self._drain()
        except BaseException:
            await self.disconnect(None)
            raise

    async def disconnect(self, code):
        hub, self._hub = self._hub, None
        if hub is not None:
            await hub.leave(self)

    def _deliver(self, text: str) -> None:
        """A broadcast for this socket (called by the hub, in order)."""
        if self._outbox is not None:
            self._outbox.append(text)
            return
        pending = _run_eagerly(self._send_text(text))
        if pending is not None:  # this socket is slow: later broadcasts queue behind
            self._outbox = []
            pending.add_done_callback(lambda _task: asyncio.ensure_future(self._drain()))

    async def _drain(self) -> None:
        while self._outbox:
            await self._send_text(self._outbox.pop(0))
        self._outbox = None

    async def _send_text(self, text: str) -> None:
        try:
            await self.send(text_data=text)
        except Exception as exc:  # noqa: BLE001 - the socket is gone; disconnect() follows
            log.debug("broadcast to a closed socket dropped: %r", exc)

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
        # Channels runs before every handler (a hop to the one sync thread per message).
        if message.get("type") == "hall.event":
            text = message.get("text")
            if text is None:
                text = await self.encode_json(message["event"])
            await self.send(text_data=text)
        else:
            await super().dispatch(message)
