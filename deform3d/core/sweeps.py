"""Sweeps: every combination of training options, trained in stacks, written as one folder.

Owns: the grid (a list of values per TrainConfig field; the CLI's "2,3,4" and "0-31"), the run
names, grouping runs of one shape into stacks (``trainer.train_many``), where the stacks train (this
process, a local process pool, or Dask workers), resuming (a run whose file is complete is not
trained again), ``DIR/summary.csv`` and the digest. The pictures (atlas, curves) are
``deform3d.graphics.atlas``'s; ``deform3d.api.sweep`` runs both. Imports numpy only at module
level: torch loads inside the training worker, Dask only when a client or scheduler is given;
never VisPy. (Named ``sweeps``: a module ``sweep`` would clash with the API function's name.)

Layout of a sweep folder::

    DIR/runs/<dataset>-k<K>-<activation>-<optimizer>-lr<LR>-bs<B>-e<E>-n<N>-seed<S>.npz
    DIR/summary.csv      one row per run: settings, final loss and accuracy, epoch to 95%, separated
    DIR/atlas.png        final frames, grouped by setting, sorted by outcome
    DIR/curves.png       accuracy over epochs per group: median and spread
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .errors import ConfigError, UsageError
from .files import atomic_path
from .trajectory import Trajectory, TrajectoryError

#: A run "separates" its data when its final accuracy reaches this; the summary also gives the
#: first epoch at which accuracy reached it.
SEPARATED = 0.95
#: Most runs trained as one stack: past this a stack's per-step cost grows with its size anyway,
#: and smaller stacks let the progress bar move and a lost Dask worker cost less.
MAX_STACK = 32
#: More runs than this is surely a typo in a range (e.g. --seed 0-1000000).
MAX_RUNS = 100_000
GRID_FIELDS = tuple(f.name for f in fields(TrainConfig))
_INT_FIELDS = {f.name for f in fields(TrainConfig) if f.type.split(" | ")[0] == "int"}
_FLOAT_FIELDS = {f.name for f in fields(TrainConfig) if f.type.split(" | ")[0] == "float"}


# ---------------------------------------------------------------- the grid


def parse_values(name: str, text: str) -> list:
    """One option's list from the command line: ``"2,3,4"``, ranges of integers ``"0-31"``, mixed.

    Raises ConfigError (naming the option) for an empty list, an empty or reversed range, a value
    that is not a number, or a value given twice.
    """
    items = [t.strip() for t in str(text).split(",")]
    if not any(items):
        raise ConfigError(name, "got an empty list; give one value or several separated by commas, e.g. 2,3,4")
    values = []
    for item in items:
        if not item:
            raise ConfigError(name, f"has an empty item in {text!r}; separate values by single commas")
        if name in _INT_FIELDS and "-" in item[1:]:
            lo, hi = item.split("-", 1)
            a, b = _number(name, lo, int), _number(name, hi, int)
            if b < a:
                raise ConfigError(
                    name, f"range {item} is empty (it runs backwards); write LOW-HIGH with LOW <= HIGH, e.g. {b}-{a}"
                )
            if b - a >= MAX_RUNS:
                raise ConfigError(
                    name, f"range {item} has {b - a + 1} values, more than a sweep of {MAX_RUNS} runs; narrow it"
                )
            values.extend(range(a, b + 1))
        elif name in _INT_FIELDS:
            values.append(_number(name, item, int))
        elif name in _FLOAT_FIELDS:
            values.append(None if name == "noise" and item == "default" else _number(name, item, float))
        else:
            values.append(item)
    return _distinct(name, values)


def _number(name: str, text: str, kind):
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ConfigError(name, f"{text!r} is not {what}") from None


def _distinct(name: str, values: list) -> list:
    seen = set()
    for v in values:
        if v in seen:
            raise ConfigError(name, f"lists {v} twice; give each value once")
        seen.add(v)
    return values


def grid(**lists) -> list[TrainConfig]:
    """Every combination of the given options, as TrainConfigs (each checked as ``train`` checks it).

    Each option is TrainConfig's field name with one value or a list of values (a ``range`` too);
    options not given keep TrainConfig's defaults. Raises ConfigError for an empty list, a value
    given twice or any value ``train`` would refuse, and UsageError for a grid whose options
    contradict each other (momentum varied with no SGD run to use it).
    """
    unknown = sorted(set(lists) - set(GRID_FIELDS))
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(unknown)}")
    axes = {}
    for name in GRID_FIELDS:
        value = lists.get(name, getattr(TrainConfig, name))
        values = list(value) if isinstance(value, (list, tuple, range)) else [value]
        if not values:
            raise ConfigError(name, "got an empty list; give at least one value")
        axes[name] = _distinct(name, values)
    if len(axes["momentum"]) > 1 and "sgd" not in axes["optimizer"]:
        raise UsageError(
            "--momentum lists several values but only SGD uses momentum; add --optimizer sgd or give one --momentum"
        )
    if all(_is_csv(d) for d in axes["dataset"]):
        for name in ("points", "noise"):
            if len(axes[name]) > 1:
                raise UsageError(
                    f"--{name} lists several values but a CSV dataset has its own points, never noised; give one --{name}"
                )
    count = math.prod(len(v) for v in axes.values())
    if count > MAX_RUNS:
        raise UsageError(f"the grid has {count} runs, more than {MAX_RUNS}; give fewer values")
    configs = []
    for combo in itertools.product(*axes.values()):
        c = dict(zip(axes, combo))
        if c["optimizer"] != "sgd" and c["momentum"] != axes["momentum"][0]:
            continue  # Adam ignores momentum: one run, not one per momentum value
        if _is_csv(c["dataset"]) and (c["points"], c["noise"]) != (axes["points"][0], axes["noise"][0]):
            continue  # a CSV file ignores points and noise: one run, not one per value
        configs.append(TrainConfig(**c))
    return configs


def _is_csv(dataset: str) -> bool:
    return dataset.lower().endswith(".csv")


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def run_name(config: TrainConfig) -> str:
    """The file name (no extension) of a run: every setting that shapes it, in a fixed order.

    >>> run_name(TrainConfig(hidden=2, seed=7))
    'circles-k2-tanh-adam-lr0.03-bs32-e100-n1000-seed7'
    """
    csv_file = _is_csv(config.dataset)
    parts = [
        Path(config.dataset).stem if csv_file else config.dataset,
        f"k{config.hidden}",
        config.activation,
        config.optimizer,
        f"lr{_fmt(config.lr)}",
    ]
    if config.optimizer == "sgd" and config.momentum:
        parts.append(f"m{_fmt(config.momentum)}")
    parts += [f"bs{config.batch_size}", f"e{config.epochs}"]
    if not csv_file:  # a CSV file has its own points, never noised
        parts.append(f"n{config.points}")
        if config.noise is not None:
            parts.append(f"noise{_fmt(config.noise)}")
    parts.append(f"seed{config.seed}")
    return "-".join(parts)


def group_key(config: TrainConfig) -> tuple:
    """A run's group in the digest, atlas and curves: every setting but the seed."""
    return tuple((n, getattr(config, n)) for n in GRID_FIELDS if n != "seed")


