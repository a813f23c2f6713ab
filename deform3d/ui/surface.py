"""Where the window's picture is drawn and how it reaches the screen: one interface, two ways.

Owns: the picture's widget, the scene behind it and the thread that scene lives on, for
``ui.window``. The window asks for frames (``update``), says whether the view moves (``set_motion``:
the coarse mesh at 1 / MOTION_DIVISOR of the resolution, graphics.motion), calls the scene only
through ``call`` (on the scene's thread, waiting for it), and hears of mouse input and finished
frames through the handlers it gives (``Handlers``).

- ``OffscreenSurface``, wherever headless GL (EGL) is: Linux. The scene is drawn offscreen on
  deform3d's GL thread (graphics.offscreen, as ``record`` and the notebook Viewer draw), and the
  finished frame is painted by a plain widget, stretched when it is a motion frame. Qt's GUI thread
  never waits on the rasterizer, and the window holds no OpenGL widget, which Qt would otherwise
  compose with OpenGL every frame (on llvmpipe ~11 ms at 1280x720). Mouse input reaches VisPy's
  cameras as the events VisPy's own Qt backend makes. docs/design.md, GL facts.
- ``CanvasSurface``, where there is no EGL (macOS, Windows): a VisPy canvas in the window, drawn on
  the GUI thread by the desktop's OpenGL.

Imports Qt and VisPy; never torch.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..graphics.motion import MOTION_DIVISOR
from ..graphics.scene import Scene

# Qt's mouse buttons and modifiers as VisPy's Qt backend names them (vispy.app.backends._qt).
_BUTTONS = {
    QtCore.Qt.MouseButton.LeftButton: 1,
    QtCore.Qt.MouseButton.RightButton: 2,
    QtCore.Qt.MouseButton.MiddleButton: 3,
}


@dataclass(frozen=True)
class Pointer:
    """A mouse event as the window reads it: ``pos`` in logical picture pixels (x right, y down)."""

    pos: tuple[float, float]
    button: int  # 1 left, 2 right, 3 middle, 0 none
    control: bool
    dragging: bool  # a button is held


@dataclass
class Handlers:
    """What the window does with input and frames; each runs on the GUI thread, before VisPy's
    cameras see the event. ``drawn(image, started)``: a frame reached the screen, drawing since
    ``started`` (time.monotonic()); ``image``: the frame as (h, w, 3) uint8 when it was asked for
    with ``shoot``, else None."""

    press: Callable[[Pointer], None]
    move: Callable[[Pointer], None]
    release: Callable[[Pointer], None]
    wheel: Callable[[], None]
    drawn: Callable[[np.ndarray | None, float], None]


def _modifiers(event) -> tuple:
    from vispy.util import keys

    mods = event.modifiers()
    pairs = (
        (QtCore.Qt.KeyboardModifier.ShiftModifier, keys.SHIFT),
        (QtCore.Qt.KeyboardModifier.ControlModifier, keys.CONTROL),
        (QtCore.Qt.KeyboardModifier.AltModifier, keys.ALT),
        (QtCore.Qt.KeyboardModifier.MetaModifier, keys.META),
    )
    return tuple(key for flag, key in pairs if mods & flag)


def egl_available() -> bool:
    """Whether headless GL works here (graphics.offscreen's EGL application starts)."""
    from ..core.errors import RuntimeFault
    from ..graphics.offscreen import egl_app

    if not sys.platform.startswith("linux"):
        return False
    try:
        egl_app()
    except RuntimeFault:
        return False
    return True


class _Picture(QtWidgets.QWidget):
    """The offscreen surface's widget: paints the newest frame, passes the mouse on."""

    def __init__(self, surface: "OffscreenSurface", background: QtGui.QColor):
        super().__init__()
        self.surface = surface
        self.background = background
        self.image: QtGui.QImage | None = None
        self.pixels: np.ndarray | None = None  # the memory that image reads
        self.hint = QtCore.QSize(640, 360)  # the size the picture asks for (the run's, set by build)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # hovering a point shows its readout
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)  # every pixel is painted
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QtCore.QSize:
        return self.hint

    def paintEvent(self, event) -> None:
        painter = QtGui.QPainter(self)
        try:
            image = self.image
            if image is None:
                painter.fillRect(self.rect(), self.background)
                return
            s = self.surface.scale
            if image.width() == self.width() * s and image.height() == self.height() * s:
                painter.drawImage(QtCore.QPoint(0, 0), image)  # a full frame: pixel for pixel
            else:  # a motion frame (or one drawn before a resize): stretched, filtered
                painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(QtCore.QRectF(self.rect()), image)
        finally:
            painter.end()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.surface._resized()

    def _pointer(self, event) -> Pointer:
        p = event.position()
        return Pointer(
            (p.x(), p.y()),
            _BUTTONS.get(event.button(), 0),
            bool(event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier),
            event.buttons() != QtCore.Qt.MouseButton.NoButton,
        )

    def mousePressEvent(self, event) -> None:
        self.surface._mouse("press", self._pointer(event), event)

    def mouseMoveEvent(self, event) -> None:
        self.surface._mouse("move", self._pointer(event), event)

    def mouseReleaseEvent(self, event) -> None:
        self.surface._mouse("release", self._pointer(event), event)

    def mouseDoubleClickEvent(self, event) -> None:
        self.surface._mouse("press", self._pointer(event), event)  # VisPy tells double clicks itself

    def wheelEvent(self, event) -> None:
        self.surface._wheel(event)


