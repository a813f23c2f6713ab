"""The window's motion frames drawn on a worker, measured against the window as it is (issue 13, goal 2).

Run on demand (not a test): ``python benchmarks/window_worker.py [--run RUN.npz] [--rounds N] [--seconds S]``.
Needs Xvfb and the ``gui`` extra. About 25 s a round.

Today the window draws every frame on Qt's GUI thread, in its QOpenGLWidget: a motion frame at
half resolution, stretched, then composed by Qt (``benchmarks/window.py``). On a CPU rasterizer
each stage waits for the one before it, and even a frame that draws nothing costs the window
about 25 ms (Qt's composition, ``set_step``, VisPy's paint). This benchmark measures the design
that would overlap them, before the window is rebuilt around it: the same motion frame (1280x720
picture drawn at half resolution, the window's text scale and motion mesh, the default run
playing at the window's 10 epochs/s) drawn on deform3d's GL thread (offscreen EGL, as the notebook
Viewer and ``record`` draw), while the GUI thread only paints the finished frames, stretched by
QPainter, into a plain widget of a window that also holds a QOpenGLWidget as the real one would.

It alternates the two in separate processes on one Xvfb display and prints frames per second, CPU
time a frame (all threads of the process) and the ratio of the medians. The prototype is not the
window: no input, overlays or controls of its own; it is the ceiling of the design on this machine.
Wired into the real window, the design measured well below it: the window's own costs a frame (Qt
composing its OpenGL canvas, the full scene kept current) stay (docs/design.md, GL facts).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SIZE = (1280, 720)
EPOCHS_PER_S = 10.0  # the window's default playing speed
TARGET = 30.0  # frames per second (issue 13, goal 2)


def child(run_path: Path, seconds: float, warmup: float) -> None:
    """The prototype: play the run for ``seconds``, print {"fps", "cpu_ms"} as JSON."""
    from PySide6 import QtCore, QtGui, QtWidgets
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

    from deform3d.core.config import RenderConfig, motion_mesh
    from deform3d.core.trajectory import Trajectory
    from deform3d.graphics.motion import MOTION_DIVISOR
    from deform3d.graphics.offscreen import egl_app, gl_call
    from deform3d.graphics.scene import Scene
    from deform3d.ui.window import WINDOW_TEXT

    run = Trajectory.load(run_path)
    config = RenderConfig(size=SIZE)

    def build():
        scene = Scene(run, config, scale=1 / MOTION_DIVISOR, app=egl_app(), size=SIZE, text_scale=WINDOW_TEXT)
        scene.set_detail(False, coarse=motion_mesh(config.resolved("interactive").mesh))
        scene.render_frame()  # compiles the shaders before the clock starts
        return scene

    scene = gl_call(build)

    class Picture(QtWidgets.QWidget):
        arrived = QtCore.Signal(object)

        def __init__(self):
            super().__init__()
            self.setFixedSize(*SIZE)
            self.image, self.painted = None, 0
            self.arrived.connect(self._show)

        def _show(self, frame):
            h, w, _ = frame.shape
            self.image = QtGui.QImage(frame.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()
            self.update()

        def paintEvent(self, event):
            if self.image is None:
                return
            p = QtGui.QPainter(self)
            p.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(self.rect(), self.image)
            p.end()
            self.painted += 1

    app = QtWidgets.QApplication([])
    window = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(window)
    picture = Picture()
    layout.addWidget(picture)
    layout.addWidget(QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal))  # a control bar to compose
    gl_widget = QOpenGLWidget()  # the real window keeps its GL canvas: Qt then composes it with OpenGL
    gl_widget.setFixedSize(64, 64)
    layout.addWidget(gl_widget)
    window.show()

    stop = threading.Event()

    def worker():  # one frame in flight: the GL thread draws the next while the GUI paints this one
        t0 = time.perf_counter()
        while not stop.is_set():
            t = ((time.perf_counter() - t0) * EPOCHS_PER_S * run.steps_per_epoch) % run.num_steps
            frame = gl_call(lambda t=t: (scene.set_view(t), scene.render_frame())[1])
            if not stop.is_set():
                picture.arrived.emit(frame)

    threading.Thread(target=worker, daemon=True).start()
    result = {}

    def start():
        n0, c0, t0 = picture.painted, time.process_time(), time.perf_counter()

        def end():
            n = picture.painted - n0
            result.update(fps=n / (time.perf_counter() - t0), cpu_ms=1000 * (time.process_time() - c0) / max(n, 1))
            stop.set()
            app.quit()

        QtCore.QTimer.singleShot(int(1000 * seconds), end)

    QtCore.QTimer.singleShot(int(1000 * warmup), start)
    app.exec()
    print(json.dumps(result), flush=True)
    os._exit(0)  # the GL thread may be mid-frame: leave without waiting for it


def measure_worker(run: Path, seconds: float, warmup: float, display: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(run), "--seconds", str(seconds), "--warmup", str(warmup)],
        env=dict(os.environ, DISPLAY=display),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"the prototype failed: {out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trajectory (default: train the default run now)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (default: 3)")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured playback per process (default: 6)")
    parser.add_argument("--warmup", type=float, default=2.0, help="playback before measuring (default: 2)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child, args.seconds, args.warmup)

    import window  # benchmarks/window.py: Xvfb and today's window, measured

    tmp = Path(tempfile.mkdtemp(prefix="deform3d-bench-run-"))
    run = args.run
    if run is None:
        from deform3d.core.config import TrainConfig
        from deform3d.core.trainer import train

        run = train(TrainConfig(), progress=False).save(tmp / "run.npz")
    xvfb, display = window.start_xvfb()
    rows = []
    try:
        print(
            f"motion frames at {SIZE[0]}x{SIZE[1]} while playing, Xvfb {display}, Mesa llvmpipe, {os.cpu_count()} CPUs; "
            f"target {TARGET:g} fps"
        )
        print(f"{'round':>5} {'design':<44} {'fps':>6} {'cpu/frame':>10}")
        for r in range(1, args.rounds + 1):
            a = window.measure(run, 256, False, f"{SIZE[0]}x{SIZE[1]}", args.seconds, args.warmup, display, xvfb.pid)
            b = measure_worker(run, args.seconds, args.warmup, display)
            rows.append((a["fps"], b["fps"]))
            print(f"{r:>5} {'window today (GUI thread, QOpenGLWidget)':<44} {a['fps']:>6.1f} {a['cpu_ms']:>8.0f}ms")
            print(
                f"{r:>5} {'drawn on the GL thread, painted by the GUI':<44} {b['fps']:>6.1f} {b['cpu_ms']:>8.0f}ms",
                flush=True,
            )
    finally:
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    today, worker = (statistics.median(x) for x in zip(*rows))
    print(
        f"medians: window today {today:.1f} fps, on the GL thread {worker:.1f} fps: {worker / today:.2f}x "
        f"({'meets' if worker >= TARGET else 'below'} the {TARGET:g} fps goal)"
    )


if __name__ == "__main__":
    main()
