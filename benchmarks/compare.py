"""Side by side against alone: ``deform3d compare`` of k = 2, 3, 4 against each run's own video.

Run on demand (not a test): ``python benchmarks/compare.py [--repeat N] [--frames N]``. About ten
minutes on two cores.

The job: the three default circles runs (k = 2, 3, 4, 100 epochs, trained once here, not timed),
each recorded alone with ``deform3d.record`` at 1280x720, then the three in one 1280x720 video
with ``deform3d.compare``; the same number of frames, fps and pacing (``change``) everywhere, so
each video covers the same span of training. The issue's bar: the comparison takes at most 1.2 x
the slowest single video. Each repeat times the four recordings back to back (so a burst of load
on this shared machine hits neighbours alike); medians over repeats, the ratio of medians, and the
median of each repeat's own ratio. Then, as a steadier view of the same question, frames alone
(render + readback, no encoding, no setup): the comparison's frame and each run's frame rendered
in turn for the same states, and the median of the per-frame ratios to the slowest run's.
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
    from deform3d.core.config import TrainConfig
    from deform3d.core.trainer import train

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

    paired = statistics.median(c / max(times[f"k={k} alone"][i] for k in runs)
                               for i, c in enumerate(times["compare k=2|3|4"]))
    frame_ratio, frame_ms = frames_alone(list(runs.values()), args.frames)
    med = {name: statistics.median(t) for name, t in times.items()}
    slowest = max(v for name, v in med.items() if "alone" in name)
    print()
    print(f"| video ({args.frames} frames, 1280x720) | median s | frames/s | x slowest alone |")
    print("|---|---:|---:|---:|")
    for name, v in med.items():
        print(f"| {name} | {v:.2f} | {args.frames / v:.1f} | {v / slowest:.2f} |")
    ratio = med["compare k=2|3|4"] / slowest
    print(f"\ncompare / slowest single: {ratio:.2f} (ratio of medians), {paired:.2f} (median of each repeat's ratio); "
          f"bar: <= {BAR} -> {'holds' if max(ratio, paired) <= BAR else 'MISSED'}")
    print("frames alone, interleaved (median ms per frame): " + ", ".join(f"{k} {v:.0f}" for k, v in frame_ms.items())
          + f"; compare / slowest run, per frame: {frame_ratio:.2f}")
    return 0


def frames_alone(runs, n: int) -> tuple[float, dict[str, float]]:
    """Per-frame render + readback: the grid and each run alone, in turn for each state."""
    from deform3d.core.config import MESH_VIDEO, RecordConfig, RenderConfig
    from deform3d.video.pipeline import renderer, states
    from deform3d.media.timeline import Timeline

    view = RenderConfig(size=SIZE)
    timeline = Timeline.for_runs(runs, RecordConfig(size=SIZE, frames=min(n, 90)))
    grid = renderer(runs, view)
    alone = [renderer(r, RenderConfig(size=SIZE, mesh=MESH_VIDEO)) for r in runs]
    ms: dict[str, list[float]] = {"compare": []} | {f"k={r.hidden}": [] for r in runs}
    ratios = []
    try:
        frames = list(states(runs, timeline))
        grid.frame(frames[0].steps)
        for r in alone:
            r.frame((0.0,))
        for f in frames:
            s = f.state
            t0 = time.perf_counter()
            grid.frame(f.steps, s.azimuth, s.elevation, s.distance)
            ms["compare"].append(1000 * (time.perf_counter() - t0))
            for r, run, step in zip(alone, runs, f.steps):
                t0 = time.perf_counter()
                r.frame((step,), s.azimuth, s.elevation, s.distance)
                ms[f"k={run.hidden}"].append(1000 * (time.perf_counter() - t0))
            ratios.append(ms["compare"][-1] / max(ms[f"k={run.hidden}"][-1] for run in runs))
    finally:
        grid.close()
        for r in alone:
            r.close()
    return statistics.median(ratios), {k: statistics.median(v) for k, v in ms.items()}


if __name__ == "__main__":
    raise SystemExit(main())
