"""A plain PyTorch training loop, as a user writes one, for the tests of deform3d.watch."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def sequential(k: int = 3, act=torch.nn.Tanh, sigmoid: bool = False, seed: int = 0) -> torch.nn.Sequential:
    """Linear(2, k), act, Linear(k, 2), act, Linear(2, 1) [, Sigmoid], seeded."""
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(2, k), act(), torch.nn.Linear(k, 2), act(), torch.nn.Linear(2, 1)]
    return torch.nn.Sequential(*layers, *([torch.nn.Sigmoid()] if sigmoid else []))


def circles(points: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """deform3d's circles (points per class) as tensors: X (n, 2) float32, y (n,) float32."""
    from deform3d.core.data import circles as make

    d = make(points, 0.005, 0)
    return torch.from_numpy(d.X), torch.from_numpy(d.y.astype(np.float32))


def flat(model: torch.nn.Module) -> torch.Tensor:
    """The model's parameters now, as one flat copy in the order of geometry.Weights."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def train_loop(model, opt, X, y, epochs: int, batch: int = 32, seed: int = 0, after_step=None,
               probability: bool = False) -> int:
    """Shuffled minibatches, BCE (on logits, or on the model's probabilities), opt.step(); returns steps.

    ``after_step()`` is called after every step (the tests take their own copy of the weights there).
    """
    order = torch.Generator().manual_seed(seed)
    steps = 0
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=order)
        for i in range(0, len(X), batch):
            idx = perm[i : i + batch]
            opt.zero_grad()
            out = model(X[idx]).squeeze(1)
            loss = F.binary_cross_entropy(out, y[idx]) if probability else F.binary_cross_entropy_with_logits(out, y[idx])
            loss.backward()
            opt.step()
            steps += 1
            if after_step is not None:
                after_step()
    return steps


def watched_run(points: int = 100, epochs: int = 10, k: int = 3):
    """A real run recorded by deform3d.watch: Adam, lr 0.03, batch 32 on the circles (7 steps an epoch)."""
    import deform3d

    X, y = circles(points)
    model = sequential(k)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    with deform3d.watch(model, opt, X, y, dataset="circles") as run:
        train_loop(model, opt, X, y, epochs)
    return run
