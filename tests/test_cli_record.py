"""``deform3d record`` end to end, through the real command line, as a user runs it.

Each test starts ``python -m deform3d`` in a subprocess (real argument parsing, real exit codes,
real signals) and decodes what it wrote with the ffmpeg bundled with imageio-ffmpeg: codec, pixel
format, size and frame count from ffmpeg's own description, and the decoded pixels. Videos are tiny
(160x96, 10 fps, 1.2 s, a 32-vertex mesh) so the whole file runs in well under a minute.
Recorder's own behaviour with synthetic frames is tested in test_record.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from folders import unwritable_folder

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
ROOT = Path(__file__).resolve().parents[1]
W, H, FPS, SECONDS = 160, 96, 10, 1.2
N = 12  # fps x duration, exactly
# Tiny frames; holds shortened so 1.2 s leaves time to show training (the defaults take 1.5 s).
TINY = ["--size", f"{W}x{H}", "--fps", str(FPS), "--duration", str(SECONDS), "--mesh", "32",
        "--hold-start", "0.2", "--hold-end", "0.2", "--quiet"]
TRAIN = ["--epochs", "2", "--points", "100"]  # 2 x 7 = 14 steps


def cli(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m deform3d ARGS`` in ``cwd``; returns the finished process (text output)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "deform3d", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def probe(path: Path) -> dict:
    """Codec, pixel format and size of the first video stream, as ffmpeg describes it."""
    text = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    m = re.search(r"Video: (\w+)[^,]*, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)", text)
    assert m, f"ffmpeg sees no video stream in {path}:\n{text}"
    return {"codec": m[1], "pix_fmt": m[2], "size": (int(m[3]), int(m[4]))}


def decode(path: Path, w: int = W, h: int = H) -> np.ndarray:
    """Every stored frame as (n, h, w, 3) uint8 RGB (a PNG folder: its frame_%05d.png in order)."""
    if path.is_dir():
        src = ["-f", "image2", "-start_number", "0", "-i", str(path / "frame_%05d.png")]
    else:
        src = ["-i", str(path)]
    p = subprocess.run([FFMPEG, "-v", "error", *src, "-fps_mode", "passthrough", "-f", "rawvideo",
                        "-pix_fmt", "rgb24", "-"], capture_output=True)
    assert p.returncode == 0, p.stderr.decode()
    data = np.frombuffer(p.stdout, np.uint8)
    assert data.size and data.size % (w * h * 3) == 0, f"{data.size} bytes are not whole {w}x{h} frames"
    return data.reshape(-1, h, w, 3)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def hidden_files(folder: Path) -> list[str]:
    """Names starting with '.' in folder: a temporary file or probe left behind would be one."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def assert_moves(frames: np.ndarray) -> None:
    """Frames differ over time: each from the next (the camera orbits), and the last from the first
    by much more than codec noise (the network trained)."""
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames[:-1], frames[1:])]
    assert min(diffs) > 0, f"two consecutive frames are identical: {diffs}"
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2


@pytest.fixture(scope="module")
def gl():
    """Skip (with the reason) where no EGL exists; a GL that exists but fails is a failure."""
    from deform3d.core.errors import UsageError
    from deform3d.graphics.offscreen import egl_app

    try:
        egl_app()
    except UsageError as e:
        pytest.skip(f"no OpenGL here: {e}")


@pytest.fixture(scope="module")
def run_npz(tmp_path_factory) -> Path:
    """A run trained through the CLI: k = 3 circles, 100 points per class, 2 epochs (14 steps)."""
    folder = tmp_path_factory.mktemp("run")
    ok(cli("train", *TRAIN, "--quiet", "--out", "run.npz", cwd=folder))
    return folder / "run.npz"


@pytest.fixture(scope="module", params=["train", "watch"])
def source(request, run_npz, tmp_path_factory):
    """(saved run, the run in memory) from each source: ``deform3d train`` and a user's torch loop
    recorded by deform3d.watch (the same size: 200 points, batch 32, 2 epochs, 14 steps)."""
    from loops import watched_run

    from deform3d.core.trajectory import Trajectory

    if request.param == "train":
        return run_npz, Trajectory.load(run_npz)
    run = watched_run(points=100, epochs=2)
    return run.save(tmp_path_factory.mktemp("watched") / "mine.npz"), run