class OffscreenSurface(QtCore.QObject):
    """The scene drawn offscreen on deform3d's GL thread; the widget paints finished frames.

    Frames are pipelined, one trip to the GL thread at a time: each trip reads back the frame the
    rasterizer drew since the last trip and starts the next (``_advance``), so the rasterizer's
    threads draw frame N while the GUI thread shows N - 1 and sets up N + 1 (playback steps on in
    ``handlers.drawn``; the GL thread is free then). ``update`` during a trip asks for another,
    which starts when that one is back; when nothing more is asked for, a last trip reads the frame
    in the rasterizer. Changes go to the GL thread in the order they were made, ahead of the frame
    that shows them.
    """

    in_paint = False  # handlers.drawn runs between frames, not inside a paint

    _arrived = QtCore.Signal(object)  # (Future of a trip, the _Frame it read), GL thread to GUI thread

    def __init__(self, handlers: Handlers, background: QtGui.QColor):
        super().__init__()
        from ..graphics.offscreen import egl_app

        self.handlers = handlers
        self.app = egl_app()
        self.widget = _Picture(self, background)
        self.scene: Scene | None = None
        self.probe: Callable[[Scene], object] | None = None  # run with each frame, on the GL thread
        self.probed: object = None  # what it gave for the frame on screen
        self.motion = False  # the view moves: motion frames
        self._busy = False  # a frame is being drawn
        self._dirty = False  # a frame was asked for since that one started
        self._shot = False  # the next full frame is handed to handlers.drawn
        self._failed = False
        self.shown_full = True  # the frame on screen is a full one
        self._raster: _Frame | None = None  # the frame the rasterizer is drawing, read at the next trip
        self._move: dict | None = None  # the newest mouse move, not yet given to VisPy
        self._arrived.connect(self._on_arrived)

    # ------------------------------------------------------------ the scene and its thread

    @property
    def scale(self) -> int:
        """Picture pixels per logical pixel (a high-DPI screen gets frames at its resolution)."""
        return max(1, round(self.widget.devicePixelRatioF()))

    def build(self, run, config, size: tuple[int, int], text_scale: float) -> Scene:
        """A new scene for ``run``, shown from now on; ``size``: logical pixels. The old one stays
        open until ``discard``."""
        from ..graphics.offscreen import gl_call

        self.scene = gl_call(Scene, run, config, scale=self.scale, app=self.app, size=size, text_scale=text_scale)
        self.widget.hint = QtCore.QSize(*size)
        if self.widget.isVisible():  # (else it is sized when laid out: resizeEvent)
            self._resized()
        return self.scene

    def discard(self, scene: Scene) -> None:
        """Close a scene no longer shown (frees its GL memory)."""
        from ..graphics.offscreen import close_canvas, gl_call

        gl_call(close_canvas, scene.canvas)

    def call(self, fn: Callable, *args, **kwargs):
        """``fn(*args, **kwargs)`` on the scene's thread, after what was asked before it; its result."""
        from ..graphics.offscreen import gl_call

        return gl_call(fn, *args, **kwargs)

    def post(self, fn: Callable, *args, **kwargs) -> None:
        """``fn(*args, **kwargs)`` on the scene's thread, after what was asked before it, not waited for."""
        from ..graphics.offscreen import gl_submit

        gl_submit(fn, *args, **kwargs).add_done_callback(self._report)

    def _report(self, future) -> None:
        """A change posted to the GL thread failed: said as a failed frame is (``_fail``)."""
        error = future.exception()
        if error is not None:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        """Say on stderr what failed on the GL thread: once, not at every frame."""
        if not self._failed:
            self._failed = True
            traceback.print_exception(error)

    def size(self) -> tuple[int, int]:
        """The picture's size in logical pixels."""
        return self.widget.width(), self.widget.height()

    def frame_size(self) -> tuple[int, int]:
        """A full frame's size in pixels."""
        if self.scene is None:
            return (0, 0)
        w, h = self.scene.canvas.size
        return int(w), int(h)

    def _resized(self) -> None:
        scene = self.scene
        if scene is None:
            return
        s = self.scale
        w, h = max(self.widget.width(), 16), max(self.widget.height(), 16)
        if tuple(scene.canvas.size) != (w * s, h * s):
            self.call(_resize_canvas, scene, (w * s, h * s))
            self.update()

    def close(self) -> None:
        if self.scene is not None:
            scene, self.scene = self.scene, None
            self.discard(scene)

    # ------------------------------------------------------------ frames

    def update(self) -> None:
        """Ask for a frame (one is drawn, however many are asked for before it starts)."""
        self._dirty = True
        if not self._busy and self.scene is not None:
            self._start()

    def set_motion(self, moving: bool) -> None:
        """Motion frames (coarse mesh, 1 / MOTION_DIVISOR the resolution) while ``moving``."""
        if moving != self.motion:
            self.motion = moving
            self.update()

    def shoot(self) -> None:
        """Hand the next full frame to ``handlers.drawn`` (a screenshot of exactly what is shown)."""
        self._shot = True
        self.update()

    @property
    def full_detail(self) -> bool:
        return not self.motion or self._shot

    def _start(self) -> None:
        """Start drawing a frame of the scene as it is now; the frame drawn before it (if any) is
        read back in the same trip to the GL thread and shown when it arrives."""
        assert self.scene is not None
        self._dirty = False
        full = self.full_detail
        frame = _Frame(self.scene, full, self._shot and full, time.monotonic())
        self._submit(self._raster, frame)

    def _submit(self, read: "_Frame | None", start: "_Frame | None") -> None:
        from ..graphics.offscreen import gl_submit

        self._busy, self._raster = True, start
        future = gl_submit(_advance, read, start, self.probe)
        future.add_done_callback(lambda f: self._arrived.emit((f, read)))  # (on the GL thread: queued)

    def _on_arrived(self, result) -> None:
        future, frame = result
        self._busy = False
        try:
            image = future.result()
        except Exception as e:
            self._raster = None
            self._fail(e)
            return
        if image is not None and frame is not None and frame.scene is self.scene:
            self._show(image, frame)
        if self.scene is None or self._busy:  # (drawn started the next frame itself)
            return
        if self._dirty:
            self._start()
        elif self._raster is not None:  # nothing new to draw: read the frame being drawn
            self._submit(self._raster, None)

    def _show(self, image: np.ndarray, frame: "_Frame") -> None:
        """``image``: (h, w, 4) B, G, R, x (Scene.read_frame(bgra=True)), what Qt paints as it is."""
        h, w, _ = image.shape
        qimage = QtGui.QImage(image.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGB32)
        qimage.setDevicePixelRatio(self.scale)  # (a motion frame is stretched: _Picture.paintEvent)
        self.widget.image, self.widget.pixels = qimage, image  # (the QImage reads the array's memory)
        self.widget.update()
        self.shown_full, self.probed = frame.full, frame.probed
        if frame.shot:
            self._shot = False
        self.handlers.drawn(np.ascontiguousarray(image[..., 2::-1]) if frame.shot else None, frame.started)

    # ------------------------------------------------------------ input

    def _mouse(self, kind: str, pointer: Pointer, event) -> None:
        getattr(self.handlers, kind)(pointer)
        if self.scene is None or (kind == "move" and not pointer.dragging):
            return  # (hovering: no camera moves, and the window's readout needs no frame)
        from ..graphics.offscreen import gl_submit

        s = self.scale
        kwargs = dict(
            pos=(pointer.pos[0] * s, pointer.pos[1] * s),
            button=pointer.button,
            buttons=[b for q, b in _BUTTONS.items() if event.buttons() & q],
            modifiers=_modifiers(event),
        )
        if kind == "move":
            kwargs.pop("button")
            # Moves are coalesced: the GL thread takes the newest when it gets to them (a drag's
            # moves pile up while a frame is drawn; each would otherwise turn the camera again).
            queued, self._move = self._move is not None, kwargs
            if not queued:
                gl_submit(self._forward_move, self.scene)
        else:
            gl_submit(_vispy_mouse, self.scene, kind, kwargs)
        self.update()

    def _forward_move(self, scene: Scene) -> None:
        kwargs, self._move = self._move, None
        if kwargs is not None:
            # VisPy drops a move within 10 ms of the last one it took; here, after a frame, the
            # last of a burst would be dropped, and with it where the drag ended.
            scene.canvas._backend._last_time = -math.inf
            _vispy_mouse(scene, "move", kwargs)

    def _wheel(self, event) -> None:
        self.handlers.wheel()
        if self.scene is None:
            return
        from ..graphics.offscreen import gl_submit

        s, p, delta = self.scale, event.position(), event.angleDelta()
        kwargs = dict(
            pos=(p.x() * s, p.y() * s),
            delta=(delta.x() / 120.0, delta.y() / 120.0),
            buttons=[],
            modifiers=_modifiers(event),
        )
        gl_submit(_vispy_wheel, self.scene, kwargs)
        self.update()


