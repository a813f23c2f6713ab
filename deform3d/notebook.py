"""Jupyter: a run as an inline video or still, and an interactive inline view with no display or GPU.

Owns: the notebook display of a Trajectory (``video``, ``still``, and the ``_repr_mimebundle_``
that ``Trajectory`` delegates to), and ``Viewer``, a ``jupyter_rfb`` widget backed by the headless
EGL renderer: frames are rendered on the kernel's machine (Mesa's llvmpipe is enough) and sent to
the browser as images, so it works on a remote Jupyter server.

Needs the ``notebook`` extra (``pip install 'deform3d[notebook]'``: jupyter_rfb, ipywidgets,
IPython) for ``Viewer``; ``video`` and ``still`` need IPython only. ``import deform3d`` never
imports this module; this module imports VisPy only when a frame is rendered, and never torch.

    >>> from deform3d.notebook import Viewer
    >>> run = deform3d.train(hidden=3)          # doctest: +SKIP
    >>> run.video()                             # an inline mp4     # doctest: +SKIP
    >>> Viewer(run)                             # orbit, zoom, scrub  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import html
import math
import sys
import tempfile
import time
from pathlib import Path

from . import api
from .api import public
from .core.config import RenderConfig, check_size
from .core.errors import UsageError
from .media.recorder import RecordingInterrupted

try:  # the notebook extra; without it Viewer explains what to install (see Viewer.__new__)
    import ipywidgets
    import jupyter_rfb.widget as _rfb_widget
    from jupyter_rfb import RemoteFrameBuffer
except ImportError as e:  # pragma: no cover - exercised only where the extra is missing
    ipywidgets = _rfb_widget = None
    RemoteFrameBuffer = object
    _MISSING = e
else:
    _MISSING = None

NOTEBOOK_EXTRA = "pip install 'deform3d[notebook]'"

# Short and small enough to embed in a notebook (base64 grows it by a third) and to record in
# seconds on a laptop CPU; every default can be overridden with record's own options.
VIDEO_DEFAULTS = {"quality": "low", "duration": 6.0}
STILL_SIZE = (768, 432)
VIEWER_SIZE = (800, 450)
MAX_PIXEL_RATIO = 2  # a 3x or 4x screen still gets 2x frames: every pixel is rendered on the CPU
# While the view moves (a drag, play, the slider, the wheel) frames come from graphics.motion's
# reduced twin of the scene (half the width and height, the coarse mesh; the browser stretches it
# back): on a CPU rasterizer that is what makes motion fluid. Once nothing has moved for SETTLE_S
# seconds, the full frame follows.
from .graphics.motion import MOTION_DIVISOR, SETTLE_S  # noqa: E402, F401  (loads no VisPy)


def _ipython_display():
    try:
        from IPython import display
    except ImportError:
        raise UsageError(f"showing a run in a notebook needs IPython: {NOTEBOOK_EXTRA}") from None
    return display


def summary(run) -> str:
    """One line about a run: width, activation, dataset, steps, final loss and accuracy."""
    epochs = run.num_steps / run.steps_per_epoch
    return (
        f"deform3d run: k = {run.hidden} {run.activation} on {run.meta.get('dataset', '?')}, "
        f"{run.num_steps} steps ({epochs:g} epochs), final loss {run.loss[-1]:.3g}, "
        f"accuracy {100 * run.accuracy[-1]:.1f}%"
    )


def png_bytes(image) -> bytes:
    """An (H, W, 3|4) uint8 image as PNG file bytes."""
    from .graphics.offscreen import write_png

    with tempfile.TemporaryDirectory(prefix="deform3d-") as folder:
        return write_png(image, Path(folder) / "still.png").read_bytes()


@public
def still(
    run,
    *,
    step: float | None = None,
    epoch: float | None = None,
    at: float | None = None,
    size: tuple[int, int] = STILL_SIZE,
    **options,
):
    """One frame of a run as an ``IPython.display.Image`` (PNG), for a notebook cell.

    The same options as ``deform3d.render`` (``step``/``epoch``/``at``, RenderConfig's fields);
    ``size`` defaults to a notebook-friendly 768 x 432. A PNG is stored in the notebook, so it
    survives HTML export.

    >>> from deform3d.notebook import still
    >>> still(run, epoch=10, theme="dark")      # doctest: +SKIP
    <IPython.core.display.Image object>
    """
    image = api.render(run, step=step, epoch=epoch, at=at, size=size, **options)
    run = api.load(run)
    moment = run.resolve_step(step, epoch, at)
    alt = f"{summary(run)}; shown at step {moment:g} (epoch {moment / run.steps_per_epoch:.1f})"
    return _ipython_display().Image(
        data=png_bytes(image), format="png", width=image.shape[1], height=image.shape[0], alt=alt
    )


class _CellLines:
    """stderr for a recording into a temporary file: its lines name the cell, not a path about to vanish."""

    jupyter_cell = True  # deform3d.progress: the kernel's stderr, so the bar is a widget

    def __init__(self, temporary: Path):
        self.temporary = str(temporary)

    def write(self, text: str) -> int:
        return sys.stderr.write(text.replace(f"kept in {self.temporary}", "shown below"))

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False


@public
def video(run, path: str | Path | None = None, *, html_attributes: str = "controls loop", progress=True, **options):
    """Record a run training and return it as an inline, embedded ``IPython.display.Video``.

    ``run``: a Trajectory or a ``.npz`` path. ``path``: where to keep the video too (``.mp4`` or
    ``.webm``); None records into a temporary folder that is removed once the bytes are read.
    ``options``: as for ``deform3d.record``; the defaults here are short and small
    (``quality="low"``: 854 x 480 at 15 fps, ``duration=6``). The video is embedded as base64, so
    it plays in a notebook saved to disk and in its HTML export, with no file beside it.
    ``progress``: as for ``deform3d.record`` (in a notebook, a bar in the cell). Interrupted
    (the kernel's stop button), it returns the part recorded so far, and a line says so.

    >>> run = deform3d.train(hidden=3, epochs=20)                  # doctest: +SKIP
    >>> video(run, duration=4, orbit=30)                           # doctest: +SKIP
    <IPython.core.display.Video object>
    """
    display = _ipython_display()
    options = {**VIDEO_DEFAULTS, **options}
    with tempfile.TemporaryDirectory(prefix="deform3d-") as folder:
        target = Path(path) if path is not None else Path(folder) / "run.mp4"
        mimetype = {".mp4": "video/mp4", ".webm": "video/webm"}.get(target.suffix.lower())
        if mimetype is None:
            raise UsageError(f"an inline video must be .mp4 or .webm, got {target}; for a .gif use deform3d.record")
        plan = api.video_plan(target, **options)
        stream = _CellLines(target) if path is None else None
        try:
            plan.record(api.load(run), progress, stream=stream)
        except RecordingInterrupted as stop:  # the recorder's line on stderr said how much
            if stop.path is None:
                return None  # interrupted before the first frame: nothing to show
        data = target.read_bytes()
    return display.Video(data=data, embed=True, mimetype=mimetype, html_attributes=html_attributes)


def repr_mimebundle(run, include=None, exclude=None) -> dict:
    """A Trajectory's notebook display: a one-line summary and a PNG still of the last step.

    A still, not a video: IPython formats every value a cell ends with, and a video takes seconds
    of rendering and encoding on a CPU plus megabytes in the notebook each time; a still takes a
    fraction of a second and a few kilobytes. ``run.video()`` is the explicit, deliberate call.
    Where no GL exists the summary alone is shown.
    """
    bundle = {"text/plain": summary(run)}
    wanted = (include is None or "image/png" in include) and not (exclude and "image/png" in exclude)
    if wanted:
        try:
            image = api.render(run, size=STILL_SIZE)
        except UsageError:  # no EGL here: the text says what the run is; a picture is a bonus
            return bundle
        png = png_bytes(image)
        bundle["image/png"] = png
        # JupyterLab shows only the richest type: HTML carries both the line and the picture.
        text = html.escape(summary(run))
        bundle["text/html"] = (
            f'<div>{text}</div><img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
            f'width="{image.shape[1]}" height="{image.shape[0]}" alt="{text}">'
        )
    return bundle


# ---------------------------------------------------------------- interactive


def _event_type(event: dict) -> str | None:
    # jupyter_rfb >= 1.0 sends "type" (and, for compatibility, "event_type"); 0.x sends "event_type".
    return event.get("type") or event.get("event_type")


class Viewer(RemoteFrameBuffer):
    """An interactive inline view of a run in Jupyter: orbit and zoom the lift, scrub the steps.

    ``Viewer(run, size=(800, 450), **options)``. ``run``: a Trajectory or a ``.npz`` path;
    ``step``/``epoch``/``at`` pick the first moment shown (default: the end); ``options`` are
    RenderConfig's fields as for ``deform3d.render`` (panels, theme, azimuth, elevation, distance,
    ssaa, ...); ``size`` is the initial size in CSS pixels (the widget can be resized).

    Frames are rendered headless (EGL; Mesa's CPU rasterizer suffices) in the kernel and sent
    as images, so it needs no display and no GPU. Drag to orbit the lift (like VisPy's turntable:
    0.5 degree per pixel), wheel to zoom, double-click to reset the camera; the slider (and its
    play button) sets the step, with the epoch, loss and accuracy beside it. Displaying the viewer
    shows the picture with its slider (``viewer.widget``); the cell output also keeps a PNG of the
    first frame, which is what an HTML export shows.

    Every picture it shows is reproducible as a still:
    ``deform3d.render(run, **viewer.render_options())``.

    >>> from deform3d.notebook import Viewer
    >>> viewer = Viewer("run.npz", theme="dark")     # doctest: +SKIP
    >>> viewer                                       # doctest: +SKIP
    """

    def __new__(cls, *args, **kwargs):
        if _MISSING is not None:
            raise UsageError(
                f"deform3d.notebook.Viewer needs jupyter_rfb and ipywidgets ({_MISSING}): {NOTEBOOK_EXTRA}"
            )
        return super().__new__(cls, *args, **kwargs)

    @public
    def __init__(
        self,
        run,
        *,
        step: float | None = None,
        epoch: float | None = None,
        at: float | None = None,
        size: tuple[int, int] = VIEWER_SIZE,
        **options,
    ):
        # Every check before the widget exists: a bad option leaves no half-made widget behind.
        config = RenderConfig(size=size, **options)
        run = api.load(run)
        first = run.resolve_step(step, epoch, at)
        w, h = config.size
        # jupyter_rfb displays its output area (where errors in callbacks go) as an output of its
        # own, which prints "RFBOutputContext()" outside Lab and in HTML exports; it goes into the
        # Viewer's own box instead (see ``widget``), so errors still show below the picture.
        shown, _rfb_widget.display = _rfb_widget.display, lambda *args, **kwargs: None
        try:
            super().__init__(css_width=f"{w}px", css_height=f"{h}px")
        finally:
            _rfb_widget.display = shown
        self._set_cursor("grab")
        self.run, self.config, self.step = run, config, first
        self.azimuth, self.elevation, self.distance = config.azimuth, config.elevation, config.distance
        self._logical = config.size  # CSS pixels, from the browser's resize events
        self._ratio = 1  # integer device pixel ratio the scene is built for
        self._scene = None  # built at the first frame, at the size the browser reports
        self._motion_scene = None  # the same at 1 / MOTION_DIVISOR the scale, built at the first motion
        self._geometry = None  # kept across rebuilds: it depends on the run and the mesh only
        self._drag = None  # (x, y, azimuth, elevation) where a drag started
        self._last_motion = -math.inf  # time.monotonic() of the last change that moved the view
        self._reduced = False  # the last frame sent was a reduced one: a full one is owed

        n = self.run.num_steps
        # The slider takes the room left by the play button and the numbers, which never clip.
        self.slider = ipywidgets.IntSlider(
            value=int(round(self.step)),
            min=0,
            max=n,
            description="step",
            continuous_update=True,
            layout=ipywidgets.Layout(flex="1 1 auto", width="auto", min_width="160px"),
        )
        self.play = ipywidgets.Play(
            value=self.slider.value,
            min=0,
            max=n,
            step=max(1, n // 150),
            interval=80,
            description="play training",
            layout=ipywidgets.Layout(flex="0 0 auto"),
        )
        ipywidgets.jslink((self.play, "value"), (self.slider, "value"))
        self.info = ipywidgets.Label(layout=ipywidgets.Layout(flex="0 0 auto", width="auto"))
        self.slider.observe(self._on_slider, names="value")
        self.play.observe(self._on_play, names="playing")
        self._stage_widgets()
        self._update_info()

    def _set_cursor(self, name: str) -> None:
        if self.has_trait("cursor"):  # jupyter_rfb 1.x; an older one keeps the default arrow
            self.cursor = name

    # ------------------------------------------------------------ layout

    @property
    def widget(self):
        """The picture above a row with the play button, the step slider and the run's numbers."""
        if getattr(self, "_box", None) is None:
            row = ipywidgets.HBox([self.play, self.slider, self.info], layout=ipywidgets.Layout(width="100%"))
            rows = [row] if self.stage_row is None else [row, self.stage_row]
            self._box = ipywidgets.VBox([self, *rows, self._output_context])
        return self._box

    def _ipython_display_(self):
        from IPython.display import display

        bundle = self.widget._repr_mimebundle_() or {}
        # A PNG fallback beside the live widget: frontends with widgets show the widget, and a
        # static export (nbconvert to HTML, GitHub) shows the picture instead of nothing.
        image = self.get_frame()
        data = base64.b64encode(png_bytes(image)).decode()
        w, h = self._logical
        bundle["text/html"] = (
            f'<img src="data:image/png;base64,{data}" width="{w}" height="{h}" alt="{html.escape(summary(self.run))}">'
        )
        bundle["text/plain"] = f"Viewer of the {summary(self.run)}"
        display(bundle, raw=True)

    def close(self, *args, **kwargs):
        """Close the view, its slider and the offscreen canvas (frees its GL memory)."""
        if not hasattr(self, "_output_context"):
            return  # __init__ stopped at a bad option before jupyter_rfb set up (garbage collection)
        super().close(*args, **kwargs)  # jupyter_rfb then sends a "close" event: see handle_event
        for widget in (
            getattr(self, name, None)
            for name in ("slider", "play", "info", "stage_box", "stage_slider", "stage_row", "_box")
        ):
            if widget is not None:
                widget.close()

    # ------------------------------------------------------------ state

    def set_step(self, step: float) -> None:
        """Show fractional optimizer step ``step`` (clipped to the run); moves the slider too."""
        self.step = min(max(float(step), 0.0), float(self.run.num_steps))
        self._last_motion = time.monotonic()
        if self.slider.value != int(round(self.step)):
            self.slider.value = int(round(self.step))  # its observer keeps the exact fraction below
        self._update_info()
        self.request_draw()

    def _on_slider(self, change) -> None:
        if int(round(self.step)) != change["new"]:
            self.step = float(change["new"])
        self._last_motion = time.monotonic()
        self._update_info()
        self.request_draw()

    # ------------------------------------------------------------ the anatomy: a stage slider (issue 12)

    def _stage_widgets(self) -> None:
        """An "anatomy" check box and a stage slider (0..7) under the step slider, where the lift
        panel is shown: the lift then shows the forward pass at that stage (``stage`` option)."""
        self.stage_box = self.stage_slider = self.stage_row = None
        if "lift" not in self.config.panels:
            return
        on = self.config.stage is not None
        self.stage_box = ipywidgets.Checkbox(
            value=on, description="anatomy", indent=False, layout=ipywidgets.Layout(flex="0 0 auto", width="auto")
        )
        self.stage_slider = ipywidgets.FloatSlider(
            value=self.config.stage or 0.0,
            min=0.0,
            max=7.0,
            step=0.05,
            description="stage",
            disabled=not on,
            continuous_update=True,
            layout=ipywidgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.stage_box.observe(lambda c: self.set_stage(self.stage_slider.value if c["new"] else None), names="value")
        self.stage_slider.observe(lambda c: self.set_stage(c["new"]) if self.stage_box.value else None, names="value")
        self.stage_row = ipywidgets.HBox([self.stage_box, self.stage_slider], layout=ipywidgets.Layout(width="100%"))

    def set_stage(self, stage: float | None) -> None:
        """Show the anatomy at ``stage`` (0..7; fractions move between stages), or the lift (None)."""
        self.config = dataclasses.replace(self.config, stage=stage)  # checked here: a bad stage raises
        if self.stage_box is not None:
            self.stage_box.value = stage is not None
            self.stage_slider.disabled = stage is None
            if stage is not None and self.stage_slider.value != stage:
                self.stage_slider.value = stage
        self._last_motion = time.monotonic()
        self.request_draw()

    def _on_play(self, change) -> None:
        if not change["new"]:
            self.request_draw()  # playing stopped: the full frame

    def _update_info(self) -> None:
        run, i = self.run, int(round(self.step))
        self.info.value = (
            f"epoch {self.step / run.steps_per_epoch:.1f} · loss {run.loss[i]:.3g} · "
            f"accuracy {100 * run.accuracy[i]:.1f}%"
        )

    def render_options(self) -> dict:
        """Options that make ``deform3d.render(run, **options)`` draw what the viewer shows now.

        Size is the viewer's size in CSS pixels; ``ssaa`` is the viewer's (None: render's still
        default, 2, which is smoother than the viewer's interactive 1).
        """
        fields = {f.name: getattr(self.config, f.name) for f in dataclasses.fields(RenderConfig)}
        return {
            **fields,
            "size": self._logical,
            "azimuth": self.azimuth,
            "elevation": self.elevation,
            "distance": self.distance,
            "step": self.step,
        }

    # ------------------------------------------------------------ frames

    @property
    def _ssaa(self) -> int:
        return self.config.resolved("interactive").ssaa

    def _ensure_scene(self, motion: bool = False):
        """The full scene (or the motion one), built when first drawn, at the size the browser
        reports. On the GL thread."""
        from .graphics.motion import motion_scene
        from .graphics.offscreen import egl_app
        from .graphics.scene import Scene

        if motion:
            if self._motion_scene is None:
                self._motion_scene = motion_scene(
                    self.run, self.config, self._ratio, size=self._logical, app=egl_app(), geometry=self._geometry
                )
                self._geometry = self._motion_scene.geo
            return self._motion_scene
        if self._scene is None:
            self._scene = Scene(
                self.run,
                self.config,
                scale=self._ratio * self._ssaa,
                app=egl_app(),
                size=self._logical,
                geometry=self._geometry,
            )
            self._geometry = self._scene.geo
        return self._scene

    def _close_scenes(self, full: bool = True) -> None:
        """Free the motion scene (and the full one): their canvases' GL memory. On the GL thread."""
        scenes = ("_motion_scene", "_scene") if full else ("_motion_scene",)
        for name in scenes:
            scene = getattr(self, name)
            if scene is not None:
                from .graphics.offscreen import close_canvas

                close_canvas(scene.canvas)
                setattr(self, name, None)

    def moving(self) -> bool:
        """Whether the view is moving (a drag, play, a recent slider, wheel or step change)."""
        return (
            self._drag is not None
            or bool(getattr(self.play, "playing", False))
            or time.monotonic() - self._last_motion < SETTLE_S
        )

    def get_frame(self):
        """The current picture: (H, W, 3) uint8, H x W the logical size times the pixel ratio.

        While the view moves (``moving()``), a reduced frame instead: half the width and height
        (the browser stretches it) and the coarse mesh; the full one follows once it rests.
        Any thread may call it: the drawing itself runs on deform3d's GL thread.
        """
        from .graphics.offscreen import downsample, gl_call, gl_submit

        moving = self.moving()
        image = gl_call(self._draw, self.step, self.azimuth, self.elevation, self.distance, moving)
        self._reduced = moving
        if moving:
            self._settle_later()
            return image
        if self._motion_scene is None:
            # Build the motion scene (and compile its shaders) now, in the GL thread's idle time,
            # so that the first drag does not wait a second for it.
            gl_submit(self._prepare_motion)
        return downsample(image, self._ssaa)

    def _prepare_motion(self) -> None:
        if self._motion_scene is None and self._scene is not None:
            self._ensure_scene(motion=True).render_frame()

    def _draw(self, step, azimuth, elevation, distance, reduced: bool):
        from .graphics import motion

        scene = self._ensure_scene(motion=reduced)
        if scene.stage != self.config.stage:
            scene.set_stage(self.config.stage)
        return motion.draw(scene, step, azimuth, elevation, distance)

    def _settle_later(self) -> None:
        try:  # jupyter_rfb draws from the event loop of the thread its messages arrive on
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a plain script): the caller asks for frames itself
        loop.call_later(SETTLE_S, self._settle)

    def _settle(self) -> None:
        if self._reduced and not self.moving():
            self.request_draw()  # the view came to rest: the full frame

    def _resize(self, width: float, height: float, ratio: float) -> None:
        from .graphics.offscreen import gl_call

        w, h = check_size((max(16, int(round(width))), max(16, int(round(height)))))
        ratio = min(max(1, int(round(ratio))), MAX_PIXEL_RATIO)
        if (w, h) == self._logical and ratio == self._ratio:
            return
        gl_call(self._apply_size, (w, h), ratio)

    def _apply_size(self, logical: tuple[int, int], ratio: int) -> None:
        self._logical = logical
        # Line widths, point sizes and fonts are baked in at a scene's scale: a new ratio builds
        # both anew; the motion scene, cheap and built at the next motion, is rebuilt on any change.
        self._close_scenes(full=ratio != self._ratio)
        self._ratio = ratio
        if self._scene is not None:
            canvas = self._scene.canvas
            s = self._ratio * self._ssaa
            canvas.size = (logical[0] * s, logical[1] * s)
            # EGL takes the new framebuffer size, but the scene's layout follows only a resize event.
            canvas.events.resize(size=canvas.size, physical_size=canvas.physical_size)

    def _auto_distance(self) -> float:
        """The lift camera's distance when ``distance`` is None (VisPy's fit for this viewbox)."""
        from .graphics.offscreen import gl_call

        return gl_call(self._fitted_distance)

    def _fitted_distance(self) -> float:
        scene = self._ensure_scene()
        scene.set_camera(self.azimuth, self.elevation, None)
        view = scene.views["lift"]
        cam = view.camera
        w, h = view.size
        fy = cam.scale_factor * (h / w if w / h <= 1 else 1.0)
        return fy / (2 * math.tan(math.radians(max(cam.fov, 0.01)) / 2))

    def handle_event(self, event: dict) -> None:
        """jupyter_rfb's events: resize, pointer drag (orbit), wheel (zoom), double-click (reset)."""
        kind = _event_type(event)
        if kind == "resize":
            ratio = event.get("ratio") or event.get("pixel_ratio") or 1
            self._resize(event["width"], event["height"], ratio)
        elif kind == "pointer_down" and event.get("button") == 1:
            self._drag = (event["x"], event["y"], self.azimuth, self.elevation)
            self._set_cursor("grabbing")
            return
        elif kind == "pointer_move" and self._drag is not None:
            x0, y0, az0, el0 = self._drag
            # VisPy's TurntableCamera drag: half a degree per pixel, elevation clamped to the poles.
            self.azimuth = (az0 - 0.5 * (event["x"] - x0) + 180.0) % 360.0 - 180.0
            self.elevation = min(90.0, max(-90.0, el0 + 0.5 * (event["y"] - y0)))
            self._last_motion = time.monotonic()
        elif kind == "pointer_up":
            if self._drag is None:
                return
            self._drag = None
            self._set_cursor("grab")
            if not self._reduced:
                return
            # the view came to rest: the full frame follows (after SETTLE_S, see moving())
        elif kind == "wheel":
            if "lift" not in self.config.panels or not event.get("dy"):
                return
            # As VisPy's wheel zoom: 1.1x per 100 pixels of scroll, down moves away.
            base = self.distance if self.distance is not None else self._auto_distance()
            self.distance = min(max(base * 1.1 ** (event["dy"] / 100.0), 1e-3), 1e3)
            self._last_motion = time.monotonic()
        elif kind == "double_click":
            self.azimuth, self.elevation, self.distance = (
                self.config.azimuth,
                self.config.elevation,
                self.config.distance,
            )
        elif kind == "close":
            from .graphics.offscreen import gl_call

            gl_call(self._close_scenes)
            return
        else:
            return
        self.request_draw()
