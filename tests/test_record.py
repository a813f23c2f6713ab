"""deform3d.media.recorder against the real bundled ffmpeg: what was written is decoded and checked.

No mocks. Each video is decoded with ``imageio_ffmpeg.get_ffmpeg_exe()``: codec, pixel format,
size and frame count from ffmpeg's own description, and the pixels of every frame, whose colour
encodes the frame index (so order, count and orientation are all checked). Interrupt tests run a
recording in a child process and send it real signals.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from deform3d.core.config import ConfigError
from deform3d.core.errors import UsageError
from deform3d.media.recorder import RecordError, Recorder, RecordingInterrupted, check_target, record_frames
from folders import unwritable_folder

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
ROOT = Path(__file__).resolve().parents[1]
W, H, FPS, SECONDS = 64, 48, 10, 3
N = FPS * SECONDS  # 30 frames: fps x duration


# ---------------------------------------------------------------- frames and decoding


def colour(i: int, n: int) -> tuple[int, int, int]:
    """The background colour of frame i of n: red rises, green falls, by ~7 levels a frame."""
    r = 20 + round(200 * i / max(n - 1, 1))
    return r, 240 - r, 90


def make_frames(n: int = N, w: int = W, h: int = H, channels: int = 3) -> list[np.ndarray]:
    """n frames (h, w, channels) uint8: colour(i) everywhere but a white top-left quarter block."""
    out = []
    for i in range(n):
        f = np.empty((h, w, channels), np.uint8)
        f[...] = colour(i, n) + (255,) * (channels - 3)
        f[: h // 4, : w // 4, :3] = 255
        out.append(f)
    return out


def probe(path: Path) -> dict:
    """Codec, pixel format (with its colour tags) and size of the first video stream, per ffmpeg."""
    text = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    m = re.search(r"Video: (\w+)[^,]*, (\w+)(?:\(([^)]*)\))?, (\d+)x(\d+)", text)
    assert m, f"ffmpeg sees no video stream in {path}:\n{text}"
    return {"codec": m[1], "pix_fmt": m[2], "tags": m[3] or "", "size": (int(m[4]), int(m[5]))}


def decode(path: Path, w: int, h: int, pattern_input: bool = False) -> np.ndarray:
    """Every frame as (n, h, w, 3) uint8 RGB, one per stored frame (no frame rate conversion)."""
    src = ["-f", "image2", "-start_number", "0", "-i", str(path / "frame_%05d.png")] if pattern_input else ["-i", str(path)]
    p = subprocess.run([FFMPEG, "-v", "error", *src, "-fps_mode", "passthrough", "-f", "rawvideo",
                        "-pix_fmt", "rgb24", "-"], capture_output=True)
    assert p.returncode == 0, p.stderr.decode()
    data = np.frombuffer(p.stdout, np.uint8)
    assert data.size % (w * h * 3) == 0, "decoded bytes are not a whole number of frames of this size"
    return data.reshape(-1, h, w, 3)


def check_pixels(decoded: np.ndarray, n: int, tol: float) -> None:
    """Frame i's background is colour(i, n) within tol, its top-left block white: order and orientation."""
    assert len(decoded) == n
    h, w = decoded.shape[1:3]
    background = decoded[:, h // 2 :, w // 2 :].reshape(n, -1, 3).mean(axis=1)
    expected = np.array([colour(i, n) for i in range(n)], float)
    assert np.abs(background - expected).max() <= tol, np.abs(background - expected).max(axis=1)
    assert np.all(np.diff(background[:, 0]) > 0), "red must rise frame after frame"
    assert np.all(np.diff(background[:, 1]) < 0), "green must fall frame after frame"
    block = decoded[:, 1 : h // 4 - 2, 1 : w // 4 - 2].reshape(n, -1, 3).mean(axis=1)
    assert block.min() >= 235, "the white block must stay top-left (no vertical flip)"


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files or folders a recording may have left."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------- formats


def test_mp4_is_h264_yuv420p_bt709_faststart(tmp_path):
    out = record_frames(make_frames(), tmp_path / "run.mp4", (W, H), FPS)
    assert out == tmp_path / "run.mp4"
    info = probe(out)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["size"] == (W, H)
    assert "bt709" in info["tags"], info
    check_pixels(decode(out, W, H), N, tol=6)
    data = out.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat"), "+faststart puts the index before the data"
    assert leftovers(tmp_path) == []


def test_webm_is_vp9(tmp_path):
    out = record_frames(make_frames(), tmp_path / "run.webm", (W, H), FPS)
    info = probe(out)
    assert info["codec"] == "vp9" and info["pix_fmt"] == "yuv420p" and info["size"] == (W, H)
    check_pixels(decode(out, W, H), N, tol=6)
    assert leftovers(tmp_path) == []


def test_gif_uses_a_palette_and_loops(tmp_path):
    out = record_frames(make_frames(), tmp_path / "run.gif", (W, H), FPS)
    info = probe(out)
    assert info["codec"] == "gif" and info["size"] == (W, H)
    check_pixels(decode(out, W, H), N, tol=4)
    data = out.read_bytes()
    assert b"NETSCAPE2.0" in data, "a looping gif carries the NETSCAPE loop extension"
    # Graphic control extensions: one per frame, each delaying 100 / FPS hundredths of a second.
    delays = [int.from_bytes(data[m.start() + 4 : m.start() + 6], "little") for m in re.finditer(b"\x21\xf9\x04", data)]
    assert delays == [100 // FPS] * N


@pytest.mark.parametrize("spelling", ["frames/", "frames"])
def test_png_folder(tmp_path, spelling):
    frames = make_frames(12)
    out = record_frames(frames, str(tmp_path / spelling), (W, H), FPS)
    assert out == tmp_path / "frames" and out.is_dir()
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:05d}.png" for i in range(12)]
    assert probe(out / "frame_00000.png")["codec"] == "png"
    decoded = decode(out, W, H, pattern_input=True)
    assert np.array_equal(decoded, np.stack(frames)), "PNG frames are lossless"
    assert leftovers(tmp_path) == []


def test_png_folder_replaces_earlier_frames_but_not_other_files(tmp_path):
    out = tmp_path / "frames"
    record_frames(make_frames(12), out, (W, H), FPS)
    record_frames(make_frames(5), out, (W, H), FPS)
    assert len(list(out.iterdir())) == 5, "no stale frame of the longer first run may remain"
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="holds other files"):
        record_frames(make_frames(5), out, (W, H), FPS)
    assert (out / "notes.txt").read_text() == "mine" and len(list(out.iterdir())) == 6
    assert leftovers(tmp_path) == []


def test_outputs_get_the_permissions_a_plain_file_would(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    video = record_frames(make_frames(3), tmp_path / "v.webm", (W, H), FPS)
    folder = record_frames(make_frames(3), tmp_path / "frames/", (W, H), FPS)
    assert video.stat().st_mode & 0o777 == 0o666 & ~umask
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask


def test_rgba_frames_record_like_rgb(tmp_path):
    a = record_frames(make_frames(10), tmp_path / "rgb.mp4", (W, H), FPS)
    b = record_frames(make_frames(10, channels=4), tmp_path / "rgba.mp4", (W, H), FPS)
    assert np.array_equal(decode(a, W, H), decode(b, W, H))


@pytest.mark.parametrize("ext", ["mp4", "webm", "gif"])
@pytest.mark.parametrize("size", [(200, 120), (330, 250)])
def test_sizes_that_are_not_multiples_of_16_are_kept(tmp_path, ext, size):
    w, h = size
    out = record_frames(make_frames(6, w, h), tmp_path / f"odd.{ext}", size, FPS)
    assert probe(out)["size"] == size
    assert len(decode(out, w, h)) == 6


@pytest.mark.parametrize("ext", ["webm", "gif", "png"])
def test_odd_sizes_work_where_the_format_allows(tmp_path, ext):
    w, h = 201, 121
    path = tmp_path / (f"odd.{ext}" if ext != "png" else "odd/")
    out = record_frames(make_frames(4, w, h), path, (w, h), FPS)
    first = out / "frame_00000.png" if ext == "png" else out
    assert probe(first)["size"] == (w, h)


@pytest.mark.parametrize("ext", ["mp4", "webm", "gif"])
def test_recordings_are_deterministic(tmp_path, ext):
    a = record_frames(make_frames(), tmp_path / f"a.{ext}", (W, H), FPS)
    b = record_frames(make_frames(), tmp_path / f"b.{ext}", (W, H), FPS)
    assert np.array_equal(decode(a, W, H), decode(b, W, H))


def test_crf_changes_the_quality(tmp_path):
    # Noise defeats prediction, so the size of the file follows the quality asked for.
    noise = [np.random.default_rng(i).integers(0, 256, (H, W, 3), np.uint8) for i in range(8)]
    fine = record_frames(noise, tmp_path / "fine.mp4", (W, H), FPS, crf=10)
    coarse = record_frames(noise, tmp_path / "coarse.mp4", (W, H), FPS, crf=40)
    assert fine.stat().st_size > 2 * coarse.stat().st_size


def test_progress_counts_frames(tmp_path):
    seen, stream = [], io.StringIO()
    record_frames(make_frames(10), tmp_path / "p.mp4", (W, H), FPS, progress=lambda *c: seen.append(c), stream=stream)
    assert seen == [(i, 10) for i in range(1, 11)] and stream.getvalue() == ""


def test_existing_target_is_replaced_only_when_complete(tmp_path):
    target = tmp_path / "run.mp4"
    target.write_bytes(b"the previous video")
    with pytest.raises(RuntimeError, match="render failed"):
        with Recorder(target, (W, H), FPS) as rec:
            for i, frame in enumerate(make_frames()):
                if i == 10:
                    raise RuntimeError("render failed")
                rec.write(frame)
    assert target.read_bytes() == b"the previous video", "a failed recording leaves the target as it was"
    assert leftovers(tmp_path) == []
    record_frames(make_frames(), target, (W, H), FPS)
    assert len(decode(target, W, H)) == N


def test_encoder_failure_is_one_line_and_leaves_nothing(tmp_path):
    # The folder ffmpeg writes into vanishes mid-recording (a full or unmounted disk looks alike).
    import shutil

    with pytest.raises(RecordError, match=r"could not write .*frames: .*frame_000\d\d\.png") as e:
        with Recorder(tmp_path / "frames/", (W, H), FPS) as rec:
            for i, frame in enumerate(make_frames(200)):
                rec.write(frame)
                if i == 2:
                    deadline = time.monotonic() + 30  # ffmpeg has written a frame: then pull the folder away
                    while not any(tmp_path.glob(".frames.*/frame_*.png")):
                        assert time.monotonic() < deadline, "ffmpeg writes its frames beside the target"
                        time.sleep(0.01)  # the poll interval of a wait on a condition
                    for hidden in tmp_path.glob(".frames.*"):
                        shutil.rmtree(hidden)
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_encoder_killed_mid_recording_leaves_nothing(tmp_path):
    # ffmpeg dies (the OOM killer, say) after writing part of the file: that part must not survive.
    with pytest.raises(RecordError, match="could not write .*run.mp4: ffmpeg exited with code -9"):
        with Recorder(tmp_path / "run.mp4", (W, H), FPS) as rec:
            for i, frame in enumerate(make_frames(200)):
                rec.write(frame)
                if i == 60:
                    deadline = time.monotonic() + 10
                    while not any(p.stat().st_size for p in tmp_path.glob(".run.mp4.*.tmp")):
                        assert time.monotonic() < deadline, "ffmpeg writes beside the target"
                        time.sleep(0.01)
                    os.kill(rec._proc.pid, signal.SIGKILL)
                    rec._proc.wait()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("frame, match", [
    (np.zeros((H, W + 1, 3), np.uint8), r"shape \(48, 65, 3\).*64x48"),
    (np.zeros((H, W), np.uint8), r"shape \(48, 64\)"),
    (np.zeros((H, W, 2), np.uint8), r"shape \(48, 64, 2\)"),
    (np.zeros((H, W, 3), np.float32), "dtype float32"),
])
def test_bad_frames_raise_valueerror_and_leave_nothing(tmp_path, frame, match):
    with pytest.raises(ValueError, match=match):
        record_frames(make_frames(3) + [frame], tmp_path / "bad.mp4", (W, H), FPS)
    assert list(tmp_path.iterdir()) == []


def test_channel_count_may_not_change(tmp_path):
    with pytest.raises(ValueError, match="4 channels, earlier frames had 3"):
        record_frames(make_frames(2) + make_frames(1, channels=4), tmp_path / "bad.gif", (W, H), FPS)
    assert list(tmp_path.iterdir()) == []


def test_zero_frames_write_nothing(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        record_frames([], tmp_path / "empty.mp4", (W, H), FPS)
    with pytest.raises(ValueError, match="no frames"):
        record_frames([], tmp_path / "empty/", (W, H), FPS)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, size, fps, crf, error, match", [
    ("v.avi", (W, H), FPS, None, UsageError, r"unknown extension '\.avi'; supported: \.mp4 \(H\.264\), \.webm \(VP9\), \.gif"),
    ("v.MP4.bak", (W, H), FPS, None, UsageError, "unknown extension '.bak'"),
    ("v.mp4", (0, H), FPS, None, ConfigError, "16..8192 pixels per side, got 0x48"),
    ("v.mp4", (-64, H), FPS, None, ConfigError, "16..8192 pixels per side, got -64x48"),
    ("v.mp4", (8194, H), FPS, None, ConfigError, "16..8192 pixels per side, got 8194x48"),
    ("v.mp4", (64.0, 48), FPS, None, ConfigError, "WIDTHxHEIGHT"),
    ("v.mp4", (W, H), 0, None, ConfigError, "fps: must be a finite number > 0"),
    ("v.mp4", (W, H), -5, None, ConfigError, "fps: must be a finite number > 0"),
    ("v.mp4", (W, H), float("nan"), None, ConfigError, "fps: must be a finite number > 0"),
    ("v.mp4", (201, 121), FPS, None, ConfigError, "even width and height.*200x120 or 202x122"),
    ("v.gif", (W, H), 60, None, ConfigError, "at most 50 frames/s"),
    ("v.gif", (W, H), FPS, 20, ConfigError, "crf: applies to .mp4 and .webm only"),
    ("frames/", (W, H), FPS, 20, ConfigError, "crf: applies to .mp4 and .webm only"),
    ("v.mp4", (W, H), FPS, 52, ConfigError, "crf: must be an integer 0..51 for .mp4"),
    ("v.webm", (W, H), FPS, 64, ConfigError, "crf: must be an integer 0..63 for .webm"),
])
def test_bad_output_options_fail_before_anything_is_written(tmp_path, name, size, fps, crf, error, match):
    with pytest.raises(error, match=match) as e:
        Recorder(tmp_path / name, size, fps, crf=crf)
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder(tmp_path):
    for name in ("nope/v.mp4", "nope/frames/"):
        with pytest.raises(UsageError, match=f"folder {tmp_path / 'nope'} does not exist; create it first"):
            check_target(tmp_path / name, (W, H), FPS)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["v.mp4", "v.gif", "frames/"])
