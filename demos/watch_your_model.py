"""Bring your own PyTorch training: record a network you train in a plain torch loop, then show it.

    python demos/watch_your_model.py [--out out/watch] [--small]

Your model (an nn.Sequential 2 -> 3 -> 2 -> 1), your optimizer (SGD with momentum), your data
loader and loss; deform3d.watch records the weights after every optimizer step, and the run it
gives back is a Trajectory like any other. Writes into --out: mine.npz (the run), still.png (the
end of training, headless) and training.mp4 (the sheet deforming while your loop trains). --small,
or the environment variable DEFORM3D_SMALL=1, makes everything tiny and quick (a smoke test).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

import deform3d
from deform3d.graphics.offscreen import write_png


def two_circles(points: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Your data: points per circle on radius 0.5 (label 0) and 1 (label 1), a little noise."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, 2 * points)
    radius = np.repeat([0.5, 1.0], points)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) + rng.normal(0, 0.02, (2 * points, 2))
    return torch.tensor(X, dtype=torch.float32), torch.tensor(radius > 0.75, dtype=torch.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record your own torch training loop with deform3d.watch.")
    parser.add_argument("--out", type=Path, default=Path("out/watch"), help="output folder")
    parser.add_argument("--small", action="store_true", default=bool(os.environ.get("DEFORM3D_SMALL")),
                        help="tiny data, picture and video (for a quick check)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    X, y = two_circles(50 if args.small else 500)
    epochs = 3 if args.small else 60

    # ---- your training, as you would write it anyway
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32, shuffle=True)

    with deform3d.watch(model, opt, X, y, dataset="two circles") as run:  # the one added line
        for _ in range(epochs):
            for xb, yb in loader:
                opt.zero_grad()
                nn.functional.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb).backward()
                opt.step()

    # ---- and everything deform3d does with a run it trained itself
    run.save(args.out / "mine.npz")
    print(f"recorded {run.num_steps} steps of {type(opt).__name__}: loss {run.loss[-1]:.3g}, "
          f"accuracy {100 * run.accuracy[-1]:.1f}% -> {args.out / 'mine.npz'}")

    picture = dict(size=(320, 180), mesh=64) if args.small else dict(size=(1280, 720))
    print(f"still -> {write_png(deform3d.render(run, **picture), args.out / 'still.png')}")

    clip = (dict(size=(320, 180), mesh=64, frames=12, fps=6, hold_start=0, hold_end=0.5) if args.small
            else dict(quality="low", duration=8))
    print(f"video -> {deform3d.record(run, args.out / 'training.mp4', **clip)}")


if __name__ == "__main__":
    main()
