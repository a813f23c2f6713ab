"""Headless rendering through EGL: frames as numpy arrays, with no display and no GPU needed.

Owns: arranging EGL before VisPy loads (Mesa needs ``EGL_PLATFORM=surfaceless``; the user never
sets it), the clear error where no GL exists, supersampling, the Renderer that turns
(step, camera) into an (H, W, 3) uint8 frame, and the process's one GL thread.

The GL thread: an EGL context is current on one thread at a time, and VisPy makes a canvas's
context current where the canvas is made and drawn. Callers come from many threads (a notebook's
widget messages arrive on a kernel subshell thread, the display call on the main one), so every
call into VisPy for an offscreen canvas, from creating the application to closing a canvas, goes
through ``gl_call``, which runs it on one long-lived daemon thread and hands back its result or
its exception. Any thread may then ask for a frame. Imports VisPy lazily; never torch.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import queue
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from ..core.config import RenderConfig
from ..core.errors import RuntimeFault
from ..core.files import atomic_path

NO_GL = (
    "no OpenGL for headless rendering (EGL) was found: install Mesa's EGL "
    "(Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri)"
)

_app = None
_gl_thread: "_GLThread | None" = None
_gl_lock = threading.Lock()


class _GLThread:
    """One daemon thread that runs the calls it is given, in order (see the module docstring).

    A daemon, so a kernel or script exits without closing canvases first; a call's exception is
    re-raised in the caller's thread. Not a ThreadPoolExecutor: its workers are joined at exit,
    which would make exit wait for a frame being drawn.
    """

    def __init__(self):
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="deform3d-gl", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            fn, args, kwargs, future = self._calls.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as e:  # handed to the caller, whatever it is
                future.set_exception(e)
            del fn, args, kwargs, future  # drop references (a closed canvas) before waiting again

    def submit(self, fn, *args, **kwargs) -> Future:
        """Queue ``fn`` on the GL thread and return at once: a Future of its result."""
        future: Future = Future()
        self._calls.put((fn, args, kwargs, future))
        return future

    def call(self, fn, *args, **kwargs):
        if threading.current_thread() is self.thread:
            return fn(*args, **kwargs)  # already on it (a call made from inside a call)
        future: Future = Future()
        self._calls.put((fn, args, kwargs, future))
        try:
            return future.result()
        finally:
            del future  # the exception's traceback refers to the frame holding it


def _thread() -> "_GLThread":
    global _gl_thread
    if _gl_thread is None:
        with _gl_lock:
            if _gl_thread is None:
                _gl_thread = _GLThread()
    return _gl_thread


def gl_call(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` on the process's GL thread; return its result or raise its error."""
    return _thread().call(fn, *args, **kwargs)


def gl_submit(fn, *args, **kwargs) -> Future:
    """Queue ``fn(*args, **kwargs)`` on the process's GL thread without waiting: its Future."""
    return _thread().submit(fn, *args, **kwargs)


def egl_app():
    """VisPy's EGL application, set up once per process. Raises RuntimeFault where EGL is missing.

    Canvases made with it must be made, drawn and closed through ``gl_call``.
    """
    if _app is not None:
        return _app
    return gl_call(_make_egl_app)


def warm_up() -> None:
    """Start loading VisPy and EGL on the GL thread now, and return at once: a caller about to do
    something long first (training) gets the renderer's start-up (about a second on two cores)
    overlapped with it. A failure surfaces at the next ``egl_app()``, which tries again."""
    if _app is None:
        gl_submit(_make_egl_app)


def _make_egl_app():
    global _app
    if _app is not None:
        return _app
    if "vispy.app.backends._egl" not in sys.modules:
        # Mesa's EGL fails eglInitialize with no display unless told to go surfaceless.
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    try:
        from vispy import app

        _app = app.Application("egl")
    except Exception as e:  # VisPy raises plain RuntimeError/ImportError/OSError from ctypes here
        raise RuntimeFault(f"{NO_GL} ({str(e).splitlines()[0][:100] if str(e) else type(e).__name__})") from None
    return _app


def close_canvas(canvas) -> None:
    """Close an offscreen canvas and free its GL memory. On the GL thread.

    VisPy's EGL backend gives every canvas an EGL context of its own, keeps every canvas it made in
    a module list and, on close, destroys only the pbuffer surface: each closed canvas kept its
    context, with every buffer and texture in it, alive (~130 MB a scene: a sweep's atlas, a
    notebook re-run or a test suite grew by that per picture). Here the canvas leaves that list and
    its context, unless another canvas shares it, is destroyed with the objects in it.
    """
    backend = getattr(canvas, "_backend", None)
    canvas.close()
    if backend is None or type(backend).__module__ != "vispy.app.backends._egl":
        return
    from vispy.app.backends import _egl
    from vispy.ext import egl

    windows = _egl._VP_EGL_ALL_WINDOWS
    if backend in windows:
        windows.remove(backend)
    context = getattr(backend, "_native_context", None)
    if context is None or any(getattr(w, "_native_context", None) is context for w in windows):
        return
    # (vispy.ext.egl wraps no eglDestroyContext: call the library it loaded)
    destroy = egl._lib.eglDestroyContext
    destroy.argtypes, destroy.restype = (ctypes.c_void_p, ctypes.c_void_p), ctypes.c_uint
    egl.eglMakeCurrent(_egl._EGL_DISPLAY, egl.EGL_NO_SURFACE, egl.EGL_NO_SURFACE, egl.EGL_NO_CONTEXT)
    destroy(_egl._EGL_DISPLAY, context)
    backend._native_context = None


