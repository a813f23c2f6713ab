"""Sweep cost: k = 2, 3, 4 x 32 seeds x 100 epochs, batched, against one run of the same length.

Run on demand, not a test: ``python benchmarks/sweep.py`` (about two minutes on two cores;
``--seeds 8 --epochs 30`` for a quick look).

Measured in this process, interleaved where it is cheap to repeat (medians):

- one run: ``train()`` of the default config (k = 3, 6300 steps), as a user calls it; and, apart,
  the run's per-step full-dataset metrics, which a Trajectory computes on first use (every
  picture of a moment needs only that moment's; a video's pacing and curve strip need them all);
- the 96 runs as ``train_many`` stacks (one per k, 32 runs each) in this process on one thread,
  plus what a sweep's summary needs of each (the metrics at its epoch ends: ``RunResult.of``);
- ``deform3d.sweep`` as a user runs it (a pool of one process per core, run files and
  summary.csv written, no pictures).

The target (issue 19): the 96 runs for at most 10 times one run's wall time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

import deform3d.core.trainer as trainer
from deform3d.api import sweep
from deform3d.core.config import TrainConfig
from deform3d.core.sweeps import RunResult


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="single runs timed between the stacks")
    args = parser.parse_args()

    single = TrainConfig(hidden=3, epochs=args.epochs)
    ks = (2, 3, 4)
    runs = len(ks) * args.seeds
    trained = []

    def one_run():
        trained.append(trainer.train(single, progress=False))

    def one_metrics():
        run = trained.pop()
        run.loss  # noqa: B018 - computes every step's loss and accuracy

    one_run()  # warm-up: imports, allocator
    singles, metrics, loops, summaries = [], [], [], []
    for k in ks:
        singles.append(seconds(one_run))
        metrics.append(seconds(one_metrics))
        configs = [TrainConfig(hidden=k, epochs=args.epochs, seed=s) for s in range(args.seeds)]
        out = []
        loops.append(seconds(lambda: out.extend(trainer.train_many(configs, progress=False))))
        summaries.append(seconds(lambda: [RunResult.of(str(i), c, r) for i, (c, r) in enumerate(zip(configs, out))]))
    for _ in range(max(args.repeats - len(ks), 0)):
        singles.append(seconds(one_run))
        metrics.append(seconds(one_metrics))

    with tempfile.TemporaryDirectory() as folder:
        pool = seconds(lambda: sweep(folder, atlas=False, hidden=list(ks), seed=range(args.seeds), epochs=args.epochs,
                                     progress=False))

    one, one_m = statistics.median(singles), statistics.median(metrics)
    loop, summary = sum(loops), sum(summaries)
    stacked = loop + summary

    print(f"deform3d sweep benchmark: {runs} runs (k = 2, 3, 4 x {args.seeds} seeds), {args.epochs} epochs, "
          f"{-(-2000 // 32) * args.epochs} steps each")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"Python {sys.version.split()[0]}")
    print()
    print(f"{'':52s}{'seconds':>9s}{'x one run':>11s}")
    rows = [
        (f"one run: train() (median of {len(singles)})", one),
        ("  its per-step metrics, on first use (median)", one_m),
        (f"{runs} runs: {len(ks)} stacks of {args.seeds} (train_many, 1 core)", loop),
        ("  their summaries (metrics at each epoch's end)", summary),
        ("  together", stacked),
        (f"{runs} runs: deform3d.sweep, {os.cpu_count()} processes, files", pool),
    ]
    for name, value in rows:
        print(f"{name:52s}{value:9.2f}{value / one:11.1f}")
    print()
    print(f"per run: {stacked / runs * 1000:.0f} ms stacked against {one * 1000:.0f} ms alone; "
          f"every step's metrics too would add {one_m * 1000:.0f} ms a run ({(stacked + runs * one_m) / one:.1f} x one run)")
    verdict = "meets" if stacked <= 10 * one else "misses"
    print(f"target <= 10 x one run, end to end: {stacked / one:.1f} x on one core, "
          f"{pool / one:.1f} x with the pool: {verdict} it on one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