def group_label(key: tuple, varying: set[str]) -> str:
    """A group's name from the settings that vary across the sweep, e.g. ``k=3 moons relu``."""
    shown = {
        "hidden": "k={}",
        "dataset": "{}",
        "activation": "{}",
        "optimizer": "{}",
        "lr": "lr={}",
        "momentum": "momentum={}",
        "epochs": "{} epochs",
        "batch_size": "batch {}",
        "points": "{} points",
        "noise": "noise={}",
    }
    parts = [shown[n].format(_fmt(v) if v is not None else "default") for n, v in key if n in varying]
    return " ".join(parts) or "all runs"


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class RunResult:
    """One run's outcome, as summary.csv has it, plus its accuracy at each epoch's end (the curves).

    Everything here comes from the run's full-dataset metrics at its epoch ends (step 0 and every
    steps_per_epoch-th step), not at every step: that is 1/steps_per_epoch of the evaluation, and
    what keeps a sweep's cost near its training's (docs/design.md, "Metrics").
    """

    name: str
    config: TrainConfig
    final_loss: float
    final_accuracy: float
    epoch_95: int | None  # the first epoch at whose end accuracy had reached SEPARATED
    separated: bool
    accuracy: np.ndarray  # (epochs + 1,) float32: before training, then after each epoch

    @classmethod
    def of(cls, name: str, config: TrainConfig, run: Trajectory) -> "RunResult":
        loss, accuracy = run.metrics_at(np.arange(0, run.num_steps + 1, run.steps_per_epoch))
        reached = np.flatnonzero(accuracy >= SEPARATED)
        epoch = int(reached[0]) if reached.size else None
        return cls(
            name,
            config,
            float(loss[-1]),
            float(accuracy[-1]),
            epoch,
            bool(accuracy[-1] >= SEPARATED),
            np.asarray(accuracy, np.float32),
        )


