"""The ``deform3d`` command line: parses options and calls ``deform3d.api``; no logic lives here.

Every option is generated from a field of a config dataclass (its name, type and default), so the
CLI, the API and config files cannot drift apart. Errors from the library become one line on stderr
and an exit status: 2 for usage (UsageError, ConfigError: a bad option, value or input file), 1 for
a runtime fault (RuntimeFault: no ffmpeg or EGL, a full disk, a diverged run), 130 for SIGINT and 143
for SIGTERM (which leaves no partial output). Options are never abbreviated (``--dur`` is not
``--duration``), the short flags -o, -q, -s, -f mean --out, --quiet, --size, --fps on every command
that has them, and an unknown option prints its command's usage. Heavy modules (torch, VisPy) load
inside each command, so ``deform3d --help`` answers at once.
"""

from __future__ import annotations

import argparse
import difflib
import re
import signal
import sys
import warnings
from dataclasses import asdict, fields

from .core.config import (
    ACTIVATIONS,
    DATASETS,
    OPTIMIZERS,
    PACES,
    PANELS,
    QUALITY,
    THEMES,
    RecordConfig,
    RenderConfig,
    TrainConfig,
    parse_size,
)
from .core.errors import ConfigError, DivergedWarning, Terminated, UsageError

PROG = "deform3d"

