"""deform3d.media.timeline (video time -> step and camera) and deform3d.core.config.RecordConfig.

Pacing, holds, orbit and keyframes are checked against their definitions in the timeline module's
docstring; camera files against every way a hand-written TOML file goes wrong.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deform3d.core.config import QUALITY, RecordConfig, RenderConfig, parse_size
from deform3d.core.errors import ConfigError, UsageError
from deform3d.media.timeline import FrameState, Keyframes, Orbit, Timeline, camera_from_config, pace

ROOT = Path(__file__).resolve().parents[1]
CAMERA = """
[[keyframe]]
t = 0
azimuth = 30
elevation = 20
distance = 4

[[keyframe]]
t = 2
azimuth = 120
elevation = 35
distance = 4

[[keyframe]]
t = 5
azimuth = 200
elevation = 10
distance = 6

[[keyframe]]
t = 6
azimuth = 210
elevation = 10
distance = 6
"""


def steps(tl: Timeline) -> np.ndarray:
    return np.array([s.step for s in tl])


def write(tmp_path: Path, text: str, name: str = "camera.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- pacing


@pytest.mark.parametrize("how", ["linear", "ease"])
def test_pace_is_monotonic_with_exact_endpoints(how):
    a = np.linspace(0, 1, 10001)
    s = pace(a, how)
    assert s[0] == 0.0 and s[-1] == 1.0
    assert np.all(np.diff(s) > 0)
    assert pace(-0.5, how) == 0.0 and pace(1.5, how) == 1.0


def test_unknown_pace_is_refused():
    with pytest.raises(ConfigError, match="pace: must be one of change, linear, ease"):
        pace(0.5, "bounce")


@pytest.mark.parametrize("how", ["linear", "ease"])
@pytest.mark.parametrize("holds", [(0.0, 0.0), (0.5, 1.0)])
def test_first_frame_is_step_zero_and_last_is_the_last_step(how, holds):
    tl = Timeline(6300, 300, 30, how, *holds)
    s = steps(tl)
    assert s[0] == 0.0 and s[-1] == 6300.0
    assert np.all(np.diff(s) >= 0), "the video never runs training backwards"
    assert np.all((0 <= s) & (s <= 6300))


def test_holds_show_the_first_and_last_frame_for_their_seconds():
    fps, hold_start, hold_end = 30, 0.5, 1.0
    tl = Timeline(100, 300, fps, "linear", hold_start, hold_end)
    s = steps(tl)
    t = np.arange(300) / fps
    assert np.all(s[t <= hold_start] == 0)
    assert np.all(s[t >= tl.last_time - hold_end] == 100)
    moving = (t > hold_start) & (t < tl.last_time - hold_end)
    assert np.all(s[moving] > 0) and np.all(s[moving] < 100)
    assert np.all(np.diff(s[moving]) > 0)
    # The first hold lasts hold_start seconds: that many frames, plus the one where motion starts.
    assert np.count_nonzero(s == 0) == round(hold_start * fps) + 1
    assert np.count_nonzero(s == 100) == round(hold_end * fps) + 1


def test_linear_pace_is_even_in_steps():
    tl = Timeline(1000, 101, 10, "linear", 0, 0)
    assert np.allclose(np.diff(steps(tl)), 10.0)


def test_ease_gives_early_training_more_screen_time():
    training = {}
    for how in ("linear", "ease"):
        s = steps(Timeline(6300, 300, 30, how, 0.5, 1.0))
        moving = s[(s > 0) & (s < 6300)]
        training[how] = np.count_nonzero(moving <= 630) / len(moving)  # share of the first 10% of steps
    assert abs(training["linear"] - 0.10) < 0.02
    assert training["ease"] > 0.30  # 40% by the module docstring's formula


def test_ease_does_not_depend_on_the_number_of_steps():
    short = steps(Timeline(70, 50, 10, "ease", 0, 0)) / 70
    long = steps(Timeline(6300, 50, 10, "ease", 0, 0)) / 6300
    assert np.allclose(short, long)


def test_a_run_with_no_steps_stays_at_step_zero():
    assert np.all(steps(Timeline(0, 20, 10, "ease", 0.1, 0.1)) == 0)


# ---------------------------------------------------------------- frame count and determinism


def test_frame_count_is_fps_times_duration():
    assert RecordConfig(fps=30, duration=10).frame_count == 300
    assert RecordConfig(fps=29.97, duration=10).frame_count == 300
    assert RecordConfig(fps=24, duration=2.5).frame_count == 60
    assert RecordConfig(fps=15, frames=40, duration=99).frame_count == 40
    assert RecordConfig(fps=15, frames=40).seconds == pytest.approx(40 / 15)
    tl = Timeline.from_config(100, RecordConfig(fps=12, duration=5, pace="ease"))
    assert len(tl) == tl.frame_count == 60 and len(list(tl)) == 60
    assert tl.duration == 5.0 and tl.time(12) == 1.0
    with pytest.raises(IndexError):
        tl.state(60)


def test_timeline_is_deterministic(tmp_path):
    config = RecordConfig(fps=20, duration=6, camera=str(write(tmp_path, CAMERA)), pace="ease")
    a = list(Timeline.from_config(500, config))
    b = list(Timeline.from_config(500, config))
    assert a == b and all(isinstance(s, FrameState) for s in a)


# ---------------------------------------------------------------- camera


def test_orbit_turns_at_its_speed_at_a_fixed_elevation():
    tl = Timeline(100, 100, 25, "linear", 0.5, 1.0, Orbit(azimuth=30, elevation=20, distance=4.5, speed=12))
    states = list(tl)
    az = np.array([s.azimuth for s in states])
    assert az[0] == 30
    assert np.allclose(np.diff(az) * 25, 12.0), "12 degrees per second, holds included"
    assert {s.elevation for s in states} == {20.0} and {s.distance for s in states} == {4.5}


def test_orbit_starts_from_the_render_view():
    config = RecordConfig(orbit=-10, fps=10, duration=4, pace="ease")
    view = RenderConfig(azimuth=90, elevation=-5, distance=3)
    cam = camera_from_config(config, view)
    assert cam == Orbit(90, -5, 3, -10)
    assert cam.at(2.0) == (70.0, -5, 3)
    first = Timeline.from_config(10, config).state(0)
    default = RenderConfig()
    assert (first.azimuth, first.elevation, first.distance) == (default.azimuth, default.elevation, default.distance)
    assert Timeline(10, 40, 10).state(0) == first, "no camera given: the default view and orbit"
    still = Timeline.from_config(10, dataclasses.replace(config, orbit=0), view=view)
    assert {(s.azimuth, s.elevation, s.distance) for s in still} == {(90.0, -5.0, 3.0)}


def test_keyframes_pass_through_their_values(tmp_path):
    cam = Keyframes.load(write(tmp_path, CAMERA))
    for t, az, el, dist in [(0, 30, 20, 4), (2, 120, 35, 4), (5, 200, 10, 6), (6, 210, 10, 6)]:
        assert cam.at(t) == pytest.approx((az, el, dist))
    tl = Timeline.from_config(100, RecordConfig(fps=10, duration=7, camera=str(tmp_path / "camera.toml"), pace="ease"))
    assert tl.state(20).azimuth == pytest.approx(120) and tl.state(50).distance == pytest.approx(6)


def test_keyframes_are_smooth_and_do_not_overshoot(tmp_path):
    cam = Keyframes.load(write(tmp_path, CAMERA))
    h = 1e-5
    for knot in (2.0, 5.0):
        left = (np.array(cam.at(knot)) - np.array(cam.at(knot - h))) / h
        right = (np.array(cam.at(knot + h)) - np.array(cam.at(knot))) / h
        assert np.allclose(left, right, atol=1e-2), f"the first derivative jumps at t = {knot}"
    t = np.linspace(0, 6, 601)
    path = np.array([cam.at(x) for x in t])
    assert path[:, 1].max() <= 35 + 1e-9 and path[:, 1].min() >= 10 - 1e-9, "elevation stays within its keyframes"
    assert np.all(path[(t >= 5), 1] == pytest.approx(10)), "equal keyframes hold the camera still"
    assert np.all(np.diff(path[:, 0]) >= 0), "azimuth rising through every keyframe never turns back"


def test_the_documented_camera_file_loads(tmp_path):
    import textwrap

    import deform3d.media.timeline as timeline

    doc = timeline.__doc__
    block = doc[doc.index("# camera.toml") : doc.index("At least two keyframes")]
    cam = Keyframes.load(write(tmp_path, textwrap.dedent("    " + block)))
    assert list(cam.t) == [0, 5, 10] and cam.at(5) == pytest.approx((40, 35, 7.5))


def test_camera_holds_still_outside_the_keyframes(tmp_path):
    cam = Keyframes.load(write(tmp_path, CAMERA.replace("t = 0\n", "t = 1\n")))
    assert cam.at(0) == cam.at(1) == pytest.approx((30, 20, 4))
    assert cam.at(60) == cam.at(6) == pytest.approx((210, 10, 6))


def test_azimuth_is_taken_as_written():
    long_way = Keyframes([0, 1], [350, 10], [20, 20], [4, 4])
    short_way = Keyframes([0, 1], [350, 370], [20, 20], [4, 4])
    assert long_way.at(0.5)[0] == pytest.approx(180)
    assert short_way.at(0.5)[0] == pytest.approx(360)
    assert Keyframes([0, 1], [0, 720], [0, 0], [4, 4]).at(0.75)[0] == pytest.approx(540)


KEYFRAME = "[[keyframe]]\nt = {t}\nazimuth = 30\nelevation = 20\ndistance = 4\n"


@pytest.mark.parametrize("text, match", [
    ("[[keyframe]\nt = 0", r"is not valid TOML \(.*line 1"),
    ("t = 0\n", "unknown key 't'; it holds only \\[\\[keyframe\\]\\] tables"),
    ("[[keyframes]]\nt = 0\n", "unknown key 'keyframes'"),
    ("", "has no \\[\\[keyframe\\]\\] tables; add at least two"),
    (KEYFRAME.format(t=0), "has 1 keyframe; add at least two"),
    (KEYFRAME.format(t=0) + "[[keyframe]]\nt = 1\nazimuth = 30\nelevation = 20\n",
     "keyframe 2 lacks 'distance'; each \\[\\[keyframe\\]\\] needs t, azimuth, elevation and distance"),
    (KEYFRAME.format(t=0) + KEYFRAME.format(t=1).replace("azimuth", "azimut"), "keyframe 2 lacks 'azimuth'"),
    (KEYFRAME.format(t=0) + KEYFRAME.format(t=1) + "zoom = 2\n", "keyframe 2 has unknown key 'zoom'"),
    (KEYFRAME.format(t=0) + KEYFRAME.format(t=1).replace("= 20", '= "high"'), "keyframe 2 elevation must be a finite number, got 'high'"),
    (KEYFRAME.format(t=0) + KEYFRAME.format(t=1).replace("= 4", "= true"), "keyframe 2 distance must be a finite number, got True"),
    (KEYFRAME.format(t=0) + KEYFRAME.format(t="nan"), "keyframe 2 t must be a finite number, got nan"),
    (KEYFRAME.format(t=2) + KEYFRAME.format(t=1), "times must increase strictly, but keyframe 2 \\(t = 1\\) is not after keyframe 1 \\(t = 2\\)"),
    (KEYFRAME.format(t=1) + KEYFRAME.format(t=1), "keyframe 2 \\(t = 1\\) is not after keyframe 1 \\(t = 1\\)"),
    (KEYFRAME.format(t=-1) + KEYFRAME.format(t=1), "keyframe 1 t must be >= 0"),
    (KEYFRAME.format(t=0) + KEYFRAME.format(t=1).replace("= 20", "= 95"), "keyframe 2 elevation must be in -90..90"),
    (KEYFRAME.format(t=0) + KEYFRAME.format(t=1).replace("= 4", "= 0"), "keyframe 2 distance must be > 0"),
])
def test_bad_camera_files_are_one_clear_line(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=match) as e:
        Keyframes.load(path)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"camera file {path}")
    with pytest.raises(UsageError, match=match):  # the CLI's route: from the config, before any work
        camera_from_config(RecordConfig(camera=str(path)))
    assert [p.name for p in tmp_path.iterdir()] == ["camera.toml"], "reading a camera file writes nothing"


def test_missing_camera_file(tmp_path):
    with pytest.raises(UsageError, match=f"camera file {tmp_path / 'nope.toml'} does not exist; write a TOML file"):
        Keyframes.load(tmp_path / "nope.toml")
    with pytest.raises(UsageError, match="is a folder"):
        Keyframes.load(tmp_path)


def test_timeline_imports_neither_torch_nor_vispy():
    code = "import sys, deform3d.media.timeline; print(sorted({'torch', 'vispy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


# ---------------------------------------------------------------- RecordConfig


def test_record_config_defaults_and_presets():
    c = RecordConfig()
    assert (c.width, c.height, c.frame_rate, c.frame_count) == (1280, 720, 30.0, 300)
    assert (c.pace, c.hold_start, c.hold_end, c.crf, c.camera) == ("change", 0.5, 1.0, None, None)
    expected = {"low": (854, 480, 15), "medium": (1280, 720, 30), "high": (1920, 1080, 60), "4k": (3840, 2160, 60)}
    assert QUALITY == expected
    for name, (w, h, fps) in expected.items():
        c = RecordConfig(quality=name)
        assert (c.width, c.height, c.frame_rate) == (w, h, fps)
    c = RecordConfig(quality="high", fps=24, size=[640, 360])
    assert (c.width, c.height, c.frame_rate, c.size) == (640, 360, 24.0, (640, 360))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.fps = 30
    # The resolved values follow the fields: replace() cannot carry a stale size or frame count.
    assert dataclasses.replace(RecordConfig(quality="low"), quality="4k").width == 3840
    assert dataclasses.replace(RecordConfig(duration=2), fps=60).frame_count == 120


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=(0, 720)), "size: must be 16..8192 pixels per side, got 0x720"),
    (dict(size=(-1280, 720)), "size: must be 16..8192 pixels per side, got -1280x720"),
    (dict(size=(8193, 720)), "size: must be 16..8192 pixels per side, got 8193x720"),
    (dict(size=(1280,)), "size: must be WIDTHxHEIGHT"),
    (dict(size=(1280.0, 720)), "size: must be WIDTHxHEIGHT"),
    (dict(fps=0), "fps: must be a finite number > 0"),
    (dict(fps=-30), "fps: must be a finite number > 0"),
    (dict(fps=float("inf")), "fps: must be a finite number > 0"),
    (dict(fps=1000), "fps: must be at most 240"),
    (dict(duration=0), "duration: must be a finite number > 0"),
    (dict(frames=1), "frames: must be at least 2"),
    (dict(frames=2.5), "frames: must be an integer"),
    (dict(quality="ultra"), "quality: must be one of low, medium, high, 4k"),
    (dict(pace="bounce"), "pace: must be one of change, linear, ease"),
    (dict(hold_start=-1), "hold_start: must be a finite number >= 0"),
    (dict(orbit=float("nan")), "orbit: must be a finite number of degrees per second"),
    (dict(orbit="fast"), "orbit: must be a finite number of degrees per second"),
    (dict(camera=""), "camera: must be the path of a TOML keyframe file"),
    (dict(crf=-1), "crf: must be an integer >= 0"),
    (dict(crf=70), "crf: must be 0..51 for .mp4 or 0..63 for .webm"),
    (dict(duration=0.02), "duration: gives 1 frame\\(s\\) at 30 fps; a video needs at least 2"),
])
def test_record_config_refuses_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match) as e:
        RecordConfig(**kwargs)
    assert "\n" not in str(e.value)


def test_parse_size():
    assert parse_size("1280x720") == (1280, 720) and parse_size("330X250") == (330, 250)
    for bad, match in [("1280", "WIDTHxHEIGHT"), ("axb", "WIDTHxHEIGHT"), ("0x720", "16..8192"), ("-5x720", "16..8192")]:
        with pytest.raises(ConfigError, match=match):
            parse_size(bad)


def test_timeline_refuses_what_config_would():
    with pytest.raises(ConfigError, match="frames: must be an integer >= 2"):
        Timeline(10, 1, 30)
    with pytest.raises(ConfigError, match="fps: must be a finite number > 0"):
        Timeline(10, 30, 0)
    with pytest.raises(ConfigError, match="pace: change needs the run"):
        Timeline(10, 30, 30, "change")
    with pytest.raises(ValueError, match=r"clock must have num_steps \+ 1 = 11 values"):
        Timeline(10, 30, 30, "change", clock=np.linspace(0, 1, 5))


@pytest.mark.parametrize("frames, fps, hold_start, hold_end", [
    (300, 30, 0.5, 1.0), (30, 30, 0.5, 1.0), (15, 30, 0.5, 1.0), (2, 30, 0.5, 1.0), (12, 24, 3.0, 0.0), (40, 10, 0, 0),
])
def test_holds_shrink_to_a_third_of_a_short_video_in_proportion(frames, fps, hold_start, hold_end):
    config = RecordConfig(frames=frames, fps=fps, hold_start=hold_start, hold_end=hold_end, pace="linear")
    tl = Timeline.from_config(100, config)
    span = (frames - 1) / fps
    assert (tl.hold_start, tl.hold_end) == config.holds, "config and timeline hold alike: one rule"
    assert tl.hold_start + tl.hold_end <= span / 3 + 1e-12
    if hold_start + hold_end <= span / 3:
        assert (tl.hold_start, tl.hold_end) == (hold_start, hold_end), "a long enough video keeps the holds asked"
    elif hold_start + hold_end > 0:
        assert tl.hold_start + tl.hold_end == pytest.approx(span / 3)
        assert tl.hold_start * hold_end == pytest.approx(tl.hold_end * hold_start), "shrunk in proportion"
    steps = [s.step for s in tl]
    assert steps[0] == 0 and steps[-1] == 100 and np.all(np.diff(steps) >= 0)
