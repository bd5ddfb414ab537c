"""The clock: one tick runs every registered job, each isolated from the others.

Time drives the procedure: a deadline passes whether or not anyone clicks. Each stage
registers what must happen when time passes (``register_job`` from its
``AppConfig.ready()``); ``tick()`` runs them in order. A job that fails is logged
and the tick goes on to the next job, so one bad record cannot stop the whole clock;
jobs isolate their objects from each other in the same way with ``for_each``.

Who calls ``tick()``: Celery beat every 30 s and a task at each deadline
(``core.tasks``) on the production stack; on the embedded stack (no broker) a daemon
thread in the web process (``start_embedded_clock``). Every job is idempotent, so
running the tick twice, or from two processes at once, does no harm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)
_started = threading.Event()


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], object]
    order: int


_jobs: dict[str, Job] = {}


def register_job(name: str, run: Callable[[datetime], object], *, order: int) -> None:
    """Add ``run(now)`` to every tick; lower ``order`` runs first. Registering the same
    name again replaces the job (app reloads in tests)."""
    _jobs[name] = Job(name, run, order)


def jobs() -> list[Job]:
    return sorted(_jobs.values(), key=lambda j: (j.order, j.name))


@dataclass
class TickReport:
    ran: list[str]
    failed: list[str]
    results: dict[str, object]


def tick(*, now: datetime | None = None) -> TickReport:
    """Run every registered job once, in order; a job's failure does not stop the rest."""
    now = now or timezone.now()
    report = TickReport([], [], {})
    for job in jobs():
        try:
            report.results[job.name] = job.run(now)
            report.ran.append(job.name)
        except Exception:  # isolate: log, go on with the next job
            log.exception("clock job %s failed", job.name)
            report.failed.append(job.name)
    return report


def for_each(ids: Iterable, step: Callable[[object], object], *, what: str) -> list:
    """Run ``step(id)`` for each id; one failing object is logged and skipped, the others
    go on. Returns the ids whose step returned a truthy value."""
    done = []
    for object_id in list(ids):
        try:
            if step(object_id):
                done.append(object_id)
        except Exception:
            log.exception("clock: %s %s failed; the next tick retries it", what, object_id)
    return done


def _run(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            close_old_connections()
            tick()
        except Exception:  # keep ticking; the next tick retries the same work
            log.exception("clock tick failed")
        finally:
            close_old_connections()


def start_embedded_clock() -> threading.Event | None:
    """Start the in-process clock thread (embedded stack only). Returns its stop event."""
    if not settings.EMBEDDED_CLOCK or _started.is_set():
        return None
    _started.set()
    stop = threading.Event()
    thread = threading.Thread(
        target=_run,
        args=(stop, settings.EMBEDDED_CLOCK_SECONDS),
        name="lifecycle-clock",
        daemon=True,
    )
    thread.start()
    log.info("embedded clock started (every %ss)", settings.EMBEDDED_CLOCK_SECONDS)
    return stop
