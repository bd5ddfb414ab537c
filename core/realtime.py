"""Websocket broadcasts from synchronous code, after the data they announce has been
committed. Each stage names its own groups (``tender_group``, ``opening_group``) and
builds its own events; this module only carries them."""

from __future__ import annotations

import asyncio
import json
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


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
