"""Where the video's time goes: pacing by change against ease (and linear), on the issue's runs.

Run on demand (not a test): ``python benchmarks/pacing.py``. About a minute (training; no GL).

For circles k = 3 seeds 0..4 and moons k = 3 seed 0, default settings (100 epochs, a 10 s video
at 30 fps): the share of the video's frames whose accuracy (the heads-up line's) is between 60%
and 95%, the learning itself; the seconds of video spent before epoch 10 and from epoch 50 on; and
the longest stretch of frames showing one accuracy band crossing. Frames and their states come
from the time codes writer over the same timeline ``deform3d record`` uses (no pictures needed).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = [("circles", s) for s in range(5)] + [("moons", 0)]
PACES = ("change", "ease", "linear")


def main() -> int:
    from deform3d.core.config import RecordConfig, TrainConfig
    from deform3d.video.pipeline import read_timecodes, states, write_timecodes
    from deform3d.media.timeline import Timeline
    from deform3d.core.trainer import train

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset, seed in RUNS:
            run = train(TrainConfig(dataset=dataset, seed=seed), progress=False)
            row = {"run": f"{dataset} k=3 seed {seed}"}
            for pace in PACES:
                tl = Timeline.for_runs(run, RecordConfig(pace=pace))
                codes = read_timecodes(write_timecodes(run, states(run, tl), Path(tmp) / "codes.csv"))
                acc = np.array([c["accuracy"] for c in codes])
                epoch = np.array([c["epoch"] for c in codes])
                row[pace] = (np.mean((acc >= 0.6) & (acc <= 0.95)), np.sum(epoch < 10) / tl.fps,
                             np.sum(epoch >= 50) / tl.fps)
            rows.append(row)
            print(f"  {row['run']} done", flush=True)
    print()
    print("| run (10 s, 30 fps) | " + " | ".join(f"60..95% share, {p}" for p in PACES) +
          " | s before epoch 10: change / ease | s after epoch 50: change / ease |")
    print("|---|" + "---:|" * (len(PACES) + 2))
    for row in rows:
        shares = " | ".join(f"{100 * row[p][0]:.0f}%" for p in PACES)
        print(f"| {row['run']} | {shares} | {row['change'][1]:.1f} / {row['ease'][1]:.1f} | "
              f"{row['change'][2]:.1f} / {row['ease'][2]:.1f} |")
    worst = min(r["change"][0] for r in rows)
    print(f"\nsmallest 60..95% share with change: {100 * worst:.0f}% (bar: >= 20%) -> {'holds' if worst >= 0.2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
