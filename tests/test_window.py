"""The window as a lecturer's instrument (issue 17), driven for real: Xvfb, xdotool, the window's
debug state, the X server's pixels, the files it writes, ffmpeg decoding its videos.

Uses test_app's ``Window`` helper and pixel reader on a private, larger Xvfb screen (1920 wide
windows fit). Reference positions of data points come from the numpy reference
(``deform3d.core.geometry.forward``) mapped through the panel's camera matrix the window reports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deform3d.core.geometry import forward, lift_projection
from pngs import read_png
from test_app import RUN, Window, screen_pixels, xvfb_display


@pytest.fixture(scope="module")
def display():
    yield from xvfb_display("2000x1200x24")  # room for a 1920-wide window


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "circles.npz"
    shutil.copyfile(RUN, path)
    return path


@pytest.fixture(autouse=True)
def _own_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the recent-runs list, per test


def _luminance(rgb) -> np.ndarray:
    c = np.asarray(rgb, np.float64) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def _to_screen(state, panel, positions) -> np.ndarray:
    """Global screen pixels of panel positions (n, 3), through the camera matrix the window reports."""
    m = np.array(state["transforms"][panel])
    p = np.column_stack([positions, np.ones(len(positions))]) @ m
    xy = p[:, :2] / p[:, 3:4] / state["pixel_scale"]
    return xy + np.array(state["canvas"][:2])


def _reference(run, step, hidden) -> dict:
    """Where each data point is in each panel at ``step``, from the numpy reference (geometry.forward)."""
    from deform3d.core.geometry import input_extent, input_mesh

    w = run.weights_at(step)
    f = forward(w, np.asarray(run.X, np.float64), run.activation)
    final = run.weights[run.num_steps]
    lo, hi = input_extent(run.X)
    sample = np.concatenate([run.X, input_mesh(48, lo, hi)[0]])
    proj = lift_projection(forward(final, sample, run.activation).h1)
    z = np.zeros((len(run.X), 1))
    return {"lift": np.asarray(proj(f.h1)), "plane": np.hstack([f.h2, z]), "input": np.hstack([run.X, z])}


def _set_size(w: Window, width: int, height: int) -> dict:
    w.xdotool("windowsize", "--sync", str(w.state()["window"]), str(width), str(height))
    w.wait(lambda s: s["window_size"] == [width, height], 20, f"the window at {width}x{height}")
    return w.settle()


# ---------------------------------------------------------------- 1. never freeze


def test_the_first_live_training_never_blocks_the_gui_thread(display, run_file, tmp_path):
    w = Window(display, [str(run_file), "--panels", "lift,plane"], tmp_path)
    try:
        s = w.settle()
        x, y, *_ = s["widgets"]["train"]
        w.xdotool("mousemove", str(x + 10), str(y + 8), "click", "1")
        w.wait(lambda t: t["playground"] is not None, 15, "the training panel")
        s = w.settle()  # the picture redrawn at its new size first: that frame is not the training's
        tx, ty = s["playground"]["train"]
        clicked = time.monotonic()
        w.xdotool("mousemove", str(tx), str(ty), "click", "1")
        live = w.wait(lambda t: t.get("mode") == "live" and t["slider"]["max"] > 0, 120, "live steps")
        done = w.wait(lambda t: t.get("training_finished"), 180, "training to finish")
        assert live["title"].startswith("deform3d \u2014 train")
        assert not done["torch_loaded"], "training runs in a child process: the window never imports torch"
        late = [(t, ms) for t, ms in done["lateness"] if t >= clicked]
        draws = [d for d in done["draws"] if d[1] >= clicked]

        def during_a_frame(t, ms):
            start = t - ms / 1000 - 0.05
            return any(a <= t and b >= start for a, b in draws)

        blocked = [(round(t - clicked, 2), ms) for t, ms in late if ms > 100 and not during_a_frame(t, ms)]
        frame_ms = sorted((b - a) * 1000 for a, b in draws)
        print(f"\nframes while training: {len(draws)}, median {np.median(frame_ms or [0]):.0f} ms, "
              f"max {max(frame_ms or [0]):.0f} ms; timer lateness max {max([ms for _, ms in late] or [0]):.0f} ms")
        assert not blocked, f"the GUI thread blocked over 100 ms outside drawing a frame: {blocked}"
        assert max([ms for _, ms in late] or [0]) < 1500, "no freeze of seconds (a frame takes ~0.2 s here)"
        w.key("ctrl+q")
        assert w.proc.wait(60) == 0, w.log()
        assert "Traceback" not in w.log(), w.log()
    finally:
        w.close()


def _time_to_window(display, args, folder) -> float:
    env = dict(os.environ, DISPLAY=display)
    env.pop("DEFORM3D_DEBUG_STATE", None)
    t = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "deform3d", "show", *args, "--size", "640x360"], env=env, cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--pid", str(proc.pid)], env=env,
                       check=True, timeout=120, capture_output=True)
        return time.monotonic() - t
    finally:
        proc.terminate()
        proc.wait(30)


def test_show_without_a_file_opens_no_later_than_with_one(display, run_file, tmp_path):
    # Same run, same machine, interleaved: the reference is measured beside what it judges.
    with_file, without = [], []
    for _ in range(2):
        with_file.append(_time_to_window(display, [str(run_file)], tmp_path))
        without.append(_time_to_window(display, ["--train", "--epochs", "5"], tmp_path))
    print(f"\nwindow shown: with a run {np.median(with_file):.2f} s, training live {np.median(without):.2f} s")
    assert np.median(without) < np.median(with_file) + 1.0


# ---------------------------------------------------------------- 2. failures said in words, closing


def test_a_diverged_run_says_so_in_words(display, tmp_path):
    # A file of NaN weights is refused at the door (tests/test_bad_input.py); a live run can still
    # diverge in front of the audience: SGD at lr 1e10 on relu reaches NaN within a few epochs.
    w = Window(display, ["--train", "--lr", "1e10", "--optimizer", "sgd", "--activation", "relu", "--points", "50",
                         "--epochs", "40"], tmp_path)
    try:
        s = w.wait(lambda t: t["banner"] and "diverged" in t["banner"], 120, "the banner")
        assert "NaN" in s["banner"], s["banner"]
        w.key("Home")
        w.wait(lambda t: t["step"] == 0 and not t["banner"], 15, "no banner at a healthy step")
    finally:
        w.close()


def test_a_collapsed_live_run_says_so_and_closing_in_debug_mode_raises_nothing(display, tmp_path):
    w = Window(display, ["--train", "--activation", "relu", "--lr", "1", "--epochs", "20000", "--points", "200"], tmp_path)
    try:
        s = w.wait(lambda t: "collapsed" in (t["banner"] or ""), 120, "the collapse to be said")
        assert "within a pixel" in s["banner"]
        assert s["training"], "still training: the close below happens mid-run"
        time.sleep(0.5)
        shown = screen_pixels(w.display, w.state()["canvas"])
        top = shown[:20].reshape(-1, 3).astype(int)
        assert ((top[:, 0] > 150) & (top[:, 1] < 90) & (top[:, 2] < 90)).mean() > 0.5, "the banner is on screen"
        assert len(np.unique(shown[40:].reshape(-1, 3), axis=0)) > 50, "the picture is on screen, not the waiting note"
        w.key("ctrl+q")
        assert w.proc.wait(60) == 0, w.log()
        assert "Traceback" not in w.log() and "Error" not in w.log(), w.log()
    finally:
        w.close()


def test_a_live_relu_run_is_framed_anew_as_it_grows(display, tmp_path):
    w = Window(display, ["--train", "--activation", "relu", "--lr", "0.03", "--epochs", "30000", "--points", "200"], tmp_path)
    try:
        s = w.wait(lambda t: t["reframes"] >= 1, 120, "a live relu run to outgrow its first boxes")
        assert s["training"], "framed anew while training, not only at its end"
        w.key("ctrl+q")
        assert w.proc.wait(60) == 0, w.log()
    finally:
        w.close()


# ---------------------------------------------------------------- 3. projector mode


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_grows_with_the_window_and_titles_keep_their_contrast(display, run_file, tmp_path, theme):
    w = Window(display, [str(run_file), "--theme", theme], tmp_path)
    try:
        x, y, *_ = w.settle()["widgets"]["train"]
        w.xdotool("mousemove", str(x + 10), str(y + 8), "click", "1")  # the training panel open: the tightest fit
        w.wait(lambda t: t["playground"] is not None, 15, "the training panel")
        caps, huds = [], []
        for width, height in ((800, 500), (1280, 720), (1920, 1080)):
            s = _set_size(w, width, height)
            caps.append(s["layout"]["cap"])
            huds.append(s["layout"]["hud_cap"])
            pixels = screen_pixels(w.display, s["canvas"])
            x, y, tw, th = (int(v) for v in s["layout"]["titles"]["lift"])
            title = pixels[y : y + th, x : x + tw].reshape(-1, 3)
            lum = _luminance(title)
            colors, counts = np.unique(title, axis=0, return_counts=True)
            background = colors[counts.argmax()]
            ink = title[np.argsort(np.abs(lum - _luminance(background)))[-max(len(lum) // 200, 5):]]
            contrast = _contrast(np.median(ink, axis=0), background)
            assert contrast >= 4.5, f"{theme} title contrast {contrast:.1f}:1 at {width}x{height}"
            rows = np.flatnonzero((np.abs(_luminance(pixels[y : y + th, x : x + tw]) - _luminance(background)) > 0.2).any(axis=1))
            assert rows.size and np.ptp(rows) + 1 >= s["layout"]["cap"], "the title's ink is at least a capital tall"
            from deform3d.graphics.offscreen import write_png

            write_png(screen_pixels(w.display, w.geometry(str(s["window"]))), tmp_path / f"{theme}-{width}.png")
            if (width, height) == (800, 500):
                boxes = list(s["widgets"].values()) + ([s["playground_rect"]] if s["playground_rect"] else [])
                for i, a in enumerate(boxes):
                    assert a[0] >= 0 and a[0] + a[2] <= width + 1, f"a control leaves the window: {a}"
                    for b in boxes[i + 1 :]:
                        overlap = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
                        assert min(overlap) <= 0, f"controls overlap at 800x500: {a} {b}"
                if theme == "dark":
                    bar = s["widgets"]["speed_label"]
                    below = screen_pixels(w.display, [bar[0] - 4, bar[1], 3, bar[3]])
                    assert _luminance(below.reshape(-1, 3)).mean() < 0.1, "the control bar follows the dark theme"
        assert caps == sorted(caps) and caps[0] < caps[-1] and min(caps) >= 10, caps
        assert huds == sorted(huds) and huds[0] < huds[-1] and min(huds) >= 10, huds
        before = w.state()["layout"]["cap"]
        w.key("plus")
        bigger = w.wait(lambda t: t["font_scale"] > 1 and t["layout"]["cap"] > before, 15, "+ to grow the text")
        w.key("minus")
        w.wait(lambda t: t["font_scale"] == 1 and t["layout"]["cap"] < bigger["layout"]["cap"], 15, "- to shrink it")
        w.key("F11")
        w.wait(lambda t: t["fullscreen"] and t["window_size"] == [2000, 1200], 15, "F11: fullscreen")
        w.key("F11")
        w.wait(lambda t: not t["fullscreen"], 15, "F11 again: a window")
    finally:
        w.close()


def test_fields_keep_their_place_as_values_change(display, run_file, tmp_path):
    w = Window(display, [str(run_file)], tmp_path)
    try:
        a = w.settle()
        w.key("Home")
        b = w.wait(lambda t: t["step"] == 0, what="Home")
        w.key("space")
        c = w.wait(lambda t: t["playing"], what="play")
        w.key("space")
        for s in (b, c):
            assert s["play_button"] == a["play_button"] and s["step_label"] == a["step_label"]
            assert s["slider_track"] == a["slider_track"], "the slider's start must not jump"
    finally:
        w.close()


# ---------------------------------------------------------------- 4. discoverable


def test_help_overlay_and_every_toolbar_action(display, run_file, tmp_path):
    w = Window(display, [str(run_file)], tmp_path)
    try:
        s = w.settle()
        w.key("question")
        w.wait(lambda t: t["help"], what="? to open the help")
        shot = screen_pixels(w.display, w.geometry(str(s["window"])))
        from deform3d.graphics.offscreen import write_png

        write_png(shot, tmp_path / "help.png")
        w.key("Escape")
        w.wait(lambda t: not t["help"], what="Esc to close it")
        w.key("F1")
        w.wait(lambda t: t["help"], what="F1 to open the help")
        w.key("F1")
        w.wait(lambda t: not t["help"], what="F1 to close it")
        keys = {"open": "ctrl+o", "save_run": "ctrl+shift+s", "reset": "(r)", "screenshot": "(s)", "record": "(v)",
                "fullscreen": "F11", "help": "F1"}
        for name, (_, _, tip, _) in s["toolbar"].items():
            assert keys[name] in tip, f"the {name} button's tooltip should name its key: {tip!r}"

        def click(name):
            x, y = w.state()["toolbar"][name][:2]
            w.xdotool("mousemove", str(x), str(y), "click", "1")

        click("help")
        w.wait(lambda t: t["help"], what="help button")
        click("help")
        w.wait(lambda t: not t["help"], what="help button again")
        n = len(s["screenshots"])
        click("screenshot")
        w.wait(lambda t: len(t["screenshots"]) > n, what="the screenshot button")
        x, y, cw, ch = s["panels"]["lift"]
        w.xdotool("mousemove", str(x + cw // 2), str(y + ch // 2), "mousedown", "1")
        for dx in range(20, 121, 20):
            w.xdotool("mousemove", "--sync", str(x + cw // 2 + dx), str(y + ch // 2))
        w.xdotool("mouseup", "1")
        w.wait(lambda t: abs(t["azimuth"] - s["azimuth"]) > 10, what="an orbit")
        click("reset")
        w.wait(lambda t: t["azimuth"] == s["azimuth"], what="the reset button")
        click("record")
        w.wait(lambda t: t["recording"], what="the record button")
        time.sleep(0.5)
        click("record")
        w.wait(lambda t: t["videos"], 120, "the recording to be rendered")
        click("fullscreen")
        w.wait(lambda t: t["fullscreen"], what="the fullscreen button")
        w.key("F11")
        w.wait(lambda t: not t["fullscreen"], what="back from fullscreen")
        shown = set(w.windows())
        click("open")
        w.until(lambda: len(set(w.windows()) - shown) > 0, "the open dialog")
        # Xvfb has no window manager: the dialog may be mapped before it takes the keyboard focus.
        w.xdotool("windowfocus", "--sync", sorted(set(w.windows()) - shown)[0])
        w.key("Escape")
        w.until(lambda: not (set(w.windows()) - shown), "the dialog to close")
        assert not w.state()["toolbar"]["save_run"][3], "a run from a file has nothing to save"
    finally:
        w.close()


# ---------------------------------------------------------------- 5. runs


def test_a_dropped_run_opens_keeping_the_camera_and_a_live_run_saves(display, run_file, tmp_path):
    other = tmp_path / "k2.npz"
    subprocess.run([sys.executable, "-m", "deform3d", "train", "--hidden", "3", "--epochs", "4", "--points", "80",
                    "--seed", "5", "--quiet", "--out", str(other)], check=True, timeout=300)
    w = Window(display, [str(run_file)], tmp_path)
    try:
        s = w.settle()
        x, y, cw, ch = s["panels"]["lift"]
        w.xdotool("mousemove", str(x + cw // 2), str(y + ch // 2), "mousedown", "1")
        for dx in range(20, 121, 20):
            w.xdotool("mousemove", "--sync", str(x + cw // 2 + dx), str(y + ch // 2 + dx // 6))
        w.xdotool("mouseup", "1")
        turned = w.wait(lambda t: abs(t["azimuth"] - s["azimuth"]) > 10, what="an orbit")
        turned = w.settle()
        (w.state_path.with_name(w.state_path.name + ".cmd")).write_text(json.dumps({"drop": str(other)}))
        opened = w.wait(lambda t: t.get("source") == str(other), 60, "the dropped run to open")
        assert opened["title"] == "deform3d \u2014 k2.npz"
        assert abs(opened["azimuth"] - turned["azimuth"]) < 1e-6 and abs(opened["elevation"] - turned["elevation"]) < 1e-6
        assert str(other.resolve()) in opened["recent"]
        w.key("ctrl+q")
        assert w.proc.wait(60) == 0
    finally:
        w.close()
    live = Window(display, ["--train", "--epochs", "6", "--points", "100", "--hidden", "2"], tmp_path)
    try:
        live.wait(lambda t: t.get("training_finished"), 120, "training to finish")
        live.key("ctrl+shift+s")
        s = live.wait(lambda t: t["saved_runs"], 15, "ctrl+shift+s to save the run")
        saved = Path(s["saved_runs"][-1])
        r = subprocess.run([sys.executable, "-m", "deform3d", "render", str(saved), "--out", str(tmp_path / "r.png"),
                            "--size", "320x180"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert read_png(tmp_path / "r.png").shape == (180, 320, 3)
    finally:
        live.close()


# ---------------------------------------------------------------- 6. linked points


def test_a_clicked_point_is_marked_in_every_panel_and_a_box_marks_exactly_its_points(display, run_file, tmp_path):
    from deform3d.core.trajectory import Trajectory

    run = Trajectory.load(run_file)
    w = Window(display, [str(run_file), "--panels", "lift,plane,input"], tmp_path)
    try:
        s = w.settle()
        ref = _reference(run, s["step"], run.hidden)
        screen = {p: _to_screen(s, p, ref[p]) for p in s["panels"]}
        # A point standing apart in the input panel (its nearest neighbour farthest away).
        xy = screen["input"]
        d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(d, np.inf)
        i = int(d.min(axis=1).argmax())
        before = screen_pixels(w.display, s["canvas"]).astype(int)
        w.xdotool("mousemove", str(round(xy[i, 0])), str(round(xy[i, 1])), "click", "1")
        marked = w.wait(lambda t: t["selection"] == [i], 15, f"point {i} to be marked")
        assert f"point {i}" in marked["readout"] and "h1" in marked["readout"] and "p = " in marked["readout"]
        after_state = w.settle()
        ox, oy = s["canvas"][:2]
        r = 18

        def near(changed, panel):  # the changed pixels around point i in a panel, and the window's corner
            cx, cy = screen[panel][i] - (ox, oy)
            y0, x0 = int(cy) - r, int(cx) - r
            return changed[max(y0, 0) : y0 + 2 * r + 1, max(x0, 0) : x0 + 2 * r + 1], (max(x0, 0), max(y0, 0))

        # The state says the frame is drawn; the X server may show it a moment later under load:
        # grab the screen until the mark shows in every panel (or give up and let the checks fail).
        deadline = time.monotonic() + 10
        while True:
            after = screen_pixels(w.display, after_state["canvas"]).astype(int)
            changed = np.abs(after - before).max(axis=-1) > 40
            if all(near(changed, p)[0].sum() > 10 for p in screen) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        from deform3d.graphics.offscreen import write_png

        write_png(after.astype(np.uint8), tmp_path / "marked.png")
        write_png(before.astype(np.uint8), tmp_path / "before.png")
        write_png((changed[..., None] * np.array([255, 255, 255])).astype(np.uint8), tmp_path / "changed.png")
        for panel, pts in screen.items():
            cx, cy = pts[i] - (ox, oy)
            win, (x0, y0) = near(changed, panel)
            ys, xs = np.nonzero(win)
            assert len(xs) > 10, f"nothing marked near point {i} in the {panel} panel"
            mx, my = xs.mean() + x0, ys.mean() + y0
            assert np.hypot(mx - cx, my - cy) <= 2.0, f"{panel}: mark at ({mx:.1f}, {my:.1f}), point at ({cx:.1f}, {cy:.1f})"
        w.key("Escape")
        w.wait(lambda t: t["selection"] is None, what="Esc to clear")
        # A box in the plane panel (ctrl + drag) marks exactly the points inside it.
        px, py, pw, ph = s["panels"]["plane"]
        a = (px + pw * 0.3, py + ph * 0.2)
        b = (px + pw * 0.8, py + ph * 0.7)
        w.xdotool("mousemove", str(round(a[0])), str(round(a[1])), "keydown", "ctrl", "mousedown", "1")
        for f in (0.25, 0.5, 0.75, 1.0):
            w.xdotool("mousemove", "--sync", str(round(a[0] + f * (b[0] - a[0]))), str(round(a[1] + f * (b[1] - a[1]))))
        w.xdotool("mouseup", "1", "keyup", "ctrl")
        boxed = w.wait(lambda t: t["selection"], 15, "the box to mark points")
        assert boxed["rects"] == s["rects"], "a box selection leaves the camera alone"
        p = screen["plane"]
        ax, ay, bx, by = round(a[0]), round(a[1]), round(b[0]), round(b[1])
        inside = (p[:, 0] >= ax) & (p[:, 0] <= bx) & (p[:, 1] >= ay) & (p[:, 1] <= by)
        edge = (np.minimum.reduce([np.abs(p[:, 0] - ax), np.abs(p[:, 0] - bx), np.abs(p[:, 1] - ay), np.abs(p[:, 1] - by)]) < 1.0)
        got = np.zeros(len(p), bool)
        got[boxed["selection"]] = True
        assert inside.sum() > 5, "the box should hold points (choose another box)"
        assert np.array_equal(got[~edge], inside[~edge]), "exactly the points inside the box"
        assert f"{inside.sum()} points marked" in boxed["readout"] or edge.any()
        write_png(screen_pixels(w.display, w.settle()["canvas"]), tmp_path / "boxed.png")
    finally:
        w.close()


# ---------------------------------------------------------------- 7. recording


def test_a_five_second_recording_is_a_video_of_distinct_frames(display, run_file, tmp_path):
    import imageio_ffmpeg

    w = Window(display, [str(run_file)], tmp_path)
    try:
        w.key("Home")
        w.wait(lambda t: t["step"] == 0, what="Home")
        for _ in range(2):
            w.key("bracketleft")  # 10 -> 5 -> 2 epochs/s: the 30 epochs play for 15 s
        w.wait(lambda t: t["speed"] == 2, what="[ to slow down")
        w.key("space", "v")
        w.wait(lambda t: t["recording"] and t["playing"], what="recording while playing")
        time.sleep(5.0)
        w.key("v")
        seen = w.wait(lambda t: t["rendering"] is not None or t["videos"], 30, "the video to render")
        done = w.wait(lambda t: t["videos"], 300, "the video to finish")
        path = Path(done["videos"][-1])
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        frames = [bytes(f) for f in reader]
        distinct = len(set(frames))
        print(f"\n{len(frames)} frames, {distinct} distinct, {meta['fps']} fps; progress shown: {seen['rendering']}")
        assert meta["fps"] == 30 and len(frames) >= 145
        assert distinct >= 140, f"only {distinct} distinct frames of {len(frames)}"
    finally:
        w.close()


# ---------------------------------------------------------------- 8. frames in motion (issue 13)


def _half(image: np.ndarray) -> np.ndarray:
    from deform3d.graphics.offscreen import downsample

    return downsample(image, 2).astype(int)


@pytest.mark.parametrize("gl", ["offscreen", "canvas"])
def test_a_motion_frame_on_screen_is_the_whole_picture_and_the_full_one_follows(display, run_file, tmp_path,
                                                                                 monkeypatch, gl):
    """While a drag is held the window shows a motion frame (half the resolution, the coarse mesh):
    on screen it must be the whole picture, stretched over the canvas, as close to the full frame
    drawn once the drag ends as the coarser mesh allows. The window draws offscreen on the GL
    thread where EGL works (``offscreen``), else in a VisPy canvas (``canvas``, asked for here)."""
    if gl == "canvas":
        monkeypatch.setenv("DEFORM3D_WINDOW_GL", "canvas")
    w = Window(display, [str(run_file), "--size", "800x450"], tmp_path)
    try:
        s = w.settle()
        x, y, cw, ch = s["panels"]["plane"]
        cx, cy = x + cw // 2, y + ch // 2
        w.xdotool("mousemove", str(cx), str(cy), "mousedown", "1")
        w.xdotool("mousemove", "--sync", str(cx + 12), str(cy))  # pans the plane; the button stays down
        held = w.wait(lambda t: not t["full_detail"] and t["rects"] != s["rects"], what="a motion frame")
        held = w.settle()
        assert not held["full_detail"], "a held drag keeps the motion frame"
        moving = screen_pixels(w.display, held["canvas"])
        w.xdotool("mouseup", "1")
        w.wait(lambda t: t["full_detail"] and t["frames"] > held["frames"], what="the full frame after the drag")
        rest = w.settle()
        assert rest["rects"] == held["rects"], "releasing the button moves nothing"
        full = screen_pixels(w.display, rest["canvas"])
        diff = np.abs(_half(moving) - _half(full)).mean()
        # The two halves of the picture compared apart: a motion frame drawn into a corner of the
        # canvas, or not stretched, leaves one of them unlike the full frame.
        h, wd = moving.shape[0] // 2, moving.shape[1] // 2
        parts = [np.abs(_half(moving[a:b, c:d]) - _half(full[a:b, c:d])).mean()
                 for a, b, c, d in ((0, h, 0, wd), (h, 2 * h, wd, 2 * wd))]
        print(f"\nmotion vs full frame on screen ({gl}): {diff:.2f} levels on average, quarters {parts}")
        assert diff < 6 and max(parts) < 8, f"the motion frame differs from the full one by {diff:.1f} levels"
        assert not np.array_equal(moving, full), "test set-up: the motion frame should be a frame of its own"
    finally:
        w.close()