HELP = {
    # TrainConfig
    "dataset": (f"built-in dataset ({', '.join(DATASETS)}) or a CSV file with columns x, y, label", "NAME|PATH.csv"),
    "points": ("points per class for a built-in dataset", "N"),
    "noise": ("noise of a built-in dataset (default: the dataset's own)", "F"),
    "hidden": ("width k of the first hidden layer (the lift lives in R^k): 2, 3 or 4", "K"),
    "activation": (f"hidden activation: {', '.join(ACTIVATIONS)}", "A"),
    "optimizer": (f"optimizer: {', '.join(OPTIMIZERS)}", "NAME"),
    "lr": ("learning rate", "F"),
    "momentum": ("SGD momentum", "F"),
    "epochs": ("passes over the data", "N"),
    "batch_size": ("points per optimizer step", "N"),
    "seed": ("seed for the data, the initial weights and the batch order", "N"),
    # RenderConfig
    "size": ("picture size in pixels", "WxH"),
    "panels": (f"panels, from {', '.join(PANELS)} (curve: loss and accuracy over the run, a strip below)", "P,P"),
    "theme": (f"{' or '.join(THEMES)}", "NAME"),
    "azimuth": ("lift camera azimuth, degrees", "DEG"),
    "elevation": ("lift camera elevation, degrees", "DEG"),
    "distance": ("lift camera distance (default: fit the box)", "D"),
    "ssaa": ("supersampling: render N x larger and average (default: 2 for stills, 1 for video)", "N"),
    "mesh": ("sheet vertices per side (default: 256 for stills, 96 for video)", "N"),
    "grid": ("grid lines on the sheet", None),
    "show_points": ("the data points", None),
    "tint": ("tint the sheet and the plane's half-planes by predicted class, as strongly as the network is sure", None),
    "folds": ("draw the folds' creases (det J = 0), dashed grey", None),
    "surface": ("the decision surface in the lift (k = 3)", None),
    "legend": ("a legend of the classes, the decision line, surface and crease", None),
    "stage": (
        "the anatomy: show the forward pass at stage S in the lift panel, 0 (input plane) .. 7 (cut by the "
        "line); fractions move between stages",
        "S",
    ),
    "framing": ("follow: cameras frame the sheet of the moment, smoothly; fixed: the activation's whole box", "NAME"),
    # RecordConfig
    "quality": (
        f"size and frame rate preset: {', '.join(f'{q} {w}x{h}@{f}' for q, (w, h, f) in QUALITY.items())}",
        "NAME",
    ),
    "fps": ("frames per second (default: the quality's)", "N"),
    "duration": ("video length in seconds", "S"),
    "frames": ("exact number of frames (overrides --duration)", "N"),
    "pace": (
        f"step pacing: {', '.join(PACES)} (change: time where the picture changes most; ease: early training "
        f"gets more time)",
        "NAME",
    ),
    "hold_start": ("seconds to hold the first frame (a short video shrinks the holds to a third of it)", "S"),
    "hold_end": ("seconds to hold the last frame", "S"),
    "orbit": ("camera orbit speed, degrees per second (0: still)", "DEG_PER_S"),
    "camera": ("camera keyframes, a TOML file (replaces the orbit)", "PATH.toml"),
    "crf": ("constant-quality factor for .mp4 (0..51) / .webm (0..63); lower is better (default: 18 / 30)", "N"),
}
# The short flags, the same on every command that has the long one (tests/test_first_contact.py checks).
SHORT = {"out": "-o", "quiet": "-q", "size": "-s", "fps": "-f"}
# RenderConfig's "points" (show the data) clashes with TrainConfig's "points" (per class) on the
# record command line; there it is --show-points / --no-show-points.
RENAMED = {(RenderConfig, "points"): "show_points"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong and where to read more, then exit 2."""

    commands: dict[str, _Parser]  # the top level's: each command's parser, by name (build_parser)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # `--dur 3` must not silently mean --duration
        super().__init__(*args, **kwargs)
        # argparse takes "--size -5x10" for a missing value followed by an option; seen as a value,
        # it reaches the size check and its message ("must be 16..8192 pixels per side").
        self._negative_number_matcher = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d+x-?\d+$")

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)

    def unrecognized(self, extra: list[str]) -> None:
        """Unknown options: this command's usage, then one error line (with a close match, if any)."""
        known = [o for a in self._actions for o in a.option_strings]
        unknown = [a for a in extra if a.startswith("-")] or extra
        flag = unknown[0].split("=")[0]
        close = [o for o in known if o.startswith(flag) and len(flag) > 2] or difflib.get_close_matches(
            flag, known, n=1, cutoff=0.75
        )
        hint = f"; did you mean {close[0]}?" if close else ""
        self.print_usage(sys.stderr)
        noun = "option" if unknown[0].startswith("-") else "argument"
        self.error(f"unrecognized {noun} {' '.join(unknown)}{hint}")

    def add_argument(self, *args, **kwargs):
        # -o/-q beside --out/--quiet, wherever a command has them.
        name = args[0][2:].replace("-", "_") if args and args[0].startswith("--") else None
        if name in SHORT and len(args) == 1:
            args = (SHORT[name], *args)
        return super().add_argument(*args, **kwargs)


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(e.message) from None


def _panels(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _converter(annotation: str):
    base = annotation.split(" | ")[0]
    return {"int": int, "float": float, "str": str, "tuple[int, int]": _size, "tuple[str, ...]": _panels}[base]


def add_config_options(parser, config, title: str, skip=()) -> None:
    """One option per field of ``config``: --field-name, its type from the annotation, its default."""
    group = parser.add_argument_group(title)
    for f in fields(config):
        if f.name in skip:
            continue
        dest = RENAMED.get((config, f.name), f.name)
        flag = "--" + dest.replace("_", "-")
        flags = (SHORT[dest], flag) if dest in SHORT else (flag,)
        default = f.default
        text, metavar = HELP[dest] if dest in HELP else HELP[f.name]
        if f.type == "bool":
            group.add_argument(
                flag,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"{text} (default: {'on' if default else 'off'})",
            )
            continue
        shown = (
            default if not isinstance(default, tuple) else ("x" if f.name == "size" else ",").join(map(str, default))
        )
        note = "" if "(default" in text or default is None else f" (default: {shown})"
        if f.name == "size" and default is None:
            note = " (default: the quality's)"
        group.add_argument(
            *flags, dest=dest, type=_converter(str(f.type)), default=default, metavar=metavar, help=text + note
        )


def config_from(args, config, skip=()):
    """Build a config dataclass from parsed options (ConfigError on a bad value); fields in ``skip``
    keep their defaults (another config owns that option on this command)."""
    values = {
        f.name: getattr(args, RENAMED.get((config, f.name), f.name))
        for f in fields(config)
        if f.name not in skip and hasattr(args, RENAMED.get((config, f.name), f.name))
    }
    return config(**values)


def _progress(args):
    # A bar on a terminal, a line every tenth in a log (deform3d.progress); --quiet: nothing.
    return not args.quiet


# ---------------------------------------------------------------- commands


def cmd_train(args) -> int:
    from . import api
    from .core.files import check_writable

    config = config_from(args, TrainConfig)
    check_writable(args.out)
    run = api.train(progress=_progress(args), **config.to_dict())
    run.save(args.out)
    print(
        f"k={config.hidden} {run.meta['dataset']}: {run.num_steps} steps, final loss {run.loss[-1]:.3g}, "
        f"accuracy {100 * run.accuracy[-1]:.1f}% -> {args.out}"
    )
    return 0


def cmd_render(args) -> int:
    from . import api
    from .core.files import check_writable
    from .graphics.offscreen import write_png

    config = config_from(args, RenderConfig)
    if not str(args.out).lower().endswith(".png"):
        raise UsageError(f"--out must be a .png file, got {args.out}; for video use `deform3d record`")
    check_writable(args.out)
    run = api.load(args.run)
    image = api.render(run, step=args.step, epoch=args.epoch, at=args.at, **asdict(config))
    write_png(image, args.out)
    stage = f", stage {config.stage:g} of 7" if config.stage is not None else ""
    print(f"step {run.resolve_step(args.step, args.epoch, args.at):g} of {run.num_steps}{stage} -> {args.out}")
    return 0


def _record_options(args) -> dict:
    rec = config_from(args, RecordConfig)
    # A video's size is RecordConfig's (its quality preset, or --size): the view takes it in api.record.
    view = {n: v for n, v in asdict(config_from(args, RenderConfig, skip=("size",))).items() if n != "size"}
    return {**asdict(rec), **view}


def _training_flags_given(args) -> list[str]:
    """The training options set to anything but their defaults, as flags (--hidden, ...)."""
    return ["--" + f.name.replace("_", "-") for f in fields(TrainConfig) if getattr(args, f.name) != f.default]


def cmd_record(args) -> int:
    from . import api
    from .core.files import check_writable

    options = _record_options(args)
    moment = {"step": args.step, "epoch": args.epoch, "at": args.at}
    # every option and the target, before training
    plan = api.video_plan(args.out, timecodes=args.timecodes, anatomy=args.anatomy, **moment, **options)
    if args.run is None:
        config = config_from(args, TrainConfig)
        if args.save_run:
            check_writable(args.save_run)
        from .graphics.offscreen import warm_up

        warm_up()  # VisPy and EGL load on the GL thread while torch loads and trains here
        run = api.train(progress=_progress(args), **config.to_dict())
        if args.save_run:
            run.save(args.save_run)
    else:
        changed = _training_flags_given(args) + (["--save-run"] if args.save_run else [])
        if changed:
            names = ", ".join(changed)
            raise UsageError(
                f"{names}: training options are used only when no RUN.npz is given; drop them, or drop RUN.npz to train first"
            )
        run = api.load(args.run)
    path = plan.record(run, _progress(args))
    rec = plan.record_config
    what = f"the anatomy at step {run.resolve_step(*plan.anatomy):g}, " if plan.anatomy is not None else ""
    print(
        f"{what}{rec.frame_count} frames, {rec.width}x{rec.height} at {rec.frame_rate:g} fps -> {path}"
        + (f" (time codes -> {plan.timecodes})" if plan.timecodes else "")
    )
    return 0


def _train_lists(args) -> dict:
    """compare's training options: each a value or a comma list (one run per value)."""
    out = {}
    for f in fields(TrainConfig):
        text = getattr(args, f.name, None)
        if not isinstance(text, str) or text == f.default:
            continue  # not given (argparse leaves a default unconverted), or given as the default
        convert = _converter(str(f.type))
        values = []
        for part in str(text).split(","):
            part = part.strip()
            try:
                values.append(None if part.lower() == "none" and f.name == "noise" else convert(part))
            except ValueError:
                raise UsageError(
                    f"--{f.name.replace('_', '-')}: {part!r} is not a valid value; give one or a comma list, e.g. --hidden 2,3,4"
                ) from None
        out[f.name] = values if len(values) > 1 else values[0]
    return out


def cmd_compare(args) -> int:
    from . import api

    options = _record_options(args)
    training = _train_lists(args)
    if args.runs and training:
        names = ", ".join("--" + n.replace("_", "-") for n in training)
        raise UsageError(
            f"{names}: training options are used only when no RUN.npz is given; drop them, or drop the runs to train first"
        )
    path = api.compare(
        args.runs or None,
        args.out,
        progress=_progress(args),
        timecodes=args.timecodes,
        epoch=args.epoch,
        echo=None if args.quiet else print,
        **options,
        **training,
    )
    print(
        f"{len(args.runs) or 'the trained'} runs side by side -> {path}"
        + (f" (time codes -> {args.timecodes})" if args.timecodes else "")
    )
    return 0


def cmd_demo(args) -> int:
    from . import api

    options = _record_options(args)
    api.demo(args.out, progress=_progress(args), echo=print, **options)
    return 0


def cmd_show(args) -> int:
    from . import api

    if args.run is not None and args.train:
        raise UsageError("give RUN.npz to explore a recorded run, or --train to train live, not both")
    if args.run is not None and _training_flags_given(args):
        raise UsageError("training options need --train (and no RUN.npz): they set up live training")
    view = {n: v for n, v in asdict(config_from(args, RenderConfig)).items() if n != "ssaa"}
    train = None if args.run is not None else config_from(args, TrainConfig)
    return api.show(
        args.run,
        train=train,
        save_dir=args.save_dir,
        play=args.play,
        full_detail=args.full_detail,
        font_scale=args.font_scale,
        **view,
    )


def add_grid_options(parser, config, title: str) -> None:
    """One option per field of ``config`` that takes a list: --field-name 2,3,4 (ranges: 0-31)."""
    group = parser.add_argument_group(title)
    for f in fields(config):
        text, metavar = HELP[f.name]
        shown = "the dataset's own" if f.default is None else f.default
        ranged = " or ranges" if f.type.split(" | ")[0] == "int" else ""
        # The default stays the field's own (not a string): only a list given on the line is parsed.
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=f.default,
            metavar=f"{metavar}[,{metavar}...]",
            help=f"{text.split(' (default')[0]}; a list{ranged} (default: {shown})",
        )


def cmd_sweep(args) -> int:
    from . import api
    from .core.sweeps import parse_values

    lists = {
        f.name: parse_values(f.name, v) if isinstance(v, str) else v
        for f in fields(TrainConfig)
        for v in [getattr(args, f.name)]
    }
    api.sweep(
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        atlas=args.atlas,
        panel=args.panel,
        progress=_progress(args),
        echo=print,
        **lists,
    )
    print(f"-> {args.out}")
    return 0


def cmd_doctor(args) -> int:
    from . import api

    report = api.doctor()
    if not args.quiet:
        print("\n".join(report.lines))
    elif not report.ok:
        print(f"{PROG} doctor: {report.lines[-1]}", file=sys.stderr)
    return 0 if report.ok else 1


# ---------------------------------------------------------------- parser


def build_parser() -> _Parser:
    parser = _Parser(prog=PROG, description="See how a small neural network bends its input plane while it learns.")
    from .core import version

    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    parser.commands = sub.choices  # name -> its parser: an unknown option prints that command's usage

    p = sub.add_parser(
        "train",
        help="train a network and record every step to a .npz trajectory",
        description="Train 2 -> k -> 2 -> 1 and record every optimizer step's weights.",
    )
    add_config_options(p, TrainConfig, "training")
    p.add_argument("--out", required=True, metavar="RUN.npz", help="where to write the trajectory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "render",
        help="render a still PNG of a run, headless",
        description="Render one frame of a recorded run to PNG, offscreen (EGL; no display or GPU needed).",
    )
    p.add_argument("run", metavar="RUN.npz", help="a trajectory written by `deform3d train`")
    p.add_argument("--out", required=True, metavar="STILL.png", help="where to write the PNG")
    when = p.add_argument_group("when (one of; default: the last step)")
    when.add_argument("--step", type=float, metavar="N", help="optimizer step (fractions interpolate)")
    when.add_argument("--epoch", type=float, metavar="N", help="epoch (fractions interpolate)")
    when.add_argument("--at", type=float, metavar="F", help="fraction of training, 0..1")
    add_config_options(p, RenderConfig, "picture")
    p.add_argument(
        "--quiet", action="store_true", help="no progress output (a still shows none; taken as by every command)"
    )
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "record",
        help="record a video of a run training (trains first if no run is given)",
        description="Record a video: .mp4 (H.264), .webm (VP9), .gif, or a folder of PNGs (a path ending in '/'). "
        "With no RUN.npz it trains first, taking every `train` option.",
    )
    p.add_argument(
        "run", nargs="?", metavar="RUN.npz", help="a trajectory written by `deform3d train` (default: train one now)"
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the video: .mp4, .webm, .gif, or DIR/ for PNG frames")
    add_config_options(p, RecordConfig, "video")
    add_config_options(p, RenderConfig, "picture", skip=("size",))
    add_config_options(p, TrainConfig, "training (when no RUN.npz is given)")
    p.add_argument("--save-run", metavar="RUN.npz", help="keep the trajectory trained for this video")
    anatomy = p.add_argument_group("anatomy (the forward pass of one moment in its stages, instead of training)")
    anatomy.add_argument(
        "--anatomy",
        action="store_true",
        help="x -> W1 x -> + b1 -> act -> W2 -> + b2 -> act -> the cut by the line, a hold at each stage "
        "(the lift panel alone unless --panels is given)",
    )
    anatomy.add_argument("--step", type=float, metavar="N", help="the moment: optimizer step (default: the last)")
    anatomy.add_argument("--epoch", type=float, metavar="N", help="the moment: epoch")
    anatomy.add_argument("--at", type=float, metavar="F", help="the moment: fraction of training, 0..1")
    p.add_argument(
        "--timecodes",
        metavar="FILE.csv",
        help="write one row per frame: frame, time_s, step, epoch, loss, accuracy, azimuth, elevation, distance "
        "(and stage, for --anatomy)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser(
        "compare",
        help="several runs side by side in one video or still, at the same epoch",
        description="Show several runs in a grid, synchronised by training progress (the same epoch in every "
        "cell), one camera path, each cell labelled. With no RUN.npz it trains what the training "
        "options say; each takes a comma list, one run per value (default: --hidden 2,3,4).",
    )
    p.add_argument(
        "runs", nargs="*", metavar="RUN.npz", help="trajectories written by `deform3d train` (default: train them now)"
    )
    p.add_argument("--out", required=True, metavar="FILE", help="a video (.mp4, .webm, .gif, DIR/) or a still (.png)")
    p.add_argument("--epoch", type=float, metavar="N", help="a still's epoch (default: the end)")
    p.add_argument("--timecodes", metavar="FILE.csv", help="write one row per frame and cell (cell: the run's index)")
    add_config_options(p, RecordConfig, "video")
    add_config_options(p, RenderConfig, "picture", skip=("size",))
    group = p.add_argument_group("training (when no RUN.npz is given; each a value or a comma list)")
    for f in fields(TrainConfig):
        if f.name == "points":
            continue  # --points here is the picture's (show the data); train per-class sizes with `deform3d train`
        text, metavar = HELP[f.name]
        default = "2,3,4 unless another option is a list" if f.name == "hidden" else f.default
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=f.default,
            metavar=metavar.split("|")[0] + "[,...]",
            help=f"{text} (default: {default})",
        )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "show",
        help="open the interactive window on a run, or train live and watch (needs Qt)",
        description="Orbit the lift, scrub and play training, save what you see. With no RUN.npz (or "
        "--train) it trains live and follows the newest step. Keys: space play/pause, "
        "left/right one step (shift: one epoch), Home/End, r reset camera, s save a PNG, "
        "v start/stop recording a video, [ and ] slower/faster, a the anatomy on/off, , and . "
        "its previous/next stage, + and - text size, F11 fullscreen, ? or F1 every key, ctrl+q quit. Needs the "
        "extra: pip install 'deform3d[gui]'.",
    )
    p.add_argument(
        "run", nargs="?", metavar="RUN.npz", help="a trajectory written by `deform3d train` (default: train live)"
    )
    p.add_argument("--train", action="store_true", help="train live in the window, with the training options below")
    p.add_argument("--play", action="store_true", help="start playing at once")
    p.add_argument("--save-dir", default=".", metavar="DIR", help="where s (PNG) and v (MP4) save (default: here)")
    p.add_argument(
        "--full-detail",
        action="store_true",
        help="keep the full picture while playing or dragging (default: in motion, half the resolution and the "
        "video's coarser mesh, for speed)",
    )
    p.add_argument(
        "--font-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="all text in the window times F, 0.5 to 3, for a projector (keys + and - change it; default: 1)",
    )
    add_config_options(p, RenderConfig, "picture (size: the picture inside the window)", skip=("ssaa",))
    add_config_options(p, TrainConfig, "training (live, with --train or no RUN.npz)")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress output (the window shows training itself; taken as by every command)",
    )
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "demo",
        help="the main job: k = 2, 3, 4 on the circles, a video each and a contact sheet",
        description="Reproduce the original experiment: train k = 2, 3 and 4 on two concentric circles, "
        "record a video of each and a contact sheet of the final frames.",
    )
    p.add_argument("--out", default="out/demo", metavar="DIR", help="output folder (default: out/demo)")
    add_config_options(p, RecordConfig, "video")
    add_config_options(p, RenderConfig, "picture", skip=("size",))
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "sweep",
        help="train every combination of training options, batched; a summary, an atlas, curves",
        description="Train every combination of the training options (each takes a list, e.g. --hidden 2,3,4 "
        "--seed 0-31) in batches of runs of one shape, and write DIR/runs/*.npz, DIR/summary.csv, "
        "DIR/atlas.png (final frames by group, sorted by outcome) and DIR/curves.png (accuracy "
        "over epochs per group). Runs already complete in DIR are not trained again.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the sweep's folder (created; resumed if it holds runs)")
    add_grid_options(p, TrainConfig, "grid (each training option takes a comma-separated list)")
    p.add_argument("--panel", default="plane", choices=PANELS, help="the atlas's panel (default: plane)")
    p.add_argument("--no-atlas", dest="atlas", action="store_false", help="skip atlas.png and curves.png")
    p.add_argument("--workers", type=int, metavar="N", help="local processes (default: one per core)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler (tcp://host:8786): train and render on its "
        "workers (needs: pip install 'deform3d[cluster]')",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "doctor",
        help="what this machine gives deform3d: versions, GL, display and Qt, ffmpeg",
        description="Print what a bug report needs: deform3d, torch, vispy and numpy versions; the GL "
        "that headless rendering gets (EGL) and whether it is a software renderer; whether "
        "`show` has Qt and a display; the ffmpeg `record` uses; CPU threads. Exit status 0 "
        "when render and record can work, 1 otherwise, naming what is missing.",
    )
    p.add_argument(
        "--quiet", action="store_true", help="print nothing when all is well; only the exit status and what is missing"
    )
    p.set_defaults(func=cmd_doctor)
    return parser