SUMMARY_COLUMNS = ("name",) + GRID_FIELDS + ("final_loss", "final_accuracy", "epoch_95", "separated")


def summary_csv(results: list[RunResult]) -> str:
    """summary.csv's text: one row per run, in grid order."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(SUMMARY_COLUMNS)
    for r in results:
        settings = ["" if getattr(r.config, n) is None else getattr(r.config, n) for n in GRID_FIELDS]
        epoch = "" if r.epoch_95 is None else str(r.epoch_95)
        w.writerow(
            [r.name, *settings, f"{r.final_loss:.6g}", f"{r.final_accuracy:.6g}", epoch, "yes" if r.separated else "no"]
        )
    return out.getvalue()


def groups(results: list[RunResult]) -> list[tuple[str, list[RunResult]]]:
    """Results grouped by every setting but the seed, in grid order: [(label, results)]."""
    keyed: dict[tuple, list[RunResult]] = {}
    for r in results:
        keyed.setdefault(group_key(r.config), []).append(r)
    varying = {n for n in GRID_FIELDS if n != "seed" and len({dict(k)[n] for k in keyed}) > 1}
    return [(group_label(k, varying), rs) for k, rs in keyed.items()]


def shared_label(results: list[RunResult]) -> str:
    """What every run of a sweep shares, for the pictures' titles: ``circles, tanh, adam lr=0.03, 30 epochs``."""
    shared = [
        n
        for n in ("dataset", "activation", "optimizer", "lr", "epochs")
        if len({getattr(r.config, n) for r in results}) == 1
    ]
    key = group_key(results[0].config)
    return ", ".join(group_label(tuple(kv for kv in key if kv[0] == n), {n}) for n in shared)


def digest(results: list[RunResult]) -> list[str]:
    """One line per group, e.g. ``k=2: 0/32 separate, accuracy 0.81-0.91``."""
    lines = []
    for label, rs in groups(results):
        acc = [r.final_accuracy for r in rs]
        low, high = f"{min(acc):.2f}", f"{max(acc):.2f}"
        line = f"{label}: {sum(r.separated for r in rs)}/{len(rs)} separate, accuracy {low if low == high else low + '-' + high}"
        reached = [r.epoch_95 for r in rs if r.epoch_95 is not None]
        if reached:
            line += f", median {np.median(reached):g} epochs to {SEPARATED:.0%}"
            if len(reached) < len(rs):
                line += f" ({len(reached)} of {len(rs)} reached it)"
        lines.append(line)
    return lines


@dataclass
class SweepResult:
    """What ``sweep`` wrote: the folder, one RunResult per run (grid order), the digest lines."""

    out: Path
    results: list[RunResult]
    digest: list[str]
    trained: int  # runs trained by this call (the others were already complete)

    def __repr__(self) -> str:
        return (
            f"SweepResult({str(self.out)!r}, {len(self.results)} runs, trained {self.trained}: "
            + "; ".join(self.digest)
            + ")"
        )


# ---------------------------------------------------------------- training (runs in workers)


def train_stack(configs: list[dict]) -> list[Trajectory]:
    """Train runs of one shape as one stack (in whichever process or Dask worker runs this).

    Takes plain dicts (TrainConfig fields), so the task pickles small and version-proof.
    """
    from .trainer import train_many

    return train_many([TrainConfig(**c) for c in configs], progress=False)


def stacks(configs: list[TrainConfig], workers: int) -> list[list[TrainConfig]]:
    """Runs grouped by shape (``trainer.batch_key``) and cut into stacks of at most MAX_STACK,
    small enough that every worker gets one."""
    from .data import load_dataset
    from .trainer import batch_key

    by_shape: dict[tuple, list[TrainConfig]] = {}
    sizes: dict[str, int] = {}
    for c in configs:
        # A built-in dataset has 2 x points points; a CSV file has what it has (read once).
        n = sizes.setdefault(c.dataset, len(load_dataset(c).X)) if _is_csv(c.dataset) else 2 * c.points
        by_shape.setdefault(batch_key(c, n), []).append(c)
    size = max(1, min(MAX_STACK, math.ceil(len(configs) / max(workers, 1))))
    return [runs[i : i + size] for runs in by_shape.values() for i in range(0, len(runs), size)]


