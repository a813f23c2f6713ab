"""The anatomy's timeline: video time -> the stage of the forward pass shown, at one training step.

Owns: ``AnatomyTimeline``, the time layout of an anatomy video (a hold at each of the 8 stages, a
move between each two, eased so each move starts and ends at rest) and the camera on video time.
Same interface as ``timeline.Timeline`` (``at``, ``state``, ``time``, ``len``, iteration), so the
one frame pipeline (video.pipeline) draws it. Imports numpy and deform3d.media.timeline only:
never torch or VisPy. Deterministic: no clocks.

Time layout of a video of N frames at fps (T = (N - 1) / fps), in units of HOLD + MOVE weights::

    | stage 0 held | 0 -> 1 | stage 1 held | 1 -> 2 | ... | 6 -> 7 | stage 7 held |

8 holds of weight HOLD and 7 moves of weight MOVE share T: a 10 s video holds each stage about
0.45 s and takes about 0.9 s for each move; ``--duration 20`` doubles both.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.config import LAST_STAGE, RecordConfig, check_fps
from ..core.errors import ConfigError
from .timeline import FrameClock, FrameState

HOLD, MOVE = 1.0, 2.0  # the weights of a hold at a stage and of a move between two


def stage_at(u: float) -> float:
    """The stage (0..7) at fraction u in [0, 1] of the video: holds and eased moves (module docstring)."""
    unit = 1.0 / ((LAST_STAGE + 1) * HOLD + LAST_STAGE * MOVE)
    x = min(max(float(u), 0.0), 1.0) / unit
    i = min(int(x // (HOLD + MOVE)), LAST_STAGE)
    into = x - i * (HOLD + MOVE) - HOLD  # time into the move after stage i's hold (<= 0: holding)
    if i == LAST_STAGE or into <= 0:
        return float(i)
    a = min(into / MOVE, 1.0)
    return i + a * a * (3.0 - 2.0 * a)  # smoothstep: each move starts and ends at rest


class AnatomyTimeline(FrameClock):
    """Frame index / video time -> FrameState: the stages 0..7 at training step ``step``.

    ``frame_count`` frames (>= 2) at ``fps``; ``camera``: an Orbit (anything with ``at(t) ->
    (azimuth, elevation, distance)``); the scene turns it to look down on the plane for the 2-D
    stages. ``num_steps`` is 0: no training moves in this video.
    """

    num_steps = 0
    pace = "anatomy"

    def __init__(self, step: float, frame_count: int, fps: float, camera):
        if isinstance(frame_count, bool) or not isinstance(frame_count, (int, np.integer)) or frame_count < 2:
            raise ConfigError("frames", f"must be an integer >= 2, got {frame_count!r}")
        if not math.isfinite(step) or step < 0:
            raise ValueError(f"step must be a finite number >= 0, got {step!r}")
        self.step, self.frame_count, self.fps, self.camera = float(step), int(frame_count), check_fps(fps), camera

    @classmethod
    def from_config(cls, step: float, config: RecordConfig, camera) -> "AnatomyTimeline":
        return cls(step, config.frame_count, config.frame_rate, camera)

    def at(self, t: float) -> FrameState:
        azimuth, elevation, distance = self.camera.at(t)
        stage = stage_at(float(t) / self.last_time if self.last_time > 0 else 1.0)
        return FrameState(
            self.step, float(azimuth), float(elevation), None if distance is None else float(distance), stage
        )