def test_unwritable_folder(tmp_path, name):
    folder = unwritable_folder(tmp_path)
    before = sorted(os.listdir(folder))
    with pytest.raises(UsageError, match=f"cannot write to folder {folder}"):
        Recorder(folder / name, (W, H), FPS)
    assert sorted(os.listdir(folder)) == before


def test_target_that_is_the_wrong_kind_of_thing(tmp_path):
    (tmp_path / "v.mp4").mkdir()
    (tmp_path / "frames").write_text("a file")
    with pytest.raises(UsageError, match="it is a folder"):
        check_target(tmp_path / "v.mp4", (W, H), FPS)
    with pytest.raises(UsageError, match="it is a file"):
        check_target(tmp_path / "frames", (W, H), FPS)


def test_record_imports_neither_torch_nor_vispy_nor_scipy():
    code = "import sys, deform3d.media.recorder; print(sorted({'torch', 'vispy', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


# ---------------------------------------------------------------- signals

CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    from deform3d.media.recorder import Recorder, RecordingInterrupted

    path, total, first_delay, render = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    frame = lambda i: np.full((48, 64, 3), i % 256, np.uint8)
    try:
        with Recorder(path, (64, 48), 10, total=total) as rec:
            print("recording", flush=True)
            deadline = time.monotonic() + first_delay
            while time.monotonic() < deadline and rec.interrupted is None:
                time.sleep(0.01)  # a slow first render
            noted = False
            for i in range(total):
                rec.write(frame(i))
                print("frame", i + 1, flush=True)
                deadline = time.monotonic() + render
                while time.monotonic() < deadline:  # a slow render, which says when a signal was noted
                    if rec.interrupted and not noted:
                        print("noted", rec.interrupted, flush=True)
                        noted = True
                    time.sleep(0.002)
    except RecordingInterrupted as e:
        print("stopped", e.written, flush=True)
        sys.exit(3)
