"""The network, in torch: 2 -> k -> 2 -> 1 with a hidden activation and a sigmoid output.

Owns: the torch module and the hand-off of its weights to numpy (geometry.Weights). Only the torch
side (``trainer``) and the tests import this module.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import activations
from .geometry import Weights


def torch_act(name: str):
    """The torch function of activation ``name`` (activations.TABLE names it)."""
    return getattr(torch, activations.get(name).torch)


class Net(nn.Module):
    """``Net(k, activation)(x)`` returns (h1 (n, k), h2 (n, 2), p (n,)) in one call."""

    def __init__(self, hidden: int = 3, activation: str = "tanh"):
        super().__init__()
        torch_act(activation)  # ValueError now for an unknown name, not at the first forward pass
        self.hidden, self.activation = hidden, activation
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 2)
        self.out = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor):
        act = torch_act(self.activation)
        h1 = act(self.fc1(x))
        h2 = act(self.fc2(h1))
        p = torch.sigmoid(self.out(h2)).squeeze(-1)
        return h1, h2, p

    def parameters_in_order(self) -> list[torch.Tensor]:
        """Parameters in the order of geometry.Weights (W1, b1, W2, b2, w3, b3)."""
        return [self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias, self.out.weight, self.out.bias]

    def weights(self) -> Weights:
        """The current weights as numpy (float32), named as in docs/design.md."""
        flat = torch.cat([p.detach().reshape(-1) for p in self.parameters_in_order()])
        return Weights.from_flat(flat.numpy().astype(np.float32), self.hidden)

    def load_weights(self, w: Weights) -> "Net":
        with torch.no_grad():
            for p, name in zip(self.parameters_in_order(), Weights.NAMES):
                p.copy_(torch.as_tensor(np.asarray(getattr(w, name), np.float32)).reshape(p.shape))
        return self
