"""The ``deform3d`` command line: parses options and calls the library; no logic lives here.

Every option's default comes from ``config``; errors from the library (UsageError) become one line
on stderr and exit code 2. Heavy modules (torch, VisPy) are imported inside each command, so
``deform3d --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from . import __version__
from .config import ACTIVATIONS, DATASETS, OPTIMIZERS, PANELS, THEMES, RenderConfig, TrainConfig
from .errors import ConfigError, UsageError

PROG = "deform3d"

TRAIN_HELP = {
    "dataset": f"built-in dataset ({', '.join(DATASETS)}) or a CSV file with columns x, y, label",
    "points": "points per class for a built-in dataset",
    "noise": "noise of a built-in dataset (default: the dataset's own)",
    "hidden": "width k of the first hidden layer (the lift lives in R^k): 2, 3 or 4",
    "activation": f"hidden activation: {', '.join(ACTIVATIONS)}",
    "optimizer": f"optimizer: {', '.join(OPTIMIZERS)}",
    "lr": "learning rate",
    "momentum": "SGD momentum",
    "epochs": "passes over the data",
    "batch_size": "points per optimizer step",
    "seed": "seed for the data, the initial weights and the batch order",
}
TRAIN_METAVAR = {"dataset": "NAME|PATH.csv", "hidden": "K", "activation": "A", "optimizer": "NAME"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong and where to read more, then exit 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(2)


def _add_train_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training")
    for f in fields(TrainConfig):
        default = f.default
        kind = {"int": int, "float": float}.get(f.type.split(" ")[0], str)
        if f.name == "noise":
            kind = float
        flag = "--" + f.name.replace("_", "-")
        shown = "dataset's own" if default is None else default
        g.add_argument(flag, dest=f.name, type=kind, default=default, metavar=TRAIN_METAVAR.get(f.name, f.name.upper().split("_")[0]),
                       help=f"{TRAIN_HELP[f.name]} (default: {shown})")


def _train_config(args) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})


def cmd_train(args) -> int:
    from .trajectory import check_writable
    from .train import train

    config = _train_config(args)
    out = Path(args.out)
    check_writable(out)
    run = train(config, progress=not args.quiet and None)
    run.save(out)
    print(f"k={config.hidden} {run.meta['dataset']}: {run.num_steps} steps, final loss {run.loss[-1]:.3g}, "
          f"accuracy {100 * run.accuracy[-1]:.1f}% -> {out}")
    return 0


def cmd_demo(args) -> int:
    from .trajectory import check_writable
    from .train import train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for k in (2, 3, 4):
        path = out / f"circles-k{k}.npz"
        check_writable(path)
        run = train(TrainConfig(hidden=k), progress=not args.quiet and None)
        run.save(path)
        print(f"k={k}: final accuracy {100 * run.accuracy[-1]:5.1f}%, loss {run.loss[-1]:.3g} -> {path}")
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT like 1280x720, got {text!r}") from None
    return w, h


def _panels(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _add_render_options(p: argparse.ArgumentParser) -> None:
    d = RenderConfig()
    g = p.add_argument_group("picture")
    g.add_argument("--size", type=_size, default=d.size, metavar="WxH", help=f"image size in pixels (default: {d.size[0]}x{d.size[1]})")
    g.add_argument("--panels", type=_panels, default=d.panels, metavar="P,P",
                   help=f"panels left to right, from {', '.join(PANELS)} (default: {','.join(d.panels)})")
    g.add_argument("--theme", default=d.theme, metavar="NAME", help=f"{' or '.join(THEMES)} (default: {d.theme})")
    g.add_argument("--azimuth", type=float, default=d.azimuth, metavar="DEG", help=f"lift camera azimuth (default: {d.azimuth:g})")
    g.add_argument("--elevation", type=float, default=d.elevation, metavar="DEG", help=f"lift camera elevation (default: {d.elevation:g})")
    g.add_argument("--ssaa", type=int, default=d.ssaa, metavar="N", help=f"supersampling: render N x larger and average (default: {d.ssaa})")
    g.add_argument("--mesh", type=int, default=d.mesh, metavar="N", help=f"sheet vertices per side (default: {d.mesh})")


def _render_config(args, **override) -> RenderConfig:
    names = ("size", "panels", "theme", "azimuth", "elevation", "ssaa", "mesh")
    return RenderConfig(**{n: getattr(args, n) for n in names}, **override)


def cmd_render(args) -> int:
    from .offscreen import Renderer, write_png
    from .trajectory import Trajectory, check_writable

    config = _render_config(args)
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must be a .png file, got {out}; for video use `deform3d record`")
    check_writable(out)
    run = Trajectory.load(args.run)
    t = run.resolve_step(args.step, args.epoch, args.at)
    with Renderer(run, config) as r:
        write_png(r.frame(t), out)
    print(f"step {t:g} of {run.num_steps} -> {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="See how a small neural network bends its input plane while it learns.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("train", help="train a network and record every step to a .npz trajectory",
                       description="Train 2 -> k -> 2 -> 1 and record every optimizer step's weights.")
    _add_train_options(p)
    p.add_argument("--out", required=True, metavar="RUN.npz", help="where to write the trajectory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("render", help="render a still PNG of a run, headless",
                       description="Render one frame of a recorded run to PNG, offscreen (EGL; no display or GPU needed).")
    p.add_argument("run", metavar="RUN.npz", help="a trajectory written by `deform3d train`")
    p.add_argument("--out", required=True, metavar="STILL.png", help="where to write the PNG")
    when = p.add_argument_group("when (one of; default: the last step)")
    when.add_argument("--step", type=float, metavar="N", help="optimizer step (fractions interpolate)")
    when.add_argument("--epoch", type=float, metavar="N", help="epoch (fractions interpolate)")
    when.add_argument("--at", type=float, metavar="F", help="fraction of training, 0..1")
    _add_render_options(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("demo", help="the main job: train k = 2, 3, 4 on the circles",
                       description="Reproduce the original experiment: k = 2, 3 and 4 on two concentric circles.")
    p.add_argument("--out", default="out/demo", metavar="DIR", help="output folder (default: out/demo)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        print(f"{PROG}: error: {e.for_cli()}", file=sys.stderr)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 2
