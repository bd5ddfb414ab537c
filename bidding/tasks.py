"""Celery tasks: take ids, re-check state, call the lifecycle. Safe to repeat."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings

from audit.services import audit_checkpoint

from . import bids, lifecycle, opening
from .models import Tender

log = logging.getLogger(__name__)


@shared_task(name="bidding.tasks.lifecycle_tick", ignore_result=True)
def lifecycle_tick() -> list[int]:
    """Periodic: make every clock-driven move that is due (beat, or the in-process clock)."""
    moved = lifecycle.advance_by_clock()
    if moved:
        log.info("clock moved tenders %s", moved)
    after_deadline()
    audit_checkpoint()
    return moved


def after_deadline() -> None:
    """What follows the close of bidding: a tender with too few bids fails (Reg 44)."""
    closed = Tender.objects.filter(status=Tender.Status.BIDDING_CLOSED).values_list(
        "pk", flat=True)
    for tender_id in list(closed):
        bids.bidding_closed_outcome(tender_id=tender_id)
    opening.opening_tick()


@shared_task(name="bidding.tasks.tender_deadline_reached", ignore_result=True, acks_late=True)
def tender_deadline_reached(tender_id: int) -> list[int]:
    """Scheduled at a tender's deadline. Runs the same idempotent tick: if the deadline
    moved later, the tender is not due and nothing happens; the task scheduled for the
    new deadline does it."""
    return lifecycle_tick()


def schedule_deadline(tender_id: int, deadline: datetime) -> None:
    """Ask a worker to run at ``deadline``. With no broker (eager mode) the in-process
    clock covers it, so nothing is queued."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    tender_deadline_reached.apply_async(args=[tender_id], eta=deadline)
