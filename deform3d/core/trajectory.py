"""The one file format: a recorded training run (every optimizer step's weights) as ``.npz``.

Owns: Trajectory, its save/load, and weight interpolation between steps. Plain arrays plus one
JSON metadata string; loaded with ``allow_pickle=False``. Imports numpy only (no torch, no VisPy),
so the GL side and the tests read runs without the trainer.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import frontend
from .config import HIDDEN
from .errors import UsageError
from .files import atomic_path
from .geometry import Weights, step_metrics

SCHEMA_VERSION = 1
FORMAT = "deform3d-trajectory"


class TrajectoryError(UsageError):
    """A file that is not a readable deform3d trajectory."""


@dataclass
class Trajectory:
    """A training run: weights at steps 0..num_steps (0 = the initial weights), metrics, data.

    weights: a stack of Weights with leading axis num_steps + 1 (float32).
    loss, accuracy: (num_steps + 1,) float32, on the whole dataset after each step. Either may be
    given as None: it is then computed on first use (``geometry.step_metrics``, ~0.35 s for 6300
    steps of 2000 points), since that costs far more than training a stack of runs does and a
    sweep needs only its runs' epoch ends (docs/design.md, "Metrics"). ``save`` writes them
    only when known; ``load`` accepts files without them.
    X (n, 2) float32, y (n,) uint8: the training data, so a render needs nothing else.
    meta: schema, config (a TrainConfig dict), dataset, activation, seed, steps_per_epoch, versions;
    a run recorded from a user's loop (deform3d.watch) has config and seed None and adds source,
    model and optimizer.
    """

    weights: Weights
    _loss: np.ndarray | None
    _accuracy: np.ndarray | None
    X: np.ndarray
    y: np.ndarray
    meta: dict

    @property
    def loss(self) -> np.ndarray:
        if self._loss is None:
            self._compute_metrics()
        return self._loss

    @property
    def accuracy(self) -> np.ndarray:
        if self._accuracy is None:
            self._compute_metrics()
        return self._accuracy

    @property
    def has_metrics(self) -> bool:
        """Whether every step's loss and accuracy are already known (not computed on first use)."""
        return self._loss is not None and self._accuracy is not None

    def _compute_metrics(self) -> None:
        loss, accuracy = step_metrics(self.weights, self.X, self.y, self.activation)
        self._loss = loss if self._loss is None else self._loss
        self._accuracy = accuracy if self._accuracy is None else self._accuracy

    def metrics_at(self, steps) -> tuple[np.ndarray, np.ndarray]:
        """Full-dataset (loss, accuracy) at the given steps only, as float32 arrays.

        What is already known is looked up; otherwise only those steps are evaluated (a sweep's
        summary needs its runs' epoch ends, 1/steps_per_epoch of the work of every step).
        """
        steps = np.asarray(steps, np.intp)
        if self.has_metrics:
            return self.loss[steps], self.accuracy[steps]
        return step_metrics(self.weights[steps], self.X, self.y, self.activation)

    @property
    def num_steps(self) -> int:
        """Number of optimizer steps recorded (the weight arrays hold one more: step 0)."""
        return len(self.weights.b3) - 1

    @property
    def hidden(self) -> int:
        return self.weights.hidden

    @property
    def activation(self) -> str:
        return self.meta["activation"]

    @property
    def steps_per_epoch(self) -> int:
        return int(self.meta["steps_per_epoch"])

    @property
    def epoch(self) -> np.ndarray:
        """Fractional epoch of each step, (num_steps + 1,): step / steps_per_epoch."""
        return np.arange(self.num_steps + 1) / self.steps_per_epoch

    def weights_at(self, t: float) -> Weights:
        """Weights at fractional step t in [0, num_steps], linearly interpolated (float32)."""
        t = min(max(float(t), 0.0), float(self.num_steps))
        i = min(int(np.floor(t)), max(self.num_steps - 1, 0))
        a = np.float32(t - i)
        if self.num_steps == 0 or a == 0:
            return self.weights[int(round(t))]
        w0, w1 = self.weights[i], self.weights[i + 1]
        return Weights(*((1 - a) * getattr(w0, n) + a * getattr(w1, n) for n in Weights.NAMES))

    def resolve_step(self, step: float | None = None, epoch: float | None = None, at: float | None = None) -> float:
        """The fractional step that one of step / epoch / at (fraction of training, 0..1) names.

        None for all three: the last step. Raises UsageError when more than one is given or the
        value lies outside this run.
        """
        given = [(n, v) for n, v in (("step", step), ("epoch", epoch), ("at", at)) if v is not None]
        if len(given) > 1:
            raise UsageError(f"give only one of --step, --epoch, --at (got {', '.join('--' + n for n, _ in given)})")
        if not given:
            return float(self.num_steps)
        name, value = given[0]
        limit = {"step": self.num_steps, "epoch": self.num_steps / self.steps_per_epoch, "at": 1.0}[name]
        if not (0 <= value <= limit):
            raise UsageError(f"--{name} must be between 0 and {limit:g} for this run, got {value:g}")
        return float(value) * {"step": 1, "epoch": self.steps_per_epoch, "at": self.num_steps}[name]

    # ------------------------------------------------------------ notebook (attached from above: core.frontend)

    def video(self, path=None, **options):
        """This run training as an inline notebook video: an embedded ``IPython.display.Video``.

        Options as for ``deform3d.record``, with short, small defaults (see
        ``deform3d.notebook.video``); ``path`` keeps the file too.

        >>> run = deform3d.train(hidden=3, epochs=20)     # doctest: +SKIP
        >>> run.video(duration=4)                         # doctest: +SKIP
        <IPython.core.display.Video object>
        """
        return frontend.notebook().video(self, path, **options)

    def _repr_mimebundle_(self, include=None, exclude=None):
        # A summary line and a PNG still of the last step; a video only when asked (.video()),
        # since a repr runs for every cell that ends with a run (why: deform3d.notebook).
        return frontend.notebook().repr_mimebundle(self, include, exclude)

    # ------------------------------------------------------------ file

    def save(self, path: str | Path, *, metrics: bool = True) -> Path:
        """Write the run to ``path`` atomically (a temporary file beside it, then a rename).

        ``metrics``: write every step's loss and accuracy, computing them first if not yet known
        (so a saved run opens fast); False writes them only if known (a sweep's run files: the
        summary needs only epoch ends, see docs/design.md, "Metrics").
        """
        path = Path(path)
        arrays = {n: np.asarray(getattr(self.weights, n), np.float32) for n in Weights.NAMES}
        if metrics or self.has_metrics:
            arrays.update(loss=self.loss.astype(np.float32), accuracy=self.accuracy.astype(np.float32))
        arrays.update(X=self.X.astype(np.float32), y=self.y.astype(np.uint8))
        meta = dict(self.meta, format=FORMAT, schema=SCHEMA_VERSION)
        arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Trajectory":
        """Read a run written by ``save``. Raises TrajectoryError naming the file on any problem."""
        path = Path(path)
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise TrajectoryError(f"trajectory {path} {what}; train one with `deform3d train --out {path.name}`")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "meta" not in z.files:
                    raise TrajectoryError(f"{path} is not a deform3d trajectory (no metadata); make one with `deform3d train`")
                meta = json.loads(str(z["meta"]))
                if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                    raise TrajectoryError(f"{path} is not a deform3d trajectory; make one with `deform3d train`")
                if int(meta.get("schema", 0)) > SCHEMA_VERSION:
                    raise TrajectoryError(
                        f"{path} has trajectory schema {meta['schema']}, newer than this deform3d reads "
                        f"({SCHEMA_VERSION}); upgrade deform3d: pip install -U deform3d"
                    )
                # Per-step metrics are optional (a sweep's runs leave them to be computed on use),
                # but come as a pair.
                names = Weights.NAMES + ("X", "y") + (("loss", "accuracy") if "loss" in z.files or "accuracy" in z.files else ())
                arrays = {n: z[n] for n in names}
        except TrajectoryError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError) as e:
            raise TrajectoryError(f"{path} is not a readable deform3d trajectory (truncated or foreign file: {_short(e)})") from None
        # Check every shape here, so a damaged file fails now, naming itself, not later in a render.
        steps = arrays["W1"].shape[0] if arrays["W1"].ndim == 3 else 0
        k = arrays["W1"].shape[1] if arrays["W1"].ndim == 3 else 0
        expected = {n: (steps, *shape) for n, shape in Weights.sizes(k)}
        expected.update(X=(arrays["y"].size, 2), y=(arrays["y"].size,))
        if "loss" in arrays:
            expected.update(loss=(steps,), accuracy=(steps,))
        if steps < 1 or k not in HIDDEN or any(arrays[n].shape != s for n, s in expected.items()):
            raise TrajectoryError(f"{path} is damaged: its arrays do not fit together (steps, hidden width or points)")
        weights = Weights(*(arrays[n] for n in Weights.NAMES))
        return cls(weights, arrays.get("loss"), arrays.get("accuracy"), arrays["X"], arrays["y"], meta)


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]
