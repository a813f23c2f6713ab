"""The hidden activations, once: each one's range, derivative, inverse, torch name and shader code.

Owns: the table that every layer reads. ``geometry`` (numpy reference), ``model`` and ``trainer``
(torch: forward, hand-written gradient, metrics) and ``graphics.visuals`` (the ``u_act`` code that
``shaders/network.glsl`` branches on; tests/test_shaders.py checks the shader's codes against this
table) take an activation's facts from here, never from a list of their own. Names and their order
come from ``config.ACTIVATIONS`` (the CLI's choices). Imports numpy only.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .config import ACTIVATIONS


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, stable for large |z|."""
    z = np.asarray(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Activation(NamedTuple):
    """One hidden activation. ``grad(h, xp)`` is act'(z) from h = act(z), with ``xp`` numpy or
    torch (the same expression serves the numpy reference and the trainer's hand-written
    gradient; relu's is 0 at z <= 0, as torch's autograd has it)."""

    name: str
    range: tuple[float, float]  # act's range: the lift lives in this box
    numpy: Callable  # act(z), elementwise
    grad: Callable  # act'(z) from h = act(z): grad(h, xp)
    inverse: Callable | None  # act^-1 on the open range; None where not invertible
    torch: str  # the torch function: getattr(torch, torch_name)
    glsl: int  # u_act, the branch of act() in shaders/network.glsl


TABLE = {
    "tanh": Activation("tanh", (-1.0, 1.0), np.tanh, lambda h, xp: 1 - h * h, np.arctanh, "tanh", 0),
    "sigmoid": Activation(
        "sigmoid", (0.0, 1.0), sigmoid, lambda h, xp: h * (1 - h), lambda h: np.log(h) - np.log1p(-h), "sigmoid", 1
    ),
    "relu": Activation("relu", (0.0, np.inf), lambda z: np.maximum(z, 0.0), lambda h, xp: xp.sign(h), None, "relu", 2),
}
assert tuple(TABLE) == ACTIVATIONS, "config.ACTIVATIONS and the activation table must name the same activations"


def get(name: str) -> Activation:
    """The table's entry for ``name``; ValueError for an unknown name."""
    try:
        return TABLE[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}") from None