def _complete(path: Path, config: TrainConfig) -> Trajectory | None:
    """The run at ``path`` if it is a whole trajectory of exactly this config, else None."""
    if not path.is_file():
        return None
    try:
        run = Trajectory.load(path)
    except TrajectoryError:
        return None
    return run if run.meta.get("config") == config.to_dict() else None


# ---------------------------------------------------------------- the sweep


def check_folder(out) -> Path:
    """The sweep folder ``out`` as a Path; UsageError if it is a file."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder for the sweep")
    return out


def check_workers(workers) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError("workers", f"must be an integer >= 1, got {workers!r}")


def train_sweep(
    out, configs: list[TrainConfig], *, client=None, workers: int | None = None, progress=True, echo=None
) -> SweepResult:
    """Train the runs ``configs`` (a ``grid``) into the sweep folder ``out``; write summary.csv.

    Runs of one shape train together as one stack; each equals what ``train`` gives for its
    settings, bit for bit. Runs whose files in ``out/runs`` are complete are not trained again (an
    interrupted sweep resumes). Where stacks train: ``client`` (a ``dask.distributed.Client``)
    sends them to Dask workers (a lost worker's stack runs again elsewhere); else a pool of
    ``workers`` local processes (None: one per core; 1: this process). ``progress``: runs done of
    all, as ``deform3d.core.progress`` shows it (True, False or a callable). ``echo``: called with each
    digest line (e.g. print). The pictures are ``deform3d.graphics.atlas``'s (``deform3d.sweep``
    draws them after this).
    """
    from .progress import Progress

    out = check_folder(out)
    check_workers(workers)
    names = [run_name(c) for c in configs]
    if len(set(names)) != len(names):
        raise UsageError("two runs of this grid would share a file name (two CSV files with one name?); rename one")
    runs_dir = out / "runs"
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create {runs_dir}: {e.strerror or e}; choose another --out") from None

    results: dict[str, RunResult] = {}
    todo = []
    for name, c in zip(names, configs):
        done = _complete(runs_dir / f"{name}.npz", c)
        if done is not None:
            results[name] = RunResult.of(name, c, done)
        else:
            todo.append(c)
    if echo and results:
        echo(f"{len(results)} of {len(configs)} runs already complete in {runs_dir}; training {len(todo)}")
    if todo:
        n_workers = _dask_workers(client) if client is not None else (workers or os.cpu_count() or 1)
        with Progress(len(todo), "sweep", "run", progress) as bar:
            for c, run in _train(stacks(todo, n_workers), client, n_workers):
                name = run_name(c)
                run.save(runs_dir / f"{name}.npz", metrics=False)  # computed when a run is opened
                results[name] = RunResult.of(name, c, run)
                bar.update(1)
    ordered = [results[n] for n in names]
    with atomic_path(out / "summary.csv", suffix=".csv") as tmp:
        tmp.write_text(summary_csv(ordered))
    lines = digest(ordered)
    if echo:
        for line in lines:
            echo(line)
    return SweepResult(out, ordered, lines, len(todo))


def connect(address: str):
    """A Dask client on the scheduler at ``address``; UsageError without Dask or the scheduler."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'deform3d[cluster]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {str(e).splitlines()[0][:120]}") from None


def _dask_workers(client) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values()))


def _train(batches: list[list[TrainConfig]], client, workers: int):
    """(config, Trajectory) for every run, as each stack finishes (in any order)."""
    payload = [[c.to_dict() for c in b] for b in batches]
    if client is not None:
        from dask.distributed import as_completed

        # retries: a stack whose task raised (e.g. its worker's process died under it) runs again;
        # a worker lost outright is handled by the scheduler, which reruns its tasks elsewhere.
        futures = {client.submit(train_stack, p, retries=3, pure=False): b for p, b in zip(payload, batches)}
        for future in as_completed(futures):
            yield from zip(futures[future], future.result())
            future.release()
        return
    if workers <= 1 or len(batches) <= 1:
        for p, b in zip(payload, batches):
            yield from zip(b, train_stack(p))
        return
    from .pool import local_pool

    with local_pool(min(workers, len(batches))) as pool:
        for i, runs in pool.imap_unordered(_indexed_stack, list(enumerate(payload))):
            yield from zip(batches[i], runs)


def _indexed_stack(item):
    i, configs = item
    return i, train_stack(configs)
