"""Video time -> what a frame shows: the training step (fractional) and the camera.

Owns: the frame count, pacing (``change``, ``linear`` or ``ease``), the holds on the first and last
frame, and the camera path (a steady orbit, or keyframes read from a TOML file). Everything is one function
of one number, ``Timeline.at(t)`` for video time t in seconds (manim's ``interpolate(alpha)``
model); ``state(i)`` is ``at(i / fps)``. Deterministic: no clocks, no randomness.

Imports numpy and scipy only (and deform3d.geometry, numpy itself): never torch or VisPy. Only
``change`` pacing reads a run's weights, once, before any frame (``change_clock``); the caller turns
each frame's fractional step into weights with ``Trajectory.weights_at(step)``.

Time layout of a video of N frames at fps (frame i is shown at t = i / fps, the last at
T = (N - 1) / fps)::

    0 ........ hold_start ........................ T - hold_end ........ T
    | step 0 held |  training: step 0 -> num_steps  | last step held       |

The camera runs on video time throughout, holds included, so the picture never freezes.

Pacing maps training progress a in [0, 1] to the fraction s of steps shown:

- ``change`` (the default): video time in proportion to how much the picture changes. For each
  step, ``change_rate`` measures how far a fixed subsample of the data's images move in the lift
  (h1) and in the plane (h2), each against that layer's largest spread over the run (so a relu
  run's growth and a tanh run's fixed box count alike), plus how much the points' predicted
  probabilities (the tints) and the accuracy change. The rate is smoothed over a quarter epoch
  (one minibatch's jitter is not a story), divided by its mean, and clipped to [CHANGE_FLOOR,
  CHANGE_CAP]: a calm stretch still advances at a fifth of the average pace, and no step gets more
  than CHANGE_CAP times the average share, so none freezes the video. Its running sum, scaled to
  end at 1, is the clock: s is where the clock reaches a. With the defaults, circles k = 3 spends
  about a third of its video on the steps whose accuracy is between 60% and 95%, against a tenth
  for ``ease``. Several runs shown side by side share one clock on an epoch axis (each run's rate
  resampled onto it, summed), so every cell shows the same epoch.
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
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..core.config import PACES, RecordConfig, RenderConfig, check_fps, fit_holds
from ..core.errors import ConfigError, UsageError

EASE_STRENGTH = 30.0
KEYFRAME_KEYS = ("t", "azimuth", "elevation", "distance")
# Change pacing (module docstring): the sample of data points followed, the smoothing window in
# epochs, the weight of a change in accuracy (a fraction) against the other terms (each a fraction
# of the layer's spread), and the floor and cap of a step's share, in multiples of the average.
CHANGE_SAMPLE = 100
CHANGE_SMOOTH_EPOCHS = 0.25
CHANGE_ACCURACY = 2.0
CHANGE_FLOOR, CHANGE_CAP = 0.2, 40.0


@dataclass(frozen=True)
class FrameState:
    """What one frame shows: fractional training step in [0, num_steps], camera in degrees.

    ``distance`` is None when the camera leaves it to the scene's own framing. ``stage``: the
    anatomy's stage in [0, 7] (media.anatomy), None in a video of training.
    """

    step: float
    azimuth: float
    elevation: float
    distance: float | None
    stage: float | None = None


def pace(alpha, how: str = "ease", clock=None) -> np.ndarray:
    """Fraction of training shown at training progress ``alpha``: float64 array of alpha's shape.

    alpha in [0, 1] (clipped); monotonic, 0 -> 0 and 1 -> 1 exactly. See the module docstring.
    ``how`` "change" needs ``clock``, an increasing array from 0 to 1 over steps 0..N
    (``change_clock``).
    """
    a = np.clip(np.asarray(alpha, np.float64), 0.0, 1.0)
    if how == "change":
        if clock is None:
            raise ConfigError("pace", "change needs the run(s) to measure; build the timeline with Timeline.for_runs")
        clock = np.asarray(clock, np.float64)
        if len(clock) < 2:
            return np.zeros_like(a)
        return np.interp(a, clock, np.linspace(0.0, 1.0, len(clock)))
    if how == "linear":
        return a
    if how == "ease":
        c = EASE_STRENGTH
        # expm1/log1p keep the curve exact near 0; the clip removes the last ulp of rounding at 1.
        return np.clip(np.expm1(a * np.log1p(c)) / c, 0.0, 1.0)
    raise ConfigError("pace", f"must be one of {', '.join(PACES)}, got {how!r}")


def change_rate(run, sample: int = CHANGE_SAMPLE) -> np.ndarray:
    """How much the picture changes at each step of ``run``: (num_steps,) float64, mean 1 (all 1
    when nothing moves). Smoothed over CHANGE_SMOOTH_EPOCHS, neither floored nor capped; see the
    module docstring. ``run``: a Trajectory (weights, X, accuracy, activation, steps_per_epoch).
    """
    from ..core.geometry import forward

    n = run.num_steps
    if n < 1:
        return np.ones(0)
    X = np.asarray(run.X)
    points = X[np.linspace(0, len(X) - 1, min(sample, len(X))).round().astype(int)]
    moves = {"h1": np.empty(n), "h2": np.empty(n), "p": np.empty(n)}
    spread = {"h1": 0.0, "h2": 0.0}
    # Chunks of steps (one step overlapping) keep memory flat for long runs: 100 points x 1024 steps.
    for a in range(0, n, 1024):
        b = min(a + 1024, n)
        f = forward(run.weights[a : b + 1], points, run.activation)
        for name in ("h1", "h2"):
            h = getattr(f, name)
            moves[name][a:b] = np.linalg.norm(np.diff(h, axis=0), axis=-1).mean(axis=-1)
            rms = np.sqrt(((h - h.mean(axis=-2, keepdims=True)) ** 2).sum(axis=-1).mean(axis=-1))
            spread[name] = max(spread[name], float(rms.max()))
        moves["p"][a:b] = np.abs(np.diff(f.p, axis=0)).mean(axis=-1)
    rate = sum(moves[name] / max(spread[name], 1e-12) for name in ("h1", "h2")) + moves["p"]
    rate = rate + CHANGE_ACCURACY * np.abs(np.diff(np.asarray(run.accuracy, np.float64)))
    window = int(round(CHANGE_SMOOTH_EPOCHS * run.steps_per_epoch))
    if window > 1 and n > window:
        padded = np.pad(rate, (window // 2, window - 1 - window // 2), mode="edge")
        rate = np.convolve(padded, np.ones(window) / window, mode="valid")
    mean = rate.mean()
    return rate / mean if np.isfinite(mean) and mean > 0 else np.ones(n)


def change_clock(runs, num_steps: int | None = None) -> np.ndarray:
    """The ``change`` pacing clock of one run or several shown together: (num_steps + 1,) float64,
    increasing from 0 to 1, over ``num_steps`` steps of a common epoch axis (default: the longest
    run's steps; master step j is epoch j / num_steps * the longest run's epochs).

    Each run's rate (``change_rate``) is resampled onto that axis and the runs' rates summed, so a
    run changing fast slows the shared clock; then floored and capped (module docstring).
    """
    runs = list(runs) if isinstance(runs, (list, tuple)) else [runs]
    epochs = max(r.num_steps / r.steps_per_epoch for r in runs)
    n = max(r.num_steps for r in runs) if num_steps is None else int(num_steps)
    if n < 1 or epochs <= 0:
        return np.linspace(0.0, 1.0, n + 1)
    grid = np.linspace(0.0, epochs, n + 1)
    total = np.zeros(n)
    for r in runs:
        rate = change_rate(r)
        if len(rate) == 0:
            continue
        # The run's cumulative change as a function of epoch, read at the axis's epochs: its
        # differences are the change within each master step (0 once the run has ended).
        cum = np.concatenate([[0.0], np.cumsum(rate)])
        total += np.diff(np.interp(grid, np.arange(r.num_steps + 1) / r.steps_per_epoch, cum))
    mean = total.mean()
    share = np.clip(total / mean, CHANGE_FLOOR, CHANGE_CAP) if mean > 0 else np.ones(n)
    clock = np.concatenate([[0.0], np.cumsum(share)])
    return clock / clock[-1]


# ---------------------------------------------------------------- cameras


@dataclass(frozen=True)
class Steered:
    """A camera path turned by azimuth and elevation offsets known at frame times
    (``core.framing.steer_camera``: the follow framing's turn away from edge-on views), linearly
    interpolated between them."""

    camera: Any  # anything with at(t) -> (azimuth, elevation, distance): an Orbit, Keyframes
    times: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray

    def at(self, t: float) -> tuple[float, float, float | None]:
        azimuth, elevation, distance = self.camera.at(t)
        t = float(t)
        return (
            azimuth + float(np.interp(t, self.times, self.azimuth)),
            elevation + float(np.interp(t, self.times, self.elevation)),
            distance,
        )


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
        except UnicodeDecodeError:  # tomllib decodes the bytes first: a binary file lands here
            raise UsageError(
                f"{where} is not a UTF-8 text file; write a TOML file of [[keyframe]] tables, {example}"
            ) from None
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
                    raise UsageError(
                        f"{where}: keyframe {n} lacks {name!r}; each [[keyframe]] needs t, azimuth, elevation and distance"
                    )
            unknown = sorted(set(key) - set(KEYFRAME_KEYS))
            if unknown:
                raise UsageError(
                    f"{where}: keyframe {n} has unknown key {unknown[0]!r}; the keys are t, azimuth, elevation, distance"
                )
            for name in KEYFRAME_KEYS:
                v = key[name]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise UsageError(f"{where}: keyframe {n} {name} must be a finite number, got {v!r}")
            if key["t"] < 0:
                raise UsageError(f"{where}: keyframe {n} t must be >= 0 seconds, got {key['t']!r}")
            if not -90 <= key["elevation"] <= 90:
                raise UsageError(
                    f"{where}: keyframe {n} elevation must be in -90..90 degrees, got {key['elevation']!r}"
                )
            if key["distance"] <= 0:
                raise UsageError(f"{where}: keyframe {n} distance must be > 0, got {key['distance']!r}")
            if rows and key["t"] <= rows[-1][0]:
                raise UsageError(
                    f"{where}: keyframe times must increase strictly, but keyframe {n} (t = {key['t']:g}) "
                    f"is not after keyframe {n - 1} (t = {rows[-1][0]:g}); sort them or fix the times"
                )
            rows.append(tuple(float(key[name]) for name in KEYFRAME_KEYS))
        return cls(*zip(*rows), source=where)  # type: ignore[misc, arg-type]  # four columns, by name order

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


class FrameClock:
    """What every timeline shares (Timeline, media.anatomy's AnatomyTimeline, video.take's Take):
    ``frame_count`` frames at ``fps``, frame i at video time i / fps, its FrameState (``state``,
    from the subclass's ``at(t)``) and iteration over all of them. What ``video.pipeline.frames``
    draws."""

    frame_count: int
    fps: float

    def at(self, t: float) -> FrameState:
        raise NotImplementedError

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

    def state(self, i: int) -> FrameState:
        """FrameState of frame ``i`` (0 <= i < frame_count)."""
        if not 0 <= i < self.frame_count:
            raise IndexError(f"frame {i} is outside 0..{self.frame_count - 1}")
        return self.at(self.time(i))

    def __len__(self) -> int:
        return self.frame_count

    def __iter__(self):
        return (self.state(i) for i in range(self.frame_count))


class Timeline(FrameClock):
    """Frame index / video time -> FrameState for a run of ``num_steps`` optimizer steps.

    ``frame_count`` frames (>= 2) at ``fps``; holds in seconds (see the module docstring), shrunk
    by ``config.fit_holds`` when they would take over a third of the video (``hold_start`` and
    ``hold_end`` are the ones used). ``camera``: an Orbit or Keyframes (anything with
    ``at(t) -> (azimuth, elevation, distance)``); None: the default orbit from the default view
    (``camera_from_config(RecordConfig())``). ``pace`` "change" needs ``clock`` from
    ``change_clock``; ``Timeline.for_runs`` makes both from runs.
    """

    def __init__(
        self,
        num_steps: int,
        frame_count: int,
        fps: float,
        pace: str = "ease",
        hold_start: float = 0.5,
        hold_end: float = 1.0,
        camera=None,
        clock=None,
    ):
        if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
            raise ValueError(f"num_steps must be an integer >= 0, got {num_steps!r}")
        if isinstance(frame_count, bool) or not isinstance(frame_count, (int, np.integer)) or frame_count < 2:
            raise ConfigError("frames", f"must be an integer >= 2, got {frame_count!r}")
        self.fps = check_fps(fps)
        if pace not in PACES:
            raise ConfigError("pace", f"must be one of {', '.join(PACES)}, got {pace!r}")
        if pace == "change" and clock is None:
            raise ConfigError("pace", "change needs the run(s) to measure; build the timeline with Timeline.for_runs")
        if clock is not None:
            clock = np.asarray(clock, np.float64)
            if clock.shape != (num_steps + 1,):
                raise ValueError(f"clock must have num_steps + 1 = {num_steps + 1} values, got shape {clock.shape}")
        for name, hold in (("hold_start", hold_start), ("hold_end", hold_end)):
            if not (isinstance(hold, (int, float)) and math.isfinite(hold) and hold >= 0):
                raise ConfigError(name, f"must be a finite number >= 0, got {hold!r}")
        self.num_steps, self.frame_count, self.pace, self.clock = int(num_steps), int(frame_count), pace, clock
        self.hold_start, self.hold_end = fit_holds(float(hold_start), float(hold_end), self.last_time)
        self.camera = camera_from_config(RecordConfig()) if camera is None else camera
        self._train_span = self.last_time - self.hold_start - self.hold_end

    @classmethod
    def from_config(
        cls, num_steps: int, config: RecordConfig, camera=None, view: RenderConfig | None = None, clock=None
    ) -> "Timeline":
        """The timeline a RecordConfig describes. ``camera``: one already made by
        ``camera_from_config`` (else made here, reading the camera file, orbiting from ``view``).
        ``clock``: for ``pace="change"`` (``change_clock``; ``for_runs`` computes it)."""
        camera = camera_from_config(config, view) if camera is None else camera
        return cls(
            num_steps,
            config.frame_count,
            config.frame_rate,
            config.pace,
            config.hold_start,
            config.hold_end,
            camera,
            clock,
        )

    @classmethod
    def for_runs(cls, runs, config: RecordConfig, camera=None, view: RenderConfig | None = None) -> "Timeline":
        """The timeline of one run (a Trajectory) or several shown together (a list): its steps are
        the longest run's, on a common epoch axis (``epoch_at``), and ``change`` pacing measures them
        all (``change_clock``), once, here."""
        many = list(runs) if isinstance(runs, (list, tuple)) else [runs]
        num_steps = max(r.num_steps for r in many)
        clock = change_clock(many, num_steps) if config.pace == "change" else None
        tl = cls.from_config(num_steps, config, camera, view, clock)
        tl.epochs = max(r.num_steps / r.steps_per_epoch for r in many)
        return tl

    epochs: float | None = None  # set by for_runs: the epoch axis the steps stand for

    def epoch_at(self, step: float) -> float:
        """The epoch a (master) step stands for, on ``for_runs``' common axis."""
        if self.epochs is None or self.num_steps == 0:
            raise ValueError("epoch_at needs a timeline made by Timeline.for_runs")
        return float(step) / self.num_steps * self.epochs

    def progress(self, t: float) -> float:
        """Training progress a in [0, 1] at video time t: 0 through the first hold, 1 from the last."""
        return min(max((float(t) - self.hold_start) / self._train_span, 0.0), 1.0)

    def step_at(self, t: float) -> float:
        """Fractional training step in [0, num_steps] at video time t (paced, holds applied)."""
        return float(self.num_steps * pace(self.progress(t), self.pace, self.clock))

    def at(self, t: float) -> FrameState:
        """The one function of time: everything frame content depends on at video time t."""
        azimuth, elevation, distance = self.camera.at(t)
        return FrameState(
            self.step_at(t), float(azimuth), float(elevation), None if distance is None else float(distance)
        )
