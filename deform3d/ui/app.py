"""The interactive window, ``deform3d show``: what it needs from the machine, and how it starts.

Owns: the checks that run before any Qt import (Qt installed? a display to open a window on?),
each failing with one line that says what to do; turning the options into a window; and the debug
hook the window tests read. The window itself lives in ``deform3d.ui.window``, imported only here,
only after the checks: the core and the headless paths (``train``, ``render``, ``record``) never
import Qt.

Debug hook: with ``DEFORM3D_DEBUG_STATE=PATH`` in the environment the window writes its state as
JSON to PATH (atomically: a temporary file, then a rename) after every frame and every change:
step, slider range, playing, camera angles, frames drawn and frames per second, training progress,
the files written by ``s`` and ``v``, the event loop's lateness, and where the panels and the slider are on the screen (global
X coordinates), so a test can aim xdotool at them. See ``Window.state`` for every field.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import sys
from pathlib import Path

from ..core.config import RenderConfig, TrainConfig
from ..core.errors import UsageError

GUI_MISSING = "the window needs Qt, which is not installed: pip install 'deform3d[gui]'"
NO_DISPLAY = (
    "no display to open a window on ($DISPLAY is not set); render without one: "
    "`deform3d render RUN.npz --out still.png` or `deform3d record RUN.npz --out video.mp4`"
)
STATE_ENV = "DEFORM3D_DEBUG_STATE"


def check_gui() -> None:
    """Raise UsageError (one line) unless Qt for Python imports and there is a display to use."""
    if importlib.util.find_spec("PySide6") is None:
        raise UsageError(GUI_MISSING)
    try:
        import PySide6.QtOpenGLWidgets  # noqa: F401 - the part VisPy's Qt backend needs
        import PySide6.QtWidgets  # noqa: F401
    except ImportError as e:
        raise UsageError(f"{GUI_MISSING} ({str(e).splitlines()[0][:100]})") from None
    if sys.platform in ("darwin", "win32"):
        return
    display, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not display and not wayland:
        raise UsageError(NO_DISPLAY)
    if display and not wayland and not _x_display_opens(display):
        # Qt would abort the whole process (a core dump, no message worth reading) on this.
        raise UsageError(
            f"cannot open the X display {display!r}; is the X server running and may this "
            f"user connect? Without a display use `deform3d render` or `deform3d record`"
        )


def _x_display_opens(name: str) -> bool:
    """Whether Xlib can connect to display ``name``; True when Xlib itself is not there to ask."""
    lib = ctypes.util.find_library("X11")
    if lib is None:
        return True
    try:
        x11 = ctypes.CDLL(lib)
    except OSError:
        return True
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = x11.XOpenDisplay(name.encode())
    if not handle:
        return False
    x11.XCloseDisplay(handle)
    return True


def show(
    run=None,
    train: TrainConfig | None = None,
    render: RenderConfig = RenderConfig(),
    save_dir: str | Path = ".",
    play: bool = False,
    full_detail: bool = False,
    font_scale: float = 1.0,
) -> int:
    """Open the window and block until it closes; returns the exit code (0).

    ``run``: a Trajectory or a ``.npz`` path to explore, or None to train ``train`` (a TrainConfig;
    None: the defaults) live in a background thread. ``render``: the picture's options; its size is
    the picture's size inside the window (what ``s`` and ``v`` save). ``save_dir``: where ``s``
    (PNG) and ``v`` (MP4) write. ``play``: start playing at once. ``full_detail``: keep the full
    mesh while the view moves (by default playback and drags draw the video's mesh, config.motion_mesh:
    96 per side for the default 256, less than half as costly per frame on a software renderer;
    stills and screenshots always get the full mesh).
    ``font_scale``: every text in the window (picture and controls) times this, 0.5 to 3 (the
    keys + and - change it while the window is open).
    """
    if not (isinstance(font_scale, (int, float)) and 0.5 <= font_scale <= 3.0):
        raise UsageError(f"--font-scale must be a number from 0.5 to 3, got {font_scale!r}")
    save_dir = Path(save_dir)
    if not save_dir.is_dir():
        raise UsageError(f"--save-dir {save_dir} is not a folder; screenshots and videos go there")
    source = None
    if run is not None:  # a bad file is the more useful error, so it comes before the environment's
        from ..core.trajectory import Trajectory

        if not isinstance(run, Trajectory):
            source = Path(run)
            run = Trajectory.load(source)
    elif train is None:
        train = TrainConfig()
    check_gui()

    from .window import open_window  # Qt, from here on

    state = os.environ.get(STATE_ENV) or None
    return open_window(
        run=run,
        source=source,
        train=train,
        render=render,
        save_dir=save_dir,
        play=play,
        state_path=Path(state) if state else None,
        full_detail=full_detail,
        font_scale=float(font_scale),
    )