def _resize_canvas(scene: Scene, size: tuple[int, int]) -> None:
    """On the GL thread: the canvas to ``size`` pixels, laid out anew (EGL takes the new size,
    but the scene's layout follows only a resize event)."""
    canvas = scene.canvas
    canvas.size = size
    canvas.events.resize(size=canvas.size, physical_size=canvas.physical_size)


@dataclass
class _Frame:
    """A frame handed to the rasterizer: of which scene, full or a motion frame, a screenshot's,
    when it was asked for, and what the surface's probe read of the scene for it."""

    scene: Scene
    full: bool
    shot: bool
    started: float
    probed: object = None


def _advance(read: _Frame | None, start: _Frame | None, probe) -> np.ndarray | None:
    """On the GL thread: read back the frame ``read`` (drawn meanwhile by the rasterizer's own
    threads, while the GUI thread and this one set up the next), then start drawing ``start``.
    Returns ``read``'s picture (None: nothing to read, or its scene was closed since)."""
    image = None
    if read is not None and not read.scene.canvas._closed:
        image = read.scene.read_frame(bgra=True)
    if start is not None:
        start.scene.set_detail(start.full)
        start.scene.start_frame(1 if start.full else MOTION_DIVISOR)
        start.probed = probe(start.scene) if probe is not None else None
    return image


