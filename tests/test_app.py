"""The interactive window (``deform3d show``), driven for real: Xvfb, xdotool, the window's state.

Each window runs ``python -m deform3d show`` in a subprocess on a private Xvfb display; xdotool
moves the real X pointer and presses real keys. What the window did is read back from its debug
hook (``DEFORM3D_DEBUG_STATE``: JSON written after every frame and change, see ``deform3d.ui.app``),
from the files it writes, and from the X server's own pixels (``XGetImage`` through ctypes, so no
screenshot tool is needed). Only a missing Xvfb or xdotool skips these tests, with the reason; CI
installs both (.ci/run). The checks of the environment (no Qt, no display) and of the pieces the
window stands on (live training, Scene's toggles and level of detail) need no display.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deform3d.core.config import RenderConfig, TrainConfig
from pngs import read_png
from xscreen import screen_pixels

ROOT = Path(__file__).resolve().parents[1]
PICTURE = (640, 360)  # small: every frame is rendered on the CPU
RUN = ROOT / "tests" / "reference" / "run-k3.npz"  # k = 3, circles, 30 epochs of 13 steps


# ---------------------------------------------------------------- X server and window helpers


def xvfb_display(screen: str = "1600x1000x24"):
    """A private Xvfb display (":N") of ``screen`` (W x H x depth), for a module fixture to yield
    from; skips only where Qt for Python, Xvfb or xdotool is not installed."""
    if importlib.util.find_spec("PySide6") is None:
        pytest.skip("window tests need Qt for Python: pip install 'deform3d[gui]'")
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"window tests need {' and '.join(missing)} (Debian/Ubuntu: apt-get install xvfb xdotool)")
    # -displayfd: Xvfb picks a free display and writes its number to the pipe once it accepts
    # connections, so the test waits on that event, not on a guess.
    ready, write_end = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", screen, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,))
    os.close(write_end)
    with os.fdopen(ready) as pipe:
        if not select.select([pipe], [], [], 30)[0] or not (n := pipe.readline().strip()):
            xvfb.kill()
            pytest.fail("Xvfb did not start")
    yield f":{n}"
    xvfb.terminate()
    xvfb.wait(10)


@pytest.fixture(scope="module")
def display():
    yield from xvfb_display()


class Window:
    """``deform3d show ...`` in a subprocess on ``display``, with helpers to drive and read it."""

    def __init__(self, display: str, args: list[str], folder: Path):
        self.display, self.folder = display, folder
        self.state_path = folder / "state.json"
        env = dict(os.environ, DISPLAY=display, DEFORM3D_DEBUG_STATE=str(self.state_path))
        env.pop("WAYLAND_DISPLAY", None)
        self.stderr = open(folder / "stderr.txt", "w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "deform3d", "show", *args, "--save-dir", str(folder),
                                      "--size", f"{PICTURE[0]}x{PICTURE[1]}"],
                                     env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.wait(lambda s: s["frames"] >= 1, 60, "the window to draw its first frame")
        # The first frame can come just before the X server has the window viewable: focus may fail once.
        deadline = time.monotonic() + 15
        while subprocess.run(["xdotool", "windowfocus", "--sync", str(self.state()["window"])], timeout=30,
                             env=dict(os.environ, DISPLAY=display), capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                pytest.fail(f"cannot focus the window\n{self.log()}")
            time.sleep(0.1)

    def state(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None

    def wait(self, predicate, timeout: float = 15.0, what: str = "the window"):
        """The first state for which predicate holds, polling; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"deform3d show exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            s = self.state()
            if s is not None and predicate(s):
                return s
            time.sleep(0.05)
        pytest.fail(f"timed out after {timeout:g} s waiting for {what}; last state: {self.state()}\n{self.log()}")

    def log(self) -> str:
        self.stderr.flush()
        return (self.folder / "stderr.txt").read_text()[-3000:]

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=self.display), check=True, timeout=30)

    def windows(self) -> list[str]:
        """The X windows of this process that are mapped now (a menu's popup is one)."""
        out = subprocess.run(["xdotool", "search", "--onlyvisible", "--pid", str(self.proc.pid)], capture_output=True,
                             text=True, env=dict(os.environ, DISPLAY=self.display), timeout=30).stdout
        return out.split()

    def geometry(self, window: str) -> tuple[int, int, int, int]:
        """A window's [x, y, width, height] on the screen."""
        out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window], capture_output=True, text=True,
                             env=dict(os.environ, DISPLAY=self.display), timeout=30, check=True).stdout
        g = dict(line.split("=", 1) for line in out.split())
        return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])

    def until(self, condition, what: str, timeout: float = 15.0) -> None:
        """Wait for ``condition()`` (an X query) to hold; each query is a round trip to the server."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{self.log()}")
            time.sleep(0.02)  # the poll interval

    def key(self, *keys: str) -> None:
        self.xdotool("key", *keys)

    def settle(self, quiet: float = 0.5, timeout: float = 20.0) -> dict:
        """The state once no frame has been drawn for ``quiet`` s (the picture on screen is final)."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            s = self.wait(lambda s: True)
            if last is None or s["frames"] != last["frames"] or s["playing"]:
                last, since = s, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return s
            time.sleep(0.05)
        pytest.fail(f"the window kept drawing for {timeout:g} s")

    def close(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        finally:
            self.stderr.close()


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    """A copy of the stored k = 3 circles run (390 steps; its sheet is big enough to show the grid)."""
    path = tmp_path_factory.mktemp("run") / "circles.npz"
    shutil.copyfile(RUN, path)
    return path


@pytest.fixture(scope="module")
def run(run_file):
    from deform3d.core.trajectory import Trajectory

    return Trajectory.load(run_file)


@pytest.fixture(scope="module")
def window(display, run_file, tmp_path_factory):
    """One window on a saved run, shared by the tests below in order (each sets up its own start)."""
    w = Window(display, [str(run_file)], tmp_path_factory.mktemp("window"))
    yield w
    w.close()


# ---------------------------------------------------------------- the window, driven


def test_opens_on_the_run_with_its_name_in_the_title(window, run):
    s = window.state()
    assert s["title"] == "deform3d \u2014 circles.npz"
    assert s["slider"] == {"min": 0, "max": run.num_steps, "value": run.num_steps}
    assert s["canvas_pixels"] == list(PICTURE) and not s["playing"]


def test_a_drag_in_the_lift_orbits_its_camera(window):
    s = window.settle()
    x, y, w, h = s["panels"]["lift"]
    cx, cy = x + w // 2, y + h // 2
    window.xdotool("mousemove", str(cx), str(cy), "mousedown", "1")
    for dx in range(20, 161, 20):  # --sync: each move has reached the X server before the next
        window.xdotool("mousemove", "--sync", str(cx + dx), str(cy + dx // 8))
    window.xdotool("mouseup", "1")
    window.wait(lambda t: abs(t["azimuth"] - s["azimuth"]) > 20, 15, "the azimuth to turn")
    after = window.settle()  # the rest of the drag, handled
    assert after["step"] == s["step"], "orbiting must not move the training step"
    assert after["rects"] == s["rects"], "the plane's camera is its own"
    # A drag in the plane pans it (and leaves the lift alone).
    x, y, w, h = s["panels"]["plane"]
    window.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "mousedown", "1")
    for dx in range(10, 61, 10):
        window.xdotool("mousemove", "--sync", str(x + w // 2 + dx), str(y + h // 2))
    window.xdotool("mouseup", "1")
    panned = window.wait(lambda t: t["rects"]["plane"][0] < s["rects"]["plane"][0], 15, "the plane to pan")
    assert panned["azimuth"] == after["azimuth"]
    window.key("r")
    window.wait(lambda t: t["azimuth"] == s["azimuth"] and t["elevation"] == s["elevation"]
                and t["rects"] == s["rects"], 15, "r to reset the cameras")


def test_space_plays_and_the_step_advances_then_pauses(window, run):
    window.key("Home")
    window.wait(lambda s: s["step"] == 0 and not s["playing"], what="Home")
    window.key("space")
    playing = window.wait(lambda s: s["playing"] and s["step"] > 0, what="playback to advance")
    window.wait(lambda s: s["step"] > playing["step"], what="the step to keep advancing")
    window.key("space")
    paused = window.wait(lambda s: not s["playing"], what="space to pause")
    rest = window.settle()
    assert rest["step"] == paused["step"], "paused, the step must stay"
    assert rest["full_detail"], "at rest the sheet is drawn with the full mesh"


def test_arrow_keys_step_and_epoch_and_end(window, run):
    window.key("Home")
    window.wait(lambda s: s["step"] == 0, what="Home")
    window.key("Right")
    window.wait(lambda s: s["step"] == 1, what="right: one step")
    window.key("shift+Right")
    window.wait(lambda s: s["step"] == run.steps_per_epoch, what="shift+right: to the next epoch")
    window.key("Left")
    window.wait(lambda s: s["step"] == run.steps_per_epoch - 1, what="left: one step back")
    window.key("End")
    window.wait(lambda s: s["step"] == run.num_steps and s["slider"]["value"] == run.num_steps, what="End")


def test_clicking_the_slider_jumps_to_that_step(window, run):
    s = window.settle()
    x0, x1, y = s["slider_track"]
    for fraction in (0.25, 0.7):
        window.xdotool("mousemove", str(round(x0 + fraction * (x1 - x0))), str(y), "click", "1")
        want = fraction * run.num_steps
        got = window.wait(lambda t: abs(t["slider"]["value"] - want) <= 2, what=f"the slider at {fraction:.0%}")
        assert got["step"] == got["slider"]["value"]


def test_s_saves_a_png_of_exactly_what_the_window_shows(window):
    window.key("Right")
    before = window.settle()
    window.key("s")
    s = window.wait(lambda t: len(t["screenshots"]) > len(before["screenshots"]), what="s to save a PNG")
    path = Path(s["screenshots"][-1])
    assert path.parent == window.folder and path.suffix == ".png" and f"step{round(s['step']):05d}" in path.name
    saved = read_png(path)
    assert saved.shape == (PICTURE[1], PICTURE[0], 3)
    shown = screen_pixels(window.display, window.settle()["canvas"])
    same = np.all(saved == shown, axis=-1).mean()
    assert same > 0.999, f"only {same:.2%} of the PNG's pixels are what the X server shows"
    assert len(np.unique(saved.reshape(-1, 3), axis=0)) > 50, "the PNG should hold a picture, not a blank"


def test_v_twice_records_a_decodable_video_of_the_window(window):
    import imageio_ffmpeg

    window.key("Home")
    window.settle()
    start = time.monotonic()
    window.key("v")
    window.wait(lambda s: s["recording"] is not None, what="v to start recording")
    for _ in range(6):  # each step drawn (and so captured) before the next key
        before = window.state()
        window.key("Right")
        window.wait(lambda t: t["step"] > before["step"] and t["frames"] > before["frames"], what="a step drawn")
    window.settle()  # the last picture held a while: the video's last frame is the window's
    window.key("v")
    s = window.wait(lambda t: t["recording"] is None and t["videos"], 30, "v to finish the video")
    elapsed = time.monotonic() - start
    path = Path(s["videos"][-1])
    assert path.parent == window.folder and path.suffix == ".mp4"
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    assert tuple(meta["size"]) == PICTURE and meta["codec"].startswith("h264")
    assert 0.3 * 30 <= len(frames) <= (elapsed + 1) * 30, f"{len(frames)} frames for {elapsed:.1f} s at 30 fps"
    shown = screen_pixels(window.display, window.settle()["canvas"]).astype(int)
    last, first = frames[-1].astype(int), frames[0].astype(int)
    assert np.abs(last - shown).mean() < 3, "the video's last frame should be the window's picture (H.264 aside)"
    assert np.abs(first - last).mean() > np.abs(last - shown).mean(), "the video should show the steps change"


def test_toggles_reach_the_picture(window):
    window.key("End")
    before = window.settle()
    shown = screen_pixels(window.display, before["canvas"])
    for name in ("grid", "points"):
        x, y = before["toggles"][name]
        frames = window.state()["frames"]
        window.xdotool("mousemove", str(x), str(y), "click", "1")
        window.wait(lambda s: not s["options"][name] and s["frames"] > frames, what=f"the {name} box to turn {name} off")
        off = screen_pixels(window.display, window.settle()["canvas"])
        assert np.any(off != shown, axis=-1).sum() > 100, f"turning {name} off should change the picture"
        frames = window.state()["frames"]
        window.xdotool("click", "1")
        window.wait(lambda s: s["options"][name] and s["frames"] > frames, what=f"the {name} box to turn {name} on again")
        again = screen_pixels(window.display, window.settle()["canvas"])
        assert np.all(again == shown), f"{name} back on: the same picture"


def test_ctrl_q_closes_the_window_and_exits_0(window):
    window.key("ctrl+q")
    assert window.proc.wait(30) == 0, window.log()


def test_a_run_from_a_users_torch_loop_opens_steps_and_saves_like_a_trained_one(display, tmp_path):
    # A run recorded by deform3d.watch from a plain torch loop (tests/loops.py), saved, then shown.
    from loops import watched_run

    run = watched_run(points=100, epochs=10)
    path = run.save(tmp_path / "mine.npz")
    w = Window(display, [str(path)], tmp_path)
    try:
        s = w.state()
        assert s["title"] == "deform3d \u2014 mine.npz" and s["mode"] == "file" and s["hidden"] == 3
        assert s["slider"] == {"min": 0, "max": run.num_steps, "value": run.num_steps}
        w.key("Home")
        w.wait(lambda s: s["step"] == 0, what="Home")
        w.key("shift+Right")
        w.wait(lambda s: s["step"] == run.steps_per_epoch == 7, what="shift+right: to the next epoch")
        before = w.settle()
        w.key("s")
        shot = w.wait(lambda t: len(t["screenshots"]) > len(before["screenshots"]), what="s to save a PNG")
        saved = read_png(shot["screenshots"][-1])
        shown = screen_pixels(w.display, w.settle()["canvas"])
        assert np.all(saved == shown, axis=-1).mean() > 0.999, "the PNG is what the window shows"
        assert len(np.unique(saved.reshape(-1, 3), axis=0)) > 50, "the PNG should hold a picture, not a blank"
        w.key("ctrl+q")
        assert w.proc.wait(30) == 0, w.log()
    finally:
        w.close()


# ---------------------------------------------------------------- live training


def test_live_training_grows_the_slider_and_the_window_stays_responsive(display, tmp_path):
    w = Window(display, ["--train", "--epochs", "3000", "--points", "500", "--hidden", "2"], tmp_path)
    try:
        first = w.wait(lambda s: s["training"] and s["slider"]["max"] > 0, 60, "training to publish steps")
        assert first["mode"] == "live" and first["hidden"] == 2 and first["title"].startswith("deform3d \u2014 training")
        grown = w.wait(lambda s: s["slider"]["max"] > first["slider"]["max"], 30, "the slider's range to grow")
        assert grown["following"] and grown["step"] >= first["slider"]["max"], "the view follows the newest step"
        # Scrub back while it trains: the key is handled at once, and the view stays there.
        sent = time.monotonic()
        w.key("Home")
        back = w.wait(lambda s: s["step"] == 0 and not s["following"], 10, "Home while training")
        reaction = back["time"] - sent
        assert back["training"], "training should still be running (make the run longer)"
        later = w.wait(lambda s: s["slider"]["max"] > back["slider"]["max"], 30, "more steps after scrubbing back")
        assert later["step"] == 0, "the user's position must not be overridden by new steps"
        assert reaction < 3.0, f"the window took {reaction:.1f} s to react to a key while training"
        # From the end of the new scene's first frame (built on the GL thread once the first step is in).
        start = max(first["time"], *(end for _, end in later["draws"][:1]))
        stall = max((ms for t, ms in later["lateness"] if t >= start + 0.1), default=0.0)
        assert stall < 1500, f"the event loop stalled {stall:.0f} ms while training"
        # The training panel: k = 4 instead, train; a new run starts from step 0 and grows.
        (kx, ky), (tx, ty) = later["playground"]["hidden"], later["playground"]["train"]
        shown = w.windows()
        w.xdotool("mousemove", str(kx), str(ky), "click", "1")
        w.until(lambda: len(w.windows()) > len(shown), "the k menu to open")
        (menu,) = set(w.windows()) - set(shown)
        x, y, width, height = w.geometry(menu)
        w.xdotool("mousemove", "--sync", str(x + width // 2), str(y + height * 5 // 6), "click", "1")  # "4": last of 2, 3, 4
        w.until(lambda: menu not in w.windows(), "the k menu to close")
        w.xdotool("mousemove", str(tx), str(ty), "click", "1")
        k4 = w.wait(lambda s: s["hidden"] == 4 and s["training"] and s["slider"]["max"] > 0, 60, "a k = 4 run to train")
        assert "k = 4" in k4["title"] and k4["following"]
        w.key("ctrl+q")  # closing mid-training stops the thread and exits cleanly
        assert w.proc.wait(30) == 0, w.log()
    finally:
        w.close()


# ---------------------------------------------------------------- without Qt, without a display


def _show(args, env_update=None, drop=()):
    env = dict(os.environ, **(env_update or {}))
    for name in drop:
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "deform3d", "show", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


@pytest.mark.qt  # check_gui asks for Qt before the display
def test_without_a_display_exit_2_pointing_to_render_and_record(run_file):
    r = _show([str(run_file)], drop=("DISPLAY", "WAYLAND_DISPLAY"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "deform3d render" in lines[0] and "deform3d record" in lines[0], r.stderr


def test_without_qt_exit_2_saying_how_to_install_it(run_file, tmp_path):
    fake = tmp_path / "PySide6"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named PySide6 (test stand-in)')\n")
    r = _show([str(run_file)], {"PYTHONPATH": str(tmp_path), "DISPLAY": ":0"})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'deform3d[gui]'" in lines[0], r.stderr


@pytest.mark.qt  # check_gui asks for Qt before the display
def test_an_unreachable_display_is_an_error_not_a_crash(run_file):
    r = _show([str(run_file)], {"DISPLAY": ":199"}, drop=("WAYLAND_DISPLAY",))
    assert r.returncode == 2 and "cannot open the X display ':199'" in r.stderr, r.stderr


@pytest.mark.parametrize("args, message", [
    (["RUN", "--train"], "not both"),
    (["RUN", "--hidden", "2"], "training options need --train"),
    (["RUN", "--save-dir", "no/such/folder"], "--save-dir no/such/folder is not a folder"),
    (["missing.npz"], "missing.npz does not exist"),
])
def test_bad_options_are_one_line_errors_before_any_window(run_file, args, message):
    r = _show([str(run_file) if a == "RUN" else a for a in args])
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_the_core_and_headless_paths_never_import_qt(run_file, tmp_path):
    code = f"""
import sys
import deform3d, deform3d.api, deform3d.cli, deform3d.ui.app, deform3d.graphics.scene, deform3d.media.recorder, deform3d.core.live
from deform3d.cli import main
assert main(["train", "--epochs", "1", "--points", "20", "--quiet", "--out", {str(tmp_path / 'r.npz')!r}]) == 0
code = main(["render", {str(run_file)!r}, "--size", "64x48", "--out", {str(tmp_path / 's.png')!r}])
assert code in (0, 2), code  # 2: no EGL here; the point is what got imported
print(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6")))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------- the pieces, headless


def test_live_run_publishes_prefixes_of_the_same_run_train_makes():
    from deform3d.core.live import LiveRun
    from deform3d.core.trainer import train

    config = TrainConfig(points=60, epochs=15)
    live = LiveRun(config)
    assert live.snapshot().num_steps == 0 and live.total == 15 * live.steps_per_epoch
    live.start()
    seen = []
    while not live.finished:
        snap = live.snapshot()
        seen.append(snap.num_steps)
        assert len(snap.loss) == snap.num_steps + 1 == len(snap.weights.W1)
        live.wait(snap.num_steps + 1, 30)  # the next publish (or the end)
    live.join()
    ref = train(config, progress=False)
    final = live.snapshot()
    assert live.error is None and final.num_steps == ref.num_steps
    np.testing.assert_array_equal(final.weights.flat(), ref.weights.flat())
    np.testing.assert_allclose(final.loss, ref.loss, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(final.accuracy, ref.accuracy)
    assert seen == sorted(seen), "published steps only grow"


def test_live_run_stops_when_asked_without_being_waited_for():
    from deform3d.core.live import LiveRun

    live = LiveRun(TrainConfig(epochs=100000, points=50)).start()
    assert live.wait(1, 60), "the first epoch's steps"
    t = time.perf_counter()
    live.stop()
    assert time.perf_counter() - t < 0.01, "stop() must return at once"
    live.join(10)
    assert live.finished and live.error is None and live.published < live.total


@pytest.mark.gl
def test_scene_toggles_and_detail_change_uniforms_only(gl_app, run):
    from deform3d.graphics.scene import Scene

    scene = Scene(run, RenderConfig(size=(320, 180), mesh=64), app=gl_app)
    try:
        base = scene.canvas.render(alpha=False)
        changed = {}
        for name in ("grid", "points", "tint", "folds", "surface"):
            scene.set_options(**{name: False})
            changed[name] = int(np.any(scene.canvas.render(alpha=False) != base, axis=-1).sum())
            scene.set_options(**{name: True})
        assert all(changed[n] > 50 for n in ("grid", "points", "tint", "folds", "surface")), changed
        np.testing.assert_array_equal(scene.canvas.render(alpha=False), base)  # all back on: the same picture
        scene.set_detail(False)
        coarse = scene.canvas.render(alpha=False)
        scene.set_detail(True)
        np.testing.assert_array_equal(scene.canvas.render(alpha=False), base)
        diff = np.abs(coarse.astype(int) - base).max(axis=-1)
        assert diff.any() and (diff > 32).mean() < 0.02, "the motion mesh: a slightly coarser silhouette, no more"
    finally:
        scene.canvas.close()
