"""Video time -> what a frame shows: the training step (fractional) and the camera.

Owns: the frame count, pacing (``linear`` or ``ease``), the holds on the first and last frame, and
the camera path (a steady orbit, or keyframes read from a TOML file). Everything is one function
of one number, ``Timeline.at(t)`` for video time t in seconds (manim's ``interpolate(alpha)``
model); ``state(i)`` is ``at(i / fps)``. Deterministic: no clocks, no randomness.

Imports numpy and scipy only: never torch or VisPy. It knows nothing of weights either; the caller
turns the fractional step into weights with ``Trajectory.weights_at(step)``.

Time layout of a video of N frames at fps (frame i is shown at t = i / fps, the last at
T = (N - 1) / fps)::

    0 ........ hold_start ........................ T - hold_end ........ T
    | step 0 held |  training: step 0 -> num_steps  | last step held       |

The camera runs on video time throughout, holds included, so the picture never freezes.

Pacing maps training progress a in [0, 1] to the fraction s of steps shown:

- ``linear``: s = a.
- ``ease``: s = ((1 + c)^a - 1) / c with c = EASE_STRENGTH, i.e. screen time is proportional to
  log(1 + c s). Training changes the network most at the start (loss curves are roughly
  exponential), so a log-like clock spends the video where things happen: with c = 30 the first
  10% of the steps get 40% of the training frames and the first half 81%. The curve depends on
  the fraction of training only, not on the number of steps, so runs of different lengths pace
  alike. Monotonic, s(0) = 0 and s(1) = 1 exactly.

Camera keyframes, a TOML file (every key required, angles in degrees, t in seconds of video,
distance in the lift's units: tanh's box is 2 a side, and about 7.5 frames it whole)::

    # camera.toml: swing round and rise, then sink and pull back
    [[keyframe]]
    t = 0
    azimuth = -50
    elevation = 24
    distance = 7.5

    [[keyframe]]
    t = 5
    azimuth = 40
    elevation = 35
    distance = 7.5

    [[keyframe]]
    t = 10
    azimuth = 120
    elevation = 10
    distance = 10

At least two keyframes, times strictly increasing. Between keyframes each of azimuth, elevation and
distance follows a PCHIP curve (scipy's PchipInterpolator): it passes through every keyframe, is
smooth (continuous first derivative) and never overshoots, so two equal keyframes hold the camera
still between them and elevation never swings past what was written. Before the first keyframe
and after the last the camera holds still. Azimuth is taken as written, not wrapped: 350 -> 10
turns back 340 degrees, 350 -> 370 goes on 20 degrees through 360, and 0 -> 720 makes two turns.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..core.config import PACES, RecordConfig, RenderConfig, check_fps, check_holds
from ..core.errors import ConfigError, UsageError

EASE_STRENGTH = 30.0
KEYFRAME_KEYS = ("t", "azimuth", "elevation", "distance")


@dataclass(frozen=True)
class FrameState:
    """What one frame shows: fractional training step in [0, num_steps], camera in degrees.

    ``distance`` is None when the camera leaves it to the scene's own framing.
    """

    step: float
    azimuth: float
    elevation: float
    distance: float | None


def pace(alpha, how: str = "ease") -> np.ndarray:
    """Fraction of training shown at training progress ``alpha``: float64 array of alpha's shape.

    alpha in [0, 1] (clipped); monotonic, 0 -> 0 and 1 -> 1 exactly. See the module docstring.
    """
    a = np.clip(np.asarray(alpha, np.float64), 0.0, 1.0)
    if how == "linear":
        return a
    if how == "ease":
        c = EASE_STRENGTH
        # expm1/log1p keep the curve exact near 0; the clip removes the last ulp of rounding at 1.
        return np.clip(np.expm1(a * np.log1p(c)) / c, 0.0, 1.0)
    raise ConfigError("pace", f"must be one of {', '.join(PACES)}, got {how!r}")


# ---------------------------------------------------------------- cameras


@dataclass(frozen=True)
class Orbit:
    """A steady orbit from (azimuth, elevation, distance): azimuth grows by ``speed`` degrees per
    second (negative: the other way; 0: a still camera). ``distance`` None: the scene's framing.

    Azimuth is not wrapped to [0, 360), so the path is continuous for whoever interpolates it.
    """

    azimuth: float
    elevation: float
    distance: float | None
    speed: float

    def at(self, t: float) -> tuple[float, float, float | None]:
        """(azimuth, elevation, distance) at video time ``t`` seconds."""
        return self.azimuth + self.speed * float(t), self.elevation, self.distance


class Keyframes:
    """A camera path through keyframes (time s, azimuth, elevation, distance), PCHIP-interpolated.

    ``t``, ``azimuth``, ``elevation``, ``distance``: 1-D float sequences of one length >= 2, t
    strictly increasing. ``source`` names where they came from, for error messages.
    """

    def __init__(self, t, azimuth, elevation, distance, source: str = "camera keyframes"):
        self.source = source
        cols = [np.asarray(v, np.float64) for v in (t, azimuth, elevation, distance)]
        if any(c.ndim != 1 or len(c) != len(cols[0]) for c in cols):
            raise UsageError(f"{source}: t, azimuth, elevation and distance must be lists of one length")
        if len(cols[0]) < 2:
            raise UsageError(f"{source}: needs at least 2 keyframes to move between, got {len(cols[0])}")
        self.t, self.azimuth, self.elevation, self.distance = cols
        # One interpolator over the three channels: they share the knots.
        self._curve = PchipInterpolator(self.t, np.stack(cols[1:], axis=1), axis=0)

    @classmethod
    def load(cls, path: str | Path) -> "Keyframes":
        """Read a TOML keyframe file (format in the module docstring).

        Raises UsageError with one line naming the file and the fix: a missing or unreadable file,
        invalid TOML, a missing, unknown or non-numeric key, a value out of range, times not
        strictly increasing, or fewer than two keyframes.
        """
        path = Path(path)
        example = "e.g. [[keyframe]] t = 0, azimuth = -50, elevation = 24, distance = 7.5 (one key per line)"
        where = f"camera file {path}"
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise UsageError(f"{where} {what}; write a TOML file of [[keyframe]] tables, {example}")
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"{where} is not valid TOML ({e}); fix the syntax, {example}") from None
        except OSError as e:
            raise UsageError(f"cannot read {where}: {e.strerror or e}") from None
        extra = sorted(set(doc) - {"keyframe"})
        if extra:
            raise UsageError(f"{where}: unknown key {extra[0]!r}; it holds only [[keyframe]] tables, {example}")
        frames = doc.get("keyframe")
        if not isinstance(frames, list) or not all(isinstance(k, dict) for k in frames):
            raise UsageError(f"{where} has no [[keyframe]] tables; add at least two, {example}")
        if len(frames) < 2:
            raise UsageError(f"{where} has {len(frames)} keyframe; add at least two to move between, {example}")
        rows = []
        for n, key in enumerate(frames, 1):
            for name in KEYFRAME_KEYS:
                if name not in key:
                    raise UsageError(f"{where}: keyframe {n} lacks {name!r}; each [[keyframe]] needs t, azimuth, elevation and distance")
            unknown = sorted(set(key) - set(KEYFRAME_KEYS))
            if unknown:
                raise UsageError(f"{where}: keyframe {n} has unknown key {unknown[0]!r}; the keys are t, azimuth, elevation, distance")
            for name in KEYFRAME_KEYS:
                v = key[name]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise UsageError(f"{where}: keyframe {n} {name} must be a finite number, got {v!r}")
            if key["t"] < 0:
                raise UsageError(f"{where}: keyframe {n} t must be >= 0 seconds, got {key['t']!r}")
            if not -90 <= key["elevation"] <= 90:
                raise UsageError(f"{where}: keyframe {n} elevation must be in -90..90 degrees, got {key['elevation']!r}")
            if key["distance"] <= 0:
                raise UsageError(f"{where}: keyframe {n} distance must be > 0, got {key['distance']!r}")
            if rows and key["t"] <= rows[-1][0]:
                raise UsageError(
                    f"{where}: keyframe times must increase strictly, but keyframe {n} (t = {key['t']:g}) "
                    f"is not after keyframe {n - 1} (t = {rows[-1][0]:g}); sort them or fix the times"
                )
            rows.append(tuple(float(key[name]) for name in KEYFRAME_KEYS))
        return cls(*zip(*rows), source=where)

    def at(self, t: float) -> tuple[float, float, float]:
        """(azimuth, elevation, distance) at video time ``t`` s; held still outside the keyframes."""
        t = min(max(float(t), self.t[0]), self.t[-1])
        az, el, dist = self._curve(t)
        return float(az), float(el), float(dist)


def camera_from_config(config: RecordConfig, view: RenderConfig | None = None) -> Orbit | Keyframes:
    """The camera a RecordConfig asks for: its keyframe file when set (read and checked now), else
    an orbit at ``config.orbit`` degrees/s from ``view``'s azimuth, elevation and distance
    (None: RenderConfig's defaults), so a video opens on the view a still would show.

    Call it before any expensive work: a bad camera file raises UsageError here.
    """
    if config.camera is not None:
        return Keyframes.load(config.camera)
    view = RenderConfig() if view is None else view
    return Orbit(view.azimuth, view.elevation, view.distance, config.orbit)


# ---------------------------------------------------------------- timeline


class Timeline:
    """Frame index / video time -> FrameState for a run of ``num_steps`` optimizer steps.

    ``frame_count`` frames (>= 2) at ``fps``; holds in seconds (see the module docstring); the
    training section between them must last longer than zero. ``camera``: an Orbit or Keyframes
    (anything with ``at(t) -> (azimuth, elevation, distance)``); None: the default orbit from the
    default view (``camera_from_config(RecordConfig())``).
    """

    def __init__(self, num_steps: int, frame_count: int, fps: float, pace: str = "ease",
                 hold_start: float = 0.5, hold_end: float = 1.0, camera=None):
        if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
            raise ValueError(f"num_steps must be an integer >= 0, got {num_steps!r}")
        if isinstance(frame_count, bool) or not isinstance(frame_count, (int, np.integer)) or frame_count < 2:
            raise ConfigError("frames", f"must be an integer >= 2, got {frame_count!r}")
        self.fps = check_fps(fps)
        if pace not in PACES:
            raise ConfigError("pace", f"must be one of {', '.join(PACES)}, got {pace!r}")
        self.num_steps, self.frame_count, self.pace = int(num_steps), int(frame_count), pace
        self.hold_start, self.hold_end = check_holds(hold_start, hold_end, self.frame_count, self.fps)
        self.camera = camera_from_config(RecordConfig()) if camera is None else camera
        self._train_span = self.last_time - self.hold_start - self.hold_end

    @classmethod
    def from_config(cls, num_steps: int, config: RecordConfig, camera=None,
                    view: RenderConfig | None = None) -> "Timeline":
        """The timeline a RecordConfig describes. ``camera``: one already made by
        ``camera_from_config`` (else made here, reading the camera file, orbiting from ``view``)."""
        camera = camera_from_config(config, view) if camera is None else camera
        return cls(num_steps, config.frame_count, config.frame_rate, config.pace,
                   config.hold_start, config.hold_end, camera)

    @property
    def duration(self) -> float:
        """Length of the video in seconds: frame_count / fps."""
        return self.frame_count / self.fps

    @property
    def last_time(self) -> float:
        """Video time of the last frame, (frame_count - 1) / fps."""
        return (self.frame_count - 1) / self.fps

    def time(self, i: int) -> float:
        """Video time of frame ``i`` in seconds."""
        return i / self.fps

    def progress(self, t: float) -> float:
        """Training progress a in [0, 1] at video time t: 0 through the first hold, 1 from the last."""
        return min(max((float(t) - self.hold_start) / self._train_span, 0.0), 1.0)

    def step_at(self, t: float) -> float:
        """Fractional training step in [0, num_steps] at video time t (paced, holds applied)."""
        return float(self.num_steps * pace(self.progress(t), self.pace))

    def at(self, t: float) -> FrameState:
        """The one function of time: everything frame content depends on at video time t."""
        azimuth, elevation, distance = self.camera.at(t)
        return FrameState(self.step_at(t), float(azimuth), float(elevation),
                          None if distance is None else float(distance))

    def state(self, i: int) -> FrameState:
        """FrameState of frame ``i`` (0 <= i < frame_count)."""
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame {i} is outside 0..{self.frame_count - 1}")
        return self.at(self.time(i))

    def __len__(self) -> int:
        return self.frame_count

    def __iter__(self):
        return (self.state(i) for i in range(self.frame_count))
