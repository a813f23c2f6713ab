"""A small terminal progress bar (rate and ETA), shown only on a TTY and never when quiet.

Owns: progress output on stderr. Imports nothing heavy.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress(total, "training", "step") as bar: bar.update(n)``; redraws at most 10x/s."""

    def __init__(self, total: int, label: str, unit: str = "it", enabled: bool | None = None, stream=None):
        self.total, self.label, self.unit = max(int(total), 1), label, unit
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.start = self._last = time.perf_counter()

    def __enter__(self):
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self._last >= 0.1 or self.done >= self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        frac = min(self.done / self.total, 1.0)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * int(24 * frac) + "-" * (24 - int(24 * frac))
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total} {self.unit}s "
            f"{rate:,.0f} {self.unit}/s ETA {eta:4.1f}s "
        )
        self.stream.flush()

    def __exit__(self, *exc):
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()
        return False
