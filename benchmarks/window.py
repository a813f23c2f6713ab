"""Frames per second of the interactive window (``deform3d show``) under Xvfb, playing a run.

Run on demand (not a test): ``python benchmarks/window.py [--seconds S] [--mesh N ...] [--size WxH]``.
Needs Xvfb and the ``gui`` extra. About 15 s per mesh size.

For each sheet mesh (default: 256, the default scene) it starts Xvfb on a free display, opens
``deform3d show RUN.npz --play`` on the default run (k = 3 circles, 100 epochs, trained first) with
a 1280x720 picture, waits for the first frames, and then counts the frames the window drew during
``--seconds`` of playback, from the window's own debug state (``DEFORM3D_DEBUG_STATE``, see
``deform3d.ui.app``). The window redraws as fast as it can while playing (each frame shows the step
that wall-clock time has reached), so frames drawn / seconds is its frame rate.

Also printed, per frame: CPU time of the window's process (all threads: llvmpipe rasterizes on CPU
threads) and of the X server (which receives every frame as an image), and the load average, since
on a shared machine other jobs take cores from both. "cpu/frame" is less disturbed by other load
than frames per second; with two free cores, fps can approach 2 / (cpu/frame in seconds).

``--interact`` measures what a hand does instead (issue 13, goal 2), on a paused window: frames per
second while the lift is dragged and while the slider is scrubbed (xdotool moves the pointer every
10 ms for ``--seconds``), and the time from a mouse move to the screen: the pointer moves 10 px in a
held drag, and the X server's own pixels of the lift panel are read until they change (a move sent
with ``xdotool``, whose own start is counted too). ``--tree DIR`` runs the window of another
checkout (a before/after in one run), ``--canvas`` the VisPy canvas fallback (``DEFORM3D_WINDOW_GL``).
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
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/xscreen.py: the X server's pixels

from xscreen import Screen  # noqa: E402

from deform3d.core.config import motion_mesh  # noqa: E402

TARGET = 30.0  # frames per second (issue 5, acceptance 3)
TICK = os.sysconf("SC_CLK_TCK")


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise SystemExit("no free X display number in 90..199")


def start_xvfb() -> tuple[subprocess.Popen, str]:
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
    n = free_display()
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            return proc, f":{n}"
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("Xvfb did not start")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def read_state(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def open_window(run: Path, args: list[str], display: str, tree: Path, canvas: bool):
    """``deform3d show RUN ARGS`` of checkout ``tree`` on ``display``, in debug mode: (process,
    state file, environment). ``canvas``: the VisPy canvas fallback."""
    state_path = Path(tempfile.mkdtemp(prefix="deform3d-bench-")) / "state.json"
    env = dict(os.environ, DISPLAY=display, DEFORM3D_DEBUG_STATE=str(state_path))
    if canvas:
        env["DEFORM3D_WINDOW_GL"] = "canvas"
    cmd = [sys.executable, "-m", "deform3d", "show", str(run), *args, "--save-dir", str(state_path.parent)]
    app = subprocess.Popen(cmd, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return app, state_path, env


def close_window(app: subprocess.Popen, state_path: Path) -> None:
    app.terminate()
    try:
        app.wait(10)
    except subprocess.TimeoutExpired:
        app.kill()
    shutil.rmtree(state_path.parent, ignore_errors=True)


def measure(run: Path, mesh: int, full: bool, size: str, seconds: float, warmup: float, display: str,
            xvfb_pid: int, tree: Path = ROOT, canvas: bool = False) -> dict:
    args = ["--play", "--size", size, "--mesh", str(mesh)] + (["--full-detail"] if full else [])
    app, state_path, _ = open_window(run, args, display, tree, canvas)
    try:
        deadline = time.monotonic() + 60
        while True:
            s = read_state(state_path)
            if s and s["playing"] and s["frames"] >= 3:
                break
            if app.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the window did not start playing: {app.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        time.sleep(warmup)
        a, ca, xa = read_state(state_path), cpu_seconds(app.pid), cpu_seconds(xvfb_pid)
        time.sleep(seconds)
        b, cb, xb = read_state(state_path), cpu_seconds(app.pid), cpu_seconds(xvfb_pid)
        if not b["playing"]:
            raise SystemExit("playback ended during the measurement: lower --seconds")
        frames = b["frames"] - a["frames"]
        dt = b["time"] - a["time"]
        assert b["full_detail"] == full, "the window drew another level of detail than asked"
        return {"mesh": mesh, "detail": "full" if full else "motion", "fps": frames / dt, "frames": frames, "seconds": dt,
                "cpu_ms": 1000 * (cb - ca) / max(frames, 1), "x_ms": 1000 * (xb - xa) / max(frames, 1),
                "canvas": b["canvas_pixels"], "load": os.getloadavg()[0]}
    finally:
        close_window(app, state_path)


def interact(run: Path, size: str, seconds: float, display: str, tree: Path, canvas: bool) -> dict:
    """Drag and scrub a paused window (see the module docstring): fps while dragging the lift and
    while scrubbing, and the median time from a move in a held drag to the screen."""
    app, state_path, env = open_window(run, ["--size", size], display, tree, canvas)

    def xdo(*args):
        subprocess.run(["xdotool", *args], env=env, check=True)

    def settle(quiet: float = 0.6) -> dict:
        last, since = None, time.monotonic()
        while True:
            s = read_state(state_path)
            if s and (last is None or s["frames"] != last["frames"]):
                last, since = s, time.monotonic()
            elif s and time.monotonic() - since > quiet:
                return s
            if app.poll() is not None:
                raise SystemExit(f"the window exited: {app.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)

    def moves(x0: int, y0: int, dx: int, n: int) -> list[str]:
        """xdotool arguments: from (x0, y0), n moves of dx px, 10 ms apart, there and back."""
        args = []
        for i in range(n):
            k = i % 40
            x = x0 + dx * (k if k < 20 else 40 - k)
            args += ["mousemove", str(x), str(y0), "sleep", "0.01"]
        return args

    try:
        deadline = time.monotonic() + 60
        while not ((s := read_state(state_path)) and s["frames"] >= 1):
            if app.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the window did not start: {app.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        s = settle()
        lx, ly, lw, lh = s["panels"]["lift"]
        cx, cy = lx + lw // 2, ly + lh // 2
        n = int(seconds / 0.012)
        result = {}
        # Dragging the lift: orbits it.
        xdo("mousemove", str(cx), str(cy), "mousedown", "1")
        a, t0 = read_state(state_path), time.monotonic()
        xdo(*moves(cx, cy, 6, n))
        b, t1 = read_state(state_path), time.monotonic()
        xdo("mouseup", "1")
        result["drag_fps"] = (b["frames"] - a["frames"]) / (t1 - t0)
        settle()
        # Scrubbing: the slider's handle dragged along its track.
        x0, x1, y = settle()["slider_track"]
        xdo("mousemove", str(x1), str(y), "mousedown", "1")
        a, t0 = read_state(state_path), time.monotonic()
        xdo(*moves(x1, y, -max((x1 - x0) // 20, 1), n))
        b, t1 = read_state(state_path), time.monotonic()
        xdo("mouseup", "1")
        result["scrub_fps"] = (b["frames"] - a["frames"]) / (t1 - t0)
        settle()
        # Input to screen: single moves in a held drag, each after the picture came to rest.
        screen, rect = Screen(display), (lx, ly, lw, lh)
        latencies = []
        xdo("mousemove", str(cx), str(cy), "mousedown", "1")
        settle()
        for i in range(1, 13):
            before = screen.pixels(rect)
            t0 = time.monotonic()
            xdo("mousemove", str(cx + 10 * i), str(cy))
            while np.array_equal(screen.pixels(rect), before):
                if time.monotonic() - t0 > 3:
                    raise SystemExit("a move never reached the screen")
            latencies.append(time.monotonic() - t0)
            settle(0.3)
        screen.close()
        xdo("mouseup", "1")
        result["latency_ms"] = 1000 * statistics.median(latencies)
        result["latency_max_ms"] = 1000 * max(latencies)
        return result
    finally:
        close_window(app, state_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trajectory (default: train the default run now)")
    parser.add_argument("--mesh", type=int, nargs="+", default=[256], help="sheet vertices per side (default: 256)")
    parser.add_argument("--size", default="1280x720", help="the picture's size in the window (default: 1280x720)")
    parser.add_argument("--detail", choices=("both", "full", "motion"), default="both",
                        help="full: --full-detail (the whole mesh in every frame); motion: the window's default "
                             "(the video's mesh, at most half the scene's per side, while playing); both (default)")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured playback per mesh (default: 6)")
    parser.add_argument("--warmup", type=float, default=1.5, help="playback before measuring (default: 1.5)")
    parser.add_argument("--interact", action="store_true",
                        help="drag, scrub and input-to-screen time on a paused window instead of playback")
    parser.add_argument("--tree", type=Path, action="append",
                        help="run the window of this checkout (repeatable: alternated; default: this one)")
    parser.add_argument("--canvas", action="store_true", help="the VisPy canvas fallback (DEFORM3D_WINDOW_GL=canvas)")
    parser.add_argument("--rounds", type=int, default=1, help="alternated rounds over the trees (default: 1)")
    args = parser.parse_args()
    trees = args.tree or [ROOT]

    tmp = Path(tempfile.mkdtemp(prefix="deform3d-bench-run-"))
    run = args.run
    if run is None:
        from deform3d.core.config import TrainConfig
        from deform3d.core.trainer import train

        run = train(TrainConfig(), progress=False).save(tmp / "run.npz")
    xvfb, display = start_xvfb()
    try:
        print(f"deform3d show, {args.size} picture, playing at 10 epochs/s, Xvfb {display}, Mesa llvmpipe, "
              f"{os.cpu_count()} CPUs; target {TARGET:g} fps")
        print(f"{'mesh':>6} {'drawn in motion':>16} {'fps':>6} {'frames':>7} {'cpu/frame':>10} {'X/frame':>8} "
              f"{'load':>5}")
        if args.interact:
            print(f"\n{'round':>5} {'tree':<28} {'drag fps':>9} {'scrub fps':>10} {'move->screen':>13} {'max':>7}")
        rows: dict = {}
        for r_ in range(1, args.rounds + 1):
            for tree in trees:
                if args.interact:
                    r = interact(run, args.size, args.seconds, display, tree, args.canvas)
                    rows.setdefault(tree, []).append(r)
                    print(f"{r_:>5} {str(tree)[-28:]:<28} {r['drag_fps']:>9.1f} {r['scrub_fps']:>10.1f} "
                          f"{r['latency_ms']:>11.0f}ms {r['latency_max_ms']:>5.0f}ms", flush=True)
                    continue
                for mesh in args.mesh:
                    for full in (True, False) if args.detail == "both" else (args.detail == "full",):
                        r = measure(run, mesh, full, args.size, args.seconds, args.warmup, display, xvfb.pid,
                                    tree, args.canvas)
                        drawn = f"{mesh}^2" if full else f"{motion_mesh(mesh)}^2"
                        label = "" if tree == ROOT else f"  {tree}"
                        print(f"{r['mesh']:>6} {drawn:>16} {r['fps']:>6.1f} {r['frames']:>7d} {r['cpu_ms']:>8.0f}ms "
                              f"{r['x_ms']:>6.1f}ms {r['load']:>5.1f}{label}", flush=True)
        if args.interact and args.rounds > 1:
            for tree, rs in rows.items():
                med = {k: statistics.median(r[k] for r in rs) for k in ("drag_fps", "scrub_fps", "latency_ms")}
                print(f"median {str(tree)[-28:]:<28} {med['drag_fps']:>9.1f} {med['scrub_fps']:>10.1f} "
                      f"{med['latency_ms']:>11.0f}ms")
    finally:
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
