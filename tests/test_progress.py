"""Progress (deform3d.progress): a bar that fits the terminal, plain lines in logs, a callable, --quiet.

The terminal case runs the real CLI on a pseudo-terminal of 80 columns; the log case runs it with
stderr a pipe, as CI and ``| tee`` do. Rates and ETAs are checked on a clock the test sets.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from deform3d.core import progress
from deform3d.core.progress import Progress

LONG_TRAINING = ["--epochs", "400"]  # ~25,000 steps: seconds, well past the bar's half-second delay


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", c)
    return c


def test_a_log_gets_a_plain_line_every_tenth(clock):
    log = io.StringIO()  # not a terminal
    with Progress(200, "recording run.mp4", "frame", stream=log, delay=0) as bar:
        for _ in range(200):
            clock.now += 0.05
            bar.update()
    lines = log.getvalue().splitlines()
    assert [int(re.match(r"recording run.mp4: +(\d+)%", ln).group(1)) for ln in lines] == list(range(10, 101, 10))
    assert lines[-1] == "recording run.mp4: 100% (200/200 frames, 20.0 frame/s, ETA 0.0 s)"
    assert max(map(len, lines)) <= 80 and "\r" not in log.getvalue()


def test_work_shorter_than_the_delay_shows_nothing(clock):
    log = io.StringIO()
    with Progress(100, "training", "step", stream=log) as bar:
        for _ in range(100):
            clock.now += progress.DELAY_S / 200
            bar.update()
    assert log.getvalue() == ""


def test_the_eta_follows_the_rate_not_a_slow_start(clock):
    log = io.StringIO()
    with Progress(100, "training", "step", stream=log, delay=0) as bar:
        clock.now = 5.0  # the first step is slow (a shader compiles, ffmpeg starts)
        bar.update()
        for _ in range(9):
            clock.now += 0.01
            bar.update()
    first = log.getvalue().splitlines()[0]
    eta = float(re.search(r"ETA ([\d.]+) s", first).group(1))
    assert 0.8 <= eta <= 1.0, f"90 steps left at 100 steps/s: {first}"


def test_a_callable_gets_done_and_total_and_nothing_is_printed(clock):
    log, seen = io.StringIO(), []
    with Progress(3, "training", "step", progress=lambda done, total: seen.append((done, total)), stream=log, delay=0) as bar:
        for _ in range(3):
            bar.update()
    assert seen == [(1, 3), (2, 3), (3, 3)] and log.getvalue() == ""


def test_false_shows_nothing_and_a_bad_value_is_refused(clock):
    log = io.StringIO()
    with Progress(10, "training", "step", progress=False, stream=log, delay=0) as bar:
        bar.update(10)
    assert log.getvalue() == ""
    with pytest.raises(TypeError, match=r"progress must be True, False or a callable \(done, total\), got 'yes'"):
        Progress(10, "training", "step", progress="yes")


def test_api_refuses_a_bad_progress_before_any_work():
    import deform3d

    with pytest.raises(TypeError, match="progress must be"):
        deform3d.train(progress="yes")


def run_cli(*args, cwd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deform3d", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, **kw)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_the_bar_fits_an_80_column_terminal(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "deform3d", "train", *LONG_TRAINING, "--out", "run.npz"],
                            cwd=tmp_path, stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=300) == 0
    os.close(main)
    text = b"".join(chunks).decode()
    redraws = [s for s in re.split(r"[\r\n]", text) if s.strip()]
    bars = [s for s in redraws if s.startswith("training:")]
    assert bars and bars[-1].startswith("training: 100%|"), text[-400:]
    assert max(len(s) for s in redraws) <= 80, max(redraws, key=len)
    assert "ETA" in bars[-1] and "25200/25200 steps" in bars[-1]


def test_a_log_gets_lines_and_quiet_silences_every_command(tmp_path):
    logged = run_cli("train", *LONG_TRAINING, "--out", "run.npz", cwd=tmp_path)
    assert logged.returncode == 0, logged.stderr
    lines = logged.stderr.splitlines()
    assert 3 <= len(lines) <= 10 and lines[-1].startswith("training: 100% (25200/25200 steps"), logged.stderr
    assert "\r" not in logged.stderr

    quiet = run_cli("train", *LONG_TRAINING, "--out", "run.npz", "--quiet", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""
    still = run_cli("render", "run.npz", "--out", "still.png", "--size", "64x36", "--quiet", cwd=tmp_path)
    assert still.returncode in (0, 1), still.stderr  # 1 only where no EGL exists: then it says so
    assert "unrecognized arguments" not in still.stderr and "--quiet" not in still.stderr
