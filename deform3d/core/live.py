"""Training in a background thread that a window watches: a run that grows while you look at it.

Owns: the training thread and the hand-off of a growing run to the UI thread without locks or
waits. The trainer writes every step's weights into one preallocated buffer and hands it over
after each epoch (``trainer.train``'s ``on_epoch``); here, still in the training thread, the new
steps get their loss and accuracy, and only then is the count of finished steps published: one int
assignment. Rows up to that count are never written again, so ``snapshot()`` on the UI thread reads
them at any moment, as views, without waiting on a training step.

Imports torch (through ``trainer``); never VisPy or Qt.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import torch

from .config import TrainConfig
from .data import load_dataset
from .geometry import Weights
from .trainer import initial_weights, run_meta, step_metrics, train
from .trajectory import Trajectory


class _Stopped(Exception):
    """Raised inside the trainer's epoch hook to end a run nobody watches any more."""


class LiveRun:
    """``LiveRun(config).start()``; then ``snapshot()`` from any thread, as often as you like.

    ``published``: steps finished so far (0 before the first epoch ends); ``total``: steps the run
    will have; ``finished``: the thread has ended (``error`` holds what went wrong, if anything).
    ``stop()`` asks the thread to end after the current epoch and returns at once.
    """

    def __init__(self, config: TrainConfig = TrainConfig()):
        self.config = config
        self.data = load_dataset(config)  # raises UsageError on a bad CSV, before any thread starts
        self.steps_per_epoch = math.ceil(len(self.data.X) / config.batch_size)
        self.total = self.steps_per_epoch * config.epochs
        self._X = torch.from_numpy(np.ascontiguousarray(self.data.X, np.float32))
        self._y = torch.from_numpy(self.data.y.astype(np.float32))
        k = config.hidden
        # Step 0 is known before training starts, so a window can open on it at once.
        self._weights = initial_weights(config).numpy()[None].copy()
        self._loss = np.zeros(self.total + 1, np.float32)
        self._accuracy = np.zeros(self.total + 1, np.float32)
        loss, acc = step_metrics(torch.from_numpy(self._weights), self._X, self._y, k, config.activation)
        self._loss[0], self._accuracy[0] = loss[0], acc[0]
        self.meta = run_meta(config, self.data, self.steps_per_epoch)
        self.published = 0
        self.finished = False
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()  # for wait(): notified after each publish and at the end
        self._thread = threading.Thread(target=self._run, name="deform3d-training", daemon=True)

    def start(self) -> "LiveRun":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the trainer to stop at the end of its epoch; never waits for it."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread (tests and shutdown only; a window never calls this)."""
        self._thread.join(timeout)

    def wait(self, steps: int, timeout: float | None = None) -> bool:
        """Wait until ``steps`` steps are published or the run has ended; True if the steps are
        there. For scripts and tests: a window polls ``published`` and never waits."""
        with self._changed:
            self._changed.wait_for(lambda: self.published >= steps or self.finished, timeout)
        return self.published >= steps

    @property
    def running(self) -> bool:
        return not self.finished

    def snapshot(self) -> Trajectory:
        """The run so far as a Trajectory of views over the published steps (no copy, no lock)."""
        n = self.published  # read once: everything up to n was written before n was published
        flat = self._weights[: n + 1]
        return Trajectory(
            Weights.from_flat(flat, self.config.hidden),
            self._loss[: n + 1],
            self._accuracy[: n + 1],
            self.data.X,
            self.data.y,
            self.meta,
        )

    # ------------------------------------------------------------ the training thread

    def _on_epoch(self, record: torch.Tensor, steps: int) -> None:
        if self._stop.is_set():
            raise _Stopped
        a, b = self.published + 1, steps + 1
        loss, acc = step_metrics(record[a:b], self._X, self._y, self.config.hidden, self.config.activation)
        self._loss[a:b], self._accuracy[a:b] = loss, acc
        self._weights = record.numpy()  # the trainer's buffer itself: later rows fill in place
        self.published = steps  # last: publishing the count is what makes rows a..steps visible
        with self._changed:
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            train(self.config, self.data, progress=False, on_epoch=self._on_epoch)
        except _Stopped:
            pass
        except BaseException as e:  # reported by the window; a thread has nobody else to tell
            self.error = e
        finally:
            self.finished = True
            with self._changed:
                self._changed.notify_all()
