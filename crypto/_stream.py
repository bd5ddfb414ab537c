"""Helpers that let the envelope's streaming loops use a second core cheaply.

:class:`Sidecar` is what :mod:`crypto.envelope` uses: one helper thread that
runs one job (hash, or write) on views of the caller's buffers, in order, while
the caller reads, encrypts or decrypts and does the other job itself. The hand-off
costs two C-level ``SimpleQueue`` operations per chunk and allocates nothing per
chunk: the caller owns a ring of preallocated buffers, gets a ticket for every
view it submits and calls :meth:`Sidecar.wait` with that ticket before it
refills the buffer. ``hashlib``, file writes and AES-GCM in ``cryptography``
release the GIL, so the two threads really run at once.

With ``threaded=False`` every job runs inline in the caller's thread, in the
same order; the results are identical.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Self

_STOP = object()


class Sidecar:
    """Run ``work(view)`` for every submitted view, in order, in one helper thread.

    ``submit`` returns a ticket (1, 2, ...); ``wait(ticket)`` returns once
    ``work`` has finished with that view and everything before it, so the
    caller may then overwrite the buffer behind it. Use as a context manager:
    leaving it waits for the queued work, even when the ``with`` body raised (so
    a writer still writes every chunk queued before a later chunk failed), and
    re-raises the first error ``work`` raised (for example a full disk); after
    such an error the remaining views are skipped.
    """

    def __init__(self, work: Callable[[memoryview], object], *, threaded: bool = True):
        self._work = work
        self._threaded = threaded
        self._sent = 0
        self._done = 0
        self._error: BaseException | None = None
        if threaded:
            self._todo: SimpleQueue = SimpleQueue()
            self._acks: SimpleQueue = SimpleQueue()
            self._thread = threading.Thread(
                target=self._loop, name="envelope-sidecar", daemon=True
            )
            self._thread.start()

    def submit(self, view: memoryview) -> int:
        """Queue ``view`` for ``work``; return its ticket."""
        if self._error is not None:
            raise self._error
        self._sent += 1
        if self._threaded:
            self._todo.put(view)
        else:
            self._work(view)
            self._done = self._sent
        return self._sent

    def wait(self, ticket: int) -> None:
        """Block until ``work`` is done with the view of ``ticket`` (0: no wait)."""
        while self._done < ticket:
            self._done = self._acks.get()
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        get, ack, work = self._todo.get, self._acks.put, self._work
        n = 0
        while True:
            view = get()
            if view is _STOP:
                return
            n += 1
            if self._error is None:
                try:
                    work(view)
                except BaseException as exc:  # noqa: BLE001 - re-raised in caller
                    self._error = exc
            ack(n)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._threaded:
            self._todo.put(_STOP)
            self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

