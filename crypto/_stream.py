"""A bounded two-stage pipeline that hashes and writes finished chunks.

Sealing or opening a large file spends most of its time in SHA-256 and in the
write, not in AES-GCM. ``hashlib``, AES-GCM in ``cryptography`` and file writes
all release the GIL, so hashing chunk *i* and writing chunk *i-1* in two helper
threads while the caller encrypts chunk *i+1* uses a second core. Memory stays
bounded: the caller takes buffers from a fixed pool of slots and a slot goes
back to the pool only after both stages are done with it.

With ``threaded=False`` every stage runs inline in the caller's thread, in the
same order; the results are identical. With ``digest=None`` there is no hashing
stage (and no hashing thread): views go straight to the sink.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Self

_STOP = object()


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
