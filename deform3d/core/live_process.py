"""Live training in a child process that a window watches, so the window's process never imports
torch and never shares its interpreter lock with a trainer.

Owns: ``LiveProcess``, the same growing-run interface as ``core.live.LiveRun`` (``published``,
``total``, ``finished``, ``error``, ``snapshot()``, ``start``/``stop``/``join``) plus ``ready``
(step 0 is there: the child has imported torch and drawn the seeded initial weights), and the
child's entry point (``python -m deform3d.core.live_process FOLDER``).

Why a process: ``import torch`` holds the interpreter lock for up to 0.2-0.8 s at a time (the
extension's own initialisation, measured on two CPU cores), and a trainer thread's Python loop
competes with the GUI thread for the lock every step; a window must never stall that long. The
child runs ``LiveRun``'s own code (the same steps, bit for bit) and copies each epoch's rows into a
memory-mapped file the parent maps too. The hand-off keeps LiveRun's rule: rows are written first,
then the count of finished steps is published with one 8-byte store, and published rows are never
written again, so the parent reads them at any moment without a lock or a wait.

The parent side imports numpy and the light core modules only (data loading included: a bad CSV
is a UsageError before any process starts); never torch. The child imports ``core.live`` (torch).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .data import load_dataset
from .geometry import Weights
from .trajectory import Trajectory

# The header of the shared file: int64 slots.
PUBLISHED, FINISHED, STOP, READY = range(4)
HEADER = 8  # int64 slots (room to grow)


def _layout(total: int, k: int) -> tuple[int, int]:
    """(bytes of the shared file, parameters per step) for ``total`` steps of a width-``k`` network."""
    p = 5 * k + 5
    return HEADER * 8 + (total + 1) * (p + 2) * 4, p


def _views(buf: np.memmap, total: int, k: int):
    """header (int64), weights (total + 1, p), loss, accuracy (float32) over one mapped file."""
    _, p = _layout(total, k)
    header = np.ndarray((HEADER,), np.int64, buf, 0)
    off = HEADER * 8
    weights = np.ndarray((total + 1, p), np.float32, buf, off)
    off += weights.nbytes
    loss = np.ndarray((total + 1,), np.float32, buf, off)
    accuracy = np.ndarray((total + 1,), np.float32, buf, off + loss.nbytes)
    return header, weights, loss, accuracy


class LiveProcess:
    """``LiveProcess(config).start()``; poll ``ready`` and ``published``; ``snapshot()`` any time
    after ``ready``. Never waits on the child except in ``join`` (tests and shutdown)."""

    def __init__(self, config: TrainConfig = TrainConfig()):
        self.config = config
        self.data = load_dataset(config)  # UsageError on a bad CSV, before any process starts
        self.steps_per_epoch = math.ceil(len(self.data.X) / config.batch_size)
        self.total = self.steps_per_epoch * config.epochs
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.folder = Path(tempfile.mkdtemp(prefix="deform3d-live-", dir=base))
        size, _ = _layout(self.total, config.hidden)
        with open(self.folder / "buffer", "wb") as f:
            f.truncate(size)
        (self.folder / "config.json").write_text(json.dumps(config.to_dict()))
        self._buf = np.memmap(self.folder / "buffer", np.uint8, "r+", shape=(size,))
        self._header, self._weights, self._loss, self._accuracy = _views(self._buf, self.total, config.hidden)
        self.meta: dict | None = None
        self._proc: subprocess.Popen | None = None
        self._error: BaseException | None = None

    def start(self) -> "LiveProcess":
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        with open(self.folder / "stderr.txt", "wb") as err:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "deform3d.core.live_process", str(self.folder), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )
        return self

    # ------------------------------------------------------------ what the parent reads

    @property
    def ready(self) -> bool:
        """Step 0 is published (and the run's metadata read)."""
        if self.meta is None and self._header[READY]:
            self.meta = json.loads((self.folder / "meta.json").read_text())
        return self.meta is not None

    @property
    def published(self) -> int:
        return int(self._header[PUBLISHED])

    @property
    def finished(self) -> bool:
        if self._header[FINISHED]:
            return True
        return self._proc is not None and self._proc.poll() is not None

    @property
    def running(self) -> bool:
        return not self.finished

    @property
    def error(self) -> BaseException | None:
        """What went wrong in the child (a RuntimeError with its one-line message), once finished."""
        if self._error is None and self.finished:
            path = self.folder / "error.txt"
            if path.exists():
                self._error = RuntimeError(path.read_text().strip() or "training failed")
            elif self._proc is not None and self._proc.poll() not in (None, 0):
                tail = (self.folder / "stderr.txt").read_text(errors="replace").strip().splitlines()[-1:]
                self._error = RuntimeError(
                    tail[0] if tail else f"the training process exited with {self._proc.returncode}"
                )
        return self._error

    def snapshot(self) -> Trajectory:
        """The run so far: views over the published rows of the shared file (no copy, no lock)."""
        if not self.ready:
            raise RuntimeError("the live run has no step yet; poll ready first")
        n = self.published  # read once: everything up to n was written before n was published
        assert self.meta is not None  # (set with the first published step)
        return Trajectory(
            Weights.from_flat(self._weights[: n + 1], self.config.hidden),
            self._loss[: n + 1],
            self._accuracy[: n + 1],
            self.data.X,
            self.data.y,
            self.meta,
        )

    def copy(self) -> Trajectory:
        """The run so far as a Trajectory of its own arrays (outlives this object: save, keep)."""
        run = self.snapshot()
        return Trajectory(
            Weights.from_flat(run.weights.flat().copy(), self.config.hidden),
            run.loss.copy(),
            run.accuracy.copy(),
            run.X,
            run.y,
            dict(run.meta),
        )

    # ------------------------------------------------------------ control

    def stop(self) -> None:
        """Ask the child to end after its current epoch; never waits for it."""
        self._header[STOP] = 1

    def join(self, timeout: float | None = None) -> None:
        """Wait for the child (tests and shutdown only); killed if it outlives ``timeout``."""
        if self._proc is None:
            return
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def close(self) -> None:
        """Stop the child and remove the shared file (the parent's views stay valid: it is mapped)."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


# ---------------------------------------------------------------- the child


def _die_with_parent(parent: int) -> None:
    """End this child when the window's process ends, however it ends (a killed window never runs
    its close handler): Linux sends SIGTERM on the parent's death, which ends training here, and
    the shared file goes with it."""

    def on_term(signum, frame):
        _TERMINATED.append(signum)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above
        raise SystemExit(0)


_TERMINATED: list[int] = []  # SIGTERMs received (by _die_with_parent's handler)


def _child(folder: Path, parent: int) -> int:
    try:
        _die_with_parent(parent)
        return _train(folder)
    finally:
        # Orphaned, or terminated (the parent's death signal: it can arrive before getppid shows the
        # new parent, and nobody else will remove the shared file).
        if os.getppid() != parent or _TERMINATED:
            shutil.rmtree(folder, ignore_errors=True)


def _train(folder: Path) -> int:
    config = TrainConfig(**json.loads((folder / "config.json").read_text()))
    data = load_dataset(config)
    total = math.ceil(len(data.X) / config.batch_size) * config.epochs
    size, _ = _layout(total, config.hidden)
    buf = np.memmap(folder / "buffer", np.uint8, "r+", shape=(size,))
    header, weights, loss, accuracy = _views(buf, total, config.hidden)
    try:
        from .live import LiveRun, _Stopped  # torch, in this process only

        class _Shared(LiveRun):
            def _on_epoch(self, record, steps):
                if header[STOP]:
                    raise _Stopped
                a = self.published + 1
                super()._on_epoch(record, steps)
                b = steps + 1
                weights[a:b], loss[a:b], accuracy[a:b] = self._weights[a:b], self._loss[a:b], self._accuracy[a:b]
                header[PUBLISHED] = steps  # last: the rows above are what it makes visible

        live = _Shared(config)
        weights[0], loss[0], accuracy[0] = live._weights[0], live._loss[0], live._accuracy[0]
        (folder / "meta.json").write_text(json.dumps(live.meta))
        header[READY] = 1
        if not header[STOP]:
            live._run()  # in this thread: the process is the background
            if live.error is not None:
                e = live.error
                (folder / "error.txt").write_text(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    except BaseException as e:
        try:
            (folder / "error.txt").write_text(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        except OSError:
            pass  # the parent removed the folder: nobody is listening
    finally:
        header[FINISHED] = 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1]), int(sys.argv[2])))
