"""Progress of long work (training, recording), in the form that fits where it is shown.

Owns: every progress display of deform3d and what ``progress=`` means in the API:

- True (or None, the same): shown. On a terminal, a tqdm bar on stderr that fits the terminal's
  width and whose ETA follows the recent rate (tqdm's smoothing: the first, slow step does not
  inflate it); in a Jupyter kernel, tqdm's widget in the cell; anywhere else (CI logs, ``| tee``,
  nohup) a plain line at every tenth of the work, so a log gets ten lines, not a flood of ``\\r``.
  Work that ends within ``DELAY_S`` shows nothing: a bar that flashes for a tenth of a second is noise.
- False: nothing (the CLI's ``--quiet``).
- a callable ``(done, total)``: called after every update, and nothing else is shown, so a
  program can drive its own bar.

Imports tqdm only when a bar or widget is shown; never torch or VisPy.
"""

from __future__ import annotations

import sys
import time

DELAY_S = 0.5
LINES = 10  # plain lines per run of work where stderr is not a terminal
# A bar that names the count and the ETA in words; tqdm fills in the width ({bar}) to fit.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit}s [{elapsed}, ETA {remaining}, {rate_fmt}]"


def in_jupyter() -> bool:
    """Whether this process is a Jupyter kernel (where stderr goes to a cell, and widgets show)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def check_progress(progress) -> None:
    """Refuse a ``progress=`` that is neither a bool, None nor a callable, naming what is allowed."""
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be True, False or a callable (done, total), got {progress!r}")


class Progress:
    """``with Progress(total, "training", "step", progress) as bar: bar.update(n)``.

    ``progress``: as in the module docstring. ``stream``: where a bar or lines go (default
    stderr; a widget is used only for the kernel's own stderr, or a stream whose ``jupyter_cell``
    is true). ``delay``: seconds before anything is shown.
    """

    def __init__(self, total: int, label: str, unit: str = "it", progress=None, stream=None, delay: float = DELAY_S):
        check_progress(progress)
        self.total, self.label, self.unit = max(int(total), 1), label, unit
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.done = 0
        self._callback = progress if callable(progress) and not isinstance(progress, bool) else None
        self._bar = None  # a tqdm bar or widget
        self._lines_shown = 0  # tenths reported as plain lines
        self.start = time.perf_counter()
        self._first: tuple[float, int] | None = None  # (time, done) at the first update: rates start there
        if progress is False or self._callback is not None or total <= 0:
            self.mode = None
        elif getattr(self.stream, "jupyter_cell", self.stream is sys.stderr) and in_jupyter():
            self.mode = "widget"
        elif _isatty(self.stream):
            self.mode = "bar"
        else:
            self.mode = "lines"
        if self.mode in ("widget", "bar"):
            self._bar = self._tqdm()

    def _tqdm(self):
        if self.mode == "widget":
            from tqdm.auto import tqdm  # the ipywidgets bar in a kernel (text if ipywidgets is missing)

            kw = {}
        else:
            from tqdm import tqdm

            kw = {"file": self.stream, "dynamic_ncols": True, "bar_format": BAR_FORMAT}
        return tqdm(
            total=self.total, desc=self.label, unit=self.unit, delay=self.delay, mininterval=0.1, leave=True, **kw
        )

    def __enter__(self):
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._callback is not None:
            self._callback(self.done, self.total)
        elif self._bar is not None:
            self._bar.update(n)
        elif self.mode == "lines":
            now = time.perf_counter()
            if self._first is None:
                self._first = (now, self.done)
            tenth = min(self.done * LINES // self.total, LINES)
            if tenth > self._lines_shown:  # a tenth crossed: a line, once the delay has passed
                self._lines_shown = tenth
                if now - self.start >= self.delay:
                    self._line(now)

    def _line(self, now: float) -> None:
        t0, d0 = self._first or (self.start, 0)
        rate = (self.done - d0) / (now - t0) if now > t0 and self.done > d0 else self.done / max(now - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        try:
            self.stream.write(
                f"{self.label}: {100 * self.done // self.total:3d}% ({self.done}/{self.total} "
                f"{self.unit}s, {rate:,.1f} {self.unit}/s, ETA {eta:.1f} s)\n"
            )
            self.stream.flush()
        except (OSError, ValueError):
            self.mode = None  # a closed log must not turn finished work into a traceback

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.mode = None

    def __exit__(self, *exc):
        self.close()
        return False


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