def _vispy_mouse(scene: Scene, kind: str, kwargs: dict) -> None:
    """On the GL thread: a mouse event to VisPy, as its Qt backend gives one (press, move, release)."""
    backend = scene.canvas._backend
    getattr(backend, f"_vispy_mouse_{kind}")(**kwargs)


def _vispy_wheel(scene: Scene, kwargs: dict) -> None:
    scene.canvas.events.mouse_wheel(**kwargs)


class CanvasSurface:
    """The scene in a VisPy canvas in the window, drawn on the GUI thread (where there is no EGL)."""

    def __init__(self, handlers: Handlers, vapp):
        self.handlers, self.vapp = handlers, vapp
        self.scene: Scene | None = None
        self.widget: QtWidgets.QWidget | None = None
        self.motion = False
        self._shot = False
        self._started = 0.0
        # (Not run here: reading a view's transforms inside the canvas's paint asks for another
        # paint, and so on; whoever reads the scene does it outside the paint, through ``call``.)
        self.probe: Callable[[Scene], object] | None = None
        self.probed: object = None

    scale = 1  # VisPy's Qt canvas takes logical pixels and draws at the screen's own resolution
    in_paint = True  # handlers.drawn runs inside the canvas's paint: changes must wait for its end

    def build(self, run, config, size: tuple[int, int], text_scale: float) -> Scene:
        scene = Scene(run, config, app=self.vapp, size=size, show=False, text_scale=text_scale)
        events = scene.canvas.events
        events.draw.connect(lambda e: setattr(self, "_started", time.monotonic()), position="first")
        events.draw.connect(self._after_draw, position="last")
        events.mouse_press.connect(lambda e: self.handlers.press(self._pointer(e)), position="first")
        events.mouse_move.connect(lambda e: self.handlers.move(self._pointer(e)), position="first")
        events.mouse_release.connect(lambda e: self.handlers.release(self._pointer(e)), position="first")
        events.mouse_wheel.connect(lambda e: self.handlers.wheel())
        self.scene, self.widget = scene, scene.canvas.native
        self._apply_detail()
        return scene

    def discard(self, scene: Scene) -> None:
        scene.canvas.close()

    @staticmethod
    def _pointer(event) -> Pointer:
        return Pointer(
            tuple(event.pos[:2]),
            int(event.button or 0),
            "Control" in [k.name for k in event.modifiers],
            bool(event.is_dragging),
        )

    def call(self, fn: Callable, *args, **kwargs):
        return fn(*args, **kwargs)

    post = call

    def size(self) -> tuple[int, int]:
        return (self.widget.width(), self.widget.height()) if self.widget is not None else (0, 0)

    def frame_size(self) -> tuple[int, int]:
        return tuple(self.scene.canvas.physical_size) if self.scene is not None else (0, 0)

    @property
    def shown_full(self) -> bool:
        return self.scene is not None and self.scene.full_detail and self.scene.canvas.reduce_by == 1

    def update(self) -> None:
        if self.scene is not None:
            self.scene.canvas.update()

    @property
    def full_detail(self) -> bool:
        return not self.motion or self._shot

    def set_motion(self, moving: bool) -> None:
        self.motion = moving
        self._apply_detail()

    def _apply_detail(self) -> None:
        if self.scene is None:
            return
        full = self.full_detail
        if full != self.scene.full_detail or self.scene.canvas.reduce_by != (1 if full else MOTION_DIVISOR):
            self.scene.set_detail(full)
            self.scene.canvas.reduce_by = 1 if full else MOTION_DIVISOR
            self.scene.canvas.update()

    def shoot(self) -> None:
        self._shot = True
        self._apply_detail()
        self.update()

    def _after_draw(self, event) -> None:
        from vispy import gloo

        image = None
        if self._shot and self.scene.canvas.reduce_by == 1:
            w, h = self.scene.canvas.physical_size
            image = gloo.read_pixels((0, 0, w, h), alpha=False)
            self._shot = False
            QtCore.QTimer.singleShot(0, self._apply_detail)
        self.handlers.drawn(image, self._started)

    def close(self) -> None:
        if self.scene is not None:
            scene, self.scene = self.scene, None
            self.discard(scene)


def make_surface(handlers: Handlers, background: QtGui.QColor, vapp_factory: Callable):
    """The offscreen surface where EGL works (``DEFORM3D_WINDOW_GL=canvas`` asks for the canvas:
    benchmarks and the fallback's own test), else a VisPy canvas on the desktop's OpenGL."""
    if os.environ.get("DEFORM3D_WINDOW_GL") != "canvas" and egl_available():
        return OffscreenSurface(handlers, background)
    return CanvasSurface(handlers, vapp_factory())
