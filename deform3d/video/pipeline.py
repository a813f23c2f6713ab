"""One frame pipeline: runs + a Timeline + a renderer -> frames with their states, and the plan of a video.

Owns: ``VideoPlan`` (every recording option and the target checked before any work; what ``record``,
``compare``, ``demo`` and the CLI use), ``frames`` (the one generator that turns a timeline into
pictures, for one run or several side by side), ``Frame`` (a picture with everything it shows),
and the time codes file (one CSV row per frame and cell). Whoever wants frames (a video, the
notebook, a benchmark, a test) iterates ``frames`` rather than driving a Scene by hand, so what is
drawn and what the time codes say cannot drift apart.

Imports numpy and the light deform3d modules only; the renderers (VisPy, via deform3d.offscreen and
deform3d.grid) load when frames are first asked for. Never torch.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..core.config import MESH_VIDEO, RecordConfig, RenderConfig, split_options
from ..core.errors import UsageError
from ..core.files import atomic_path, check_writable
from ..media.timeline import FrameClock, FrameState, Orbit, Steered, Timeline, camera_from_config

if TYPE_CHECKING:
    from ..media.anatomy import AnatomyTimeline


TIMECODE_COLUMNS = ("frame", "time_s", "step", "epoch", "loss", "accuracy", "azimuth", "elevation", "distance")


@dataclass(frozen=True)
class Frame:
    """One frame of a video: its index and time, the timeline's state, and the picture.

    ``state``: the timeline's FrameState (for several runs its step is on the timeline's common
    axis). ``epoch``: the epoch every cell shows. ``steps``: each run's fractional step shown, in
    the runs' order (one entry for a single run, equal to ``state.step``). ``image``: (H, W, 3)
    uint8, top row first; None when the frames were asked for without pictures.
    """

    index: int
    time: float
    state: FrameState
    epoch: float
    steps: tuple[float, ...]
    image: np.ndarray | None


def _as_list(runs) -> tuple[list, bool]:
    if isinstance(runs, (list, tuple)):
        if not runs:
            raise UsageError("no runs to show; give at least one")
        return list(runs), False
    return [runs], True


def states(runs, timeline: FrameClock) -> Iterator[Frame]:
    """The frames of ``timeline`` without pictures (``image`` None): what each frame will show.

    Cheap (no GL); ``frames`` yields the same frames with their pictures.
    """
    many, single = _as_list(runs)
    axis = timeline if isinstance(timeline, Timeline) else None  # (only it knows the common epoch axis)
    if not single and axis is None:
        raise ValueError("several runs need the Timeline that Timeline.for_runs makes of them")
    for i, state in enumerate(timeline):
        if single:
            steps = (state.step,)
            epoch = state.step / many[0].steps_per_epoch
        else:
            # The same epoch in every cell: each run's own step for it, held at its end.
            assert axis is not None
            epoch = axis.epoch_at(state.step)
            steps = tuple(min(epoch * r.steps_per_epoch, float(r.num_steps)) for r in many)
        yield Frame(i, timeline.time(i), state, epoch, steps, None)


def renderer(runs, view: RenderConfig):
    """The renderer ``frames`` draws with: an offscreen Renderer for one run, a grid.Grid for a
    list. Both have ``frame(steps, azimuth, elevation, distance)`` and ``close()``."""
    many, single = _as_list(runs)
    if single:
        from ..graphics.offscreen import Renderer

        return _Single(Renderer(many[0], view))
    from .grid import Grid

    return Grid(many, view)


class _Single:
    """An offscreen Renderer behind the Grid's interface (a tuple of one step)."""

    def __init__(self, r):
        self.r = r
        self.scene = r.scene

    def frame(self, steps, azimuth=None, elevation=None, distance=None, stage=None) -> np.ndarray:
        return self.r.frame(steps[0], azimuth, elevation, distance, stage=stage)

    def stream(self, states) -> Iterator[np.ndarray]:
        """Frames of (steps, azimuth, elevation, distance[, stage]) states, drawn one ahead (Renderer.stream)."""
        return self.r.stream((steps[0], *camera) for steps, *camera in states)

    def close(self) -> None:
        self.r.close()


