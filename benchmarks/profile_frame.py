"""Where a recorded frame's time goes: one part of the picture off at a time, glFinish-timed.

Run on demand (not a test): ``python benchmarks/profile_frame.py [--size WxH] [--mesh N] [--frames N]``.

Draws record's default picture (lift + plane, video mesh, ssaa 1) of the default run (k = 3
circles, 100 epochs) at a few training steps, and times, per variant, the draw alone (uniforms set,
canvas drawn, glFinish) and the readback alone. Each variant hides one visual or zeroes one uniform,
so "saved" is what that part costs. Medians over the steps and repeats; the machine's other load
moves the absolute numbers, so read the differences within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deform3d.core.config import RenderConfig, TrainConfig  # noqa: E402
from deform3d.graphics.offscreen import Renderer, gl_call  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--mesh", type=int, default=128)
    parser.add_argument("--frames", type=int, default=6, help="training steps drawn per variant and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all variants (default 3)")
    parser.add_argument("--run", type=Path, help="a saved run (default: train the default run now)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    if args.run:
        from deform3d.core.trajectory import Trajectory

        run = Trajectory.load(args.run)
    else:
        from deform3d.core.trainer import train

        run = train(TrainConfig(), progress=False)
    r = Renderer(run, RenderConfig(size=size, ssaa=1, mesh=args.mesh))
    s = r.scene
    def visuals_named():
        out = {"sheet:lift": [s.lift_sheet]}
        for sheet, space in s._sheets:
            out.setdefault(f"sheet:{space}", [sheet])
        out["points"] = list(s._point_sets)
        if s._surface is not None:
            out["surface"] = [s._surface]
        from deform3d.graphics.visuals import HalfPlaneVisual, OutlineVisual

        out["halfplanes (fill + line)"] = [v for v in s._network_visuals if isinstance(v, HalfPlaneVisual)]
        out["outline"] = [v for v in s._network_visuals if isinstance(v, OutlineVisual)]
        out["text"] = list(s._texts.values()) + list(s._axis_texts) + [v for v in s._legend]
        return out

    groups = gl_call(visuals_named)
    sheets = [v for v, _ in s._sheets]

    def flat_twins():
        """A twin of each sheet shaded one constant colour (same mesh, vertex shader and blend),
        hidden: showing them instead of the sheets measures the floor of the sheets' fragments,
        what no cheaper fragment shader can go below (switching a visual's code would recompile)."""
        from deform3d.graphics.visuals import Sheet

        twins = []
        for sheet, space in s._sheets:
            twin = Sheet(s.geo.vertices, s.geo.faces, space=space, parent=sheet.parent)
            twin.set_gl_state(**sheet._vshare.gl_state)
            twin._program.frag = "void main() { gl_FragColor = vec4(0.3, 0.3, 0.3, 0.5); }\n"
            twin.visible = False
            s._network_visuals.append(twin)  # (set_step gives it the network's uniforms)
            twins.append(twin)
        return twins

    twins = gl_call(flat_twins)

    saved = {}

    def uniform_variant(name, value):
        def apply(on):
            for v in sheets:
                if on:
                    saved[id(v), name] = v.shared_program[name]
                    v.shared_program[name] = value
                else:
                    v.shared_program[name] = saved[id(v), name]
        return apply

    def hide(vs):
        def apply(on):
            for v in vs:
                if on:
                    saved[id(v)] = v.visible
                    v.visible = False
                else:
                    v.visible = saved[id(v)]
        return apply

    variants = [("full frame", lambda on: None)]
    variants += [(f"- {name}", hide(vs)) for name, vs in groups.items() if vs]
    everything = [v for vs in groups.values() for v in vs] + [v for v in s.canvas.scene.children]
    variants += [("- heads-up line", hide([s.hud])),
                 ("- everything (clear + readback)", hide(list({id(v): v for v in everything}.values())))]
    def swap(on):
        for v in sheets:
            v.visible = not on
        for v in twins:
            v.visible = on

    variants += [("- sheet shading (constant colour)", swap)]
    variants += [("- crease (u_crease.a = 0)", uniform_variant("u_crease", (0, 0, 0, 0))),
                 ("- grid (colour alpha 0)", uniform_variant("u_grid_color", (0, 0, 0, 0)))]
    steps = [run.num_steps * f for f in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0)][: args.frames]

    def one(apply, step, azimuth):
        apply(True)
        try:
            s.set_step(step)
            s.set_camera(azimuth=azimuth)
            c0, t0 = time.process_time(), time.perf_counter()
            s.canvas.render(alpha=False)  # glReadPixels waits for the drawing (glFinish)
            return time.perf_counter() - t0, time.process_time() - c0
        finally:
            apply(False)

    for step in steps:
        gl_call(one, lambda on: None, step, -50.0)  # warm up: every shader compiled once
    # Interleaved (every variant at every step, round after round) so that a burst of load from
    # other jobs hits all variants alike.
    wall = {name: [] for name, _ in variants}
    cpu = {name: [] for name, _ in variants}
    for rnd in range(args.rounds):
        for i, step in enumerate(steps):
            for name, apply in variants:
                w, c = gl_call(one, apply, step, -50.0 + 7 * i + rnd)
                wall[name].append(w)
                cpu[name].append(c)
    med = statistics.median
    full_w, full_c = med(wall["full frame"]), med(cpu["full frame"])
    print(f"profile: {size[0]}x{size[1]}, mesh {args.mesh}^2, lift + plane, k = {run.hidden}; render() incl. "
          f"readback; medians of {args.rounds} rounds x {len(steps)} steps, interleaved")
    print(f"  {'variant':40s} {'wall ms':>8s} {'saved':>7s} {'cpu ms':>8s} {'saved':>7s}")
    for name, _ in variants:
        w, c = med(wall[name]), med(cpu[name])
        print(f"  {name:40s} {1e3 * w:8.1f} {1e3 * (full_w - w):7.1f} {1e3 * c:8.1f} {1e3 * (full_c - c):7.1f}")
    floor = med(cpu["- sheet shading (constant colour)"])
    print(f"  floor: with its sheets shaded a constant colour a frame still costs {1e3 * floor:.1f} ms of CPU "
          f"({100 * floor / full_c:.0f}% of the full frame's); no cheaper sheet shader can go below it")
    r.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
