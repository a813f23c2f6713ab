"""Datasets: labelled 2-D points, deterministic given a seed.

Owns: the built-in datasets (circles, moons, xor, spiral, blobs) and the CSV loader, with every
check on user data. Returns plain numpy; imports neither torch nor VisPy.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import DATASETS, TrainConfig
from .errors import UsageError

#: The most rows a CSV dataset may have (read as a stream: a larger file is refused after reading
#: this many rows, in well under a second). Every training step is scored on every point, so more
#: would make training crawl; the built-in datasets stop at the same total (config.MAX_POINTS).
MAX_CSV_ROWS = 100_000
#: Noise used when the config leaves it unset (None), per dataset.
DEFAULT_NOISE = {"circles": 0.005, "moons": 0.08, "xor": 0.05, "spiral": 0.03, "blobs": 0.25, "csv": 0.0}


@dataclass(frozen=True)
class Dataset:
    """Points X (n, 2) float32 with labels y (n,) uint8 in {0, 1}, and where they came from."""

    X: np.ndarray
    y: np.ndarray
    name: str


def load_dataset(config: TrainConfig) -> Dataset:
    """The dataset a config names: a built-in one, generated, or a CSV file (never noised)."""
    if config.dataset.lower().endswith(".csv"):
        return load_csv(config.dataset)
    noise = DEFAULT_NOISE[config.dataset] if config.noise is None else config.noise
    make = {"circles": circles, "moons": moons, "xor": xor, "spiral": spiral, "blobs": blobs}
    return make[config.dataset](config.points, noise, config.seed)


def _finish(X0: np.ndarray, X1: np.ndarray, noise: float, rng, name: str) -> Dataset:
    X = np.concatenate([X0, X1]).astype(np.float64)
    X = X + rng.normal(0.0, noise, X.shape) if noise > 0 else X
    y = np.concatenate([np.zeros(len(X0)), np.ones(len(X1))]).astype(np.uint8)
    return Dataset(X.astype(np.float32), y, name)


def circles(points: int = 1000, noise: float = 0.005, seed: int = 0) -> Dataset:
    """Two concentric circles, as the original experiment: radius 0.5 -> label 0, 1 -> label 1.

    Angles pi * t for t = linspace(0, 2, points) on each circle, then gaussian noise (sd ``noise``).
    """
    a = np.pi * np.linspace(0.0, 2.0, points)
    ring = np.stack([np.cos(a), np.sin(a)], axis=1)
    return _finish(0.5 * ring, 1.0 * ring, noise, np.random.default_rng(seed), "circles")


def moons(points: int = 1000, noise: float = 0.08, seed: int = 0) -> Dataset:
    """Two interleaving half circles (as scikit-learn's make_moons), centred on the origin."""
    t = np.linspace(0.0, np.pi, points)
    upper = np.stack([np.cos(t) - 0.5, np.sin(t) - 0.25], axis=1)
    lower = np.stack([0.5 - np.cos(t), 0.25 - np.sin(t)], axis=1)
    return _finish(upper, lower, noise, np.random.default_rng(seed), "moons")


def xor(points: int = 1000, noise: float = 0.05, seed: int = 0) -> Dataset:
    """Four quadrants in [-1, 1]^2: label 1 where x * y > 0. A gap of 0.1 keeps them apart."""
    rng = np.random.default_rng(seed)

    def quadrants(signs):
        q = rng.uniform(0.1, 1.0, (points, 2))
        return q * np.asarray(signs)[rng.integers(0, 2, points)]

    return _finish(quadrants([[1, -1], [-1, 1]]), quadrants([[1, 1], [-1, -1]]), noise, rng, "xor")


def spiral(points: int = 1000, noise: float = 0.03, seed: int = 0) -> Dataset:
    """Two interleaved arms of a spiral, one and a half turns each, radius up to 1."""
    t = np.linspace(0.05, 1.0, points)
    angle = 3.0 * np.pi * t
    arm = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return _finish(arm, -arm, noise, np.random.default_rng(seed), "spiral")


def blobs(points: int = 1000, noise: float = 0.25, seed: int = 0) -> Dataset:
    """Two gaussian blobs (sd ``noise``) centred at (-0.5, -0.5) and (0.5, 0.5)."""
    centre = np.full((points, 2), 0.5)
    return _finish(-centre, centre, noise, np.random.default_rng(seed), "blobs")


def load_csv(path: str | Path) -> Dataset:
    """Points from a CSV file with columns x, y, label (a header line is optional).

    The labels must take exactly two numeric values (the smaller becomes class 0), with at least
    two points each. Raises UsageError naming the file and the line on anything else.
    """
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark (spreadsheets write one) would hide the first row's number.
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = []
            for i, r in enumerate(csv.reader(f), start=1):
                if r and any(c.strip() for c in r):
                    rows.append((i, r))
                if len(rows) > MAX_CSV_ROWS + 1:  # + 1: a header; stop reading, time and memory stay bounded
                    raise UsageError(
                        f"{path}: more than {MAX_CSV_ROWS:,} data rows; deform3d trains on at most "
                        f"{MAX_CSV_ROWS:,} points (each step is scored on all of them): sample the file down"
                    )
    except FileNotFoundError:
        raise UsageError(
            f"dataset file {path} does not exist; pass a CSV path or one of {', '.join(DATASETS)}"
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"cannot read dataset file {path}: {_reason(e)}") from None
    if rows and not _numeric(rows[0][1][0]):
        rows = rows[1:]  # a header
    if len(rows) > MAX_CSV_ROWS:
        raise UsageError(
            f"{path}: more than {MAX_CSV_ROWS:,} data rows; deform3d trains on at most "
            f"{MAX_CSV_ROWS:,} points (each step is scored on all of them): sample the file down"
        )
    values = []
    for line, row in rows:
        if len(row) != 3:
            raise UsageError(f"{path}, line {line}: expected 3 columns (x, y, label), found {len(row)}")
        try:
            v = [float(c) for c in row]
        except ValueError:
            raise UsageError(f"{path}, line {line}: non-numeric value in {','.join(row)!r}") from None
        if not all(math.isfinite(c) for c in v):
            raise UsageError(f"{path}, line {line}: NaN or infinite value in {','.join(row)!r}")
        values.append(v)
    if not values:
        raise UsageError(f"{path} has no data rows; expected columns x, y, label")
    data = np.asarray(values, dtype=np.float64)
    labels = np.unique(data[:, 2])
    if labels.size != 2:
        shown = ", ".join(f"{v:g}" for v in labels[:5]) + (", ..." if labels.size > 5 else "")
        raise UsageError(f"{path}: labels must take exactly two values, found {labels.size} ({shown})")
    y = (data[:, 2] == labels[1]).astype(np.uint8)
    counts = np.bincount(y, minlength=2)
    if counts.min() < 2:
        raise UsageError(f"{path}: each class needs at least 2 points, found {counts[0]} and {counts[1]}")
    return Dataset(data[:, :2].astype(np.float32), y, path.name)


def _numeric(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _reason(e: Exception) -> str:
    if isinstance(e, UnicodeDecodeError):
        return "not a UTF-8 text file"
    if isinstance(e, IsADirectoryError):
        return "it is a folder"
    return getattr(e, "strerror", None) or str(e)
