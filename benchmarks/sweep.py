"""Sweep cost: k = 2, 3, 4 x 32 seeds x 100 epochs, batched, against one run of the same length.

Run on demand, not a test: ``python benchmarks/sweep.py`` (about three minutes on two cores;
``--seeds 8 --epochs 30`` for a quick look).

Measured in this process, interleaved where it is cheap to repeat (medians):

- one run: ``train()`` of the default config (k = 3, 6300 steps), end to end, and split into its
  training loop and its per-step metrics (full-dataset loss and accuracy after every step, which
  a Trajectory holds);
- the 96 runs as ``train_many`` stacks (one per k, 32 runs each) in this process on one thread,
  end to end and split the same way;
- ``deform3d.sweep`` as a user runs it (a pool of one process per core, no pictures).

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


class MetricsClock:
    """Wraps trainer.step_metrics to add up the seconds spent in it (the rest is the loop)."""

    def __init__(self):
        self.seconds, self._inner = 0.0, trainer.step_metrics

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def timed(fn, clock: MetricsClock) -> tuple[float, float]:
    """(total seconds, seconds in step_metrics) of fn()."""
    clock.seconds = 0.0
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start, clock.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="single runs timed between the stacks")
    args = parser.parse_args()

    clock = MetricsClock()
    trainer.step_metrics = clock  # train_many looks it up at call time
    single = TrainConfig(hidden=3, epochs=args.epochs)
    ks = (2, 3, 4)
    runs = len(ks) * args.seeds
    train_single = lambda: trainer.train(single, progress=False)

    train_single()  # warm-up: imports, allocator
    singles, stacks = [], []
    for k in ks:
        singles.append(timed(train_single, clock))
        configs = [TrainConfig(hidden=k, epochs=args.epochs, seed=s) for s in range(args.seeds)]
        stacks.append(timed(lambda: trainer.train_many(configs, progress=False), clock))
    for _ in range(max(args.repeats - len(ks), 0)):
        singles.append(timed(train_single, clock))
    trainer.step_metrics = clock._inner

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        sweep(folder, atlas=False, hidden=list(ks), seed=range(args.seeds), epochs=args.epochs)
        pool = time.perf_counter() - start

    one_total = statistics.median(t for t, _ in singles)
    one_metrics = statistics.median(m for _, m in singles)
    one_loop = one_total - one_metrics
    st_total, st_metrics = sum(t for t, _ in stacks), sum(m for _, m in stacks)
    st_loop = st_total - st_metrics

    print(f"deform3d sweep benchmark: {runs} runs (k = 2, 3, 4 x {args.seeds} seeds), {args.epochs} epochs, "
          f"{-(-2000 // 32) * args.epochs} steps each")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"Python {sys.version.split()[0]}")
    print()
    print(f"{'':46s}{'total s':>10s}{'loop s':>10s}{'metrics s':>11s}{'x one run':>11s}")
    rows = [
        (f"one run: train() (median of {len(singles)})", one_total, one_loop, one_metrics),
        (f"{runs} runs: 3 stacks of {args.seeds} (train_many, 1 core)", st_total, st_loop, st_metrics),
    ]
    for name, total, loop, metrics in rows:
        print(f"{name:46s}{total:10.2f}{loop:10.2f}{metrics:11.2f}{total / one_total:11.1f}")
    print(f"{f'{runs} runs: deform3d.sweep, {os.cpu_count()} processes':46s}{pool:10.2f}{'':10s}{'':11s}{pool / one_total:11.1f}")
    print()
    print(f"training loops alone: {runs} runs in {st_loop:.2f} s = {st_loop / one_loop:.1f} x one run's loop "
          f"({st_loop / runs * 1000:.0f} ms a run against {one_loop * 1000:.0f} ms)")
    print(f"per-step metrics: {st_metrics / runs * 1000:.0f} ms a run against {one_metrics * 1000:.0f} ms alone "
          f"(the same work for every run: stacking cannot share it)")
    verdict = "meets" if st_total <= 10 * one_total else "misses"
    print(f"target <= 10 x one run, end to end: {st_total / one_total:.1f} x on one core, "
          f"{pool / one_total:.1f} x with the pool: {verdict} it on one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
