"""Training speed: deform3d's trainer (recording every step) against a plain torch loop.

Run on demand, not a test: ``python benchmarks/train.py`` (or ``make bench``), about a minute.

For the default config (k = 3 circles, Adam, lr 0.03, batch 32, 100 epochs: 6300 steps) it times,
interleaved and repeated (medians):

- deform3d's training loop with recording (the loop of ``deform3d.train.train``, rebuilt here from
  its own pieces so the loop can be timed alone; checked to give train()'s weights bit for bit),
- the same loop without the per-step row copy, for docs/design.md's "recording must not slow training
  by more than ~10%",
- ``train()`` end to end (the loop, the per-step full-dataset metrics, the Trajectory),
- a plain ``nn.Module`` + autograd + ``torch.optim.Adam`` loop with no recording, on the same data,
  initial weights and batch order,
- a user's loop as the README writes it (``nn.Sequential``, autograd, ``torch.optim.Adam``, BCE on
  logits) bare and under ``deform3d.watch``, for issue 14's "overhead of watch over the bare loop
  at most 15%"; watch's work after the loop (the per-step metrics, the Trajectory) is timed apart.

Every variant runs torch on one thread, as train() does (see deform3d.train.one_thread).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import deform3d
from deform3d.core.config import TrainConfig
from deform3d.core.data import load_dataset
from deform3d.core.geometry import Weights
from deform3d.core.model import Net
from deform3d.core.trainer import _Adam, _Step, initial_weights, one_thread, step_metrics, train
from deform3d.core.watcher import Rows

TARGET = 5000  # steps per second with recording (issue 2, acceptance 5)
WATCH_TARGET = 0.15  # watch's overhead over the bare user loop (issue 14, acceptance 4)


def our_loop(config: TrainConfig, X: torch.Tensor, y: torch.Tensor, recording: bool):
    """deform3d.core.trainer.train's loop, timed alone: (seconds, record of every step's weights)."""
    n, bs = len(X), config.batch_size
    total = -(-n // bs) * config.epochs
    theta = initial_weights(config)
    step = _Step(theta, config.hidden, config.activation)
    opt = _Adam(theta, config.lr)
    record = torch.empty(total + 1, theta.numel())
    record[0] = theta
    order = torch.Generator().manual_seed(config.seed)
    s = 0
    with torch.no_grad(), one_thread():
        start = time.perf_counter()
        for _ in range(config.epochs):
            perm = torch.randperm(n, generator=order)
            Xp, yp = X[perm], y[perm]
            for i in range(0, n, bs):
                step(Xp[i : i + bs], yp[i : i + bs])
                opt(step.grad)
                s += 1
                if recording:
                    record[s].copy_(theta)
        seconds = time.perf_counter() - start
    return seconds, record


def torch_loop(config: TrainConfig, X: torch.Tensor, y: torch.Tensor):
    """The loop a torch user writes: nn.Module, autograd, torch.optim.Adam; nothing recorded."""
    torch.manual_seed(config.seed)  # the same initial weights as deform3d (initial_weights)
    net = Net(config.hidden, config.activation)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)
    n, bs = len(X), config.batch_size
    with one_thread():
        start = time.perf_counter()
        for _ in range(config.epochs):
            perm = torch.randperm(n, generator=order)
            for i in range(0, n, bs):
                idx = perm[i : i + bs]
                opt.zero_grad()
                F.binary_cross_entropy(net(X[idx])[2], y[idx]).backward()
                opt.step()
        seconds = time.perf_counter() - start
    return seconds, net.weights()


def user_loop(config: TrainConfig, X: torch.Tensor, y: torch.Tensor, watched: bool):
    """A user's own loop (nn.Sequential, autograd, optim.Adam), bare or under deform3d.watch.

    Returns (seconds in the loop, CPU seconds of this thread in the loop, seconds after it until the
    run is built, final flat weights, run). CPU time leaves out waiting for a core that a neighbour
    holds, so on a shared machine it is the steadier measure of the work watch adds.
    """
    torch.manual_seed(config.seed)
    k = config.hidden
    model = nn.Sequential(nn.Linear(2, k), nn.Tanh(), nn.Linear(k, 2), nn.Tanh(), nn.Linear(2, 1))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    order = torch.Generator().manual_seed(config.seed)
    n, bs = len(X), config.batch_size
    watch = deform3d.watch(model, opt, X, y) if watched else contextlib.nullcontext()
    with one_thread():
        with watch as run:
            start, cpu = time.perf_counter(), time.thread_time()
            for _ in range(config.epochs):
                perm = torch.randperm(n, generator=order)
                for i in range(0, n, bs):
                    idx = perm[i : i + bs]
                    opt.zero_grad()
                    F.binary_cross_entropy_with_logits(model(X[idx]).squeeze(1), y[idx]).backward()
                    opt.step()
            seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
        after = time.perf_counter() - start - seconds
    final = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()
    return seconds, cpu, after, final, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each variant (default: 5)")
    args = parser.parse_args()

    config = TrainConfig()
    data = load_dataset(config)
    X = torch.from_numpy(np.ascontiguousarray(data.X, np.float32))
    y = torch.from_numpy(data.y.astype(np.float32))
    steps = -(-len(X) // config.batch_size) * config.epochs

    # Same loop as train(), same result; and the torch loop follows the same path to float error.
    run = train(config, data, progress=False)
    _, record = our_loop(config, X, y, recording=True)
    same = np.array_equal(record.numpy(), run.weights.flat())
    _, torch_final = torch_loop(config, X, y)
    gap = float(np.abs(torch_final.flat() - run.weights[-1].flat()).max())

    *_, bare_final, _ = user_loop(config, X, y, watched=False)
    *_, watched_final, watched = user_loop(config, X, y, watched=True)
    watch_same = np.array_equal(bare_final, watched_final) and np.array_equal(watched.weights[-1].flat(), watched_final)

    times = {name: [] for name in ("loop", "loop_bare", "end_to_end", "metrics", "torch", "user", "user_watched",
                                   "watch_finish", "user_cpu", "user_watched_cpu", "pair")}
    for _ in range(args.repeats):  # interleaved, so a noisy neighbour slows every variant alike
        times["loop"].append(our_loop(config, X, y, recording=True)[0])
        times["loop_bare"].append(our_loop(config, X, y, recording=False)[0])
        start = time.perf_counter()
        train(config, data, progress=False)
        times["end_to_end"].append(time.perf_counter() - start)
        start = time.perf_counter()
        step_metrics(record, X, y, config.hidden, config.activation)
        times["metrics"].append(time.perf_counter() - start)
        times["torch"].append(torch_loop(config, X, y)[0])
        # Bare and watched back to back, in alternating order: their ratio is taken per pair too.
        pair = {}
        for watched in ((False, True) if len(times["pair"]) % 2 == 0 else (True, False)):
            pair[watched] = user_loop(config, X, y, watched)
        times["user"].append(pair[False][0])
        times["user_cpu"].append(pair[False][1])
        times["user_watched"].append(pair[True][0])
        times["user_watched_cpu"].append(pair[True][1])
        times["watch_finish"].append(pair[True][2])
        times["pair"].append(pair[True][0] / pair[False][0])
    med = {name: statistics.median(t) for name, t in times.items()}
    rate = {name: steps / t for name, t in med.items()}

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"deform3d training benchmark: k={config.hidden} {config.dataset}, {config.optimizer} lr {config.lr}, "
          f"batch {config.batch_size}, {config.epochs} epochs = {steps} steps; median of {args.repeats}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"load average {load:.1f}, one torch thread")
    print()
    rows = [
        ("deform3d loop, recording every step", "loop"),
        ("deform3d loop, no recording", "loop_bare"),
        ("deform3d train() end to end (+ metrics)", "end_to_end"),
        ("  of which step_metrics (all steps)", "metrics"),
        ("torch nn.Module + autograd + optim.Adam", "torch"),
    ]
    print(f"{'variant':42s} {'steps/s':>9s} {'seconds':>8s} {'min..max s':>13s}")
    for label, name in rows:
        spread = f"{min(times[name]):.2f}..{max(times[name]):.2f}"
        shown = f"{rate[name]:9,.0f}" if name != "metrics" else f"{'':>9s}"
        print(f"{label:42s} {shown} {med[name]:8.2f} {spread:>13s}")
    print()
    overhead = med["loop"] / med["loop_bare"] - 1
    print(f"speed-up over torch: loop {rate['loop'] / rate['torch']:.2f}x, end to end {rate['end_to_end'] / rate['torch']:.2f}x")
    print(f"recording overhead: {100 * overhead:+.1f}% (docs/design.md: at most ~10%)")
    print(f"target >= {TARGET} steps/s with recording: loop {'met' if rate['loop'] >= TARGET else 'MISSED'}, "
          f"end to end {'met' if rate['end_to_end'] >= TARGET else 'MISSED'}")
    print(f"checks: loop here == train()'s weights bit for bit: {'yes' if same else 'NO'}; "
          f"torch loop's final weights within {gap:.1e} of ours")

    print()
    print("deform3d.watch on a user's loop (nn.Sequential + autograd + optim.Adam, BCE on logits)")
    print(f"{'variant':42s} {'steps/s':>9s} {'seconds':>8s} {'min..max s':>13s} {'CPU s':>7s}")
    for label, name in (("user loop, bare", "user"), ("user loop under deform3d.watch", "user_watched"),
                        ("  then building the run (metrics, once)", "watch_finish")):
        spread = f"{min(times[name]):.2f}..{max(times[name]):.2f}"
        shown = f"{steps / med[name]:9,.0f}" if name != "watch_finish" else f"{'':>9s}"
        cpu = f"{med[name + '_cpu']:7.2f}" if name + "_cpu" in med else ""
        print(f"{label:42s} {shown} {med[name]:8.2f} {spread:>13s} {cpu}")
    hook = Rows([p.detach() for p in Net(config.hidden).parameters_in_order()])
    start = time.perf_counter()
    for _ in range(2000):
        hook.add()
    hook_us = (time.perf_counter() - start) / 2000 * 1e6
    ratios = {"wall time, medians": med["user_watched"] / med["user"],
              "wall time, median of pairs": med["pair"],
              "CPU time, medians": med["user_watched_cpu"] / med["user_cpu"]}
    for label, ratio in ratios.items():
        verdict = "met" if ratio - 1 <= WATCH_TARGET else "MISSED"
        print(f"watch / bare loop ({label}): {ratio:.3f} = {100 * (ratio - 1):+.1f}% "
              f"(target <= +{100 * WATCH_TARGET:.0f}%: {verdict})")
    print(f"the recording itself: {hook_us:.1f} us a step = {100 * hook_us * steps / 1e6 / med['user_cpu']:.1f}% "
          f"of a bare step's CPU time; with building the run after the loop: "
          f"{(med['user_watched'] + med['watch_finish']) / med['user']:.3f} x the bare loop")
    print(f"checks: the watched loop trains the same weights as the bare one and its last row is them: "
          f"{'yes' if watch_same else 'NO'}")


if __name__ == "__main__":
    main()
