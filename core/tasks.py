"""Celery tasks of the clock: take ids, re-check state, run the idempotent tick.

The task names are wire names: messages already queued in Redis (a deadline task
scheduled weeks ahead) carry them, so they keep the names they had before the
stages moved into their own apps.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings

from . import clock

log = logging.getLogger(__name__)


@shared_task(name="bidding.tasks.lifecycle_tick", ignore_result=True)
def clock_tick() -> list[str]:
    """Periodic (beat): every clock job that is due. Returns the names of failed jobs."""
    report = clock.tick()
    if report.failed:
        log.warning("clock jobs failed: %s", ", ".join(report.failed))
    return report.failed


@shared_task(name="bidding.tasks.tender_deadline_reached", ignore_result=True, acks_late=True)
def deadline_reached(tender_id: int) -> list[str]:
    """Scheduled at a deadline. Runs the same idempotent tick: if the deadline moved
    later, nothing is due and nothing happens; the task for the new time does it."""
    return clock_tick()


def schedule_at(when: datetime, *, object_id: int) -> None:
    """Ask a worker to tick at ``when``. With no broker (eager mode) the in-process
    clock covers it, so nothing is queued."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    deadline_reached.apply_async(args=[object_id], eta=when)