def frames(runs, timeline: FrameClock, view: RenderConfig, renderer_=None) -> Iterator[Frame]:
    """The one frame pipeline: every frame of ``timeline`` rendered, with its state.

    ``runs``: a Trajectory (one picture per frame, as ``deform3d record`` draws it) or a list of
    them (a grid of cells at one epoch, as ``deform3d compare`` draws it; the timeline must come from
    ``Timeline.for_runs`` of that list). ``view``: the picture (its ``size`` is the frame's; mesh
    None: the video mesh, scaled to each cell's size in a grid). ``renderer_``: one already made by
    ``renderer`` (kept open; else made here and closed when the generator finishes or is closed).
    """
    if not isinstance(runs, (list, tuple)):
        view = dataclasses.replace(view, mesh=view.mesh or MESH_VIDEO)
    own = renderer_ is None
    r = renderer(runs, view) if own else renderer_
    try:
        if hasattr(r, "stream"):
            # Drawn one ahead (Renderer.stream): the frames handed to it, waiting for their pictures.
            # A frame's stage (the anatomy, one run) rides along; None leaves the scene's as it is.
            waiting = collections.deque()

            def requests():
                for f in states(runs, timeline):
                    waiting.append(f)
                    yield f.steps, f.state.azimuth, f.state.elevation, f.state.distance, f.state.stage

            for image in r.stream(requests()):
                yield dataclasses.replace(waiting.popleft(), image=image)
        else:
            for f in states(runs, timeline):
                s = f.state
                if s.stage is None:
                    image = r.frame(f.steps, s.azimuth, s.elevation, s.distance)
                else:  # the anatomy (one run): the stage of the forward pass, at one step
                    image = r.frame(f.steps, s.azimuth, s.elevation, s.distance, stage=s.stage)
                yield dataclasses.replace(f, image=image)
    finally:
        if own:
            r.close()


# ---------------------------------------------------------------- time codes


def timecode_rows(runs, frames_) -> Iterator[dict]:
    """Time code rows (dicts keyed by TIMECODE_COLUMNS, plus ``cell`` for several runs) of frames.

    loss and accuracy are those of the step the heads-up line names (the nearest recorded step);
    distance is empty when the scene frames the lift itself.
    """
    many, single = _as_list(runs)
    for f in frames_:
        s = f.state
        for cell, (run, step) in enumerate(zip(many, f.steps)):
            i = int(round(step))
            row = {
                "frame": f.index,
                "time_s": f"{f.time:.6f}",
                "step": repr(float(step)),
                "epoch": f"{step / run.steps_per_epoch:.6f}",
                "loss": f"{float(run.loss[i]):.6g}",
                "accuracy": f"{float(run.accuracy[i]):.6f}",
                "azimuth": f"{s.azimuth:.6f}",
                "elevation": f"{s.elevation:.6f}",
                "distance": "" if s.distance is None else f"{s.distance:.6f}",
            }
            if not single:
                row["cell"] = cell
            if s.stage is not None:  # the anatomy: which stage of the forward pass the frame shows
                row["stage"] = f"{s.stage:.6f}"
            yield row


