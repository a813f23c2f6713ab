"""The public API: train, render, record, compare, video_plan, show, demo, load, watch, sweep, doctor. The CLI is built on these and nothing else.

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

from .core.config import RecordConfig, RenderConfig, TrainConfig, split_options
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
                    params.append(
                        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
                    )
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


def doctor():
    """What this machine gives deform3d, as ``deform3d doctor`` prints it: a Report with ``lines``
    (versions; the GL headless rendering gets, and whether it is a software renderer; Qt and a
    display for ``show``; ffmpeg; CPU threads), ``missing`` (what ``render``/``record`` lack) and ``ok``.

    >>> print("\\n".join(deform3d.doctor().lines))   # doctest: +SKIP
    """
    from .sysinfo import diagnose

    return diagnose()


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

    return check_training(_train(config, data=data, progress=progress), config)


def check_training(run, config: TrainConfig):
    """What train does with a diverged run (lr 1e3, say): non-finite weights or loss cannot be
    drawn, so they are a RuntimeFault naming the step and nothing is returned (nor saved); a finite
    run that ended far worse than it began (final loss over twice the first) is returned, with a
    DivergedWarning, since watching a divergence is a lesson too."""
    import warnings

    from .core.errors import DivergedWarning, RuntimeFault

    finite = np.isfinite(run.weights.flat()).all(axis=-1)
    (first, last), (_, accuracy) = run.metrics_at([0, run.num_steps])  # not every step's: see Trajectory
    if not finite.all() or not np.isfinite([first, last]).all():
        finite &= np.isfinite(run.loss)  # (every step's loss, only to name the step)
        step = int(np.argmin(finite))
        raise RuntimeFault(
            f"training diverged: the loss or weights became NaN or infinite at step {step} "
            f"(epoch {step / run.steps_per_epoch:.3g}) with --lr {config.lr:g}; nothing was written; "
            f"try a smaller --lr, e.g. {TrainConfig.lr}"
        )
    if last > 2 * first:
        warnings.warn(
            DivergedWarning(
                f"training diverged: final loss {last:.3g} against {first:.3g} at the start "
                f"(accuracy {100 * accuracy:.1f}%) with --lr {config.lr:g}; the run is kept; try a smaller --lr"
            ),
            stacklevel=3,
        )
    return run


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
def render(
    run, *, step: float | None = None, epoch: float | None = None, at: float | None = None, **options
) -> np.ndarray:
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


@_options(RecordConfig, RenderConfig)
def video_plan(
    out,
    *,
    timecodes: str | Path | None = None,
    anatomy: bool = False,
    step: float | None = None,
    epoch: float | None = None,
    at: float | None = None,
    **options,
):
    """Check a recording's options, camera file and target before any work: a ``VideoPlan``.

    Options as for ``record``. ``plan.record(run)`` (or a list of runs, side by side) renders and
    encodes; ``plan.frames(run)`` yields the frames with their states without encoding; raises
    ConfigError or UsageError (one line) on a bad option or an unwritable target.

    >>> plan = deform3d.video_plan("run.mp4", quality="low")   # doctest: +SKIP
    >>> plan.record(deform3d.load("run.npz"))                  # doctest: +SKIP
    PosixPath('run.mp4')
    """
    from .video.pipeline import VideoPlan

    return VideoPlan.make(out, timecodes=timecodes, anatomy=anatomy, step=step, epoch=epoch, at=at, **options)


@public
@_options(RecordConfig, RenderConfig)
def record(
    run,
    out,
    *,
    progress: bool | Callable[[int, int], object] = True,
    timecodes: str | Path | None = None,
    anatomy: bool = False,
    step: float | None = None,
    epoch: float | None = None,
    at: float | None = None,
    **options,
) -> Path:
    """Record a video of a run training: returns the path written.

    ``out``'s extension picks the format: .mp4 (H.264), .webm (VP9), .gif, or a folder of PNGs
    (a path ending in '/'). Options are RecordConfig's (quality, size, fps, duration, frames,
    pace, orbit, camera, crf, ...) and RenderConfig's (panels, theme, azimuth, elevation, ...).
    ``timecodes``: a .csv path for one row per frame (frame, time_s, step, epoch, loss, accuracy,
    azimuth, elevation, distance). Ctrl-C keeps a valid, shorter video and raises KeyboardInterrupt.
    ``progress``: as for train, a callable gets (frames done, frames in all) after each frame.
    ``anatomy``: instead of training, the forward pass of one moment (``step``, ``epoch`` or ``at``;
    default: the end) in its stages, x -> W1 x -> + b1 -> act -> W2 -> + b2 -> act -> the cut, a
    hold at each (the lift panel alone unless ``panels`` says otherwise; time codes get ``stage``).

    >>> deform3d.record("run.npz", "run.mp4", quality="low", duration=6)   # doctest: +SKIP
    PosixPath('run.mp4')
    >>> deform3d.record("run.npz", "anatomy.mp4", anatomy=True, epoch=5)   # doctest: +SKIP
    PosixPath('anatomy.mp4')
    """
    check_progress(progress)
    plan = video_plan(out, timecodes=timecodes, anatomy=anatomy, step=step, epoch=epoch, at=at, **options)
    return plan.record(load(run), progress)


def _train_grid(options: dict) -> tuple[list, dict, list]:
    """Split compare's options into TrainConfigs (a list value, e.g. hidden=(2, 3, 4), gives one
    run per value; several lists give every combination, in the order given), the other options,
    and the training options' names. ``points`` stays a picture option (show the data), as in
    ``record``'s signature."""
    import itertools

    options = dict(options)
    names = {f.name for f in dataclasses.fields(TrainConfig)} - {"points"}
    train = {k: options.pop(k) for k in list(options) if k in names}
    given = sorted(train)
    if "hidden" not in train and not any(isinstance(v, (list, tuple)) for v in train.values()):
        train["hidden"] = (2, 3, 4)  # nothing to vary was named: the lecture's comparison of widths
    axes = [(k, list(v) if isinstance(v, (list, tuple)) else [v]) for k, v in train.items()]
    configs = [
        TrainConfig(**dict(zip([k for k, _ in axes], combo))) for combo in itertools.product(*(v for _, v in axes))
    ]
    return configs, options, given


