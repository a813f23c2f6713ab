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
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def measure(run: Path, mesh: int, full: bool, size: str, seconds: float, warmup: float, display: str,
            xvfb_pid: int) -> dict:
    state_path = Path(tempfile.mkdtemp(prefix="deform3d-bench-")) / "state.json"
    env = dict(os.environ, DISPLAY=display, DEFORM3D_DEBUG_STATE=str(state_path))
    cmd = [sys.executable, "-m", "deform3d", "show", str(run), "--play", "--size", size, "--mesh", str(mesh),
           "--save-dir", str(state_path.parent)] + (["--full-detail"] if full else [])
    app = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        shutil.rmtree(state_path.parent, ignore_errors=True)


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
    args = parser.parse_args()

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
        for mesh in args.mesh:
            for full in (True, False) if args.detail == "both" else (args.detail == "full",):
                r = measure(run, mesh, full, args.size, args.seconds, args.warmup, display, xvfb.pid)
                drawn = f"{mesh}^2" if full else f"{motion_mesh(mesh)}^2"
                print(f"{r['mesh']:>6} {drawn:>16} {r['fps']:>6.1f} {r['frames']:>7d} {r['cpu_ms']:>8.0f}ms "
                      f"{r['x_ms']:>6.1f}ms {r['load']:>5.1f}", flush=True)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