def write_timecodes(runs, frames_, path) -> Path:
    """Write the time codes of ``frames_`` (Frames, pictures or not) to ``path`` as CSV, atomically."""
    _, single = _as_list(runs)
    frames_ = list(frames_)
    columns = TIMECODE_COLUMNS if single else ("frame", "cell") + TIMECODE_COLUMNS[1:]
    if any(f.state.stage is not None for f in frames_):
        columns = columns + ("stage",)
    with atomic_path(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            w.writerows(timecode_rows(runs, frames_))
    return Path(path)


def read_timecodes(path) -> list[dict]:
    """Rows of a time codes file as dicts of floats (``distance`` None when empty)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        out.append({k: (None if v == "" else (int(v) if k in ("frame", "cell") else float(v))) for k, v in row.items()})
    return out


def _check_timecodes(path) -> Path | None:
    if path is None:
        return None
    path = Path(os.fspath(path))
    if path.suffix.lower() != ".csv":
        raise UsageError(f"--timecodes must name a .csv file, got {path}")
    check_writable(path)
    return path


# ---------------------------------------------------------------- the plan of a video


def steer(timeline: Timeline, run, view: RenderConfig) -> None:
    """Turn (and raise) ``timeline``'s steady orbit, where needed, so the lift's sheet is never met edge-on
    (``core.framing.steer_camera``). Only for a follow-framed lift of k >= 3 under an orbit: k = 2 is
    a flat map seen face on, fixed framing shows the whole box, and keyframes are the user's own."""
    from ..core.framing import RunGeometry, steer_camera
    from ..core.geometry import forward
    from ..graphics.layout import layout

    panels = tuple(p for p in view.panels if p != "curve")
    if view.framing != "follow" or run.hidden < 3 or "lift" not in panels or not isinstance(timeline.camera, Orbit):
        return
    box = layout(view.size, panels, legend=view.legend, curve="curve" in view.panels).views["lift"]
    geo = RunGeometry(run, mesh=2)
    # Eight samples a second are plenty for a path smoothed over more than half a second.
    stride = max(1, int(round(timeline.fps / 8)))
    times = np.unique([timeline.time(i) for i in range(0, len(timeline), stride)] + [timeline.last_time])
    states = [timeline.at(t) for t in times]
    lattice = geo.sheet_sample[: len(geo.sheet_sample) - len(run.X)]  # (sheet_sample: the lattice, then the data)
    sample = np.concatenate([lattice, run.X[::4]])  # the lattice and a quarter of the points
    points = [geo.projection(forward(run.weights_at(s.step), sample, run.activation).h1) for s in states]
    da, de = steer_camera(
        points,
        np.array([s.azimuth for s in states]),
        np.array([s.elevation for s in states]),
        box[2] / max(box[3], 1.0),
        timeline.fps / stride,
    )
    if np.any(da != 0) or np.any(de != 0):
        timeline.camera = Steered(timeline.camera, times, da, de)


def _check_anatomy(options: dict) -> None:
    """Options that make no sense in an anatomy video: one clear line (UsageError) for the first."""
    if options.get("pace", RecordConfig.pace) != RecordConfig.pace:
        raise UsageError("--pace paces training steps; an --anatomy video shows one step's stages (drop --pace)")
    if options.get("camera") is not None:
        raise UsageError(
            "--camera keyframes cannot drive an --anatomy video: its camera turns to look down on the "
            "plane for the 2-D stages (drop --camera; --orbit turns it through the 3-D stages)"
        )
    if options.get("stage") is not None:
        raise UsageError("--stage shows one stage; an --anatomy video runs through all of them (drop one)")


@dataclass(frozen=True)
class VideoPlan:
    """Everything a recording needs, checked before any work: ``VideoPlan.make(out, **options)``.

    ``record`` (RecordConfig), ``view`` (RenderConfig at the video's size), ``camera`` (the orbit
    or keyframes, the file read), ``out`` (the target, its format and folder checked),
    ``timecodes`` (a .csv path or None). ``plan.record(run)`` or ``plan.record([run, ...])``
    renders and encodes; ``plan.timeline(runs)`` and ``plan.frames(runs)`` give what it would draw.
    """

    record_config: RecordConfig
    view: RenderConfig
    camera: object
    out: Path
    timecodes: Path | None = None
    anatomy: tuple | None = None  # (step, epoch, at) of an anatomy video (None: a video of training)

    @classmethod
    def make(cls, out, timecodes=None, anatomy: bool = False, step=None, epoch=None, at=None, **options) -> "VideoPlan":
        """Check every option (RecordConfig's and RenderConfig's fields, by name), the camera file,
        the target and the time codes path; raise ConfigError or UsageError before any work.

        ``anatomy``: a video of the forward pass in stages (media.anatomy) at the moment ``step``,
        ``epoch`` or ``at`` picks (default: the end); its camera turns by itself, so a keyframe
        file, a pacing of training or a fixed stage make no sense with it and are refused. Shown in
        the lift panel alone unless other panels are asked for.
        """
        from ..media.recorder import check_target

        given = [n for n, v in (("step", step), ("epoch", epoch), ("at", at)) if v is not None]
        if len(given) > 1:
            raise UsageError(f"give only one of --step, --epoch, --at (got {', '.join('--' + n for n in given)})")
        if anatomy:
            _check_anatomy(options)
            if tuple(options.get("panels", RenderConfig.panels)) == RenderConfig.panels:
                options = {**options, "panels": ("lift",)}
        elif (step, epoch, at) != (None, None, None):
            raise UsageError(
                "--step, --epoch and --at pick the moment of an --anatomy video; "
                "a video of training shows every step (add --anatomy, or drop them)"
            )
        rec_opts, view_opts = split_options(options, RecordConfig, RenderConfig)
        rec = RecordConfig(**rec_opts)
        view = RenderConfig(size=(rec.width, rec.height), **view_opts)
        camera = camera_from_config(rec, view)
        check_target(out, (rec.width, rec.height), rec.frame_rate, rec.crf)
        moment = (step, epoch, at) if anatomy else None
        return cls(rec, view, camera, Path(os.fspath(out)), _check_timecodes(timecodes), moment)

    def to(self, out, timecodes=None) -> "VideoPlan":
        """The same plan for another target (checked); time codes None unless given."""
        from ..media.recorder import check_target

        rec = self.record_config
        check_target(out, (rec.width, rec.height), rec.frame_rate, rec.crf)
        return dataclasses.replace(self, out=Path(os.fspath(out)), timecodes=_check_timecodes(timecodes))

    def timeline(self, runs) -> "Timeline | AnatomyTimeline":
        """The timeline of ``runs`` (one Trajectory or a list), its pacing measured on them; for one
        run in follow framing, its orbit turned away from edge-on views of the sheet (``steer``); an
        anatomy plan's: the stages at its moment (one run)."""
        if self.anatomy is not None:
            from ..media.anatomy import AnatomyTimeline

            if isinstance(runs, (list, tuple)):
                raise UsageError("--anatomy shows one run's forward pass; give one run")
            step = runs.resolve_step(*self.anatomy)
            return AnatomyTimeline.from_config(step, self.record_config, self.camera)
        timeline = Timeline.for_runs(runs, self.record_config, self.camera, self.view)
        if not isinstance(runs, (list, tuple)):
            steer(timeline, runs, self.view)
        return timeline

    def frames(self, runs, timeline: "Timeline | AnatomyTimeline | None" = None) -> Iterator[Frame]:
        """The frames this plan would record (see ``frames``)."""
        return frames(runs, timeline or self.timeline(runs), self.view)

    def record(self, runs, progress=True, stream=None) -> Path:
        """Render and encode ``runs`` to ``out`` (and the time codes, when asked); returns ``out``.

        ``progress``: True, False or a callable (done, total); ``stream``: where the bar and the
        recorder's lines go (None: stderr). Interrupted (Ctrl-C), the shorter video is kept and the
        time codes name its frames.
        """
        from ..media.recorder import Recorder, RecordingInterrupted

        rec = self.record_config
        timeline = self.timeline(runs)
        shown = []  # the frames written, without their pictures: the time codes' rows
        try:
            with Recorder(
                self.out,
                (rec.width, rec.height),
                rec.frame_rate,
                crf=rec.crf,
                total=len(timeline),
                progress=progress,
                stream=stream,
            ) as video:
                for f in frames(runs, timeline, self.view):
                    video.write(f.image)  # type: ignore[arg-type]  # frames() always draws the image
                    shown.append(dataclasses.replace(f, image=None))
        except RecordingInterrupted:
            if self.timecodes is not None and shown:
                write_timecodes(runs, shown, self.timecodes)  # the shorter video's frames
            raise
        if self.timecodes is not None:
            write_timecodes(runs, shown, self.timecodes)
        return self.out