def downsample(image: np.ndarray, n: int) -> np.ndarray:
    """Average n x n blocks of an (H*n, W*n, C) uint8 image into (H, W, C) uint8."""
    if n == 1:
        return image
    h, w, c = image.shape[0] // n, image.shape[1] // n, image.shape[2]
    blocks = image[: h * n, : w * n].reshape(h, n, w, n, c).astype(np.float32)
    return (blocks.mean(axis=(1, 3)) + 0.5).astype(np.uint8)


class Renderer:
    """Offscreen frames of a run: ``Renderer(run, config).frame(step, azimuth, elevation)``.

    Returns (height, width, 3) uint8 RGB. The scene is built once; each frame sets uniforms and
    renders, so frame cost does not grow on the Python side with mesh size. ``stream(states)``
    gives the frames of many states, drawn one ahead (what a video uses).
    """

    def __init__(self, run, config: RenderConfig = RenderConfig()):
        from .scene import Scene

        self.config = config
        self.ssaa = config.resolved("interactive").ssaa
        app = egl_app()
        self.scene = gl_call(Scene, run, config, scale=self.ssaa, app=app)

    def frame(
        self,
        step: float | None = None,
        azimuth: float | None = None,
        elevation: float | None = None,
        distance: float | None = None,
        stage: float | None = None,
    ) -> np.ndarray:
        """``stage`` (0..7): show the anatomy at that stage from now on (Scene.set_stage); None: leave it."""
        image = gl_call(self._draw, (step, azimuth, elevation, distance, stage))
        return downsample(image, self.ssaa)  # numpy only: no need to hold the GL thread for it

    def stream(self, states):
        """Frames (as ``frame`` returns them) of ``states``, an iterable of (step, azimuth,
        elevation, distance[, stage]), in order.

        Pipelined for a software rasterizer, whose threads draw after the GL calls return: the GL
        thread sets up frame i + 1 (the Python side: uniforms, framing, text) while frame i is
        rasterized, reads frame i back only then, and starts drawing frame i + 1 before the caller
        gets frame i; the caller's work on a frame (encoding it) overlaps the next one's drawing.
        The pictures are those ``frame`` gives for the same states, bit for bit.
        """
        pending = None  # the Future of the last step handed to the GL thread
        try:
            for state in itertools.chain(states, [None]):
                previous, pending = pending, gl_submit(self._advance, state)
                image = previous.result() if previous is not None else None
                if image is not None:
                    yield downsample(image, self.ssaa)
            image, pending = pending.result(), None
            if image is not None:
                yield downsample(image, self.ssaa)
        finally:
            if pending is not None:  # the caller stopped early: let the last step finish, unread
                pending.exception()
                self._drawn = False

    _drawn = False  # the framebuffer holds a frame that _advance drew and has not read yet

    def _advance(self, state):
        """On the GL thread: set up ``state`` (None: no more), read the frame drawn last time, then
        start drawing ``state``'s frame. Returns the frame read (or None)."""
        if state is not None:
            self._set_up(state)  # Python, while the rasterizer finishes the last frame
        image = None
        if self._drawn:
            image = self.scene.read_frame()
            self._drawn = False
        if state is not None:
            self.scene.start_frame()
            self._drawn = True
        return image

    def _draw(self, state) -> np.ndarray:
        self._set_up(state)
        return self.scene.render_frame()

    def _set_up(self, state) -> None:
        step, azimuth, elevation, distance, *rest = state
        if rest and rest[0] is not None:
            self.scene.set_stage(rest[0])
        self.scene.set_view(step, azimuth, elevation, distance)

    def close(self) -> None:
        gl_call(self._close)

    def _close(self) -> None:
        close_canvas(self.scene.canvas)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def write_png(image: np.ndarray, path) -> Path:
    """Write an (H, W, 3|4) uint8 image as PNG, atomically (a temporary file, then a rename)."""
    from vispy.io import write_png as _write

    with atomic_path(path, suffix=".png") as tmp:
        _write(str(tmp), np.ascontiguousarray(image))
    return Path(path)
