"""Quick start: train a network, render a still, record a short video.

    python demos/quickstart.py [--out out/quickstart] [--small]

Trains 2 -> 3 -> 2 -> 1 on two concentric circles (about a second), then writes into --out:
run.npz (every optimizer step's weights), still.png (epoch 10, rendered headless: no display or
GPU needed) and training.mp4 (the sheet deforming while the network learns). --small, or the
environment variable DEFORM3D_SMALL=1, makes everything tiny and quick (a smoke test).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import deform3d
from deform3d.graphics.offscreen import write_png


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train, render a still, record a short video.")
    parser.add_argument("--out", type=Path, default=Path("out/quickstart"), help="output folder")
    parser.add_argument("--small", action="store_true", default=bool(os.environ.get("DEFORM3D_SMALL")),
                        help="tiny data, picture and video (for a quick check)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # Every option here is also a CLI flag with the same default: deform3d train --hidden 3 ...
    data = dict(points=100, epochs=5) if args.small else {}
    picture = dict(size=(320, 180), mesh=64) if args.small else dict(size=(1280, 720))
    clip = (dict(size=(320, 180), mesh=64, frames=12, fps=6, hold_start=0, hold_end=0.5) if args.small
            else dict(quality="low", duration=8))

    run = deform3d.train(hidden=3, seed=0, progress=None, **data)
    run.save(args.out / "run.npz")
    print(f"trained {run.num_steps} steps: loss {run.loss[-1]:.3g}, accuracy {100 * run.accuracy[-1]:.1f}%")

    image = deform3d.render(run, epoch=min(10, run.num_steps / run.steps_per_epoch), **picture)
    print(f"still {image.shape[1]}x{image.shape[0]} -> {write_png(image, args.out / 'still.png')}")

    video = deform3d.record(run, args.out / "training.mp4", **clip)
    print(f"video -> {video}")


if __name__ == "__main__":
    main()
