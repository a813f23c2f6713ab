"""Every default of deform3d, once: frozen dataclasses shared by the CLI, the API and config files.

Owns: option names, defaults and range checks. Imports nothing heavy (no numpy, torch or VisPy), so
``deform3d --help`` answers instantly. The CLI builds its options from these fields; a test checks
that they cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .errors import ConfigError

DATASETS = ("circles", "moons", "xor", "spiral", "blobs")
ACTIVATIONS = ("tanh", "sigmoid", "relu")
OPTIMIZERS = ("adam", "sgd")
HIDDEN = (2, 3, 4)


def _positive_int(name: str, value, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(name, f"must be an integer >= {low}, got {value!r}")


def _positive_float(name: str, value, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(name, f"must be a finite number {bound}, got {value!r}")


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        listed = ", ".join(str(c) for c in choices)
        raise ConfigError(name, f"must be one of {listed}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """What to train and how. Field names are the API's parameter names and the CLI's flags.

    ``dataset`` is a built-in name (see ``DATASETS``) or the path of a CSV file (x, y, label).
    ``points`` is points per class; ``noise`` is the dataset's noise (None: the dataset's default).
    """

    dataset: str = "circles"
    points: int = 1000
    noise: float | None = None
    hidden: int = 3
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float = 0.03
    momentum: float = 0.0
    epochs: int = 100
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ConfigError("dataset", f"must be a dataset name or a CSV path, got {self.dataset!r}")
        is_csv = self.dataset.lower().endswith(".csv")
        if not is_csv:
            _choice("dataset", self.dataset, DATASETS + ("PATH.csv",))
        _positive_int("points", self.points)
        if self.points < 2:
            raise ConfigError("points", f"must be at least 2 per class, got {self.points}")
        if self.noise is not None:
            _positive_float("noise", self.noise, allow_zero=True)
        if self.hidden not in HIDDEN or isinstance(self.hidden, bool):
            raise ConfigError("hidden", f"must be 2, 3 or 4, got {self.hidden!r}")
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _positive_float("lr", self.lr)
        _positive_float("momentum", self.momentum, allow_zero=True)
        if self.momentum >= 1:
            raise ConfigError("momentum", f"must be in [0, 1), got {self.momentum!r}")
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("seed", self.seed, allow_zero=True)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