# ---------------------------------------------------------------- formats


@pytest.mark.gl
@pytest.mark.parametrize("name, codec, pix_fmt", [
    ("x.mp4", "h264", "yuv420p"),
    ("x.webm", "vp9", "yuv420p"),
    ("x.gif", "gif", None),  # a palette per frame; ffmpeg's gif decoder reports bgra
    ("frames/", None, None),
])
def test_record_writes_the_format_its_name_asks_for(gl, tmp_path, run_npz, name, codec, pix_fmt):
    p = ok(cli("record", run_npz, "--out", name, *TINY, cwd=tmp_path))
    target = tmp_path / name
    assert p.stdout.strip() == f"{N} frames, {W}x{H} at {FPS} fps -> {name.rstrip('/')}"
    assert "Traceback" not in p.stderr and "deform3d" not in p.stderr, p.stderr
    if codec is None:
        assert sorted(f.name for f in target.iterdir()) == [f"frame_{i:05d}.png" for i in range(N)]
        assert {png_size(f) for f in target.iterdir()} == {(W, H)}
    else:
        info = probe(target)
        assert (info["codec"], info["size"]) == (codec, (W, H))
        if pix_fmt:
            assert info["pix_fmt"] == pix_fmt
    frames = decode(target)
    assert len(frames) == N == round(FPS * SECONDS)
    assert_moves(frames)
    assert sorted(f.name for f in tmp_path.iterdir()) == [name.rstrip("/")]  # nothing else, no temp file


@pytest.mark.gl
def test_frames_option_gives_that_many_frames(gl, tmp_path, run_npz):
    ok(cli("record", run_npz, "--out", "x.mp4", *TINY, "--frames", "17", cwd=tmp_path))
    assert len(decode(tmp_path / "x.mp4")) == 17


@pytest.mark.gl
def test_a_run_from_either_source_records_alike_from_its_file_and_from_memory(gl, tmp_path, source):
    import deform3d

    path, run = source
    assert run.num_steps == 14
    p = ok(cli("record", path, "--out", "file.mp4", *TINY, cwd=tmp_path))
    assert p.stdout.strip() == f"{N} frames, {W}x{H} at {FPS} fps -> file.mp4"
    info = probe(tmp_path / "file.mp4")
    assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (W, H))
    frames = decode(tmp_path / "file.mp4")
    assert len(frames) == N
    assert_moves(frames)
    # The API on the run in memory (never saved, for a watched one) writes the same video.
    deform3d.record(run, tmp_path / "memory.mp4", size=(W, H), fps=FPS, duration=SECONDS, mesh=32,
                    hold_start=0.2, hold_end=0.2, progress=False)
    assert decode(tmp_path / "memory.mp4").tobytes() == frames.tobytes()


@pytest.mark.gl
def test_record_without_a_run_trains_first_and_keeps_it_with_save_run(gl, tmp_path, run_npz):
    from deform3d.core.trajectory import Trajectory

    p = ok(cli("record", "--out", "x.mp4", *TINY, *TRAIN, "--save-run", "kept.npz", cwd=tmp_path))
    assert p.stdout.strip().endswith("-> x.mp4")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["kept.npz", "x.mp4"]
    assert len(decode(tmp_path / "x.mp4")) == N
    kept, trained = Trajectory.load(tmp_path / "kept.npz"), Trajectory.load(run_npz)
    assert (kept.num_steps, kept.hidden, kept.meta["config"]["epochs"]) == (14, 3, 2)
    # The same options train the same network as `deform3d train` did: the run kept is that run.
    np.testing.assert_array_equal(kept.weights.flat(), trained.weights.flat())
    # ...and it is a run the CLI loads: recording it again gives the same frames.
    ok(cli("record", "kept.npz", "--out", "again.mp4", *TINY, cwd=tmp_path))
    assert decode(tmp_path / "again.mp4").tobytes() == decode(tmp_path / "x.mp4").tobytes()


