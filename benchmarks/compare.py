"""Side by side against alone: ``deform3d compare`` of k = 2, 3, 4 against each run's own video.

Run on demand (not a test): ``python benchmarks/compare.py [--repeat N] [--frames N]``. About ten
minutes on two cores.

The job: the three default circles runs (k = 2, 3, 4, 100 epochs, trained once here, not timed),
each recorded alone with ``deform3d.record`` at 1280x720, then the three in one 1280x720 video
with ``deform3d.compare``; the same number of frames, fps and pacing (``change``) everywhere, so
each video covers the same span of training. The issue's bar: the comparison takes at most 1.2 x
the slowest single video. Each repeat times the four recordings back to back (so a burst of load
on this shared machine hits neighbours alike); medians over repeats, and the ratio of medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (1280, 720)
BAR = 1.2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats (median shown)")
    parser.add_argument("--frames", type=int, default=300, help="frames per video (default 300: the default 10 s at 30 fps)")
    args = parser.parse_args(argv)

    import deform3d
    from deform3d.config import TrainConfig
    from deform3d.trainer import train

    runs = {k: train(TrainConfig(hidden=k), progress=False) for k in (2, 3, 4)}
    options = dict(size=SIZE, fps=30, frames=args.frames, progress=False)
    print(f"job: circles k = 2, 3, 4 (100 epochs each), {args.frames} frames {SIZE[0]}x{SIZE[1]} @ 30 fps, pace change; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    times: dict[str, list[float]] = {f"k={k} alone": [] for k in runs} | {"compare k=2|3|4": []}
    with tempfile.TemporaryDirectory(prefix="deform3d-bench-") as tmp:
        folder = Path(tmp)
        deform3d.record(runs[3], folder / "warm.mp4", **{**options, "frames": 4})  # EGL, shaders: once
        for rep in range(args.repeat):
            for k, run in runs.items():
                t0 = time.perf_counter()
                deform3d.record(run, folder / f"k{k}.mp4", **options)
                times[f"k={k} alone"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            deform3d.compare(list(runs.values()), folder / "k234.mp4", **options)
            times["compare k=2|3|4"].append(time.perf_counter() - t0)
            print(f"  repeat {rep + 1}: " + ", ".join(f"{name} {t[-1]:.1f} s" for name, t in times.items()), flush=True)

    med = {name: statistics.median(t) for name, t in times.items()}
    slowest = max(v for name, v in med.items() if "alone" in name)
    print()
    print(f"| video ({args.frames} frames, 1280x720) | median s | frames/s | x slowest alone |")
    print("|---|---:|---:|---:|")
    for name, v in med.items():
        print(f"| {name} | {v:.2f} | {args.frames / v:.1f} | {v / slowest:.2f} |")
    ratio = med["compare k=2|3|4"] / slowest
    print(f"\ncompare / slowest single: {ratio:.2f} (bar: <= {BAR}) -> {'holds' if ratio <= BAR else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