@public
@_options(RecordConfig, RenderConfig)
def compare(
    runs,
    out,
    *,
    progress: bool | Callable[[int, int], object] = True,
    timecodes: str | Path | None = None,
    epoch: float | None = None,
    echo=None,
    **options,
) -> Path:
    """Several runs side by side in one video or still, at the same epoch in every cell.

    ``runs``: Trajectories or ``.npz`` paths; None trains them from training options (TrainConfig's
    fields but ``points``, which here is the picture's), where a list gives one run per value
    (``hidden=(2, 3, 4)``, ``seed=(0, 1, 2)``; several lists: every combination); with no list,
    ``hidden`` defaults to (2, 3, 4). ``out``: a video as for ``record``, or a ``.png`` for a still at ``epoch``
    (default: the end). The cells share one camera path and one clock (``pace="change"`` measures
    every run), each under a label naming k, activation, dataset, epoch and accuracy now.
    ``timecodes``: a .csv with a row per frame and cell (``cell`` is the run's index).

    >>> deform3d.compare(["k2.npz", "k3.npz", "k4.npz"], "k234.mp4", quality="low")   # doctest: +SKIP
    PosixPath('k234.mp4')
    >>> deform3d.compare(None, "seeds.mp4", seed=(0, 1, 2))                           # doctest: +SKIP
    PosixPath('seeds.mp4')
    """
    check_progress(progress)
    configs, options, trained = _train_grid(options)
    if runs is not None and trained:
        raise UsageError(
            f"training options ({', '.join(trained)}) are used only when no runs are given; "
            f"drop them, or drop the runs to train first"
        )
    still = str(out).lower().endswith(".png")
    if still:
        from .core.files import check_writable
        from .graphics.offscreen import write_png

        if timecodes is not None:
            raise UsageError("--timecodes is for a video; a .png still has one moment")
        if epoch is not None and not epoch >= 0:
            raise UsageError(f"--epoch must be 0 or more, got {epoch:g}")  # before any training
        rec_opts, view_opts = split_options(options, RecordConfig, RenderConfig)
        rec = RecordConfig(**rec_opts)
        view = RenderConfig(size=(rec.width, rec.height), **view_opts)
        check_writable(out)
    else:
        if epoch is not None:
            raise UsageError("--epoch picks a still's moment; a video shows every epoch (or write a .png)")
        plan = video_plan(out, timecodes=timecodes, **options)
    runs = _compare_runs(runs, configs, progress, echo)
    if still:
        from .video.pipeline import renderer

        end = max(r.num_steps / r.steps_per_epoch for r in runs)
        e = end if epoch is None else float(epoch)
        if not 0 <= e <= end:
            raise UsageError(f"--epoch must be between 0 and {end:g} for these runs, got {e:g}")
        grid = renderer(runs, dataclasses.replace(view, ssaa=view.ssaa or 2))
        try:
            image = grid.frame(
                [min(e * r.steps_per_epoch, r.num_steps) for r in runs], view.azimuth, view.elevation, view.distance
            )
        finally:
            grid.close()
        return write_png(image, out)
    return plan.record(runs, progress)


def _compare_runs(runs, configs, progress, echo) -> list:
    if runs is not None:
        runs = [load(r) for r in (runs if isinstance(runs, (list, tuple)) else [runs])]
        if not runs:
            raise UsageError("no runs to compare; give RUN.npz files, or none to train from the training options")
        return runs
    from .core.data import load_dataset

    for c in configs:
        load_dataset(c)  # numpy only: a bad dataset is reported before torch loads
    from .core.trainer import train as _train

    out = []
    for c in configs:
        out.append(check_training(_train(c, progress=progress), c))
        if echo:
            echo(
                f"trained k={c.hidden} {c.activation} {out[-1].meta['dataset']} seed {c.seed}: "
                f"accuracy {100 * out[-1].accuracy[-1]:.1f}%"
            )
    return out


