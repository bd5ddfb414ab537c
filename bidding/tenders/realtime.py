"""The tender feed's websocket group and the state it carries."""

from __future__ import annotations

from django.db import transaction

from core import timefmt
from core.realtime import group_send


def tender_group(tender_id: int) -> str:
    return f"tender.{int(tender_id)}"


def tender_state(tender) -> dict:
    from . import lifecycle

    return {
        "type": "tender.state",
        "tender": tender.pk,
        "reference": tender.reference,
        "status": tender.status,
        "status_label": str(tender.get_status_display()),
        "deadline": timefmt.iso(tender.deadline),
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