""")


def run_child(tmp_path: Path, target: str, total: int, send: signal.Signals, after: int,
              first_delay: float = 0.0, render: float = 0.02, twice: bool = False):
    """Record ``total`` frames slowly in a child (``render`` s a frame, ``first_delay`` s before the
    first), send ``send`` once ``after`` frames were written; returns (rc, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [str(tmp_path / target), str(total), str(first_delay), str(render)]
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    try:
        while True:
            line = child.stdout.readline()
            assert line, f"child ended early: {child.stderr.read()}"
            lines.append(line)
            if line.startswith("recording") and after == 0 or line == f"frame {after}\n":
                break
        child.send_signal(send)
        if twice:  # the second only once the first was handled (two pending signals would be one)
            while not (line := child.stdout.readline()).startswith("noted"):
                assert line, f"child ended early: {child.stderr.read()}"
                lines.append(line)
            lines.append(line)
            child.send_signal(send)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    return child.returncode, "".join(lines) + out, err


@pytest.mark.parametrize("send, target", [
    (signal.SIGINT, "run.mp4"),
    (signal.SIGINT, "run.webm"),
    (signal.SIGINT, "run.gif"),
    (signal.SIGINT, "frames/"),
])
def test_signal_mid_recording_keeps_a_valid_shorter_video(tmp_path, send, target):
    total = 400
    rc, out, err = run_child(tmp_path, target, total, send, after=8)
    assert rc == 3, (out, err)
    written = int(re.search(r"stopped (\d+)", out)[1])
    assert 8 <= written < total
    assert re.search(rf"interrupted by {send.name}: {written} of {total} frames, kept in .*{target.rstrip('/')}", err), err
    path = tmp_path / target
    if target.endswith("/"):
        assert len(list(path.iterdir())) == written
    else:
        decoded = decode(path, 64, 48)
        assert len(decoded) == written
        # The frames kept are the first ones, in order (frame i is grey level i).
        assert np.abs(decoded[:, 20, 30, 0].astype(int) - np.arange(written)).max() <= 3
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("target", ["run.mp4", "run.gif", "frames/"])
def test_sigterm_mid_recording_abandons_it_and_the_previous_file_survives(tmp_path, target):
    # SIGTERM is a kill (a scheduler's, the system's), not a request for a shorter video.
    previous = tmp_path / target.rstrip("/")
    if target.endswith("/"):
        previous.mkdir()
        (previous / "frame_00000.png").write_bytes(b"the previous frame")
    else:
        previous.write_bytes(b"the previous video")
    before = sorted((p.relative_to(tmp_path), p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*"))
    rc, out, err = run_child(tmp_path, target, 400, signal.SIGTERM, after=8)
    assert rc == -signal.SIGTERM, (rc, out, err)  # cleaned up, then died by the signal as by default
    assert f"recording abandoned (SIGTERM); {previous} is unchanged" in err and "Traceback" not in err, err
    assert sorted((p.relative_to(tmp_path), p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*")) == before
    assert leftovers(tmp_path) == []


def test_signal_in_process_stops_at_the_next_frame_and_restores_handlers(tmp_path):
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    stream = io.StringIO()
    with pytest.raises(RecordingInterrupted) as e:
        with Recorder(tmp_path / "run.gif", (W, H), FPS, total=N, stream=stream) as rec:
            for i, frame in enumerate(make_frames()):
                rec.write(frame)
                if i == 9:
                    os.kill(os.getpid(), signal.SIGINT)  # handled between two Python bytecodes
    assert isinstance(e.value, KeyboardInterrupt)
    assert (e.value.written, e.value.total, e.value.signal_name) == (10, N, "SIGINT")
    assert stream.getvalue() == f"deform3d: recording interrupted by SIGINT: 10 of {N} frames, kept in {tmp_path / 'run.gif'}\n"
    assert len(decode(tmp_path / "run.gif", W, H)) == 10
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("send", [signal.SIGINT, signal.SIGTERM])
def test_signal_before_the_first_frame_writes_nothing(tmp_path, send):
    rc, out, err = run_child(tmp_path, "run.mp4", 50, send, after=0, first_delay=30)
    if send == signal.SIGINT:
        assert rc == 3, (out, err)
        assert f"interrupted by {send.name}: 0 of 50 frames, nothing written" in err
    else:
        assert rc == -signal.SIGTERM and "Traceback" not in err, (rc, out, err)
    assert list(tmp_path.iterdir()) == []


def test_second_signal_abandons_the_recording(tmp_path):
    # Both Ctrl-Cs land while the child renders its second frame (0.5 s): the second raises a plain
    # KeyboardInterrupt there, the recording is abandoned, and the target keeps what it held.
    (tmp_path / "run.mp4").write_bytes(b"the previous video")
    rc, out, err = run_child(tmp_path, "run.mp4", 20, signal.SIGINT, after=1, render=0.5, twice=True)
    assert rc != 0 and "KeyboardInterrupt" in err
    assert "recording abandoned after a second SIGINT" in err
    assert (tmp_path / "run.mp4").read_bytes() == b"the previous video"
    assert leftovers(tmp_path) == []
