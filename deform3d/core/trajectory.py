"""The one file format: a recorded training run (every optimizer step's weights) as ``.npz``.

Owns: Trajectory, its save/load, and weight interpolation between steps. Plain arrays plus one
JSON metadata string; loaded with ``allow_pickle=False``. Imports numpy only (no torch, no VisPy),
so the GL side and the tests read runs without the trainer.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import frontend
from .config import ACTIVATIONS, HIDDEN
from .errors import UsageError
from .files import atomic_path
from .geometry import Weights, step_metrics

SCHEMA_VERSION = 1
FORMAT = "deform3d-trajectory"


class TrajectoryError(UsageError):
    """A file that is not a readable deform3d trajectory."""


@dataclass(repr=False)  # the generated repr prints every array: thousands of characters
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

    def __repr__(self) -> str:
        # One line, as a REPL or a log should show a run; Jupyter shows more (_repr_mimebundle_).
        epochs = self.num_steps / self.steps_per_epoch if self.meta.get("steps_per_epoch") else float("nan")
        loss, accuracy = self.metrics_at([self.num_steps])  # the last step only, if not yet known
        return (
            f"<Trajectory k={self.hidden} {self.meta.get('activation', '?')} {self.meta.get('dataset', '?')}: "
            f"{self.num_steps} steps, {epochs:g} epochs, final loss {float(loss[0]):.3g}, "
            f"accuracy {100 * float(accuracy[0]):.1f}%>"
        )

    @property
    def loss(self) -> np.ndarray:
        if self._loss is None:
            self._loss = self._compute_metrics()[0]
        return self._loss

    @property
    def accuracy(self) -> np.ndarray:
        if self._accuracy is None:
            self._accuracy = self._compute_metrics()[1]
        return self._accuracy

    @property
    def has_metrics(self) -> bool:
        """Whether every step's loss and accuracy are already known (not computed on first use)."""
        return self._loss is not None and self._accuracy is not None

    def _compute_metrics(self) -> tuple[np.ndarray, np.ndarray]:
        loss, accuracy = step_metrics(self.weights, self.X, self.y, self.activation)
        self._loss = loss if self._loss is None else self._loss
        self._accuracy = accuracy if self._accuracy is None else self._accuracy
        return self._loss, self._accuracy

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
    def last_finite_step(self) -> int:
        """The last step before the weights first turn NaN or infinite (``num_steps`` for a healthy
        run). Saved runs are refused with such weights (``load``); a run trained live can diverge in
        front of the audience, and its pictures are framed and drawn up to this step."""
        bad = np.flatnonzero(~np.isfinite(self.weights.flat()).all(axis=1))
        return max(int(bad[0]) - 1, 0) if len(bad) else self.num_steps

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
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub takes **kwds for allow_pickle
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Trajectory":
        """Read a run written by ``save``. Raises TrajectoryError naming the file on any problem.

        A run file comes from anywhere (a colleague, a download), so before any array is read its
        zip directory and every array's header are checked (``_check_members``): no pickled
        objects (never unpickled), no member that would expand past ``MAX_ARRAY_BYTES`` or far
        past its compressed size (a zip bomb), exactly the arrays a run has, each floating point
        (``y``: integers 0/1), and every value finite.
        """
        path = Path(path)
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise TrajectoryError(f"trajectory {path} {what}; train one with `deform3d train --out {path.name}`")
        try:
            _check_members(path)
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                    raise TrajectoryError(f"{path} is not a deform3d trajectory; make one with `deform3d train`")
                if int(meta.get("schema", 0)) > SCHEMA_VERSION:
                    raise TrajectoryError(
                        f"{path} has trajectory schema {meta['schema']}, newer than this deform3d reads "
                        f"({SCHEMA_VERSION}); upgrade deform3d: pip install -U deform3d"
                    )
                # Per-step metrics are optional (a sweep's runs leave them to be computed on use),
                # but come as a pair (_check_members holds them to that).
                arrays = {n: z[n] for n in ARRAYS if n in z.files}
        except TrajectoryError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, TypeError) as e:
            raise TrajectoryError(
                f"{path} is not a readable deform3d trajectory (truncated or foreign file: {_short(e)})"
            ) from None
        _check_meta(path, meta)
        # Check every shape here, so a damaged file fails now, naming itself, not later in a render.
        steps = arrays["W1"].shape[0] if arrays["W1"].ndim == 3 else 0
        k = arrays["W1"].shape[1] if arrays["W1"].ndim == 3 else 0
        expected = {n: (steps, *shape) for n, shape in Weights.sizes(k)}
        expected.update(X=(arrays["y"].size, 2), y=(arrays["y"].size,))
        if "loss" in arrays:
            expected.update(loss=(steps,), accuracy=(steps,))
        if steps < 1 or k not in HIDDEN or any(arrays[n].shape != s for n, s in expected.items()):
            raise TrajectoryError(f"{path} is damaged: its arrays do not fit together (steps, hidden width or points)")
        for name in [n for n in ARRAYS[:-2] if n in arrays] + ["X"]:
            bad = ~np.isfinite(arrays[name].reshape(len(arrays[name]), -1)).all(axis=1)
            if bad.any():
                first = int(np.argmax(bad))
                where = f"from step {first}" if name not in ("X",) else f"at point {first}"
                raise TrajectoryError(
                    f"{path}: {name} holds NaN or infinite values {where} (a diverged training?); "
                    f"values must be finite: train again, e.g. with a smaller --lr"
                )
        if not np.isin(arrays["y"], (0, 1)).all():
            raise TrajectoryError(f"{path}: labels y must be 0 or 1, found {np.unique(arrays['y'])[:5].tolist()}")
        weights = Weights(*(arrays[n].astype(np.float32, copy=False) for n in Weights.NAMES))
        loss, accuracy = (
            arrays[n].astype(np.float32, copy=False) if n in arrays else None for n in ("loss", "accuracy")
        )
        return cls(
            weights, loss, accuracy, arrays["X"].astype(np.float32, copy=False), arrays["y"].astype(np.uint8), meta
        )


