"""Frames per second of deform3d's renderer (render + readback), beside the same scene fed from numpy.

Run on demand (not a test): ``python benchmarks/render.py [--frames N] [--quick]``.

For each image size (1280x720, 1920x1080; ssaa 1) and sheet mesh (64^2, 256^2, 512^2 vertices),
one run draws the lift and plane panels of the same k = 3 run two ways, every frame at a new
training step and a turned camera, reading each frame back to numpy:

- ours: deform3d's Renderer. The mesh and points were uploaded once as input coordinates; a frame
  sends ~40 floats of uniforms and the GPU runs the forward pass per vertex and per fragment.
- numpy: the same panels, cameras and heads-up line as plain VisPy visuals (Mesh, Markers, Line)
  whose vertex positions (and class tint) ``geometry.forward`` computes on the CPU and
  ``set_data`` uploads, every frame.

Each cell is the median of ``--frames`` timed frames after two warm-up frames. "frame" is the
whole frame in wall-clock time, render and readback included (fps = 1 / frame); "cpu" is the CPU
time the process spent on it, all threads (llvmpipe rasterizes on CPU threads), which other load
on the machine disturbs less than wall-clock time; "prep" is the Python side before drawing starts
(ours: uniforms; numpy: forward pass + set_data). Prints a table, the ratio of frame rates
(ours / numpy) per cell, and how frame time grows with the mesh.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deform3d.core.config import RenderConfig, TrainConfig  # noqa: E402
from deform3d.core.geometry import clip_line, forward  # noqa: E402
from deform3d.graphics.offscreen import Renderer, egl_app  # noqa: E402
from deform3d.core.trajectory import Trajectory  # noqa: E402

SIZES = [(1280, 720), (1920, 1080)]
MESHES = [64, 256, 512]


def benchmark_run() -> Trajectory:
    """A small k = 3 run on the circles (the stored test run if present, else trained now, ~2 s)."""
    stored = ROOT / "tests" / "reference" / "run-k3.npz"
    if stored.exists():
        return Trajectory.load(stored)
    from deform3d.core.trainer import train

    return train(TrainConfig(hidden=3, points=200, epochs=30, seed=0), progress=False)


def moments(run: Trajectory, n: int) -> list[tuple[float, float]]:
    """(step, azimuth) for n frames: every frame a new (fractional) step and a turned camera."""
    steps = np.linspace(0.37 * run.num_steps, run.num_steps, n)
    return [(float(t), -50.0 + 3.0 * i) for i, t in enumerate(steps)]


class Ours:
    name = "ours"

    def __init__(self, run, size, mesh):
        self.r = Renderer(run, RenderConfig(size=size, ssaa=1, mesh=mesh, panels=("lift", "plane")))

    def prepare(self, step, azimuth):
        self.r.scene.set_step(step)
        self.r.scene.set_camera(azimuth=azimuth)

    def draw(self):
        return self.r.scene.canvas.render(alpha=False)

    def close(self):
        self.r.close()


class Numpy:
    """The same two panels, with positions from geometry.forward uploaded by set_data every frame."""

    name = "numpy"

    def __init__(self, run, size, mesh):
        from vispy import scene

        from deform3d.core.framing import RunGeometry
        from deform3d.graphics.scene import THEMES, TITLES, _box_edges

        self.run, self.theme = run, THEMES["light"]
        self.geo = geo = RunGeometry(run, mesh)
        t, cfg = self.theme, RenderConfig(size=size)
        self.canvas = scene.SceneCanvas(size=size, bgcolor=t.background, show=False, app=egl_app(), keys=None)
        grid = self.canvas.central_widget.add_grid(margin=6, spacing=4)
        self.hud = scene.widgets.Label("", color=t.text, font_size=11)
        self.hud.height_max = 30
        grid.add_widget(self.hud, row=0, col=0, col_span=2)
        for col, title in enumerate((TITLES["lift"][geo.k], TITLES["plane"])):
            label = scene.widgets.Label(title, color=t.muted, font_size=9)
            label.height_max = 22
            grid.add_widget(label, row=1, col=col)
        lift, plane = grid.add_view(row=2, col=0), grid.add_view(row=2, col=1)
        self.lift_mesh = scene.visuals.Mesh(parent=lift.scene, shading=None)
        self.lift_points = scene.visuals.Markers(pos=np.zeros((1, 3), np.float32), parent=lift.scene)
        lo, hi = geo.lift_box
        scene.visuals.Line(_box_edges(lo, hi), connect="segments", color=t.box, parent=lift.scene)
        lift.camera = scene.TurntableCamera(fov=30.0, center=tuple((lo + hi) / 2), up="+z",
                                            elevation=cfg.elevation, scale_factor=float(np.linalg.norm(hi - lo)) * 1.15)
        self.lift_camera = lift.camera
        self.plane_mesh = scene.visuals.Mesh(parent=plane.scene, shading=None)
        self.line = scene.visuals.Line(np.zeros((2, 2), np.float32), color=t.boundary, width=2.6, parent=plane.scene)
        self.plane_points = scene.visuals.Markers(pos=np.zeros((1, 3), np.float32), parent=plane.scene)
        a, b = geo.plane_range
        m = 0.04 * (b - a)
        plane.camera = scene.PanZoomCamera(rect=(a - m, a - m, b - a + 2 * m, b - a + 2 * m), aspect=1.0)
        self.point_colors = np.where(run.y[:, None] > 0, t.class1, t.class0).astype(np.float32)

    def prepare(self, step, azimuth):
        run, geo, t = self.run, self.geo, self.theme
        w = run.weights_at(step)
        f = forward(w, geo.vertices, geo.activation)
        tint = np.where(f.z3[:, None] > 0, t.class1, t.class0)
        colors = ((1 - t.tint) * np.asarray(t.front) + t.tint * tint).astype(np.float32)
        colors[:, 3] = 1.0
        self.lift_mesh.set_data(vertices=geo.projection(f.h1).astype(np.float32), faces=geo.faces, vertex_colors=colors)
        flat = np.column_stack([f.h2, np.zeros(len(f.h2))]).astype(np.float32)
        self.plane_mesh.set_data(vertices=flat, faces=geo.faces, vertex_colors=colors)
        p = forward(w, run.X, geo.activation)
        self.lift_points.set_data(geo.projection(p.h1).astype(np.float32), face_color=self.point_colors, size=5)
        self.plane_points.set_data(np.column_stack([p.h2, np.zeros(len(p.h2))]).astype(np.float32),
                                   face_color=self.point_colors, size=5)
        seg = clip_line(w.w3, float(np.asarray(w.b3)), *geo.plane_range)
        self.line.visible = seg is not None
        if seg is not None:
            self.line.set_data(seg.astype(np.float32))
        i = int(round(step))
        self.hud.text = (f"k = {geo.k}   epoch {step / run.steps_per_epoch:5.1f}   step {i:>5d} / {run.num_steps}"
                         f"   loss {run.loss[i]:.3f}   accuracy {100 * run.accuracy[i]:5.1f}%")
        self.lift_camera.azimuth = azimuth

    def draw(self):
        return self.canvas.render(alpha=False)

    def close(self):
        self.canvas.close()


def measure(kind, run, size, mesh, frames: int) -> dict:
    view = kind(run, size, mesh)
    try:
        plan = moments(run, frames + 2)
        prep, total, cpu = [], [], []
        for step, azimuth in plan:
            c0, t0 = time.process_time(), time.perf_counter()
            view.prepare(step, azimuth)
            t1 = time.perf_counter()
            image = view.draw()
            t2, c2 = time.perf_counter(), time.process_time()
            assert image.shape == (size[1], size[0], 3)
            prep.append(t1 - t0)
            total.append(t2 - t0)
            cpu.append(c2 - c0)
        # The first two frames compile shaders and upload the mesh: not timed.
        return {name: statistics.median(v[2:]) for name, v in (("prep", prep), ("frame", total), ("cpu", cpu))}
    finally:
        view.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5, help="timed frames per cell, after 2 warm-up frames (default 5)")
    parser.add_argument("--quick", action="store_true", help="only 1280x720 and meshes 64^2, 256^2")
    args = parser.parse_args(argv)
    sizes, meshes = (SIZES[:1], MESHES[:2]) if args.quick else (SIZES, MESHES)

    import vispy.gloo.gl as gl

    egl_app()
    run = benchmark_run()
    load = os.getloadavg()
    start = time.perf_counter()
    results = {}
    for size in sizes:
        for mesh in meshes:
            for kind in (Ours, Numpy):
                results[size, mesh, kind.name] = measure(kind, run, size, mesh, args.frames)

    renderer = gl.glGetParameter(gl.GL_RENDERER)
    print(f"deform3d render benchmark: k = {run.hidden}, {len(run.X)} points, lift + plane panels, ssaa 1, "
          f"median of {args.frames} frames; GL: {renderer}; {os.cpu_count()} CPUs, "
          f"load average before/after {load[0]:.1f}/{os.getloadavg()[0]:.1f}\n")
    cols = f"{'fps':>5} {'frame ms':>8} {'cpu ms':>7} {'prep ms':>7}"
    print(f"{'':18} | {'ours (uniforms only)':^{len(cols)}} | {'numpy (positions each frame)':^{len(cols)}} |")
    header = f"{'size':>10} {'mesh':>7} | {cols} | {cols} | {'ours/numpy fps':>14}"
    print(header)
    print("-" * len(header))
    for size in sizes:
        for mesh in meshes:
            o, n = results[size, mesh, "ours"], results[size, mesh, "numpy"]
            cell = lambda r: f"{1 / r['frame']:5.1f} {1e3 * r['frame']:8.1f} {1e3 * r['cpu']:7.1f} {1e3 * r['prep']:7.2f}"  # noqa: E731
            print(f"{size[0]:>5}x{size[1]:<4} {mesh:>4}^2 | {cell(o)} | {cell(n)} | {n['frame'] / o['frame']:13.2f}x")
    print("\nframe time relative to the 64^2 mesh at the same size (how it grows with mesh size):")
    for size in sizes:
        for name in ("ours", "numpy"):
            base = results[size, meshes[0], name]
            growth = "  ".join(f"{m}^2 {results[size, m, name]['frame'] / base['frame']:5.2f}x" for m in meshes)
            cpu = "  ".join(f"{m}^2 {results[size, m, name]['cpu'] / base['cpu']:5.2f}x" for m in meshes)
            print(f"  {size[0]:>4}x{size[1]:<4} {name:>5}: frame {growth}   | cpu {cpu}")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
