"""Every default of deform3d, once: frozen dataclasses shared by the CLI, the API and config files.

Owns: option names, defaults and range checks. Imports nothing heavy (no numpy, torch or VisPy), so
``deform3d --help`` answers instantly. The CLI builds its options from these fields; a test checks
that they cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .errors import ConfigError

DATASETS = ("circles", "moons", "xor", "spiral", "blobs")
ACTIVATIONS = ("tanh", "sigmoid", "relu")
OPTIMIZERS = ("adam", "sgd")
HIDDEN = (2, 3, 4)
# The largest learning rate taken (near 1e38 Adam's first step overflows float32 outright). Far smaller ones
# diverge too, which training reports (api.train) rather than refuses: lr 1e3 is a lesson to watch.
MAX_LR = 1e12
# Points per class of a built-in dataset: every step is scored on all points (data.MAX_CSV_ROWS in all).
MAX_POINTS = 50_000


def _positive_int(name: str, value, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(name, f"must be an integer >= {low}, got {value!r}")


def _positive_float(name: str, value, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(name, f"must be a finite number {bound}, got {value!r}")


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        listed = ", ".join(str(c) for c in choices)
        raise ConfigError(name, f"must be one of {listed}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """What to train and how. Field names are the API's parameter names and the CLI's flags.

    ``dataset`` is a built-in name (see ``DATASETS``) or the path of a CSV file (x, y, label).
    ``points`` is points per class; ``noise`` is the dataset's noise (None: the dataset's default).
    """

    dataset: str = "circles"
    points: int = 1000
    noise: float | None = None
    hidden: int = 3
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.03
    momentum: float = 0.0
    epochs: int = 100
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError("dataset", f"must be a dataset name or a CSV path, got {self.dataset!r}")
        is_csv = self.dataset.lower().endswith(".csv")
        if not is_csv:
            _choice("dataset", self.dataset, DATASETS + ("PATH.csv",))
        _positive_int("points", self.points)
        if not 2 <= self.points <= MAX_POINTS:
            raise ConfigError("points", f"must be 2..{MAX_POINTS} per class, got {self.points}")
        if self.noise is not None:
            _positive_float("noise", self.noise, allow_zero=True)
        if self.hidden not in HIDDEN or isinstance(self.hidden, bool):
            raise ConfigError("hidden", f"must be 2, 3 or 4, got {self.hidden!r}")
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _positive_float("lr", self.lr)
        if self.lr > MAX_LR:
            raise ConfigError("lr", f"must be at most {MAX_LR:g} (far past any useful step), got {self.lr!r}")
        _positive_float("momentum", self.momentum, allow_zero=True)
        if self.momentum >= 1:
            raise ConfigError("momentum", f"must be in [0, 1), got {self.momentum!r}")
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("seed", self.seed, allow_zero=True)
        if self.seed >= 2**64:  # torch's generators take 64-bit seeds
            raise ConfigError("seed", f"must be below 2**64, got {self.seed}")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


PANELS = ("lift", "plane", "input", "curve")  # curve: a strip of loss and accuracy under the others
FRAMINGS = ("follow", "fixed")
THEMES = ("light", "dark")
MESH_STILL, MESH_VIDEO = 256, 96  # RenderConfig.mesh None: sheet vertices per side by use
# RenderConfig's None defaults by use, chosen here only (RenderConfig.resolved). A still is looked
# at closely and paid for once: 2x supersampling, the full mesh. Video frames move, and motion hides
# what 2x and 256^2 add at 4x and 7x the cost (96^2: a 720p frame differs from 128^2's in under
# 0.3% of its pixels, along the sheet's outline, and costs a quarter less to draw on a software
# rasterizer: docs/design.md). An interactive view (the window, the notebook viewer, a bare
# Renderer) draws at its own size at the full mesh (a window in motion: motion_mesh).
USES = {"still": (2, MESH_STILL), "video": (1, MESH_VIDEO), "interactive": (1, MESH_STILL)}  # (ssaa, mesh)


def motion_mesh(mesh: int) -> int:
    """Sheet vertices per side while a window's view moves, for a scene of ``mesh``: the video's
    mesh (what a moving picture needs), at most half the scene's own and at least 8."""
    return max(8, min(MESH_VIDEO, mesh // 2))


@dataclass(frozen=True)
class RenderConfig:
    """How a frame looks: size, panels, theme, camera and what is drawn. Shared by render and record.

    ``size`` is (width, height) in pixels; ``ssaa`` renders N x larger and averages N x N blocks
    (None: 2 for a still, 1 for video frames, where motion hides what 2 would smooth at 4x the cost).
    ``mesh`` is the sheet's vertices per side (None: 256 for a still, 96 for video frames, which look
    the same in motion at a fraction of the cost on a software rasterizer; a window shows 256 at rest
    and a coarser mesh while it moves). Camera angles are in degrees; ``distance`` None fits
    the lift's box in view. ``stage`` (0..7, fractions move between stages): the lift panel shows
    the forward pass at that stage, the anatomy (core.geometry.STAGES); None: the lift itself.
    """

    size: tuple[int, int] = (1280, 720)
    panels: tuple[str, ...] = ("lift", "plane")
    theme: str = "light"
    azimuth: float = -50.0
    elevation: float = 24.0
    distance: float | None = None
    ssaa: int | None = None
    mesh: int | None = None
    grid: bool = True
    points: bool = True
    tint: bool = True
    folds: bool = True
    surface: bool = True
    legend: bool = True
    framing: str = "follow"
    stage: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "size", check_size(self.size))
        panels = tuple(self.panels)
        if not panels or len(set(panels)) != len(panels):
            raise ConfigError("panels", f"must name distinct panels of {', '.join(PANELS)}, got {','.join(panels)!r}")
        for p in panels:
            _choice("panels", p, PANELS)
        if panels == ("curve",):
            raise ConfigError(
                "panels", "curve is a strip under the other panels: name at least one of lift, plane, input too"
            )
        object.__setattr__(self, "panels", panels)
        _choice("framing", self.framing, FRAMINGS)
        if self.stage is not None:
            check_stage(self.stage)
            if "lift" not in panels:
                raise ConfigError(
                    "stage", "is shown in the lift panel; add lift to the panels (e.g. --panels lift,plane)"
                )
        _choice("theme", self.theme, THEMES)
        for name in ("azimuth", "elevation"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(name, f"must be a finite number of degrees, got {v!r}")
        if not -90 <= self.elevation <= 90:
            raise ConfigError("elevation", f"must be between -90 and 90 degrees, got {self.elevation!r}")
        if self.distance is not None:
            _positive_float("distance", self.distance)
        if self.ssaa is not None:
            _positive_int("ssaa", self.ssaa)
            if self.ssaa > 4:
                raise ConfigError("ssaa", f"must be 1..4, got {self.ssaa}")
            if max(self.size) * self.ssaa > 16384:
                raise ConfigError(
                    "ssaa",
                    f"{self.size[0]}x{self.size[1]} at ssaa {self.ssaa} exceeds 16384 pixels a side; lower --ssaa",
                )
        if self.mesh is not None:
            _positive_int("mesh", self.mesh)
            if not 8 <= self.mesh <= 2048:
                raise ConfigError("mesh", f"must be 8..2048 vertices per side, got {self.mesh}")

    def resolved(self, use: str, **changes) -> "RenderConfig":
        """This config with ``changes`` made and ssaa and mesh, where None, filled in for ``use``:
        "still", "video" or "interactive" (see USES). The one place those defaults are chosen."""
        ssaa, mesh = USES[use]
        config = replace(self, **changes) if changes else self
        return replace(config, ssaa=config.ssaa or ssaa, mesh=config.mesh or mesh)


# ---------------------------------------------------------------- video

# Like a video tool's presets: name -> (width, height, frames per second).
QUALITY = {
    "low": (854, 480, 15),
    "medium": (1280, 720, 30),
    "high": (1920, 1080, 60),
    "4k": (3840, 2160, 60),
}
PACES = ("change", "linear", "ease")
# The holds at the start and end share at most this fraction of a video; a short video shrinks them.
MAX_HOLD_SHARE = 1 / 3
SIZE_RANGE = (16, 8192)  # pixels per side: below 16 nothing is legible, above 8192 encoders refuse
MAX_FPS = 240
# Constant-quality factor when --crf is not given, per container. 18 is x264's "visually lossless"
# for the thin grid lines and text of our frames; 30 is VP9's usual choice for HD (its scale is 0..63).
CRF_DEFAULT = {"mp4": 18, "webm": 30}
CRF_MAX = {"mp4": 51, "webm": 63}


LAST_STAGE = 7  # the anatomy's stages 0..7 (core.geometry.STAGES; numpy is not imported here)


def check_stage(stage, name: str = "stage") -> float:
    """The anatomy's stage as a float in [0, 7], or ConfigError naming the range."""
    if (
        isinstance(stage, bool)
        or not isinstance(stage, (int, float))
        or not math.isfinite(stage)
        or not 0 <= stage <= LAST_STAGE
    ):
        raise ConfigError(
            name, f"must be a number from 0 (the input plane) to {LAST_STAGE} (the cut by the line), got {stage!r}"
        )
    return float(stage)


def check_size(size, name: str = "size") -> tuple[int, int]:
    """``(width, height)`` as ints, or ConfigError: each side an integer in SIZE_RANGE."""
    low, high = SIZE_RANGE
    ok = isinstance(size, (tuple, list)) and len(size) == 2
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    if not ok:
        raise ConfigError(name, f"must be WIDTHxHEIGHT in pixels, e.g. 1280x720, got {size!r}")
    w, h = size
    if not (low <= w <= high and low <= h <= high):
        raise ConfigError(name, f"must be {low}..{high} pixels per side, got {w}x{h}")
    return int(w), int(h)


def check_fps(fps, name: str = "fps") -> float:
    """Frames per second as a float, or ConfigError: finite, > 0 and at most MAX_FPS."""
    _positive_float(name, fps)
    if fps > MAX_FPS:
        raise ConfigError(name, f"must be at most {MAX_FPS}, got {fps!r}")
    return float(fps)


def split_options(options: dict, *configs) -> list[dict]:
    """Share out keyword options among config classes by field name; unknown names are errors."""
    parts, left = [], dict(options)
    for config in configs:
        names = {f.name for f in fields(config)}
        parts.append({k: left.pop(k) for k in list(left) if k in names})
    if left:
        raise TypeError(f"unknown option(s): {', '.join(sorted(left))}")
    return parts


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; ConfigError("size", ...) on anything else."""
    parts = str(text).lower().split("x")
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise ConfigError("size", f"must be WIDTHxHEIGHT in pixels, e.g. 1280x720, got {text!r}")
    return check_size((int(parts[0]), int(parts[1])))


def fit_holds(hold_start: float, hold_end: float, span: float) -> tuple[float, float]:
    """The holds a video of ``span`` seconds (first frame to last) gets: the asked ones, scaled down
    together when they would take more than ``MAX_HOLD_SHARE`` of it.

    The one place the holds meet the video's length (RecordConfig.holds and Timeline both ask it),
    so a 1 s GIF keeps holds in proportion rather than being refused, and training always gets at
    least two thirds of the video.
    """
    total, room = hold_start + hold_end, MAX_HOLD_SHARE * max(span, 0.0)
    if total <= room:
        return float(hold_start), float(hold_end)
    return hold_start * room / total, hold_end * room / total


@dataclass(frozen=True)
class RecordConfig:
    """How to turn a run into a video: length, pacing, camera, size and quality.

    ``quality`` picks size and fps from ``QUALITY``; ``size`` ((width, height) pixels) and ``fps``
    override it (None: the preset's). The video lasts ``duration`` seconds, or exactly ``frames``
    frames when given (then duration = frames / fps); read the resolved values from ``width``,
    ``height``, ``frame_rate``, ``frame_count`` and ``seconds``, never from the raw fields.
    The first frame is held ``hold_start`` s and the last ``hold_end`` s, inside that length; a
    short video shrinks both alike so they take at most a third of it (``holds`` has the result).
    ``pace``: "change" (video time in proportion to how much the picture changes, measured from the
    run), "linear" in steps, or "ease" (early training gets more screen time; see
    ``deform3d.media.timeline``). Camera: a steady orbit of ``orbit`` degrees per second
    (0: still) that starts from the RenderConfig's view (azimuth, elevation, distance), so a video
    opens on the same view as ``deform3d render``; or ``camera``, a TOML keyframe file that
    replaces the orbit and the view.
    ``crf``: constant-quality factor for .mp4 (0..51) and .webm (0..63); None: ``CRF_DEFAULT``.
    """

    quality: str = "medium"
    size: tuple[int, int] | None = None
    fps: float | None = None
    duration: float = 10.0
    frames: int | None = None
    pace: str = "change"
    hold_start: float = 0.5
    hold_end: float = 1.0
    orbit: float = 15.0
    camera: str | None = None
    crf: int | None = None

    def __post_init__(self):
        _choice("quality", self.quality, tuple(QUALITY))
        if self.size is not None:
            # A list (from a config file) becomes a tuple, so the frozen config stays hashable.
            object.__setattr__(self, "size", check_size(self.size))
        if self.fps is not None:
            check_fps(self.fps)
        _positive_float("duration", self.duration)
        if self.frames is not None:
            _positive_int("frames", self.frames)
            if self.frames < 2:
                raise ConfigError("frames", f"must be at least 2, got {self.frames}")
        _choice("pace", self.pace, PACES)
        _positive_float("hold_start", self.hold_start, allow_zero=True)
        _positive_float("hold_end", self.hold_end, allow_zero=True)
        if isinstance(self.orbit, bool) or not isinstance(self.orbit, (int, float)) or not math.isfinite(self.orbit):
            raise ConfigError("orbit", f"must be a finite number of degrees per second, got {self.orbit!r}")
        if self.camera is not None and (not isinstance(self.camera, str) or not self.camera):
            raise ConfigError("camera", f"must be the path of a TOML keyframe file, got {self.camera!r}")
        if self.crf is not None:
            _positive_int("crf", self.crf, allow_zero=True)
            if self.crf > max(CRF_MAX.values()):
                raise ConfigError("crf", f"must be 0..51 for .mp4 or 0..63 for .webm, got {self.crf}")
        length = "frames" if self.frames is not None else "duration"
        if self.frame_count < 2:
            raise ConfigError(
                length, f"gives {self.frame_count} frame(s) at {self.frame_rate:g} fps; a video needs at least 2"
            )

    @property
    def holds(self) -> tuple[float, float]:
        """The holds this video gets, in seconds: ``fit_holds`` of the asked ones and its length."""
        return fit_holds(self.hold_start, self.hold_end, (self.frame_count - 1) / self.frame_rate)

    @property
    def width(self) -> int:
        return (self.size or QUALITY[self.quality][:2])[0]

    @property
    def height(self) -> int:
        return (self.size or QUALITY[self.quality][:2])[1]

    @property
    def frame_rate(self) -> float:
        return float(self.fps if self.fps is not None else QUALITY[self.quality][2])

    @property
    def frame_count(self) -> int:
        """Frames in the video: ``frames`` when given, else round(fps * duration)."""
        return self.frames if self.frames is not None else round(self.frame_rate * self.duration)

    @property
    def seconds(self) -> float:
        """The video's length in seconds: frame_count / fps."""
        return self.frame_count / self.frame_rate
