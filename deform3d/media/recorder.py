"""Frames -> a video file or a folder of PNGs, through the ffmpeg bundled with imageio-ffmpeg.

Owns: the output formats, the encoder settings, the temporary-file-then-rename dance, and what
Ctrl-C does to a recording. Frames reach the encoder at exactly one place (``Recorder.write``),
whatever the format. Imports numpy and imageio_ffmpeg only: never torch, VisPy or scipy; it
neither knows nor cares where frames come from.

The output format follows the target path:

- ``.mp4``: H.264 (libx264), yuv420p, tagged BT.709, ``+faststart`` (plays while downloading).
- ``.webm``: VP9 (libvpx-vp9), yuv420p, tagged BT.709, constant quality.
- ``.gif``: 256-colour palette made per frame (palettegen/paletteuse in one filter graph, ordered
  dithering), loops forever. Per-frame palettes stream at constant memory; one global palette
  would make ffmpeg hold every frame until the end (3.7 GB for 10 s of 1080p60).
- a path ending in ``/`` or with no extension: a folder of ``frame_00000.png``, ``frame_00001.png``...

Sizes: the video is exactly the size asked, never resized (imageio's ``macro_block_size`` rounding
is not used). H.264 in yuv420p cannot encode an odd width or height, so an odd size for ``.mp4``
is refused up front with the nearest even sizes suggested, rather than padded: the file is either
the size you asked or you are told why not. VP9, GIF and PNG take any size. A GIF's frame delays
are in 1/100 s and players slow delays under 2/100 s to 1/10 s, so a ``.gif`` above 50 fps is
refused rather than played at the wrong speed.

Safety: ffmpeg writes a hidden temporary file (or folder) beside the target, renamed onto it only
when complete. Inside ``with Recorder(...)``, the first SIGINT (Ctrl-C) stops the recording at the
next frame: the frames so far become a valid, shorter video at the target, a line on stderr says
how many of how many, and ``RecordingInterrupted`` (a KeyboardInterrupt) propagates so callers
stop too. SIGTERM is a scheduler's or the system's kill, not a request for a shorter video: it
abandons the recording at once (``Terminated`` propagates; where SIGTERM's handler was the default,
the process then dies by it as it would have). A second SIGINT, or any other exception, abandons
the recording too. Abandoned, the target keeps what it held before, and no temporary file is left
behind either way (short of SIGKILL). No ffmpeg (``IMAGEIO_FFMPEG_EXE`` naming nothing, or no
bundled binary) is reported by ``check_target``, before any work, as a RuntimeFault.
Frames are expected top row first: whoever reads pixels back from OpenGL flips them.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..core.config import CRF_DEFAULT, CRF_MAX, check_fps, check_size
from ..core.errors import ConfigError, RuntimeFault, Terminated, UsageError
from ..core.files import check_writable
from ..core.progress import Progress

VIDEO_FORMATS = {".mp4": "mp4", ".webm": "webm", ".gif": "gif"}
SUPPORTED = ".mp4 (H.264), .webm (VP9), .gif, or a folder of PNG frames (a path ending in '/')"
PNG_NAME = "frame_{:05d}.png"
MAX_GIF_FPS = 50
# x264 "veryfast" keeps encoding ahead of rendering on two shared cores (docs/design.md: ~80 fps at 720p
# against ~35 for "medium"); at a constant crf the cost is a somewhat larger file, not a worse picture.
X264_PRESET = "veryfast"
# VP9's "good" deadline at cpu-used 5: about 3x faster than libvpx's default (cpu-used 0; measured
# 38 against 12 fps on 720p test frames here), which would make rendering wait on the encoder.
VP9_SPEED = ["-deadline", "good", "-cpu-used", "5", "-row-mt", "1"]
# RGB -> yuv420p by BT.709 in limited range, and say so in the stream: untagged video leaves each
# player to guess a matrix, and guesses differ (colours shift between browsers).
BT709 = (
    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
)
GIF_GRAPH = (
    "[0:v]format=rgb24,split[a][b];[a]palettegen=stats_mode=single:reserve_transparent=0[p];"
    "[b][p]paletteuse=new=1:dither=bayer:bayer_scale=3"
)


class RecordError(RuntimeFault):
    """ffmpeg failed while writing (a full disk, a vanished folder...); the target is untouched."""


class RecordingInterrupted(KeyboardInterrupt):
    """A recording stopped early by SIGINT or SIGTERM, after its shorter video was finished.

    ``path``: where the frames went (None if none were written), ``written`` and ``total`` (total
    None when unknown), ``signal_name``: "SIGINT" or "SIGTERM". A KeyboardInterrupt, so a caller
    that does not catch it stops as on any Ctrl-C.
    """

    def __init__(self, path: Path | None, written: int, total: int | None, signal_name: str):
        self.path, self.written, self.total, self.signal_name = path, written, total, signal_name
        of = f" of {total}" if total is not None else ""
        where = f"kept in {path}" if path is not None else "nothing written"
        super().__init__(f"recording interrupted by {signal_name}: {written}{of} frames, {where}")


@dataclass(frozen=True)
class Target:
    """A checked output: ``path`` (the final file or folder) and ``kind``: mp4, webm, gif or png."""

    path: Path
    kind: str


def target_kind(path: str | Path) -> str:
    """The format a path asks for: mp4, webm, gif, or png (a folder); UsageError otherwise."""
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or not Path(text).suffix:
        return "png"
    suffix = Path(text).suffix.lower()
    if suffix not in VIDEO_FORMATS:
        raise UsageError(f"cannot write {text}: unknown extension {Path(text).suffix!r}; supported: {SUPPORTED}")
    return VIDEO_FORMATS[suffix]


def check_target(path: str | Path, size, fps, crf: int | None = None) -> Target:
    """Check everything about an output that needs no frame, before any work is done.

    ``size``: (width, height) in pixels; ``fps`` > 0; ``crf``: None or the format's range.
    Raises ConfigError (a bad size, fps or crf for this format) or UsageError (unknown extension,
    a missing or unwritable folder, a PNG folder holding other files). Writes nothing that stays.
    """
    kind = target_kind(path)
    w, h = check_size(size)
    fps = check_fps(fps)
    if kind == "mp4" and (w % 2 or h % 2):
        even = " or ".join(f"{a}x{b}" for a, b in sorted({(w - w % 2, h - h % 2), (w + w % 2, h + h % 2)}))
        raise ConfigError(
            "size",
            f"H.264 .mp4 needs an even width and height (yuv420p halves the colour "
            f"resolution), got {w}x{h}; use {even}, or write .webm, .gif or PNGs, which take any size",
        )
    if kind == "gif" and fps > MAX_GIF_FPS:
        raise ConfigError(
            "fps",
            f"a .gif plays at most {MAX_GIF_FPS} frames/s (its delays are in 1/100 s and "
            f"players slow shorter ones), got {fps:g}; use {MAX_GIF_FPS} or less, e.g. 25",
        )
    if crf is not None:
        if kind not in CRF_MAX:
            raise ConfigError(
                "crf", "applies to .mp4 and .webm only; a .gif uses a palette and PNG frames are lossless"
            )
        if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= CRF_MAX[kind]:
            raise ConfigError("crf", f"must be an integer 0..{CRF_MAX[kind]} for .{kind}, got {crf!r}")
    target = Path(os.fspath(path))
    ffmpeg_exe()  # every format goes through ffmpeg (PNG frames too): no ffmpeg, no work started
    if kind == "png":
        _check_png_folder(target)
    else:
        check_writable(target)
    return Target(target, kind)


def _check_png_folder(folder: Path) -> None:
    parent = folder.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write PNG frames to {folder}/: folder {parent} does not exist; create it first")
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"cannot write PNG frames to {folder}: it is a file; give a folder (a path ending in '/') or a video name"
        )
    if folder.is_dir():
        # Replacing a folder of our own frames is like overwriting a video; anything else is not ours.
        foreign = sorted(p.name for p in folder.iterdir() if not _is_frame_name(p.name))
        if foreign:
            raise UsageError(
                f"cannot write PNG frames to {folder}/: it holds other files ({foreign[0]}); "
                f"choose a new or empty folder"
            )
    try:
        probe = tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".probe", dir=parent)
    except OSError as e:
        raise UsageError(f"cannot write to folder {parent}: {e.strerror or e}; choose another --out") from None
    os.rmdir(probe)


def _is_frame_name(name: str) -> bool:
    stem, dot, ext = name.partition(".")
    return ext == "png" and stem.startswith("frame_") and stem[6:].isdigit()


class Recorder:
    """``with Recorder(path, (w, h), fps) as rec: rec.write(frame)``: frames to a video or PNGs.

    path: the target (format by extension, see the module docstring). size: (width, height)
    pixels. fps: frames per second. crf: constant quality for .mp4/.webm (None: CRF_DEFAULT).
    total: frames expected, for the progress bar and the interrupt message (None: unknown).
    progress: True/None, False or a callable (done, total), as in deform3d.progress (a bar with
    frames/s and ETA on a terminal, a widget in Jupyter, a line every tenth elsewhere).
    stream: where the bar and the interrupt line go (default stderr).

    All checks of ``check_target`` run in the constructor, before any work. ffmpeg starts at the
    first frame, in its own process (and session, so a terminal's Ctrl-C reaches only us): it
    encodes while the caller renders the next frame. Signal handling needs the ``with`` form; used
    without it, call ``close()`` to finish or ``abort()`` to discard.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(
        self,
        path: str | Path,
        size,
        fps: float,
        *,
        crf: int | None = None,
        total: int | None = None,
        progress=True,
        stream=None,
    ):
        self.target = check_target(path, size, fps, crf)
        self.path = self.target.path
        self.width, self.height = check_size(size)
        self.fps = check_fps(fps)
        self.crf = CRF_DEFAULT.get(self.target.kind) if crf is None else crf
        self.total = None if total is None else int(total)
        self.stream = stream or sys.stderr
        self.written = 0
        self.interrupted: str | None = None  # the signal's name once one arrived
        self._channels: int | None = None
        self._proc: subprocess.Popen | None = None
        self._tmp: Path | None = None
        self._log = None
        self._closed = False
        self._saved_handlers: dict = {}
        self._bar = Progress(
            self.total or 0,
            f"recording {self.path.name}",
            "frame",
            progress if self.total else False,
            stream=self.stream,
        )

    # ------------------------------------------------------------ context and signals

    def __enter__(self) -> "Recorder":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                previous = signal.getsignal(sig)
                if previous is signal.SIG_IGN:
                    continue  # nohup or a background job: whoever ignored it meant it
                self._saved_handlers[sig] = previous
                signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum, frame) -> None:
        if signum == signal.SIGTERM:
            # A kill, not a request for a shorter video: stop now; __exit__ abandons the recording.
            self.interrupted = "SIGTERM"
            raise Terminated("SIGTERM")
        if self.interrupted is None:
            # Only note it: the frame being written finishes, and write() stops before the next.
            self.interrupted = signal.Signals(signum).name
            return
        self._restore_handlers()
        raise KeyboardInterrupt  # a second signal: stop now, abandon the recording

    def _restore_handlers(self) -> None:
        for sig, handler in self._saved_handlers.items():
            signal.signal(sig, handler)
        self._saved_handlers = {}

    def __exit__(self, exc_type, exc, tb) -> bool:
        default_term = self._saved_handlers.get(signal.SIGTERM) == signal.SIG_DFL
        try:
            if exc is None:
                self.close()
            elif isinstance(exc, RecordingInterrupted):
                try:
                    self.close()
                except RecordingInterrupted:
                    pass  # the same stop, already on its way out of the ``with``
            else:
                self.abort()
        finally:
            self._restore_handlers()
        if isinstance(exc, Terminated) and default_term:
            os.kill(os.getpid(), signal.SIGTERM)  # cleaned up: now die by it, as the default handler would
        return False

    # ------------------------------------------------------------ frames

    def write(self, frame: np.ndarray) -> None:
        """Append one frame: (height, width, 3) RGB or (height, width, 4) RGBA uint8, top row first.

        Alpha is dropped (videos are opaque). Raises ValueError on a wrong shape or dtype,
        RecordError if ffmpeg failed, RecordingInterrupted once a signal arrived (this frame and
        later ones are not written; leaving the ``with`` finishes the shorter video).
        """
        if self._closed:
            raise ValueError(f"recording to {self.path} is already closed")
        if self.interrupted is not None:
            raise RecordingInterrupted(self.path if self.written else None, self.written, self.total, self.interrupted)
        frame = np.asarray(frame)
        expect = f"({self.height}, {self.width}, 3) or ({self.height}, {self.width}, 4) uint8"
        if frame.dtype != np.uint8:
            raise ValueError(f"frame {self.written} has dtype {frame.dtype}; expected {expect}")
        if frame.ndim != 3 or frame.shape[:2] != (self.height, self.width) or frame.shape[2] not in (3, 4):
            raise ValueError(
                f"frame {self.written} has shape {frame.shape}; this recording is "
                f"{self.width}x{self.height}: expected {expect}"
            )
        if self._channels is None:
            self._start(frame.shape[2])
        elif frame.shape[2] != self._channels:
            raise ValueError(f"frame {self.written} has {frame.shape[2]} channels, earlier frames had {self._channels}")
        try:
            # The one place frames enter the encoder.
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except OSError:  # a broken pipe: ffmpeg died (its log says why)
            raise self._failure() from None
        self.written += 1
        if self._bar is not None:
            self._bar.update()

    def _start(self, channels: int) -> None:
        folder, name = self.path.parent, self.path.name
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        # A name of our own rather than mkstemp's: ffmpeg creates the file with the usual
        # permissions (mkstemp's are 0600, which would then stick to the renamed video).
        self._tmp = folder / f".{name}.{token}.tmp"
        if self.target.kind == "png":
            os.mkdir(self._tmp)
            out = [
                "-c:v",
                "png",
                "-pix_fmt",
                "rgb24",
                "-start_number",
                "0",
                "-f",
                "image2",
                str(self._tmp / PNG_NAME.replace("{:05d}", "%05d")),
            ]
        else:
            out = self._codec_args() + [str(self._tmp)]
        cmd = [
            _ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24" if channels == 3 else "rgba",
            "-s",
            f"{self.width}x{self.height}",
            "-r",
            str(Fraction(self.fps).limit_denominator(1001)),
            "-i",
            "pipe:0",
            "-an",
            "-y",
        ] + out
        self._log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty ffmpeg never blocks on it
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True
        )
        self._channels = channels

    def _codec_args(self) -> list[str]:
        kind = self.target.kind
        if kind == "mp4":
            return [
                "-vf",
                BT709,
                "-c:v",
                "libx264",
                "-preset",
                X264_PRESET,
                "-crf",
                str(self.crf),
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
            ]
        if kind == "webm":
            return [
                "-vf",
                BT709,
                "-c:v",
                "libvpx-vp9",
                "-crf",
                str(self.crf),
                "-b:v",
                "0",
                *VP9_SPEED,
                "-pix_fmt",
                "yuv420p",
                "-f",
                "webm",
            ]
        return ["-filter_complex", GIF_GRAPH, "-c:v", "gif", "-loop", "0", "-f", "gif"]

    def _failure(self) -> RecordError:
        """Stop ffmpeg, discard its output, and describe why it failed in one line."""
        try:
            self._proc.stdin.close()
        except OSError:
            pass  # the pipe broke with ffmpeg
        rc = self._proc.wait()
        self._end_bar()
        self._discard()
        self._closed = True
        return RecordError(
            f"could not write {self.path}: {_first_error(self._read_log(), rc)}; {self.path.name} is unchanged"
        )

    def _end_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()  # the last count, then a newline
            self._bar = None

    def _read_log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode(errors="replace")
        self._log.close()
        self._log = None
        return text

    # ------------------------------------------------------------ the end

    def close(self) -> Path | None:
        """Finish the recording and move it onto the target; returns the target.

        With no frame written nothing is created: after a signal that is reported (and
        RecordingInterrupted raised), otherwise it is a ValueError. After a signal with frames
        written the shorter video is kept, reported on ``stream``, then RecordingInterrupted raised.
        """
        if self._closed:
            return self.path if self.written else None
        self._end_bar()
        try:
            if self._proc is not None:
                try:
                    self._proc.stdin.close()  # end of input: ffmpeg finishes the file and exits
                except OSError:
                    pass  # ffmpeg died; its exit code and log say why, just below
                if self._proc.wait() != 0:
                    raise self._failure()
                self._read_log()
                self._publish()
        except BaseException:
            self.abort()  # a second Ctrl-C while ffmpeg finishes: leave nothing half-done
            raise
        self._closed = True
        if self.interrupted is not None:
            error = RecordingInterrupted(
                self.path if self.written else None, self.written, self.total, self.interrupted
            )
            self._say(f"deform3d: {error}")
            raise error
        if not self.written:
            raise ValueError(f"no frames were written; nothing recorded at {self.path}")
        return self.path

    def abort(self) -> None:
        """Abandon the recording: stop ffmpeg, remove the temporary output; the target is untouched."""
        if self._closed:
            return
        self._closed = True
        self._end_bar()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        if self._proc is not None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass  # the pipe may be broken already; ffmpeg is gone either way
            self._proc.wait()
        self._read_log()
        self._discard()
        if self.interrupted == "SIGTERM":
            self._say(f"deform3d: recording abandoned (SIGTERM); {self.path} is unchanged")
        elif self.interrupted is not None:
            self._say(f"deform3d: recording abandoned after a second {self.interrupted}; {self.path} is unchanged")

    def _publish(self) -> None:
        if self.target.kind != "png":
            os.replace(self._tmp, self.path)
        elif not self.path.exists():
            os.replace(self._tmp, self.path)
        else:
            # A folder of our earlier frames: swap it out whole, so no stale frame outlives the swap.
            old = self.path.parent / f".{self.path.name}.{secrets.token_hex(4)}.old"
            os.replace(self.path, old)
            os.replace(self._tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        self._tmp = None

    def _discard(self) -> None:
        if self._tmp is not None:
            if self._tmp.is_dir():
                shutil.rmtree(self._tmp, ignore_errors=True)
            else:
                self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def _say(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed terminal must not turn a finished video into a traceback


def record_frames(
    frames,
    path: str | Path,
    size,
    fps: float,
    *,
    crf: int | None = None,
    total: int | None = None,
    progress=True,
    stream=None,
) -> Path:
    """Write an iterable of frames ((height, width, 3|4) uint8 each) to ``path``; returns the path.

    ``total`` defaults to ``len(frames)`` when it has one. Interrupted by SIGINT or SIGTERM, it
    keeps the shorter video and raises RecordingInterrupted. See Recorder for the rest.
    """
    if total is None and hasattr(frames, "__len__"):
        total = len(frames)
    with Recorder(path, size, fps, crf=crf, total=total, progress=progress, stream=stream) as rec:
        for frame in frames:
            rec.write(frame)
    return rec.path


def _first_error(log: str, returncode: int) -> str:
    """ffmpeg's first error line, without its "[muxer @ 0x...]" prefix: the cause, not the fallout."""
    lines = [re.sub(r"^\[[^\]]*\] ", "", ln.strip()) for ln in log.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("Last message repeated")]
    return lines[0] if lines else f"ffmpeg exited with code {returncode}"


NO_FFMPEG_FIX = (
    "unset IMAGEIO_FFMPEG_EXE or point it to an ffmpeg executable, or reinstall the bundled one: "
    "pip install --force-reinstall imageio-ffmpeg"
)


def ffmpeg_exe() -> str:
    """The ffmpeg executable recordings use (``IMAGEIO_FFMPEG_EXE``, else imageio-ffmpeg's bundled
    one); RuntimeFault, in one line with the fix, when there is none that can run."""
    import imageio_ffmpeg  # light, but only recording needs it

    named = os.environ.get("IMAGEIO_FFMPEG_EXE")
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (RuntimeError, OSError) as e:
        raise RuntimeFault(
            f"no ffmpeg found to encode video ({str(e).splitlines()[0][:80]}); {NO_FFMPEG_FIX}"
        ) from None
    found = shutil.which(exe) or (exe if os.path.isfile(exe) and os.access(exe, os.X_OK) else None)
    if found is None:
        where = f"IMAGEIO_FFMPEG_EXE={named}" if named else exe
        raise RuntimeFault(f"no ffmpeg to encode video: {where} is not an executable file; {NO_FFMPEG_FIX}")
    return found


def _ffmpeg() -> str:
    return ffmpeg_exe()
