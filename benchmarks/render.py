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
    from deform3d.graphics.offscreen import gl_call

    view = gl_call(kind, run, size, mesh)
    try:
        plan = moments(run, frames + 2)
        prep, total, cpu = [], [], []
        for step, azimuth in plan:
            c0, t0 = time.process_time(), time.perf_counter()
            gl_call(view.prepare, step, azimuth)
            t1 = time.perf_counter()
            image = gl_call(view.draw)
            t2, c2 = time.perf_counter(), time.process_time()
            assert image.shape == (size[1], size[0], 3)
            prep.append(t1 - t0)
            total.append(t2 - t0)
            cpu.append(c2 - c0)
        # The first two frames compile shaders and upload the mesh: not timed.
        return {name: statistics.median(v[2:]) for name, v in (("prep", prep), ("frame", total), ("cpu", cpu))}
    finally:
        view.close()


# ------------------------------------------------------------------ the record ceiling (issue 13)

FLOOR_FRAG = """
// One full-screen pass of a cost like a sheet fragment's: two exp() per pixel and a few dozen
// arithmetic operations (a tanh layer of the network and a confidence), written out as colour.
varying vec2 v_x;
void main() {
    vec4 z = vec4(1.3, -0.7, 0.4, 0.9) * v_x.x + vec4(-0.2, 1.1, 0.8, -1.4) * v_x.y + vec4(0.1, -0.3, 0.2, 0.05);
    vec4 e = exp(-2.0 * abs(z));
    vec4 h = sign(z) * (1.0 - e) / (1.0 + e);
    float s = dot(h, vec4(0.9, -1.2, 0.7, 0.3));
    float c = exp(-abs(s));
    gl_FragColor = vec4(0.5 + 0.5 * h.xyz * (1.0 - c) / (1.0 + c), 1.0);
}
"""
FLOOR_VERT = """
attribute vec2 a_p;
varying vec2 v_x;
void main() { v_x = 2.0 * a_p; gl_Position = vec4(a_p, 0.0, 1.0); }
"""


def cpu_now() -> float:
    """CPU seconds of this process (all threads: llvmpipe rasterizes on threads of its own) and of
    its finished children (ffmpeg): less disturbed by other jobs than wall-clock time."""
    import resource

    return time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + \
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime


def floor_fps(size, frames: int) -> tuple[float, float]:
    """F: frames/s of one full-screen pass of the floor shader, drawn into an FBO and read back as
    (h, w, 3) uint8, top row first (what a Scene's render returns), glFinish-timed by the readback.
    Returns (frames/s, CPU seconds a frame)."""
    from vispy import app as vapp
    from vispy import gloo

    from deform3d.graphics.offscreen import gl_call

    def run():
        canvas = vapp.Canvas(size=size, show=False, app=egl_app())
        try:
            canvas.set_current()
            prog = gloo.Program(FLOOR_VERT, FLOOR_FRAG)
            prog["a_p"] = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32)
            w, h = size
            fbo = gloo.FrameBuffer(color=gloo.RenderBuffer((h, w, 4)), depth=gloo.RenderBuffer((h, w), "depth"))
            times, cpus = [], []
            for _ in range(frames + 2):
                c0, t0 = cpu_now(), time.perf_counter()
                with fbo:
                    gloo.set_viewport(0, 0, w, h)
                    gloo.clear(color=(1, 1, 1, 1), depth=True)
                    prog.draw("triangle_strip")
                    image = fbo.read(alpha=False)
                assert image.shape == (h, w, 3)
                times.append(time.perf_counter() - t0)
                cpus.append(cpu_now() - c0)
            return statistics.median(times[2:]), statistics.median(cpus[2:])
        finally:
            canvas.close()

    wall, cpu = gl_call(run)
    return 1.0 / wall, cpu


def sample_frames(run, size, n: int) -> list:
    """n frames of ``deform3d record``'s own pipeline (default panels, video mesh) at ``size``."""
    from deform3d.core.config import RecordConfig, RenderConfig
    from deform3d.media.timeline import Timeline, camera_from_config
    from deform3d.video.pipeline import frames

    rec = RecordConfig(size=size, fps=30, frames=n)
    view = RenderConfig(size=size)
    timeline = Timeline.for_runs(run, rec, camera_from_config(rec, view))
    return [f.image for f in frames(run, timeline, view)]


