"""Why hidden width matters: k = 2, 3 and 4 on two concentric circles, side by side.

    python demos/compare_widths.py [--out out/compare] [--seed 0] [--small]

Trains one network per width with the same data and seed, prints each one's final accuracy, and
writes contact-sheet.png: the three final frames left to right (k = 2, 3, 4). A 2-unit first
layer cannot lift the inner circle out of the outer one (it ends around 83%); with 3 units a plane
cuts them apart. --small, or DEFORM3D_SMALL=1, makes everything tiny and quick (a smoke test).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import deform3d
from deform3d.graphics.offscreen import write_png


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="k = 2, 3, 4 on the circles: a contact sheet of final frames.")
    parser.add_argument("--out", type=Path, default=Path("out/compare"), help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed for the data, weights and batches")
    parser.add_argument("--small", action="store_true", default=bool(os.environ.get("DEFORM3D_SMALL")),
                        help="tiny data and pictures (for a quick check)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    data = dict(points=100, epochs=5) if args.small else {}
    picture = dict(size=(256, 144), mesh=48) if args.small else dict(size=(960, 540))

    frames = []
    for k in (2, 3, 4):
        run = deform3d.train(hidden=k, seed=args.seed, **data)
        print(f"k = {k}: accuracy {100 * run.accuracy[-1]:5.1f}%, loss {run.loss[-1]:.3g}")
        frames.append(deform3d.render(run, **picture))  # the last step; the HUD names k and accuracy
    sheet = write_png(np.concatenate(frames, axis=1), args.out / "contact-sheet.png")
    print(f"contact sheet -> {sheet}")


if __name__ == "__main__":
    main()
