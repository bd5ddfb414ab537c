"""The in-process clock for the embedded stack (no broker, no beat).

A daemon thread runs the lifecycle tick every ``EMBEDDED_CLOCK_SECONDS``. With
Redis configured, beat and the per-deadline tasks do this instead and the thread
is not started, so web processes stay stateless.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)
_started = threading.Event()


def _run(stop: threading.Event, interval: float) -> None:
    from bidding.tasks import lifecycle_tick

    while not stop.wait(interval):
        try:
            close_old_connections()
            lifecycle_tick()
        except Exception:  # keep ticking; the next tick retries the same work
            log.exception("lifecycle tick failed")
        finally:
            close_old_connections()


def start_embedded_clock() -> threading.Event | None:
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
