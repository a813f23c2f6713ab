"""One width, every built-in dataset: how k = 3 bends moons, XOR, a spiral and blobs.

    python demos/datasets.py [--hidden 3] [--out out/datasets] [--small]

Trains the same network on each built-in dataset and writes datasets.png, a 2 x 2 grid of the
final frames with the input panel added, so the curved decision boundary in the input plane sits
beside the sheet that produced it. --small, or DEFORM3D_SMALL=1, makes everything tiny and quick.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import deform3d
from deform3d.graphics.offscreen import write_png

DATASETS = ("moons", "xor", "spiral", "blobs")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="k = 3 on each built-in dataset: a grid of final frames.")
    parser.add_argument("--hidden", type=int, default=3, choices=(2, 3, 4), help="width of the first hidden layer")
    parser.add_argument("--out", type=Path, default=Path("out/datasets"), help="output folder")
    parser.add_argument("--small", action="store_true", default=bool(os.environ.get("DEFORM3D_SMALL")),
                        help="tiny data and pictures (for a quick check)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    data = dict(points=100, epochs=5) if args.small else {}
    picture = dict(size=(384, 144), mesh=48) if args.small else dict(size=(1440, 480))

    frames = []
    for name in DATASETS:
        run = deform3d.train(dataset=name, hidden=args.hidden, **data)
        print(f"{name:>7}: accuracy {100 * run.accuracy[-1]:5.1f}%")
        frames.append(deform3d.render(run, panels=("lift", "plane", "input"), **picture))
    grid = np.concatenate([np.concatenate(frames[:2], axis=1), np.concatenate(frames[2:], axis=1)], axis=0)
    print(f"grid -> {write_png(grid, args.out / 'datasets.png')}")


if __name__ == "__main__":
    main()
