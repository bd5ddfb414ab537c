"""A plain progress bar on a text stream (stderr), no dependency."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.2:
            return
        self._last = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * self.width)
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