def encode_fps(images, size, folder: Path) -> tuple[float, float]:
    """E: frames/s of libx264 with the recorder's preset on these frames (Recorder, pipe included),
    and CPU seconds a frame (ffmpeg's included)."""
    from deform3d.media.recorder import Recorder

    c0, t0 = cpu_now(), time.perf_counter()
    with Recorder(folder / "encode.mp4", size, 30, total=len(images), progress=False) as video:
        for image in images:
            video.write(image)
    return len(images) / (time.perf_counter() - t0), (cpu_now() - c0) / len(images)


def record_seconds(path: Path, size, frames: int, folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds (ffmpeg's included) of ``deform3d.record`` from a saved run: default
    panels, ``frames`` frames."""
    from deform3d import api

    c0, t0 = cpu_now(), time.perf_counter()
    api.record(path, folder / f"record-{frames}.mp4", size=size, fps=30, frames=frames, progress=False)
    return time.perf_counter() - t0, cpu_now() - c0


def ceiling_table(run_path: Path, size, repeat: int, n: int) -> dict:
    """F, E, the ceiling 1 / (1/F + 1/E), and record's marginal frame rate, interleaved per repeat.

    record's marginal rate: (2n - n) frames over the difference of two whole record calls of 2n and
    n frames, so start-up (scene, shaders, ffmpeg) and the encoder's final flush cancel out."""
    import tempfile

    run = Trajectory.load(run_path)
    out = {key: [] for key in ("F", "E", "record", "F cpu", "E cpu", "record cpu")}
    with tempfile.TemporaryDirectory(prefix="deform3d-bench-") as tmp:
        folder = Path(tmp)
        images = sample_frames(run, size, n)
        for _ in range(repeat):
            fps, cpu = floor_fps(size, 12)
            out["F"].append(fps)
            out["F cpu"].append(cpu)
            fps, cpu = encode_fps(images, size, folder)
            out["E"].append(fps)
            out["E cpu"].append(cpu)
            short, short_cpu = record_seconds(run_path, size, n, folder)
            long, long_cpu = record_seconds(run_path, size, 2 * n, folder)
            out["record"].append(n / max(long - short, 1e-9))
            out["record cpu"].append((long_cpu - short_cpu) / n)
    return out


def print_ceiling(c: dict, size, n: int) -> None:
    med = statistics.median
    F, E, rec = med(c["F"]), med(c["E"]), med(c["record"])
    ceiling = 1 / (1 / F + 1 / E)
    runs = lambda v: ", ".join(f"{x:.1f}" for x in v)  # noqa: E731
    print(f"\nrecord ceiling at {size[0]}x{size[1]} (goal 1 of issue 13: record >= 50% of the ceiling), "
          f"medians of {len(c['F'])}:")
    print(f"  {'F  one-pass floor (full-screen quad, 2 exp/pixel, readback)':62s} {F:7.1f} fps   ({runs(c['F'])})")
    print(f"  {'E  libx264 ' + 'with the recorder preset on our frames':51s} {E:7.1f} fps   ({runs(c['E'])})")
    print(f"  {'ceiling = 1 / (1/F + 1/E)':62s} {ceiling:7.1f} fps")
    print(f"  {f'record from a saved run, default panels (marginal: {2 * n} - {n} frames)':62s} {rec:7.1f} fps   "
          f"({runs(c['record'])})")
    print(f"  {'record / ceiling':62s} {100 * rec / ceiling:7.0f} %")
    # The same in CPU time a frame (this process's threads and ffmpeg's), which the machine's other
    # jobs disturb less: the share of a frame's CPU that the floor and the encoder alone would need.
    fc, ec, rc = (1e3 * med(c[k]) for k in ("F cpu", "E cpu", "record cpu"))
    print(f"  CPU ms a frame: F {fc:.1f}, E {ec:.1f}, F + E {fc + ec:.1f}, record {rc:.1f}; "
          f"(F + E) / record = {100 * (fc + ec) / rc:.0f} %")


def motion_fps(run_path: Path, size, frames: int) -> dict:
    """Frames/s of an interactive view at ``size`` (the window's and the Viewer's default panels,
    mesh 256) drawn full and as graphics.motion's twin, for moving states (every frame a new step
    and a turned camera), each drawn and read back as the notebook Viewer does."""
    from deform3d.core.config import RenderConfig
    from deform3d.graphics.offscreen import gl_call
    from deform3d.graphics.scene import Scene

    try:
        from deform3d.graphics import motion
    except ImportError:  # a tree from before graphics.motion: the notebook Viewer's own twin then
        motion = None

    run = Trajectory.load(run_path)
    config = RenderConfig(size=size)

    def twin_of(full):
        if motion is not None:
            return motion.motion_scene(run, config, 1, app=egl_app(), geometry=full.geo)
        twin = Scene(run, config, scale=0.5, app=egl_app(), size=size, geometry=full.geo)
        twin.set_detail(False)
        return twin

    def draw(scene, step, azimuth):
        if motion is not None:
            return motion.draw(scene, step, azimuth, None, None)
        scene.set_step(step)
        scene.set_camera(azimuth, None, None)
        return scene.canvas.render(alpha=False)

    def go():
        full = Scene(run, config, scale=1, app=egl_app())
        twin = twin_of(full)
        out = {"full": [], "motion": [], "full cpu": [], "motion cpu": []}
        try:
            for i, (step, azimuth) in enumerate(moments(run, frames + 2)):
                for name, scene in (("full", full), ("motion", twin)):
                    c0, t0 = cpu_now(), time.perf_counter()
                    draw(scene, step, azimuth)
                    if i >= 2:
                        out[name].append(time.perf_counter() - t0)
                        out[name + " cpu"].append(cpu_now() - c0)
        finally:
            full.canvas.close()
            twin.canvas.close()
        return out

    return gl_call(go)


def print_motion(m: dict, F: float, size) -> None:
    med = statistics.median
    print(f"\ninteractive frames at {size[0]}x{size[1]} (goal 2 of issue 13: >= 30 fps, or >= 25% of F where "
          f"F < 120), moving states, medians of {len(m['full'])}:")
    for name in ("full", "motion"):
        fps = 1 / med(m[name])
        print(f"  {name:8s} {fps:6.1f} fps  {1e3 * med(m[name]):6.1f} ms  cpu {1e3 * med(m[name + ' cpu']):6.1f} ms"
              f"   {100 * fps / F:5.1f}% of F")


# ------------------------------------------------------------------ against another source tree (issue 9)

CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
try:
    from deform3d.graphics.offscreen import Renderer, gl_call
    from deform3d.core.config import RenderConfig
    from deform3d.core.trajectory import Trajectory
except ImportError:  # a tree from before the layers (b874f37): modules at the top level, no GL thread
    from deform3d.offscreen import Renderer
    from deform3d.config import RenderConfig
    from deform3d.trajectory import Trajectory
    gl_call = lambda fn, *a: fn(*a)
import deform3d
assert deform3d.__file__.startswith(sys.argv[1]), deform3d.__file__
run = Trajectory.load(sys.argv[2])
frames = int(sys.argv[3])
out = {}
for mesh in (64, 256):
    r = Renderer(run, RenderConfig(size=(1280, 720), ssaa=1, mesh=mesh, panels=("lift", "plane")))
    def one(step, azimuth):
        r.scene.set_step(step)
        r.scene.set_camera(azimuth=azimuth)
        return r.scene.canvas.render(alpha=False)
    times = []
    for i, step in enumerate([0.37 * run.num_steps + (run.num_steps * 0.63) * j / (frames + 1) for j in range(frames + 2)]):
        t0 = time.perf_counter()
        gl_call(one, step, -50.0 + 3.0 * i)
        times.append(time.perf_counter() - t0)
    out[mesh] = statistics.median(times[2:])
    gl_call(r.scene.canvas.close)
print(json.dumps(out))
"""


def against(tree: Path, rounds: int, frames: int) -> dict:
    """Median frame seconds of ``ours`` (1280x720, meshes 64^2 and 256^2) for this tree and another,
    each in its own process, the two alternated ``rounds`` times so load hits both alike."""
    import json
    import subprocess

    run_path = ROOT / "tests" / "reference" / "run-k3.npz"
    times = {"this": {64: [], 256: []}, "other": {64: [], 256: []}}
    for _ in range(rounds):
        for name, src in (("this", ROOT), ("other", tree)):
            p = subprocess.run([sys.executable, "-c", CHILD, str(src), str(run_path), str(frames)],
                               capture_output=True, text=True, cwd=src, env=dict(os.environ, PYTHONPATH=str(src)))
            if p.returncode != 0:
                raise SystemExit(f"the benchmark child for {src} failed:\n{p.stderr[-2000:]}")
            for mesh, t in json.loads(p.stdout.strip().splitlines()[-1]).items():
                times[name][int(mesh)].append(t)
    return times


def print_against(times: dict, tree: Path) -> None:
    med = statistics.median
    print(f"\nissue 9, acceptance 6: this tree against {tree} ({_describe(tree)}), ours at 1280x720, "
          f"lift + plane, medians of {len(times['this'][64])} alternated processes:")
    print(f"  {'mesh':>6} {'other ms':>9} {'this ms':>8} {'this/other':>10}  (goal: <= 1.10)")
    for mesh in (64, 256):
        a, b = med(times["other"][mesh]), med(times["this"][mesh])
        print(f"  {mesh:>4}^2 {1e3 * a:9.1f} {1e3 * b:8.1f} {b / a:10.2f}")


def _describe(tree: Path) -> str:
    import subprocess

    p = subprocess.run(["git", "-C", str(tree), "log", "--oneline", "-1"], capture_output=True, text=True)
    return p.stdout.strip()[:60] or "not a git tree"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5, help="timed frames per cell, after 2 warm-up frames (default 5)")
    parser.add_argument("--quick", action="store_true", help="only 1280x720 and meshes 64^2, 256^2")
    parser.add_argument("--no-table", action="store_true", help="skip the ours/numpy table")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the record ceiling (F, E, record)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of the ceiling's measures (default 3)")
    parser.add_argument("--record-frames", type=int, default=24,
                        help="record's marginal rate from runs of 2N and N frames (default N = 24)")
    parser.add_argument("--against", type=Path, metavar="TREE",
                        help="also time ours (1280x720, 64^2 and 256^2) in this tree and in TREE, another "
                             "checkout (e.g. git worktree add /tmp/old b874f37), in alternated processes")
    parser.add_argument("--rounds", type=int, default=3, help="alternated processes per tree for --against")
    args = parser.parse_args(argv)
    sizes, meshes = (SIZES[:1], MESHES[:2]) if args.quick else (SIZES, MESHES)

    import vispy.gloo.gl as gl

    from deform3d.graphics.offscreen import gl_call

    egl_app()
    run = benchmark_run()
    load = os.getloadavg()
    start = time.perf_counter()
    results = {}
    if args.no_table:
        sizes = []
    for size in sizes:
        for mesh in meshes:
            for kind in (Ours, Numpy):
                results[size, mesh, kind.name] = measure(kind, run, size, mesh, args.frames)

    def gl_name():
        from vispy import app as vapp

        c = vapp.Canvas(size=(16, 16), show=False, app=egl_app())
        c.set_current()
        try:
            return gl.glGetParameter(gl.GL_RENDERER)
        finally:
            c.close()

    renderer = gl_call(gl_name)
    print(f"GL: {renderer}; {os.cpu_count()} CPUs; load average {load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at the end of the table")
    if sizes:
        print(f"deform3d render benchmark: k = {run.hidden}, {len(run.X)} points, lift + plane panels, ssaa 1, "
              f"median of {args.frames} frames\n")
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
    if not args.no_ceiling:
        import tempfile

        from deform3d.core.trainer import train

        with tempfile.TemporaryDirectory(prefix="deform3d-bench-run-") as tmp:
            # The default run (k = 3 circles, 100 epochs), saved: record reads it as a user's would.
            path = train(TrainConfig(), progress=False).save(Path(tmp) / "run.npz")
            size = SIZES[0]
            c = ceiling_table(path, size, args.repeat, args.record_frames)
            m = motion_fps(path, size, args.frames * 2)
        print_ceiling(c, size, args.record_frames)
        print_motion(m, statistics.median(c["F"]), size)
    if args.against is not None:
        print_against(against(args.against.resolve(), args.rounds, args.frames), args.against)
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