# The arrays of a run file, each ``name.npy`` in the zip, and nothing else (meta: the JSON string);
# loss and accuracy may be left out, as a pair (docs/design.md, "Metrics").
ARRAYS = Weights.NAMES + ("loss", "accuracy", "X", "y")
OPTIONAL = ("loss", "accuracy")
# Limits for files from elsewhere. 2 GiB per array: a 10-million-step k = 4 run's W1 is 320 MB.
# np.savez stores arrays uncompressed; a member that inflates past 16 MiB and over 100x its stored
# size is not a run but a zip bomb (the slack keeps a recompressed run's labels, 0s then 1s, readable).
MAX_ARRAY_BYTES = 2 * 1024**3
MAX_INFLATION = 100
INFLATION_SLACK = 16 * 1024**2


def _check_members(path: Path) -> None:
    """Refuse a run file before reading any array: see Trajectory.load. Reads headers only."""
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: info for info in zf.infolist()}
        names = {n[:-4] for n in members if n.endswith(".npy")}
        if "meta" not in names:
            raise TrajectoryError(f"{path} is not a deform3d trajectory (no metadata); make one with `deform3d train`")
        missing = [n for n in ARRAYS if n not in names]
        if set(missing) == set(OPTIONAL):  # a run that computes its metrics when opened
            missing = []
        if missing:
            raise TrajectoryError(
                f"{path} is damaged: it lacks the array(s) {', '.join(missing)}; a run has {', '.join(ARRAYS)} and meta"
            )
        extra = sorted(set(members) - {n + ".npy" for n in ARRAYS + ("meta",)})
        if extra:
            raise TrajectoryError(
                f"{path} holds entries a run file does not ({', '.join(extra[:3])}); "
                f"a run has exactly {', '.join(ARRAYS)} and meta"
            )
        for name in [n for n in ARRAYS if n in names] + ["meta"]:
            info = members[name + ".npy"]
            if (
                info.file_size > MAX_ARRAY_BYTES
                or info.file_size > MAX_INFLATION * info.compress_size + INFLATION_SLACK
            ):
                raise TrajectoryError(
                    f"{path}: array {name} would inflate from {info.compress_size:,} to "
                    f"{info.file_size:,} bytes; refused (a zip bomb?): a run file stores its "
                    f"arrays uncompressed and under {MAX_ARRAY_BYTES // 1024**3} GiB each"
                )
            with zf.open(info) as f:
                major, _ = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
            if dtype.hasobject:
                raise TrajectoryError(
                    f"{path}: array {name} holds Python objects (pickled data), which deform3d "
                    f"never loads; a run holds numbers only"
                )
            allowed = "U" if name == "meta" else "biu" if name == "y" else "f"
            if dtype.kind not in allowed:
                what = {"U": "a text string", "biu": "integers 0/1", "f": "floating point"}[allowed]
                raise TrajectoryError(f"{path}: array {name} has dtype {dtype}; expected {what}")
            if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > info.file_size:
                raise TrajectoryError(
                    f"{path}: array {name} claims shape {shape}, more than the file holds (truncated?)"
                )


def _check_meta(path: Path, meta: dict) -> None:
    if meta.get("activation") not in ACTIVATIONS:
        raise TrajectoryError(
            f"{path}: metadata names activation {meta.get('activation')!r}; expected one of {', '.join(ACTIVATIONS)}"
        )
    spe = meta.get("steps_per_epoch")
    if isinstance(spe, bool) or not isinstance(spe, int) or spe < 1:
        raise TrajectoryError(f"{path}: metadata's steps_per_epoch must be a whole number >= 1, got {spe!r}")


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:120]
