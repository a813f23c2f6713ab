"""The window's playback, live following and video capture (deform3d.ui.playback), driven without
Qt and without a display: every call is given the time it acts at, so nothing here waits on a clock.
The live tests train for real in a thread and in a child process."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deform3d.core.config import TrainConfig
from deform3d.core.trajectory import Trajectory
from deform3d.ui.playback import Playback, needs_reframe


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


def test_a_live_process_publishes_prefixes_of_the_run_train_makes_bit_for_bit():
    from deform3d.core.live_process import LiveProcess
    from deform3d.core.trainer import train

    config = TrainConfig(points=60, epochs=15)
    live = LiveProcess(config).start()
    try:
        seen = []
        deadline = time.monotonic() + 120
        while not live.finished and time.monotonic() < deadline:
            if live.ready:
                snap = live.snapshot()
                assert len(snap.loss) == snap.num_steps + 1 == len(snap.weights.W1)
                seen.append(snap.num_steps)
            time.sleep(0.01)
        live.join(60)
        assert live.error is None and live.ready
        final = live.copy()
        ref = train(config, progress=False)
        assert final.num_steps == ref.num_steps
        np.testing.assert_array_equal(final.weights.flat(), ref.weights.flat())
        np.testing.assert_allclose(final.loss, ref.loss, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(final.accuracy, ref.accuracy)
        assert seen == sorted(seen), "published steps only grow"
    finally:
        live.close()


def test_a_live_process_stops_when_asked_and_dies_with_its_parent(tmp_path):
    from deform3d.core.live_process import LiveProcess

    live = LiveProcess(TrainConfig(epochs=100000, points=50)).start()
    try:
        deadline = time.monotonic() + 120
        while live.published < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        t = time.perf_counter()
        live.stop()
        assert time.perf_counter() - t < 0.01, "stop() must return at once"
        live.join(30)
        assert live.finished and live.error is None and live.published < live.total
    finally:
        live.close()
    # A parent killed outright (no close handler runs) takes its training child with it.
    code = ("import time; from deform3d.core.live_process import LiveProcess; from deform3d.core.config import "
            "TrainConfig; l = LiveProcess(TrainConfig(epochs=100000, points=50)).start()\n"
            "while l.published < 1: time.sleep(0.02)\n"
            "print(l._proc.pid, l.folder, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pid, folder = parent.stdout.readline().split()
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert not Path(folder).exists(), "the orphaned child removes the shared file"
