"""The window's playback, live following and video capture (deform3d.ui.playback), driven without
Qt and without a display: every call is given the time it acts at, so nothing here waits on a clock.
The live tests train for real in a thread; the capture tests encode with the real ffmpeg."""

from __future__ import annotations

import dataclasses
import math
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from deform3d.core.config import TrainConfig
from deform3d.core.trajectory import Trajectory
from deform3d.media.recorder import Recorder
from deform3d.ui.playback import Capture, Playback, needs_reframe


@pytest.fixture
def playback(short_run):  # 70 steps, 7 per epoch
    p = Playback(speed=2)
    p.run = short_run
    return p


def test_seek_clamps_to_the_run_and_follows_only_at_its_end(playback):
    assert playback.seek(-5) == 0 and not playback.following
    assert playback.seek(math.inf) == 70 and playback.following
    assert playback.seek(30.5) == 30.5 and not playback.following
    assert playback.seek(30, follow=True) == 30 and playback.following


@pytest.mark.parametrize("start, n, epoch, expected", [
    (3, 1, False, 4), (3, -1, False, 2), (3.5, 1, False, 4), (3.5, -1, False, 3),
    (3, 1, True, 7), (3, -1, True, 0), (7, 1, True, 14), (7, -1, True, 0), (14, -1, True, 7),
])
def test_nudge_moves_on_the_step_or_epoch_grid(playback, start, n, epoch, expected):
    playback.seek(start)
    assert playback.nudge(n, epoch) == expected


def test_playing_advances_by_elapsed_time_and_pauses_at_the_end(playback):
    playback.seek(0)
    assert playback.set_playing(True, now=100.0) is False
    assert playback.advance(100.5) == 7.0  # half a second at 2 epochs/s, 7 steps an epoch
    playback.seek(7.0)
    assert playback.advance(101.0) == 14.0
    playback.seek(14.0)
    assert playback.advance(200.0) == 70.0 and not playback.playing
    assert playback.advance(201.0) is None, "paused: nothing moves"


def test_play_at_the_end_of_a_finished_run_starts_again(playback):
    playback.seek(math.inf)
    assert playback.set_playing(True, now=0.0) is True
    assert playback.step == 0 and playback.playing


def test_a_live_run_is_followed_and_playback_waits_at_its_newest_step():
    from deform3d.core.live import LiveRun

    live = LiveRun(TrainConfig(points=50, epochs=100000))
    p = Playback(speed=50)
    p.live, p.run = live, live.snapshot()
    p.seek(0, follow=True)
    live.start()
    try:
        assert live.wait(1, 60), "the first epoch's steps"
        assert p.take_published() and p.run.num_steps >= 1
        assert p.training
        p.seek(math.inf)
        assert p.set_playing(True, now=0.0) is False, "training: playing at the end waits, never rewinds"
        assert p.advance(1000.0) is None and p.playing and p.following, "caught up: the next steps move it"
    finally:
        live.stop()
        live.join(60)
    assert not p.training
    p.take_published()
    p.seek(math.inf)
    assert p.training_ended() and not p.playing, "no more steps will come: playback pauses"


def test_runs_whose_framing_depends_on_the_final_weights_are_reframed(short_run, make_weights):
    assert not needs_reframe(short_run)  # k = 3, tanh: the box is tanh's range
    assert needs_reframe(dataclasses.replace(short_run, meta={**short_run.meta, "activation": "relu"}))
    w4 = make_weights(4, stack=2)
    k4 = Trajectory(w4, np.zeros(2, np.float32), np.zeros(2, np.float32), short_run.X, short_run.y, short_run.meta)
    assert needs_reframe(k4)


# ---------------------------------------------------------------- capture: real time, real ffmpeg

W, H, FPS = 64, 48, 8  # 8 fps: slot times are exact binary fractions


def grey(level: int) -> np.ndarray:
    return np.full((H + 1, W + 1, 3), level, np.uint8)  # a row and a column more: cropped to (W, H)


def decoded_levels(path) -> list[int]:
    p = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-fps_mode", "passthrough",
                        "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    frames = np.frombuffer(p.stdout, np.uint8).reshape(-1, H, W, 3)
    return [int(round(f[H // 2, W // 2, 0] / 10)) * 10 for f in frames]  # H.264 moves a grey a few levels


def test_capture_gives_each_frame_the_slots_until_the_next_one(tmp_path):
    path = tmp_path / "window.mp4"
    capture = Capture(Recorder(path, (W, H), FPS, progress=False), path, (W, H), fps=FPS)
    for level, t in ((40, 0.0), (120, 0.5), (200, 1.0)):
        capture.frame(grey(level), t)
    assert capture.stop(1.5) == path
    assert capture.written == 13
    assert decoded_levels(path) == [40] * 4 + [120] * 4 + [200] * 5  # the last frame holds until stop


def test_capture_cuts_idle_time_to_the_longest_hold(tmp_path):
    path = tmp_path / "idle.mp4"
    capture = Capture(Recorder(path, (W, H), FPS, progress=False), path, (W, H), fps=FPS, max_hold=0.5)
    capture.frame(grey(40), 0.0)
    capture.frame(grey(200), 10.0)  # ten seconds of nothing happening: half a second of it is kept
    assert capture.stop(10.0) == path
    assert decoded_levels(path) == [40] * 4 + [200]
