"""The public API: train, render, record, show, demo, load, watch. The CLI is built on these and nothing else.

Owns: turning keyword options into the config dataclasses (whose fields are the option names and
defaults, once) and running the pieces in order. Each function imports torch or VisPy only when
called, so ``import deform3d`` stays instant. Every function's signature lists its options with
their defaults (``help(deform3d.render)``), generated from the config dataclasses.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .core.config import RecordConfig, RenderConfig, TrainConfig
from .core.errors import UsageError
from .core.progress import check_progress


def _options(*configs, skip=()):
    """Give a ``**options`` function a signature listing the configs' fields and defaults."""

    def wrap(fn):
        sig = inspect.signature(fn)
        params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
        seen = {p.name for p in params}
        for config in configs:
            for f in dataclasses.fields(config):
                if f.name not in seen and f.name not in skip:
                    params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type))
                    seen.add(f.name)
        fn.__signature__ = sig.replace(parameters=params)
        return fn

    return wrap


def public(fn):
    """Mark an API entry point: a UsageError leaves it with its one clear line and no internal frames.

    The message says what is wrong and how to fix it; the frames between the entry point and
    where it was raised only push that line down a notebook cell. The caller's frames stay.
    """

    @functools.wraps(fn)  # keeps the signature _options made
    def entry(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UsageError as e:
            raise e.with_traceback(None) from None

    return entry


def _split(options: dict, *configs) -> list[dict]:
    """Share out keyword options among config classes by field name; unknown names are errors."""
    parts, left = [], dict(options)
    for config in configs:
        names = {f.name for f in dataclasses.fields(config)}
        parts.append({k: left.pop(k) for k in list(left) if k in names})
    if left:
        raise TypeError(f"unknown option(s): {', '.join(sorted(left))}")
    return parts


@public
def load(run):
    """A Trajectory from a Trajectory (returned as is) or the path of a ``.npz`` file.

    >>> run = deform3d.load("run.npz")                 # doctest: +SKIP
    >>> run.num_steps, run.hidden                      # doctest: +SKIP
    (6300, 3)
    """
    from .core.trajectory import Trajectory

    return run if isinstance(run, Trajectory) else Trajectory.load(run)


@public
@_options(TrainConfig)
def train(*, progress: bool | Callable[[int, int], object] = True, **options):
    """Train 2 -> k -> 2 -> 1 and return every step's weights as a Trajectory.

    Options are TrainConfig's fields (dataset, hidden, lr, epochs, seed, ...). ``progress``: True
    shows it (a bar on a terminal, a widget in Jupyter, a line every tenth in a log; nothing for
    work under half a second), False not, a callable gets (done, total) after each epoch.

    >>> run = deform3d.train(hidden=3, epochs=20)     # doctest: +SKIP
    >>> run.num_steps, float(run.accuracy[-1])         # doctest: +SKIP
    (1260, 1.0)
    """
    from .core.data import load_dataset

    check_progress(progress)
    config = TrainConfig(**options)
    data = load_dataset(config)  # numpy only: a bad dataset is reported before torch loads
    from .core.trainer import train as _train

    return _train(config, data=data, progress=progress)


@public
def watch(model, optimizer, X, y, *, dataset: str = "custom", steps_per_epoch: int | None = None):
    """Record a network you train in your own PyTorch loop: a context manager, then a Trajectory.

    ``model``: a ``torch.nn.Module`` that is (or whose layers are, in order) ``Linear(2, k)``, an
    activation (Tanh, Sigmoid or ReLU), ``Linear(k, 2)``, the same activation, ``Linear(2, 1)`` and
    optionally a final ``Sigmoid``, with k = 2, 3 or 4; anything else is a UsageError naming the first
    layer that does not fit. The last Linear's output is the logit z3 whether or not a Sigmoid
    follows. ``optimizer``: any ``torch.optim`` optimizer over the model's parameters; the weights
    are recorded after every ``optimizer.step()`` (a step hook: one row copy, no autograd, no sync on
    a GPU). None: record by hand with ``run.capture()`` after each update. ``X`` (n, 2), ``y`` (n,)
    labels 0/1, tensors (any device) or arrays: the data shown and scored (loss and accuracy at
    every step are computed on it after the loop). ``dataset``: the name a picture shows for it.
    ``steps_per_epoch``: None guesses it from the points the model sees before the first step.

    When the ``with`` block ends (also by an exception: the hooks are removed either way) the run is
    a Trajectory: save, render, record and show it like a trained one. Its metadata says it came
    from your loop (``meta["source"] == "deform3d.watch"``) with the optimizer's class and settings.

    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(),      # doctest: +SKIP
    ...                             torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)          # doctest: +SKIP
    >>> with deform3d.watch(model, opt, X, y) as run:                             # doctest: +SKIP
    ...     for xb, yb in loader:
    ...         opt.zero_grad()
    ...         F.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb).backward()
    ...         opt.step()
    >>> deform3d.record(run, "mine.mp4", quality="low")                         # doctest: +SKIP
    PosixPath('mine.mp4')
    """
    from .core.watcher import WatchedRun

    return WatchedRun(model, optimizer, X, y, dataset=dataset, steps_per_epoch=steps_per_epoch)


@public
@_options(RenderConfig)
def render(run, *, step: float | None = None, epoch: float | None = None, at: float | None = None, **options) -> np.ndarray:
    """Render one frame of a run headless: an (height, width, 3) uint8 RGB array.

    ``run``: a Trajectory or a ``.npz`` path. One of ``step`` (optimizer step), ``epoch`` or
    ``at`` (fraction of training, 0..1) picks the moment (default: the end); fractions interpolate
    the weights. Options are RenderConfig's fields (size, panels, theme, azimuth, elevation, ...).

    >>> image = deform3d.render("run.npz", epoch=10, size=(960, 540))   # doctest: +SKIP
    >>> image.shape                                                     # doctest: +SKIP
    (540, 960, 3)
    """
    from .graphics.offscreen import Renderer

    config = RenderConfig(**options).resolved("still")
    run = load(run)
    t = run.resolve_step(step, epoch, at)
    with Renderer(run, config) as r:
        return r.frame(t)


def _video_plan(out, options: dict):
    """Check every recording option and the target before any work: (record, view, camera)."""
    from .media.recorder import check_target
    from .media.timeline import camera_from_config

    rec_opts, view_opts = _split(options, RecordConfig, RenderConfig)
    rec = RecordConfig(**rec_opts)
    view = RenderConfig(size=(rec.width, rec.height), **view_opts)
    camera = camera_from_config(rec, view)
    check_target(out, (rec.width, rec.height), rec.frame_rate, rec.crf)
    return rec, view, camera


@public
@_options(RecordConfig, RenderConfig)
def record(run, out, *, progress: bool | Callable[[int, int], object] = True, **options) -> Path:
    """Record a video of a run training: returns the path written.

    ``out``'s extension picks the format: .mp4 (H.264), .webm (VP9), .gif, or a folder of PNGs
    (a path ending in '/'). Options are RecordConfig's (quality, size, fps, duration, frames,
    pace, orbit, camera, crf, ...) and RenderConfig's (panels, theme, azimuth, elevation, ...).
    Ctrl-C keeps a valid, shorter video and raises KeyboardInterrupt. ``progress``: as for train,
    a callable gets (frames done, frames in all) after each frame.

    >>> deform3d.record("run.npz", "run.mp4", quality="low", duration=6)   # doctest: +SKIP
    PosixPath('run.mp4')
    """
    check_progress(progress)
    rec, view, camera = _video_plan(out, options)
    return _record(load(run), out, rec, view, camera, progress)


def _record(run, out, rec: RecordConfig, view: RenderConfig, camera, progress, stream=None) -> Path:
    """Record a checked plan (``_video_plan``); ``stream``: where the bar and the recorder's lines go."""
    from .graphics.offscreen import Renderer
    from .media.recorder import Recorder
    from .media.timeline import Timeline

    timeline = Timeline.from_config(run.num_steps, rec, camera)
    view = view.resolved("video")
    with Renderer(run, view) as r, Recorder(out, (rec.width, rec.height), rec.frame_rate, crf=rec.crf,
                                            total=len(timeline), progress=progress, stream=stream) as video:
        for state in timeline:
            video.write(r.frame(state.step, state.azimuth, state.elevation, state.distance))
    return Path(out)


@public
@_options(RenderConfig, skip=("ssaa",))  # a window draws at its own size: supersampling is for stills
def show(run=None, *, train: TrainConfig | bool = False, save_dir: str | Path = ".", play: bool = False,
         full_detail: bool = False, **options) -> int:
    """Open the interactive window (needs Qt: ``pip install 'deform3d[gui]'``); returns 0 once closed.

    ``run``: a Trajectory or a ``.npz`` path to explore; None trains live in a background thread
    (``train``: a TrainConfig, or False/True for the defaults) while the window shows each new step.
    Options are RenderConfig's fields; ``size`` is the picture's size inside the window, which is
    what ``s`` (PNG) and ``v`` (MP4) save into ``save_dir``. ``play``: start playing at once.
    ``full_detail``: keep the full mesh while the view moves (default: half while playing or
    dragging, for the frame rate of a software renderer; stills always get the full mesh).
    Raises UsageError without Qt, without a display, or given both a run and ``train``.

    >>> deform3d.show("run.npz", theme="dark")          # doctest: +SKIP
    >>> deform3d.show(train=TrainConfig(hidden=2))       # doctest: +SKIP
    """
    from .ui.app import show as _show

    if run is not None and train:
        raise UsageError("give a run to show or train live, not both")
    config = None if run is not None else (train if isinstance(train, TrainConfig) else TrainConfig())
    return _show(run, config, RenderConfig(**options), save_dir, play, full_detail)  # a path: the title names the file


@public
@_options(RecordConfig, RenderConfig)
def demo(out: str | Path = "out/demo", *, progress: bool | Callable[[int, int], object] = True, echo=None, **options) -> list[Path]:
    """The original experiment: k = 2, 3, 4 on the circles, a video each and a contact sheet.

    Writes ``circles-k{K}.npz`` and ``circles-k{K}.mp4`` for each k and ``contact-sheet.png`` (the
    three final frames side by side) into ``out``; returns the paths. ``options``: recording and
    picture options as for ``record`` (e.g. quality="low"). ``echo``: called with a line of text
    after each network (e.g. ``print``).

    >>> deform3d.demo("out/demo", quality="low", duration=6, echo=print)   # doctest: +SKIP
    k=2: final accuracy  84.0%, loss 0.353 -> out/demo/circles-k2.mp4
    ...
    """
    from .graphics.offscreen import Renderer, write_png
    from .core.trainer import train as _train

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the demo's videos")
    out.mkdir(parents=True, exist_ok=True)
    rec, view, camera = _video_plan(out / "circles-k2.mp4", options)
    written, finals = [], []
    for k in (2, 3, 4):
        run = _train(TrainConfig(hidden=k), progress=progress)
        written.append(run.save(out / f"circles-k{k}.npz"))
        written.append(_record(run, out / f"circles-k{k}.mp4", rec, view, camera, progress))
        still = view.resolved("still", size=(960, 540))
        with Renderer(run, still) as r:
            finals.append(r.frame())  # the scene opens on the last step and the config's camera
        if echo:
            echo(f"k={k}: final accuracy {100 * run.accuracy[-1]:5.1f}%, loss {run.loss[-1]:.3g} -> {written[-1]}")
    written.append(write_png(np.concatenate(finals, axis=1), out / "contact-sheet.png"))
    if echo:
        echo(f"contact sheet -> {written[-1]}")
    return written


@_options(TrainConfig)  # each also takes a list of values
def sweep(out: str | Path, *, client=None, scheduler: str | None = None, workers: int | None = None,
          atlas: bool = True, panel: str = "plane", progress: bool | Callable[[int, int], object] = True, echo=None,
          **options):
    """Train every combination of training options, batched; write runs, a summary and pictures.

    Options are TrainConfig's fields, each one value or a list (``hidden=[2, 3, 4],
    seed=range(32)``). Writes ``out/runs/*.npz`` (each equal, bit for bit, to ``train`` with its
    settings), ``out/summary.csv``, ``out/atlas.png`` (every run's final ``panel``, grouped by
    setting, best first) and ``out/curves.png`` (accuracy over epochs per group), unless
    ``atlas=False``; returns a ``deform3d.core.sweeps.SweepResult``. Complete runs already in
    ``out`` are not trained again. ``client`` (a dask.distributed.Client) or ``scheduler`` (its
    address) trains and renders on Dask workers; else ``workers`` local processes (None: one per
    core). ``progress``: runs done of all, as for train. ``echo``: called with each digest line.

    >>> result = deform3d.sweep("out/width", hidden=[2, 3], seed=range(8), echo=print)   # doctest: +SKIP
    k=2: 0/8 separate, accuracy 0.83-0.89
    k=3: 8/8 separate, accuracy 1.00, median 6.4 epochs to 95%
    """
    from .core.config import PANELS
    from .core.errors import ConfigError
    from .core.sweeps import SEPARATED, check_folder, check_workers, connect, grid, groups, shared_label, train_sweep

    if panel not in PANELS:
        raise ConfigError("panel", f"must be one of {', '.join(PANELS)}, got {panel!r}")
    check_progress(progress)
    check_workers(workers)
    configs = grid(**options)
    out = check_folder(out)
    # Everything is checked before the scheduler is dialled, and that before anything is written.
    own = connect(scheduler) if client is None and scheduler is not None else None
    try:
        result = train_sweep(out, configs, client=client or own, workers=workers, progress=progress, echo=echo)
        if atlas:
            from .graphics.atlas import write_atlas, write_curves

            title, grouped = shared_label(result.results), groups(result.results)
            write_atlas(out / "atlas.png", grouped, out / "runs", panel=panel, client=client or own, title=title)
            write_curves(out / "curves.png", grouped, SEPARATED, title=title)
        return result
    finally:
        if own is not None:
            own.close()