def _terminate(signum, frame):
    raise Terminated("SIGTERM")


def _warning(message, category, filename, lineno, file=None, line=None):
    # deform3d's own warnings (a diverged training) as one line; anyone else's as Python prints them.
    if issubclass(category, DivergedWarning):
        print(f"{PROG}: warning: {message}", file=sys.stderr)
    else:
        _show_warning(message, category, filename, lineno, file, line)


_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.commands[args.command].unrecognized(extra)
    # SIGTERM unwinds like Ctrl-C, so temporary files go and the previous output stays (a recording
    # is abandoned, not shortened: media.recorder); kept as is where it was ignored (nohup).
    # Restored on the way out: main() may run inside another program (the tests call it in-process).
    saved = signal.getsignal(signal.SIGTERM), warnings.showwarning
    if saved[0] == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    warnings.showwarning = _warning
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, saved[0])
        warnings.showwarning = saved[1]


def _run(args) -> int:
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"{PROG}: error: {e.for_cli()}", file=sys.stderr)
        return e.exit_code
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # a fault no check foresaw (an I/O error mid-way): still one line
        where = f": {e.filename}" if e.filename else ""
        print(f"{PROG}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{PROG}: error: out of memory; use a smaller --size, --points or --epochs", file=sys.stderr)
        return 1
    except Terminated:
        print(
            f"{PROG}: terminated by SIGTERM; no output was written (an earlier file of that name is unchanged)",
            file=sys.stderr,
        )
        return 143
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
