"""What the window does with time, without Qt: playing a run and following a live run.

Owns: ``Playback`` (the step shown, play and pause, speed, following the newest step of a live
run). Every method takes the time it acts at, so tests drive them without a clock and without a
display; ``ui.window`` turns keys, the slider and Qt's timers into these calls and draws what they
return. (A window's recording is not captured from the screen: ``video.take`` renders the path the
user played, at VIDEO_FPS.)

May import: ``core`` and numpy. Never Qt, VisPy or torch (a live run is handed in as a
``core.live.LiveRun`` or ``core.live_process.LiveProcess``).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.geometry import ACTIVATION_RANGE
from ..core.trajectory import Trajectory

SPEEDS = (0.5, 1, 2, 5, 10, 20, 50)  # playback, epochs per second
DEFAULT_SPEED = 10  # the default 100-epoch run plays in 10 s, as long as `deform3d record`'s video
VIDEO_FPS = 30  # a window's recordings


class Playback:
    """The step a window shows and how it moves. ``run``: the Trajectory shown (a live run's
    snapshot while it trains); ``live``: the LiveRun training it, or None."""

    def __init__(self, speed: float = DEFAULT_SPEED):
        self.run: Trajectory | None = None
        self.live = None
        self.step = 0.0
        self.playing = False
        self.following = False  # live: the view jumps to each newest step
        self.speed = float(speed)  # epochs per second
        self._last_tick = 0.0

    @property
    def training(self) -> bool:
        return self.live is not None and not self.live.finished

    def seek(self, t: float, follow: bool | None = None) -> float:
        """Go to fractional step ``t``, clamped to the run (``math.inf``: the newest step); returns
        it. Following: as given, else whether ``t`` is the newest step."""
        end = self.run.num_steps
        t = min(max(float(t), 0.0), float(end))
        self.following = (t >= end) if follow is None else follow
        self.step = t
        return t

    def nudge(self, n: int, epoch: bool = False) -> float:
        """The step one step (or epoch) forwards (n > 0) or back from here, on the step (or epoch) grid."""
        size = self.run.steps_per_epoch if epoch else 1
        if n > 0:
            return (math.floor(self.step / size + 1e-9) + 1) * size
        return (math.ceil(self.step / size - 1e-9) - 1) * size

    def set_playing(self, on: bool, now: float) -> bool:
        """Play (from time ``now``) or pause. Returns True where playing from the end of a finished
        run rewound to step 0."""
        rewind = bool(on) and self.run is not None and self.step >= self.run.num_steps and not self.training
        if rewind:
            self.step = 0.0
        self.playing = bool(on) and self.run is not None
        if self.playing:
            self._last_tick = now
        return rewind

    def advance(self, now: float) -> float | None:
        """Playing: the step to show at time ``now``, moved on by the time since the last call (any
        frame rate). None: nothing to show (paused, or caught up with a live run: its next
        published steps move it). At the end of a finished run playback pauses there."""
        if not self.playing:
            return None
        dt, self._last_tick = now - self._last_tick, now
        end = self.run.num_steps
        t = self.step + dt * self.speed * self.run.steps_per_epoch
        if t >= end:
            t = float(end)
            if not self.training:
                self.playing = False
            elif self.step >= end:
                self.following = True
                return None
        return t

    def take_published(self) -> bool:
        """A live run's newest published steps: True when the run grew (``run`` is then the longer
        snapshot; the step stays unless following, see ``seek``). Never waits on the trainer."""
        if self.live is None or self.live.published <= self.run.num_steps:
            return False
        self.run = self.live.snapshot()
        return True

    def training_ended(self) -> bool:
        """Call once a live run has finished: pauses playback that was waiting at the end for steps
        that will not come; returns whether it did."""
        if self.playing and self.step >= self.run.num_steps:
            self.playing = False
            return True
        return False


def needs_reframe(run: Trajectory) -> bool:
    """Whether a live run's framing, guessed from its first step, must be rebuilt once it ends:
    k = 4 (the PCA projection of the final lift) and unbounded activations (boxes from the final run)."""
    return run.hidden == 4 or not np.isfinite(ACTIVATION_RANGE[run.activation][1])