@public
@_options(RenderConfig, skip=("ssaa",))  # a window draws at its own size: supersampling is for stills
def show(
    run=None,
    *,
    train: TrainConfig | bool = False,
    save_dir: str | Path = ".",
    play: bool = False,
    full_detail: bool = False,
    font_scale: float = 1.0,
    **options,
) -> int:
    """Open the interactive window (needs Qt: ``pip install 'deform3d[gui]'``); returns 0 once closed.

    ``run``: a Trajectory or a ``.npz`` path to explore; None trains live in a background thread
    (``train``: a TrainConfig, or False/True for the defaults) while the window shows each new step.
    Options are RenderConfig's fields; ``size`` is the picture's size inside the window, which is
    what ``s`` (PNG) and ``v`` (MP4) save into ``save_dir``. ``play``: start playing at once.
    ``full_detail``: keep the full mesh while the view moves (default: half while playing or
    dragging, for the frame rate of a software renderer; stills always get the full mesh).
    ``font_scale``: all text in the window times this (0.5 to 3; keys + and - change it live).
    Raises UsageError without Qt, without a display, or given both a run and ``train``.

    >>> deform3d.show("run.npz", theme="dark")          # doctest: +SKIP
    >>> deform3d.show(train=TrainConfig(hidden=2))       # doctest: +SKIP
    """
    from .ui.app import show as _show

    if run is not None and train:
        raise UsageError("give a run to show or train live, not both")
    config = None if run is not None else (train if isinstance(train, TrainConfig) else TrainConfig())
    return _show(
        run, config, RenderConfig(**options), save_dir, play, full_detail, font_scale
    )  # a path: the title names the file


@public
@_options(RecordConfig, RenderConfig)
def demo(
    out: str | Path = "out/demo", *, progress: bool | Callable[[int, int], object] = True, echo=None, **options
) -> list[Path]:
    """The original experiment: k = 2, 3, 4 on the circles, a video each, the anatomy of each trained
    network, the three side by side, and a contact sheet.

    Writes ``circles-k{K}.npz``, ``circles-k{K}.mp4`` and ``circles-k{K}-anatomy.mp4`` (the trained
    network's forward pass in its stages, as ``record(..., anatomy=True)``) for each k, ``circles-k2-k3-k4.mp4`` (the
    three in one video at the same epoch, as ``compare`` draws them) and ``contact-sheet.png`` (the
    three final frames side by side) into ``out``; returns the paths. ``options``: recording and
    picture options as for ``record`` (e.g. quality="low"). ``echo``: called with a line of text
    after each network (e.g. ``print``).

    >>> deform3d.demo("out/demo", quality="low", duration=6, echo=print)   # doctest: +SKIP
    k=2: final accuracy  84.0%, loss 0.353 -> out/demo/circles-k2.mp4
    ...
    """
    from .core.trainer import train as _train
    from .graphics.offscreen import Renderer, write_png

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the demo's videos")
    out.mkdir(parents=True, exist_ok=True)
    plan = video_plan(out / "circles-k2.mp4", **options)
    # The anatomy's own file (not the opening of each video: a training video is watched for how the
    # sheet changes, the anatomy for how one network is built, and a lecture shows them apart). Its
    # camera turns by itself, so a pacing or keyframes asked for the training videos do not apply.
    anatomy = video_plan(
        out / "circles-k2-anatomy.mp4",
        anatomy=True,
        **{**options, "pace": RecordConfig.pace, "camera": None, "stage": None},
    )
    view = plan.view
    written, finals, runs = [], [], []
    for k in (2, 3, 4):
        run = _train(TrainConfig(hidden=k), progress=progress)
        runs.append(run)
        written.append(run.save(out / f"circles-k{k}.npz"))
        written.append(plan.to(out / f"circles-k{k}.mp4").record(run, progress))
        written.append(anatomy.to(out / f"circles-k{k}-anatomy.mp4").record(run, progress))
        still = view.resolved("still", size=(960, 540))
        with Renderer(run, still) as r:
            finals.append(r.frame())  # the scene opens on the last step and the config's camera
        if echo:
            echo(f"k={k}: final accuracy {100 * run.accuracy[-1]:5.1f}%, loss {run.loss[-1]:.3g} -> {written[-2]}")
            echo(f"k={k}: its anatomy, the forward pass in stages -> {written[-1]}")
    # The centrepiece: the three side by side, at the same epoch, on one clock and camera.
    written.append(plan.to(out / "circles-k2-k3-k4.mp4").record(runs, progress))
    if echo:
        echo(f"k = 2 | 3 | 4 side by side -> {written[-1]}")
    written.append(write_png(np.concatenate(finals, axis=1), out / "contact-sheet.png"))
    if echo:
        echo(f"contact sheet -> {written[-1]}")
    return written


@_options(TrainConfig)  # each also takes a list of values
def sweep(
    out: str | Path,
    *,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    atlas: bool = True,
    panel: str = "plane",
    progress: bool | Callable[[int, int], object] = True,
    echo=None,
    **options,
):
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
