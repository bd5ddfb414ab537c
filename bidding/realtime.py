"""Websocket group names and broadcasts for tenders. Code outside the consumers
announces through here, after the data it announces has been committed."""

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


def tender_group(tender_id: int) -> str:
    return f"tender.{int(tender_id)}"


def opening_group(tender_id: int) -> str:
    return f"opening.{int(tender_id)}"


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


def tender_state(tender) -> dict:
    from . import lifecycle

    return {
        "type": "tender.state",
        "tender": tender.pk,
        "reference": tender.reference,
        "status": tender.status,
        "status_label": str(tender.get_status_display()),
        "deadline": tender.deadline.isoformat(),
        "available": [e.target for e in lifecycle.available_transitions(tender)],
    }


def broadcast_tender_state_on_commit(tender) -> None:
    """After the surrounding transaction commits, tell every watcher the new state."""
    tender_id = tender.pk

    def send():
        from .models import Tender

        current = Tender.objects.get(pk=tender_id)
        group_send(tender_group(tender_id), {"type": "tender.state",
                                             "state": tender_state(current)})

    transaction.on_commit(send)
