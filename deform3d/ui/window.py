"""The Qt window of ``deform3d show``: the scene's canvas, a control bar, a training panel.

Owns: the main window: the scene's canvas, keyboard shortcuts, the status bar, and the wiring of
the control bar and training panel (``ui.widgets``) to ``ui.playback`` (the Qt-free playback,
live following and video capture that tests drive without a display); screenshots and recording
of exactly what the window shows. Imports Qt (PySide6), so only ``deform3d.ui.app`` imports it, after
checking that Qt and a display exist; never torch directly (live training comes through
``deform3d.core.live``, which the window reads without waiting on it).

Frames for ``s`` (PNG) and ``v`` (video) are read back from the window's own framebuffer right
after a frame is drawn, so a screenshot is the very frame on screen and recording costs a readback,
not a second render. No MSAA: the shaders antialias what would alias (grid lines and the decision
curve by ``fwidth``, round sprites), and 4x MSAA measured 2.3x slower on the software rasterizer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections import deque
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets
from vispy import app as vispy_app
from vispy import gloo

from ..core.config import RenderConfig, TrainConfig
from ..core.errors import UsageError
from ..core.geometry import ACTIVATION_RANGE
from ..core.trajectory import Trajectory
from ..graphics.offscreen import write_png
from ..graphics.scene import Scene
from ..media.recorder import Recorder
from .playback import DEFAULT_SPEED, SPEEDS, VIDEO_FPS, Capture, Playback, needs_reframe
from .widgets import OPTIONS, ControlBar, TrainingPanel

QT_MAX_SIZE = (1 << 24) - 1  # Qt's QWIDGETSIZE_MAX, which PySide6 does not export

def _unique(path: Path) -> Path:
    """``path``, or ``name-2.ext``, ``name-3.ext``... whichever does not exist yet."""
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def _playback(name: str) -> property:
    """The window's ``name`` is its Playback's (the one state of where the window is in a run)."""
    return property(lambda self: getattr(self.playback, name), lambda self, v: setattr(self.playback, name, v))


class Window(QtWidgets.QMainWindow):
    """One window showing one run at a time: from a file, or training live (``train_live``)."""

    run, live, step, playing, following, speed = map(_playback, ("run", "live", "step", "playing", "following", "speed"))

    def __init__(self, vapp, config: RenderConfig, save_dir: Path, state_path: Path | None = None,
                 full_detail: bool = False):
        super().__init__()
        self.vapp, self.config, self.save_dir, self.state_path = vapp, config, save_dir, state_path
        self.always_full = full_detail  # never draw the coarser mesh while the view moves
        self._dragging = False
        self.scene: Scene | None = None
        self.playback = Playback(DEFAULT_SPEED)  # run, live (a core.live.LiveRun), step, playing, ...
        self.source: Path | None = None
        self.screenshots: list[str] = []
        self.videos: list[str] = []
        self._frames = 0
        self._frame_times: deque[float] = deque(maxlen=600)
        self._fps = 0.0
        self._pending_shot: Path | None = None
        self._video: Capture | None = None  # the recording in progress
        self._home: dict = {}
        self._stall_ms = 0.0  # the event loop's worst lateness while training live
        self._beat: float | None = None  # the heartbeat's last tick (None: not yet in the event loop)
        self._state_dirty = False
        self._build_ui()
        self._build_shortcuts()
        self._poll = QtCore.QTimer(self, interval=100, timeout=self._poll_live)
        self._heartbeat = QtCore.QTimer(self, interval=50, timeout=self._on_heartbeat)
        self._heartbeat.start()
        self._wheel_rest = QtCore.QTimer(self, singleShot=True, interval=300, timeout=self._update_detail)

    # ------------------------------------------------------------ building

    def _build_ui(self) -> None:
        central = QtWidgets.QWidget(self)
        self._layout = QtWidgets.QVBoxLayout(central)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._layout.addWidget(self._control_bar())
        self._layout.addWidget(self._stage_control())
        self.setCentralWidget(central)
        self._build_playground()
        bar = self.statusBar()
        self._train_label = QtWidgets.QLabel("")
        self._rec_label = QtWidgets.QLabel("")
        self._rec_label.setStyleSheet("color: #c0392b; font-weight: bold")
        self._fps_label = QtWidgets.QLabel("")
        self._fps_label.setMinimumWidth(90)
        for w in (self._train_label, self._rec_label, self._fps_label):
            bar.addPermanentWidget(w)

    def _control_bar(self) -> QtWidgets.QWidget:
        bar = ControlBar({name: getattr(self.config, name) for name, _, _ in OPTIONS})
        self.play_button, self.slider, self.step_label = bar.play_button, bar.slider, bar.step_label
        self.toggles, self.playground_button = bar.toggles, bar.playground_button
        self.play_button.clicked.connect(self.toggle_play)
        self.slider.valueChanged.connect(self._on_slider)
        bar.speed_box.currentIndexChanged.connect(lambda i: self._set_speed(SPEEDS[i]))
        for name, box in self.toggles.items():
            box.toggled.connect(lambda on, name=name: self.set_option(name, on))
        return bar

    def _build_playground(self) -> None:
        self.playground = TrainingPanel(self)
        self.pg_hidden, self.pg_train = self.playground.hidden, self.playground.train
        self.pg_train.clicked.connect(self._train_from_playground)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.playground)
        self.playground_button.toggled.connect(self.playground.setVisible)
        self.playground.visibilityChanged.connect(self.playground_button.setChecked)

    def _build_shortcuts(self) -> None:
        keys = {
            "Space": self.toggle_play,
            "Right": lambda: self.nudge(1), "Left": lambda: self.nudge(-1),
            "Shift+Right": lambda: self.nudge(1, epoch=True), "Shift+Left": lambda: self.nudge(-1, epoch=True),
            "Home": lambda: self.seek(0), "End": lambda: self.seek(math.inf),
            "R": self.reset_camera, "S": self.screenshot, "V": self.toggle_recording,
            "Ctrl+Q": self.close,
            **self._stage_keys(),
        }
        for key, action in keys.items():
            QtGui.QShortcut(QtGui.QKeySequence(key), self, activated=action)

    # ------------------------------------------------------------ what is shown

    def open_run(self, run: Trajectory, source: Path | None = None) -> None:
        """Show a recorded run (stops any live training)."""
        if self.live is not None:
            self.live.stop()
            self.live = None
            self._poll.stop()
        self.source = source
        self._show_run(run)
        self.following = False
        self.playground.fill(run)
        self.playground.setVisible(False)
        self.seek(run.num_steps)
        self._train_label.setText("")

    def train_live(self, config: TrainConfig) -> None:
        """Train ``config`` in the background and show it as it grows (UsageError on bad data)."""
        from ..core.live import LiveRun  # torch, loaded only for live training

        live = LiveRun(config)
        if self.live is not None:
            self.live.stop()  # the old thread ends at its next epoch; nobody waits for it
        self.live, self.source = live, None
        self._show_run(live.snapshot())
        self.playground.fill(self.run)
        self.playground.setVisible(True)
        self.following = True
        self.seek(0)
        live.start()
        self._poll.start()
        self._poll_live()

    def _show_run(self, run: Trajectory) -> None:
        """Build a scene for ``run`` and put its canvas where the old one was."""
        old = self.scene
        size = old.canvas.size if old is not None else self._fit(self.config.size)
        self.set_playing(False)
        self.run = run
        scene = Scene(run, self.config, app=self.vapp, size=tuple(size), show=False)
        scene.canvas.events.draw.connect(self._after_draw, position="last")
        scene.canvas.events.mouse_press.connect(lambda e: self._drag(True))
        scene.canvas.events.mouse_release.connect(lambda e: self._drag(False))
        scene.canvas.events.mouse_wheel.connect(lambda e: (self._wheel_rest.start(), self._update_detail()))
        widget = scene.canvas.native
        widget.setMinimumSize(*size)  # opens at the asked size; released once laid out
        self._layout.insertWidget(0, widget, 1)
        QtCore.QTimer.singleShot(0, lambda: widget.setMinimumSize(160, 90))
        self.scene = scene
        lift = scene.views.get("lift")
        self._home = {name: (*view.camera.rect.pos, *view.camera.rect.size)  # a copy, not the live Rect
                      for name, view in scene.views.items() if name != "lift"}
        if lift is not None:
            self._home["lift"] = (tuple(lift.camera.center), lift.camera.fov)
        self.slider.blockSignals(True)
        self.slider.setRange(0, run.num_steps)
        self.slider.setPageStep(max(run.steps_per_epoch, 1))
        self.slider.blockSignals(False)
        surface = bool(run.hidden == 3 and np.isfinite(ACTIVATION_RANGE[run.activation][1]))
        self.toggles["surface"].setEnabled(surface)
        self.setWindowTitle(self._title())
        widget.setFocus()
        self._state_changed()
        if old is not None:  # last: closing a canvas processes events, which must see the new state
            self._layout.removeWidget(old.canvas.native)
            old.canvas.close()

    def _fit(self, size: tuple[int, int]) -> tuple[int, int]:
        """The picture's size, shrunk (aspect kept) where the screen cannot hold it with the controls."""
        screen = QtGui.QGuiApplication.primaryScreen()
        if screen is None:
            return size
        room = screen.availableGeometry()
        f = min(1.0, (room.width() - 40) / size[0], (room.height() - 140) / size[1])
        return (max(int(size[0] * f), 160), max(int(size[1] * f), 90))

    def _title(self) -> str:
        if self.source is not None:
            return f"deform3d \u2014 {self.source.name}"
        m = self.run.meta
        what = f"{m.get('dataset', '')}, k = {self.run.hidden}, {self.run.activation}"
        if self.live is None:
            return f"deform3d \u2014 {what}"
        c = self.live.config
        verb = "trained" if self.live.finished else "training"
        return f"deform3d \u2014 {verb} {what}, lr {c.lr:g}, seed {c.seed}"

    @property
    def _stem(self) -> str:
        if self.source is not None:
            return self.source.stem
        return f"{self.run.meta.get('dataset', 'run')}-k{self.run.hidden}"

    # ------------------------------------------------------------ time

    def seek(self, t: float, follow: bool | None = None) -> None:
        """Show fractional step ``t`` (clamped to the run); ``math.inf``: the newest step."""
        self._set_step(self.playback.seek(t, follow))
        self._update_detail()

    def _set_step(self, t: float) -> None:
        self.step = t
        self.scene.set_step(t)
        i = int(round(t))
        self.slider.blockSignals(True)
        self.slider.setValue(i)
        self.slider.blockSignals(False)
        self._update_step_label()
        self.scene.canvas.update()
        self._state_changed()

    def _update_step_label(self) -> None:
        run, i = self.run, int(round(self.step))
        self.step_label.setText(f"epoch {self.step / run.steps_per_epoch:6.1f}  step {i:>6d} / {run.num_steps:<6d}"
                                f"  loss {run.loss[i]:<8.3g}")

    def nudge(self, n: int, epoch: bool = False) -> None:
        """One step (or epoch, with ``epoch``) forwards (n > 0) or back; pauses playback."""
        self.set_playing(False)
        self.seek(self.playback.nudge(n, epoch))

    def _on_slider(self, value: int) -> None:
        self.seek(value)

    def _set_speed(self, epochs_per_s: float) -> None:
        self.speed = float(epochs_per_s)
        self._state_changed()

    def toggle_play(self) -> None:
        self.set_playing(not self.playing)

    def set_playing(self, on: bool) -> None:
        if self.playback.set_playing(on, time.perf_counter()):
            self._set_step(0.0)  # play at the end: from the start again
        self.play_button.setText("\u275a\u275a" if self.playing else "\u25b6")
        self._update_detail()
        if self.playing:
            self.scene.canvas.update()
        self._state_changed()

    def _advance(self) -> None:
        """Playback: move on by the wall-clock time since the last frame (any frame rate)."""
        was_playing = self.playing
        t = self.playback.advance(time.perf_counter())
        if was_playing and not self.playing:
            self.set_playing(False)  # the end of the run: the button and the detail follow
        if t is not None:
            self.seek(t)

    @property
    def _training(self) -> bool:
        return self.playback.training

    def _poll_live(self) -> None:
        """Live training: take the newest published steps (never waits on the trainer)."""
        live = self.live
        if live is None:
            return
        if self.playback.take_published():
            self.scene.run = self.run
            self.slider.blockSignals(True)
            self.slider.setMaximum(self.run.num_steps)
            self.slider.blockSignals(False)
            if self.following:
                self._set_step(self.run.num_steps)
            else:
                self._update_step_label()
                self._state_changed()
        done = live.published // live.steps_per_epoch
        if live.finished:
            self._poll.stop()
            self.setWindowTitle(self._title())
            if self.playback.training_ended():
                self.set_playing(False)  # it was waiting for steps that will not come
            if live.error is None and needs_reframe(self.run):
                self._reframe()
            self._update_detail()
            if live.error is not None:
                text = f"training failed: {type(live.error).__name__}: {str(live.error).splitlines()[0][:120]}"
                self._train_label.setText("training failed")
                self.statusBar().showMessage(text)
            else:
                acc = 100 * float(self.run.accuracy[-1])
                self._train_label.setText(f"trained {done} epochs, accuracy {acc:.1f}%")
            self._state_changed()
        else:
            self._train_label.setText(f"training: epoch {done} / {live.config.epochs}")

    def _reframe(self) -> None:
        """Rebuild the scene on the finished run, keeping the step and the lift's angles.

        A live scene is framed on the first step; for k = 4 (the PCA projection of the final lift)
        and relu (unbounded: boxes sized by the final run) that framing is a guess, and once
        training ends the window frames the run as ``deform3d render`` does.
        """
        cam = self.scene.views["lift"].camera if "lift" in self.scene.views else None
        angles = (cam.azimuth, cam.elevation) if cam is not None else None
        step, following = self.step, self.following
        self._show_run(self.run)
        if angles is not None:
            self.scene.set_camera(*angles)
        self.seek(step, follow=following)

    # ------------------------------------------------------------ level of detail

    @property
    def moving(self) -> bool:
        """The picture is changing by itself or under the mouse (playback, live follow, drag, wheel)."""
        return (self.playing or self._dragging or self._wheel_rest.isActive()
                or (self._training and self.following))

    def _drag(self, down: bool) -> None:
        self._dragging = down
        self._update_detail()

    def _update_detail(self) -> None:
        """The coarser sheet while the view moves, the full one at rest (Scene.set_detail)."""
        if self.scene is None:
            return
        full = self.always_full or self._pending_shot is not None or not self.moving
        if full != self.scene.full_detail:
            self.scene.set_detail(full)
            self.scene.canvas.update()

    # ------------------------------------------------------------ view options and camera

    def set_option(self, name: str, on: bool) -> None:
        self.scene.set_options(**{name: on})
        self.config = dataclasses.replace(self.config, **{name: on})
        self.scene.canvas.update()
        self._state_changed()

    def reset_camera(self) -> None:
        """Every panel's camera back to where the window opened (r)."""
        c = self.config
        for name, view in self.scene.views.items():
            if name == "lift":
                view.camera.center, view.camera.fov = self._home["lift"]
            else:
                view.camera.rect = self._home[name]
        self.scene.set_camera(c.azimuth, c.elevation, c.distance)
        self.scene.canvas.update()

    # ------------------------------------------------------------ frames: fps, screenshots, video

    def _after_draw(self, event) -> None:
        now = time.perf_counter()
        self._frames += 1
        self._frame_times.append(now)
        if self._pending_shot is not None or self._video is not None:
            w, h = self.scene.canvas.physical_size
            image = gloo.read_pixels((0, 0, w, h), alpha=False)
            if self._pending_shot is not None:
                self._save_shot(image)
            if self._video is not None:
                self._record_frame(image, now)
        if self.playing:
            QtCore.QTimer.singleShot(0, self._advance)
        self._state_changed()

    def screenshot(self) -> None:
        """Save the next frame drawn as a PNG in the save folder (s)."""
        self._pending_shot = _unique(self.save_dir / f"{self._stem}-step{int(round(self.step)):05d}.png")
        self._update_detail()  # a screenshot is a still: drawn with the full mesh
        self.scene.canvas.update()

    def _save_shot(self, image: np.ndarray) -> None:
        path, self._pending_shot = self._pending_shot, None
        QtCore.QTimer.singleShot(0, self._update_detail)
        try:
            write_png(image, path)
        except (OSError, UsageError) as e:
            self.statusBar().showMessage(f"could not save {path}: {e}", 8000)
            return
        self.screenshots.append(str(path))
        self.statusBar().showMessage(f"saved {path}", 5000)

    def toggle_recording(self) -> None:
        """Start or stop recording the window's picture to an MP4 in the save folder (v)."""
        if self._video is not None:
            self._stop_recording()
            return
        w, h = self.scene.canvas.physical_size
        size = (w - w % 2, h - h % 2)  # H.264 in yuv420p needs even sides: drop an odd last column/row
        path = _unique(self.save_dir / f"{self._stem}-{datetime.now():%Y%m%d-%H%M%S}.mp4")
        try:
            recorder = Recorder(path, size, VIDEO_FPS, progress=False)
        except UsageError as e:
            self.statusBar().showMessage(f"cannot record: {e}", 8000)
            return
        self._video = Capture(recorder, path, size)
        self.setFixedSize(self.size())  # frames must keep one size: no resizing while recording
        self._rec_label.setText("\u25cf REC")
        self.scene.canvas.update()
        self._state_changed()

    def _record_frame(self, image: np.ndarray, now: float) -> None:
        try:
            self._video.frame(image, now)
        except UsageError as e:  # RecordError: ffmpeg failed (disk full...); the target is untouched
            self._video.abort()
            self._end_recording(f"recording failed: {e}")

    def _stop_recording(self) -> None:
        v = self._video
        try:
            path = v.stop(time.perf_counter())
        except UsageError as e:
            self._end_recording(f"recording failed: {e}")
            return
        if path is None:
            self._end_recording("nothing recorded")
            return
        self.videos.append(str(path))
        self._end_recording(f"saved {path} ({v.written} frames, {v.written / VIDEO_FPS:.1f} s)")

    def _end_recording(self, message: str) -> None:
        self._video = None
        self.setMinimumSize(0, 0)
        self.setMaximumSize(QT_MAX_SIZE, QT_MAX_SIZE)
        self._rec_label.setText("")
        self.statusBar().showMessage(message, 8000)
        self._state_changed()

    def _on_heartbeat(self) -> None:
        now = time.perf_counter()
        if self._training and self._beat is not None:
            self._stall_ms = max(self._stall_ms, (now - self._beat - 0.05) * 1000)
        self._beat = now
        recent = [t for t in self._frame_times if now - t <= 1.0]
        if len(recent) >= 2 and recent[-1] > recent[0]:
            self._fps = (len(recent) - 1) / (recent[-1] - recent[0])
            text = f"{self._fps:.1f} fps"
        elif self._fps:
            text = f"idle (last {self._fps:.1f} fps)"  # nothing changes, nothing is redrawn
        else:
            text = "idle"
        if self._fps_label.text() != text:
            self._fps_label.setText(text)
        if self._video is not None:
            seconds = self._video.written / VIDEO_FPS
            self._rec_label.setText(f"\u25cf REC {int(seconds // 60):02d}:{int(seconds % 60):02d}")

    # ------------------------------------------------------------ the training panel

    def _train_from_playground(self) -> None:
        try:
            self.train_live(self.playground.config())
        except UsageError as e:
            self.playground.message.setText(str(e))
            return
        self.playground.message.setText("")
        self.scene.canvas.native.setFocus()

    # ------------------------------------------------------------ debug state and closing

    def state(self) -> dict:
        """What the window shows, for tests and benchmarks (written to DEFORM3D_DEBUG_STATE).

        ``rects[name]``: what a 2-D panel's camera shows, [x, y, w, h] in panel coordinates.
        Screen positions are global X coordinates: ``canvas`` and ``panels[name]`` as [x, y, w, h];
        ``slider_track`` as [x at the first step, x at the last step, y] of the handle's centre;
        ``toggles[name]`` as [x, y] of each check box's box; ``playground`` (None when hidden) as
        [x, y] of the training panel's k menu (``hidden``) and its ``train`` button.
        ``time`` is time.monotonic(), comparable across processes on one machine.
        """
        run, scene = self.run, self.scene
        cam = scene.views["lift"].camera if "lift" in scene.views else None
        widget = scene.canvas.native
        origin = widget.mapToGlobal(QtCore.QPoint(0, 0))
        panels = {}
        for name, view in scene.views.items():
            tr = view.get_transform("visual", "canvas")
            (x0, y0), (x1, y1) = (tr.map([0, 0])[:2], tr.map(list(view.size))[:2])
            panels[name] = [origin.x() + int(x0), origin.y() + int(y0), int(x1 - x0), int(y1 - y0)]
        s = self.slider
        opt = QtWidgets.QStyleOptionSlider()
        s.initStyleOption(opt)
        style = s.style()
        handle = style.subControlRect(QtWidgets.QStyle.ComplexControl.CC_Slider, opt,
                                      QtWidgets.QStyle.SubControl.SC_SliderHandle, s)
        groove = style.subControlRect(QtWidgets.QStyle.ComplexControl.CC_Slider, opt,
                                      QtWidgets.QStyle.SubControl.SC_SliderGroove, s)
        g0 = s.mapToGlobal(QtCore.QPoint(groove.x() + handle.width() // 2, handle.center().y()))
        g1 = s.mapToGlobal(QtCore.QPoint(groove.right() - handle.width() // 2, handle.center().y()))
        live = self.live
        return {
            "pid": os.getpid(), "time": time.monotonic(), "title": self.windowTitle(),
            "source": str(self.source) if self.source else None, "mode": "live" if live else "file",
            "step": self.step, "num_steps": run.num_steps, "steps_per_epoch": run.steps_per_epoch,
            "slider": {"min": s.minimum(), "max": s.maximum(), "value": s.value()},
            "playing": self.playing, "following": self.following, "speed": self.speed,
            "training": self._training, "training_total": live.total if live else None,
            "training_error": repr(live.error) if live and live.error else None,
            "hidden": run.hidden, "dataset": run.meta.get("dataset"),
            "azimuth": cam.azimuth if cam else None, "elevation": cam.elevation if cam else None,
            "distance": cam.distance if cam else None,
            "rects": {name: [float(v) for v in (*view.camera.rect.pos, *view.camera.rect.size)]
                      for name, view in scene.views.items() if name != "lift"},
            "frames": self._frames, "fps": self._fps, "stall_max_ms": self._stall_ms,
            "full_detail": scene.full_detail, "stage": scene.stage,
            "options": {name: getattr(self.config, name) for name, _, _ in OPTIONS},
            "screenshots": self.screenshots, "videos": self.videos,
            "recording": str(self._video.path) if self._video else None,
            "canvas": [origin.x(), origin.y(), widget.width(), widget.height()],
            "canvas_pixels": list(scene.canvas.physical_size), "panels": panels,
            "slider_track": [g0.x(), g1.x(), g0.y()],
            "toggles": {name: [p.x(), p.y()] for name, box in self.toggles.items()
                        for p in [box.mapToGlobal(QtCore.QPoint(8, box.height() // 2))]},
            "playground": {name: [p.x(), p.y()] for name, widget in (("hidden", self.pg_hidden), ("train", self.pg_train))
                           for p in [widget.mapToGlobal(widget.rect().center())]} if self.playground.isVisible() else None,
            "window": int(self.winId()),
        }

    # ------------------------------------------------------------ the anatomy: a stage slider (issue 12)

    def _stage_control(self) -> QtWidgets.QWidget:
        """A row of its own: an "anatomy" check box, the stage slider (0..7 in hundredths) and the
        stage in words. The lift panel then shows the forward pass at that stage (Scene.set_stage);
        the stage lives in the config, so a run opened later opens at it too."""
        row = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(row)
        lay.setContentsMargins(8, 0, 8, 4)
        on = self.config.stage is not None
        self.stage_box = QtWidgets.QCheckBox("anatomy", checked=on, toolTip="the forward pass in stages (a)")
        self.stage_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal, minimum=0, maximum=700,
                                              value=round(100 * (self.config.stage or 0.0)), enabled=on,
                                              toolTip="stage: 0 input, 3 the lift h1, 6 the plane h2, 7 the cut ([ and ])")
        self.stage_label = QtWidgets.QLabel("")
        for w in (self.stage_box, self.stage_slider):
            w.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys stay with the window's shortcuts
        lay.addWidget(self.stage_box)
        lay.addWidget(self.stage_slider, 1)
        lay.addWidget(self.stage_label)
        self.stage_box.toggled.connect(lambda on: self.set_stage(self.stage_slider.value() / 100 if on else None))
        self.stage_slider.valueChanged.connect(lambda v: self.set_stage(v / 100))
        if "lift" not in self.config.panels:
            row.setEnabled(False)
        return row

    def _stage_keys(self) -> dict:
        """a: the anatomy on or off; [ and ]: to the previous or next whole stage."""
        def step(n: int) -> None:
            s = self.config.stage if self.config.stage is not None else 0.0
            self.set_stage(min(max(math.floor(s + 1e-9) + n if n > 0 else math.ceil(s - 1e-9) + n, 0), 7))

        return {"A": lambda: self.stage_box.setChecked(not self.stage_box.isChecked()),
                "]": lambda: step(1), "[": lambda: step(-1)}

    def set_stage(self, s: float | None) -> None:
        """Show the anatomy at stage ``s`` (0..7), or the lift itself (None)."""
        if "lift" not in self.config.panels:
            return
        self.config = dataclasses.replace(self.config, stage=s)
        for w, value in ((self.stage_box, s is not None), (self.stage_slider, round(100 * (s or 0.0)))):
            w.blockSignals(True)
            w.setChecked(value) if w is self.stage_box else w.setValue(value)
            w.blockSignals(False)
        self.stage_slider.setEnabled(s is not None)
        self.stage_label.setText("" if s is None else f"stage {s:4.2f}")
        if self.scene is not None:
            self.scene.set_stage(s)
            self.scene.canvas.update()
        self._state_changed()

    def _state_changed(self) -> None:
        if self.state_path is None or self._state_dirty:
            return
        self._state_dirty = True
        QtCore.QTimer.singleShot(0, self._write_state)

    def _write_state(self) -> None:
        self._state_dirty = False
        if self.scene is None:
            return
        tmp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.state()))
        os.replace(tmp, self.state_path)

    def closeEvent(self, event) -> None:
        if self._video is not None:
            self._stop_recording()  # a video in progress is finished, never left broken
        self._heartbeat.stop()
        self._poll.stop()
        if self.live is not None:
            self.live.stop()
            self.live.join(5.0)  # the window is gone: finishing its epoch is all that is left
        self.state_path = None
        if self.scene is not None:
            self.scene.canvas.close()
        event.accept()


def open_window(run: Trajectory | None, source: Path | None, train: TrainConfig | None, render: RenderConfig,
                save_dir: Path, play: bool = False, state_path: Path | None = None, full_detail: bool = False) -> int:
    """Create the Qt application and the window, run until it closes; returns 0."""
    vapp = vispy_app.Application("pyside6")
    vapp.create()
    window = Window(vapp, render, save_dir, state_path, full_detail)
    try:
        if run is not None:
            window.open_run(run, source)
        else:
            window.train_live(train)
    except BaseException:
        window.close()  # tear Qt and GL down in order before the error leaves (else a crash at exit)
        vapp.process_events()
        raise
    window.show()
    window.raise_()
    window.activateWindow()
    if play:
        window.set_playing(True)
    vapp.run()
    return 0
