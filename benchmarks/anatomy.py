"""Anatomy frames against the lift's own: the cost of a frame at a stage, for two mesh sizes.

Run on demand (not a test): ``python benchmarks/anatomy.py [--repeat N] [--frames N]``. About a
minute on two cores.

The job: the default circles run (k = 3, trained here, not timed) at 854x480 (the low quality
preset), one Renderer per mesh size; each repeat renders ``--frames`` frames of today's lift (a
step each, the orbit turning), then as many of the anatomy (the last step, stages spread over
0..7, the orbit turning), so that load on this shared machine hits both alike over the repeats. Shown: median milliseconds a frame
(render + readback) and the ratio of medians, anatomy over lift. The anatomy's vertex work is a
few more lines of shader and its Python side one more framing (numpy on the sheet's 17 x 17
sample), so it should cost about what a lift frame does, whatever the mesh.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats (median shown)")
    parser.add_argument("--frames", type=int, default=40, help="frames of each kind per repeat")
    args = parser.parse_args(argv)

    import deform3d
    from deform3d.core.config import RenderConfig
    from deform3d.graphics.offscreen import Renderer

    run = deform3d.train(hidden=3, progress=False)
    print(f"{'mesh':>6} {'lift ms':>9} {'anatomy ms':>11} {'ratio':>7}")
    for mesh in (128, 256):
        cfg = RenderConfig(size=(854, 480), ssaa=1, mesh=mesh, panels=("lift",))
        times = {"lift": [], "anatomy": []}
        with Renderer(run, cfg) as r:
            r.frame()  # compile every program once before timing
            r.frame(stage=7)
            r.scene.set_stage(None)
            for _ in range(args.repeat):  # the two kinds in turn, a run of frames each, as a video has them
                for i in range(args.frames):
                    t0 = time.perf_counter()
                    r.frame(run.num_steps * (i + 1) / args.frames, azimuth=-50 + i)
                    times["lift"].append(time.perf_counter() - t0)
                for i in range(args.frames):
                    t0 = time.perf_counter()
                    r.frame(run.num_steps, azimuth=-50 + i, stage=7 * i / (args.frames - 1))
                    times["anatomy"].append(time.perf_counter() - t0)
                r.scene.set_stage(None)
        lift, anatomy = (1000 * statistics.median(times[k]) for k in ("lift", "anatomy"))
        print(f"{mesh:>6} {lift:>9.1f} {anatomy:>11.1f} {anatomy / lift:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
