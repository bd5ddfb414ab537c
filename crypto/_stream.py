"""Helpers that let the envelope's streaming loops use a second core cheaply.

:class:`Sidecar` is what :mod:`crypto.envelope` uses: one helper thread that
runs one job (hash, or write) on views of the caller's buffers, in order, while
the caller reads, encrypts or decrypts and does the other job itself. The hand-off
costs two C-level ``SimpleQueue`` operations per chunk and allocates nothing per
chunk: the caller owns a ring of preallocated buffers, gets a ticket for every
view it submits and calls :meth:`Sidecar.wait` with that ticket before it
refills the buffer. ``hashlib``, file writes and AES-GCM in ``cryptography``
release the GIL, so the two threads really run at once.

:class:`Pipeline` is the older two-stage pool (hash in one helper thread, write
in another, ``queue.Queue`` hand-offs); the envelope no longer uses it, because
its extra thread and its per-chunk lock traffic cost more CPU than they saved.

With ``threaded=False`` every job runs inline in the caller's thread, in the
same order; the results are identical.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, Self

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


class Slot:
    """A pair of reusable buffers: ``a`` and ``b`` (memoryviews of bytearrays)."""

    __slots__ = ("a", "b")

    def __init__(self, size_a: int, size_b: int):
        self.a = memoryview(bytearray(size_a))
        self.b = memoryview(bytearray(size_b))


class Pipeline:
    """Hash one view and hand another to ``sink``, in order, then free the slot.

    Use as a context manager; leaving it waits for the helpers and re-raises the
    first error they met (for example a full disk in ``sink``).
    """

    def __init__(
        self,
        digest: Any | None,
        sink: Callable[[memoryview], object] | None,
        *,
        slots: int,
        size_a: int,
        size_b: int,
        threaded: bool = True,
    ):
        self._digest = digest
        self._sink = sink
        self._threaded = threaded
        self._free: queue.Queue[Slot] = queue.Queue()
        for _ in range(slots):
            self._free.put(Slot(size_a, size_b))
        self._error: BaseException | None = None
        if threaded:
            self._to_write: queue.Queue = queue.Queue()
            self._threads = [threading.Thread(target=self._write_loop, daemon=True)]
            if digest is None:
                self._to_hash = self._to_write
            else:
                self._to_hash = queue.Queue()
                self._threads.append(
                    threading.Thread(target=self._hash_loop, daemon=True)
                )
            for t in self._threads:
                t.start()

    def take(self) -> Slot:
        """A free slot; blocks while every slot is still in the pipeline."""
        self._raise_pending()
        return self._free.get()

    def give_back(self, slot: Slot) -> None:
        """Return a slot that was taken but not submitted."""
        self._free.put(slot)

    def submit(self, slot: Slot, hash_view: memoryview, out_view: memoryview) -> None:
        """Queue ``hash_view`` for the digest and ``out_view`` for the sink."""
        self._raise_pending()
        if not self._threaded:
            if self._digest is not None:
                self._digest.update(hash_view)
            if self._sink is not None:
                self._sink(out_view)
            self._free.put(slot)
            return
        self._to_hash.put((slot, hash_view, out_view))

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def _hash_loop(self) -> None:
        while True:
            item = self._to_hash.get()
            if item is _STOP:
                self._to_write.put(_STOP)
                return
            if self._error is None:
                try:
                    self._digest.update(item[1])
                except BaseException as exc:  # noqa: BLE001 - re-raised in caller
                    self._error = exc
            self._to_write.put(item)

    def _write_loop(self) -> None:
        while True:
            item = self._to_write.get()
            if item is _STOP:
                return
            slot, _, out_view = item
            if self._error is None and self._sink is not None:
                try:
                    self._sink(out_view)
                except BaseException as exc:  # noqa: BLE001 - re-raised in caller
                    self._error = exc
            self._free.put(slot)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._threaded:
            self._to_hash.put(_STOP)
            for t in self._threads:
                t.join()
        if exc_type is None:
            self._raise_pending()