@pytest.mark.gl
def test_same_command_twice_gives_identical_frames(gl, tmp_path):
    # Acceptance 2: training, timeline, rendering and encoding are all deterministic.
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        ok(cli("record", "--out", "x.mp4", *TINY, *TRAIN, cwd=tmp_path / name))
    a, b = decode(tmp_path / "a" / "x.mp4"), decode(tmp_path / "b" / "x.mp4")
    assert a.shape == (N, H, W, 3)
    assert a.tobytes() == b.tobytes()


# ---------------------------------------------------------------- Ctrl-C


def start(*args, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "deform3d", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"deform3d ended (exit {proc.returncode}) before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.02)


@pytest.mark.gl
@pytest.mark.parametrize("name", ["long.mp4", "long.webm"])
def test_sigint_mid_recording_keeps_a_shorter_valid_video_and_exits_130(gl, tmp_path, run_npz, name):
    total = 600  # 60 s at 10 fps: far more than the test waits for
    proc = start("record", run_npz, "--out", name, *TINY, "--duration", "60", cwd=tmp_path)
    try:
        # ffmpeg's temporary output appears beside the target once the first frame reached it.
        # ffmpeg's temporary output appears beside the target once the first frame reached it: from
        # then on there is a shorter video to keep, however many frames follow before the signal.
        wait_for(lambda: any(n.endswith(".tmp") for n in hidden_files(tmp_path)), 90, "temporary video", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    assert hidden_files(tmp_path) == []
    target = tmp_path / name
    m = re.search(rf"interrupted by SIGINT: (\d+) of {total} frames, kept in {re.escape(name)}", err)
    assert m, err
    written = int(m[1])
    assert 1 <= written < total
    frames = decode(target)
    assert len(frames) == written
    assert probe(target)["size"] == (W, H)
    assert sorted(f.name for f in tmp_path.iterdir()) == [name]


def test_sigint_while_training_writes_nothing_and_exits_130(tmp_path):
    proc = start("record", "--out", "x.mp4", *TINY, "--epochs", "100000", "--save-run", "r.npz", cwd=tmp_path)
    try:
        # Past the imports (torch is mapped into the process), so the signal lands in training.
        maps = Path(f"/proc/{proc.pid}/maps")
        wait_for(lambda: "libtorch_cpu" in maps.read_text(), 90, "torch loaded", proc)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "deform3d: interrupted" and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- bad input (acceptance 5)


BAD_TOML = "[[keyframe]]\nt = 0\nazimuth = -50 elevation = 24\n"
LACKS_DISTANCE = "[[keyframe]]\nt = 0\nazimuth = -50\nelevation = 24\n\n[[keyframe]]\nt = 1\nazimuth = 0\nelevation = 24\n"

BAD = [
    # (id, options replacing --out x.mp4 and added to TINY, message on stderr)
    ("extension", ["--out", "x.avi"], r"unknown extension '\.avi'; supported: \.mp4 \(H\.264\), \.webm \(VP9\), \.gif"),
    ("missing-folder", ["--out", "nope/x.mp4"], r"folder nope does not exist; create it first"),
    ("missing-folder-png", ["--out", "nope/frames/"], r"folder nope does not exist; create it first"),
    ("unwritable-folder", ["--out", "{locked}/x.mp4"], r"cannot write to folder {locked}"),
    ("size-0", ["--size", "0x10"], r"--size: must be 16\.\.8192 pixels per side, got 0x10"),
    ("size-negative", ["--size=-5x10"], r"--size: must be 16\.\.8192 pixels per side, got -5x10"),
    ("size-negative-spaced", ["--size", "-5x10"], r"--size: must be 16\.\.8192 pixels per side, got -5x10"),
    ("size-huge", ["--size", "9000x100"], r"--size: must be 16\.\.8192 pixels per side, got 9000x100"),
    ("size-text", ["--size", "abc"], r"--size: must be WIDTHxHEIGHT in pixels, e\.g\. 1280x720, got 'abc'"),
    ("size-odd-mp4", ["--size", "161x96"], r"--size: H\.264 \.mp4 needs an even width and height.*use 160x96 or 162x96"),
    ("fps-0", ["--fps", "0"], r"--fps: must be a finite number > 0, got 0"),
    ("fps-negative", ["--fps", "-5"], r"--fps: must be a finite number > 0, got -5"),
    ("camera-not-toml", ["--camera", "bad.toml"], r"camera file bad\.toml is not valid TOML"),
    ("camera-lacks-keys", ["--camera", "lacks.toml"], r"camera file lacks\.toml: keyframe 1 lacks 'distance'"),
    ("camera-missing", ["--camera", "none.toml"], r"camera file none\.toml does not exist"),
    ("crf-gif", ["--out", "x.gif", "--crf", "20"], r"--crf: applies to \.mp4 and \.webm only"),
    ("timecodes-not-csv", ["--timecodes", "codes.txt"], r"--timecodes must name a \.csv file, got codes\.txt"),
    ("timecodes-missing-folder", ["--timecodes", "nope/codes.csv"], r"folder nope does not exist; create it first"),
]


def check_refused(p: subprocess.CompletedProcess, match: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("deform3d"), lines[0]
    assert re.search(match, lines[0]), lines[0]
    assert p.stdout == ""


def prepare(tmp_path: Path, options: list[str]) -> tuple[list[str], Path]:
    (tmp_path / "bad.toml").write_text(BAD_TOML)
    (tmp_path / "lacks.toml").write_text(LACKS_DISTANCE)
    locked = unwritable_folder(tmp_path)
    options = [o.replace("{locked}", str(locked)) for o in options]
    if not any(o == "--out" for o in options):
        options = ["--out", "x.mp4", *options]
    return options, locked


def listing(*folders: Path) -> list:
    return [sorted(os.listdir(f)) for f in folders]


@pytest.mark.parametrize("options, match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_recording_options_fail_fast_before_training(tmp_path, options, match):
    # No RUN: a million epochs would train for many minutes, so finishing at all shows that every
    # recording option and the target were checked before training started.
    options, locked = prepare(tmp_path, options)
    before = listing(tmp_path, locked)
    t0 = time.monotonic()
    p = cli("record", *TINY, *options, "--epochs", "1000000", "--save-run", "kept.npz", cwd=tmp_path, timeout=60)
    check_refused(p, match.replace("{locked}", re.escape(str(locked))))
    assert listing(tmp_path, locked) == before  # nothing written, not even the run
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize("options, match", [b[1:] for b in BAD[::4]], ids=[b[0] for b in BAD[::4]])
def test_bad_recording_options_with_a_run(tmp_path, run_npz, options, match):
    options, locked = prepare(tmp_path, options)
    before = listing(tmp_path, locked)
    p = cli("record", run_npz, *TINY, *options, cwd=tmp_path, timeout=60)
    check_refused(p, match.replace("{locked}", re.escape(str(locked))))
    assert listing(tmp_path, locked) == before


@pytest.mark.parametrize("options, match", [
    (["--epochs", "3"], r"--epochs: training options are used only when no RUN\.npz is given"),
    (["--hidden", "2", "--lr", "0.1"], r"--hidden, --lr: training options are used only when no RUN\.npz"),
    (["--save-run", "kept.npz"], r"--save-run: training options are used only when no RUN\.npz"),
])
def test_training_options_with_a_run_are_refused(tmp_path, run_npz, options, match):
    p = cli("record", run_npz, "--out", "x.mp4", *TINY, *options, cwd=tmp_path, timeout=60)
    check_refused(p, match)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("options, match", [
    (["missing.npz"], r"trajectory missing\.npz does not exist"),
    (["--save-run", "nope/kept.npz", "--epochs", "1000000"], r"cannot write nope/kept\.npz: folder nope does not exist"),
    (["--hidden", "5"], r"--hidden: must be 2, 3 or 4, got 5"),
])
def test_bad_run_or_training_options(tmp_path, options, match):
    p = cli("record", "--out", "x.mp4", *TINY, *options, cwd=tmp_path, timeout=60)
    check_refused(p, match)
    assert list(tmp_path.iterdir()) == []
