"""The Qt window of ``deform3d show``: the picture, a toolbar, a control bar, a training panel.

Owns: the main window: the picture (drawn by ``ui.surface``), the toolbar and keyboard shortcuts (and the help
overlay that lists them), the status bar, the wiring of the control bar and training panel
(``ui.widgets``) to ``ui.playback`` (the Qt-free playback and live following that tests drive
without a display); opening runs (dialog, drag and drop, recent runs) and saving a live one;
linked points (a point or a box of points marked in every panel); screenshots of exactly what the
window shows, and recordings rendered offscreen from the path the user played (``video.take``).
Imports Qt (PySide6), so only ``deform3d.ui.app`` imports it, after checking that Qt and a display
exist; never torch: live training runs in a child process (``core.live_process``), so neither
``import torch`` nor a training step can hold this process's interpreter lock.

Never freeze (docs/design.md's interactive loop): work over ~50 ms leaves the GUI thread (frames
drawn on the GL thread by ``ui.surface``, training in its own process, run files loaded in a
thread, videos rendered in a child process); the scene is only ever touched through the surface
(``call``, ``post``), on its own thread, and built rarely: a new live run on the same data, k and
activation reuses the scene, which only grows. While anything moves (playback, live following,
drags, the wheel, the slider, keys) the sheets use the video's coarser mesh; 350 ms after the last change
the view is drawn again in full, and screenshots are always full.

A screenshot (``s``, PNG) is the very full frame that the surface puts on screen. No MSAA: the shaders antialias what would alias (grid
lines and the decision curve by ``fwidth``, round sprites), and 4x MSAA measured 2.3x slower on
the software rasterizer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.config import RenderConfig, TrainConfig
from ..core.errors import UsageError
from ..core.framing import drawable
from ..core.geometry import ACTIVATION_RANGE, forward
from ..core.trajectory import Trajectory
from ..graphics.offscreen import write_png
from ..graphics.scene import THEMES, Scene
from .playback import DEFAULT_SPEED, SPEEDS, VIDEO_FPS, Playback, needs_reframe
from .surface import Handlers, Pointer, make_surface
from .widgets import OPTIONS, ControlBar, TrainingPanel, apply_theme

QT_MAX_SIZE = (1 << 24) - 1  # Qt's QWIDGETSIZE_MAX, which PySide6 does not export
MOTION_REST_MS = 350  # after the last change, the view is drawn again in full detail
WINDOW_TEXT = 1.25  # the picture's text in a window, against a still's: read from the back of a room
FONT_STEPS = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)
RECENT = 8  # runs in the recent list
STATE_WRITE_S = 0.05  # debug mode: the state file is written at most this often (tests poll it at 50 ms)
BANNER_STYLE = (
    "QLabel#banner { background: rgba(179, 38, 30, 235); color: white; padding: 6px 10px; font-weight: bold } "
)
READOUT_STYLE = "QLabel#readout { background: rgba(20, 24, 30, 215); color: #f4f4f4; padding: 3px 8px } "
HELP_STYLE = "QLabel#help { background: rgba(20, 24, 30, 235); color: #f0f0f0; padding: 14px; border-radius: 8px } "

# Every key and mouse action, for the help overlay (and the toolbar's tooltips name theirs).
HELP = (
    ("space", "play / pause"),
    ("left / right", "one step back / forward"),
    ("shift + left / right", "one epoch"),
    ("Home / End", "first step / newest step (End follows live training)"),
    ("[ / ]", "slower / faster playback"),
    ("a", "the anatomy (the forward pass in stages) on / off"),
    (", / .", "the anatomy's previous / next stage"),
    ("r", "reset the cameras"),
    ("s", "save the picture as PNG"),
    ("v", "start / stop recording a video of what you play"),
    ("ctrl + o", "open a run (.npz); or drop one on the window"),
    ("ctrl + shift + s", "save the run trained here"),
    ("+ / -  (ctrl + 0)", "larger / smaller text (reset)"),
    ("F11", "fullscreen"),
    ("? or F1", "this help"),
    ("Esc", "close help, clear marked points"),
    ("ctrl + q", "quit"),
    ("drag (lift)", "orbit; shift + drag pans; wheel zooms"),
    ("drag (plane, input)", "pan; wheel zooms"),
    ("click a point", "mark it in every panel, with its coordinates"),
    ("ctrl + drag", "mark every point in a box, in every panel"),
)


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


class _Loaded(QtCore.QObject):
    """Carries a run loaded in a worker thread back to the GUI thread (a queued signal)."""

    done = QtCore.Signal(object, object)  # (Trajectory or UsageError, path)


class _Placeholder(QtWidgets.QLabel):
    """Where the picture goes before there is one (live training starting): a note."""

    def __init__(self, background: str, color: str):
        super().__init__("", alignment=QtCore.Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.setStyleSheet(f"background: {background}; color: {color}")
        self.setVisible(False)


class Window(QtWidgets.QMainWindow):
    """One window showing one run at a time: from a file, or training live (``train_live``)."""

    run, live, step, playing, following, speed = map(
        _playback, ("run", "live", "step", "playing", "following", "speed")
    )

    def __init__(
        self,
        vapp_factory,
        config: RenderConfig,
        save_dir: Path,
        state_path: Path | None = None,
        full_detail: bool = False,
        font_scale: float = 1.0,
    ):
        super().__init__()
        self.config, self.save_dir, self.state_path = config, save_dir, state_path
        self.debug = state_path is not None or bool(os.environ.get("DEFORM3D_DEBUG"))
        self.always_full = full_detail  # never draw the coarser mesh while the view moves
        self.font_scale = float(font_scale)
        self._dragging = False
        self._step_to: tuple | None = None  # (scene, step) asked for, not yet taken by the scene's thread
        self.scene: Scene | None = None
        self.playback = Playback(DEFAULT_SPEED)  # run, live (a core.live_process.LiveProcess), step, playing, ...
        self._pending = None  # a LiveProcess started but without its first step yet
        self.source: Path | None = None
        self.screenshots: list[str] = []
        self.videos: list[str] = []
        self.saved_runs: list[str] = []
        self._frames = 0
        self._frame_times: deque[float] = deque(maxlen=600)
        self._fps = 0.0
        self._pending_shot: Path | None = None
        self._take: dict | None = None  # the recording in progress: its start and samples
        self._render = None  # the child process rendering a recording
        self._render_progress: tuple[int, int] | None = None
        self._home: dict = {}
        self._lateness: deque[tuple[float, float]] = deque(maxlen=4000)  # (monotonic time, ms) of the timer
        self._draws: deque[list[float]] = deque(maxlen=4000)  # [start, end] (monotonic) of each frame, compose included
        self._beat: float | None = None
        self._state_dirty = False
        self._state_written = -math.inf  # time.monotonic() of the last debug state written
        self._selection: np.ndarray | None = None
        self._box_start = None  # ctrl + drag: where the box began (canvas px)
        self._press = None
        self._health = ""  # the banner's message (diverged, collapsed), "" when all is well
        self._health_step = None
        self._last_reframe = 0.0
        self._normal_geometry = None
        self.reframes = 0  # live runs framed anew as they outgrew their boxes
        self._switching = False  # open_run / _adopt in progress: no debug state is written half-done
        self._loaded = _Loaded()
        self._loaded.done.connect(self._on_loaded)
        self._loading: Path | None = None
        self.settings = QtCore.QSettings("deform3d", "deform3d")
        self.setAcceptDrops(True)
        self._build_ui(vapp_factory)
        self._build_shortcuts()
        self._poll = QtCore.QTimer(self, interval=100, timeout=self._poll_live)
        self._heartbeat = QtCore.QTimer(self, interval=50, timeout=self._on_heartbeat)
        self._heartbeat.start()
        self._wheel_rest = QtCore.QTimer(self, singleShot=True, interval=300, timeout=self._update_detail)
        self._motion = QtCore.QTimer(self, singleShot=True, interval=MOTION_REST_MS, timeout=self._update_detail)
        self._scale_controls()

    # ------------------------------------------------------------ building

    def _build_ui(self, vapp_factory) -> None:
        apply_theme(QtWidgets.QApplication.instance(), self.config.theme)
        central = QtWidgets.QWidget(self)
        self._layout = QtWidgets.QVBoxLayout(central)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        theme = THEMES[self.config.theme]
        self.placeholder = _Placeholder(
            QtGui.QColor.fromRgbF(*theme.background).name(), QtGui.QColor.fromRgbF(*theme.text).name()
        )
        self._layout.addWidget(self.placeholder, 1)
        handlers = Handlers(self._mouse_press, self._mouse_move, self._mouse_release, self._wheel, self._after_draw)
        self.surface = make_surface(handlers, QtGui.QColor.fromRgbF(*theme.background), vapp_factory)
        if self.state_path is not None:
            self.surface.probe = self._probe  # state() reads the frame's geometry without waiting for GL
        self._layout.addWidget(self._control_bar())
        self._layout.addWidget(self._stage_control())
        # Overlays on the picture (never in the layout: showing one must not resize the picture).
        self.banner = QtWidgets.QLabel("", central, wordWrap=True, visible=False)
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.readout = QtWidgets.QLabel("", central, visible=False)
        self.readout.setObjectName("readout")
        self.readout.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.readout.setStyleSheet(READOUT_STYLE)
        self.setCentralWidget(central)
        self._build_playground()
        self._build_toolbar()
        self.help = QtWidgets.QLabel(self._help_html(), central, visible=False)
        self.help.setObjectName("help")
        self.help.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.help.setStyleSheet(HELP_STYLE)
        bar = self.statusBar()
        self._train_label = QtWidgets.QLabel("")
        self._rec_label = QtWidgets.QLabel("")
        self._rec_label.setStyleSheet("color: #c0392b; font-weight: bold")
        self._fps_label = QtWidgets.QLabel("")
        self._fps_label.setMinimumWidth(90)
        self._fps_label.setVisible(self.debug)  # a developer's number: not for the audience
        for w in (self._train_label, self._rec_label, self._fps_label):
            bar.addPermanentWidget(w)

    def _help_html(self) -> str:
        rows = "".join(f"<tr><td style='padding-right:18px'><b>{k}</b></td><td>{v}</td></tr>" for k, v in HELP)
        return f"<p><b>deform3d: keys and mouse</b></p><table>{rows}</table><p>? or Esc closes this</p>"

    def _control_bar(self) -> QtWidgets.QWidget:
        bar = self.control_bar = ControlBar({name: getattr(self.config, name) for name, _, _ in OPTIONS})
        self.play_button, self.slider, self.step_label = bar.play_button, bar.slider, bar.step_label
        self.toggles, self.playground_button = bar.toggles, bar.playground_button
        self.speed_box = bar.speed_box
        self.play_button.clicked.connect(self.toggle_play)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderPressed.connect(lambda: self._drag(True))
        self.slider.sliderReleased.connect(lambda: self._drag(False))
        self.speed_box.currentIndexChanged.connect(lambda i: self._set_speed(SPEEDS[i]))
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

    def _build_toolbar(self) -> None:
        tools = self.toolbar = QtWidgets.QToolBar("tools", self, movable=False)
        tools.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, tools)
        self.recent_menu = QtWidgets.QMenu("recent runs", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.actions_ = {}
        for name, text, tip, slot in (
            ("open", "open\u2026", "open a run (.npz) (ctrl+o); or drop one on the window", self.open_dialog),
            ("save_run", "save run", "save the run trained here as .npz (ctrl+shift+s)", self.save_run),
            ("reset", "reset view", "reset the cameras (r)", self.reset_camera),
            ("screenshot", "screenshot", "save the picture as PNG (s)", self.screenshot),
            ("record", "record", "start / stop recording a video of what you play (v)", self.toggle_recording),
            ("fullscreen", "fullscreen", "fullscreen on / off (F11)", self.toggle_fullscreen),
            ("help", "help", "every key and mouse action (? or F1)", self.toggle_help),
        ):
            action = QtGui.QAction(text, self, toolTip=tip)
            action.triggered.connect(slot)
            tools.addAction(action)
            self.actions_[name] = action
            if name == "open":
                action.setMenu(self.recent_menu)
                button = tools.widgetForAction(action)
                button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        for action in self.actions_.values():
            tools.widgetForAction(action).setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)

    def _build_shortcuts(self) -> None:
        keys = {
            "Space": self.toggle_play,
            "Right": lambda: self.nudge(1),
            "Left": lambda: self.nudge(-1),
            "Shift+Right": lambda: self.nudge(1, epoch=True),
            "Shift+Left": lambda: self.nudge(-1, epoch=True),
            "Home": lambda: self.seek(0),
            "End": lambda: self.seek(math.inf),
            "R": self.reset_camera,
            "S": self.screenshot,
            "V": self.toggle_recording,
            "[": lambda: self._step_speed(-1),
            "]": lambda: self._step_speed(1),
            "+": lambda: self.set_font_scale(1),
            "=": lambda: self.set_font_scale(1),
            "-": lambda: self.set_font_scale(-1),
            "Ctrl+0": lambda: self.set_font_scale(0),
            "F11": self.toggle_fullscreen,
            "?": self.toggle_help,
            "Shift+?": self.toggle_help,
            "F1": self.toggle_help,
            "Escape": self._escape,
            "Ctrl+O": self.open_dialog,
            "Ctrl+Shift+S": self.save_run,
            "Ctrl+Q": self.close,
            **self._stage_keys(),
        }
        for key, action in keys.items():
            QtGui.QShortcut(QtGui.QKeySequence(key), self, activated=action)

    # ------------------------------------------------------------ what is shown

    def open_run(self, run: Trajectory, source: Path | None = None) -> None:
        """Show a recorded run (stops any live training); the lift keeps its camera."""
        self._switching = True
        try:
            self._open_run(run, source)
        finally:
            self._switching = False
            self._state_changed()

    def _open_run(self, run: Trajectory, source: Path | None) -> None:
        self._stop_live()
        self.source = source
        if source is not None:
            self._remember(source)
        self._show_run(run, self._camera())
        self.following = False
        self.playground.fill(run)
        self.playground.setVisible(False)
        self.seek(run.num_steps)
        self._train_label.setText("")
        self.actions_["save_run"].setEnabled(False)

    def _camera(self):
        """The lift's (azimuth, elevation, distance) now, or None (no scene, no lift)."""
        if self.scene is None or "lift" not in self.scene.views:
            return None
        cam = self.scene.views["lift"].camera
        return cam.azimuth, cam.elevation, self.scene._distance

    def _stop_live(self) -> None:
        for live in (self.live, self._pending):
            if live is not None:
                live.close()  # the child ends at its next epoch (nobody waits); its shared file goes now
        self.live = None
        self._pending = None
        self._poll.stop()

    def train_live(self, config: TrainConfig) -> None:
        """Train ``config`` in a child process and show it as it grows (UsageError on bad data).

        Returns at once: the window shows the current picture (or a note) until the child has
        its first step, then the new run, following its newest step."""
        from ..core.live_process import LiveProcess

        live = LiveProcess(config)  # loads the data here: a bad CSV raises before anything changes
        self._stop_live()
        self._pending = live.start()
        self._train_label.setText("starting training (loading PyTorch)\u2026")
        if self.scene is None and self.placeholder is not None:
            self.placeholder.setText(f"preparing to train k = {config.hidden} on {config.dataset}\u2026")
            self.placeholder.setVisible(True)
        self._poll.start()

    def _adopt(self, live) -> None:
        """A pending live run has its first step: show it (in the current scene where it can)."""
        self._switching = True
        try:
            self._adopt_run(live)
        finally:
            self._switching = False
            self._state_changed()

    def _adopt_run(self, live) -> None:
        run = live.snapshot()
        self._pending, self.live, self.source = None, live, None
        self.actions_["save_run"].setEnabled(True)
        if self._fits_scene(run):
            self.set_playing(False)
            self.run = run
            self.surface.call(setattr, self.scene, "run", run)
            self._set_slider_range(run)
            self.setWindowTitle(self._title())
        else:
            self._show_run(run, self._camera())
        self.playground.fill(run)
        self.playground.setVisible(True)
        self._set_health("")
        self._last_reframe = time.monotonic()
        # Following, at the newest step: usually step 0, but a fast run (or a slow GUI) may already
        # have published all of its steps, and no later poll would move the picture to them.
        self.seek(math.inf, follow=True)

    def _fits_scene(self, run: Trajectory) -> bool:
        """Whether the scene shown can show ``run`` as it is: the same data, k and activation, and a
        framing that does not depend on the run's weights (no PCA, bounded activation)."""
        s = self.scene
        return (
            s is not None
            and "curve" not in self.config.panels
            and s.geo.k == run.hidden
            and s.geo.activation == run.activation
            and not needs_reframe(run)
            and s.run.X.shape == run.X.shape
            and np.array_equal(s.run.X, run.X)
            and np.array_equal(s.run.y, run.y)
        )

    def _show_run(self, run: Trajectory, camera=None) -> None:
        """Build a scene for ``run`` and show it in place of the old one; ``camera``: the lift's
        (azimuth, elevation, distance) to keep (None: the configured view)."""
        old, old_widget = self.scene, self.surface.widget if self.scene is not None else None
        size = self.surface.size() if old is not None else self._fit(self.config.size)
        self.set_playing(False)
        self.run = run
        scene = self.surface.build(run, self.config, tuple(size), WINDOW_TEXT * self.font_scale)
        widget = self.surface.widget
        if widget is not old_widget:  # the first picture (or, on a VisPy canvas, each new one)
            widget.setMinimumSize(*size)  # opens at the asked size; released once laid out
            if self.placeholder is not None:
                # The first picture takes the note's place, and the note goes for good.
                self._layout.replaceWidget(self.placeholder, widget)
                self._layout.setStretchFactor(widget, 1)
                self.placeholder.hide()
                self.placeholder.deleteLater()
                self.placeholder = None
            else:
                self._layout.insertWidget(0, widget, 1)
            QtCore.QTimer.singleShot(0, lambda: widget.setMinimumSize(160, 90))
        self.scene = scene
        if camera is not None:
            self.surface.call(scene.set_camera, *camera)
        self._selection = None
        self.readout.setVisible(False)
        lift = scene.views.get("lift")
        self._home = {
            name: (*view.camera.rect.pos, *view.camera.rect.size)  # a copy, not the live Rect
            for name, view in scene.views.items()
            if name != "lift"
        }
        if lift is not None:
            self._home["lift"] = (tuple(lift.camera.center), lift.camera.fov)
        self._set_slider_range(run)
        surface = bool(run.hidden == 3 and np.isfinite(ACTIVATION_RANGE[run.activation][1]))
        self.toggles["surface"].setEnabled(surface)
        self.setWindowTitle(self._title())
        widget.setFocus()
        self._set_health("")
        self.surface.update()
        self._state_changed()
        if old is not None:  # last: closing a canvas processes events, which must see the new state
            if old_widget is not widget:
                self._layout.removeWidget(old_widget)
            self.surface.discard(old)

    def _set_slider_range(self, run: Trajectory) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, run.num_steps)
        self.slider.setPageStep(max(run.steps_per_epoch, 1))
        self.slider.blockSignals(False)
        self.control_bar.fit_label(run)

    def _fit(self, size: tuple[int, int]) -> tuple[int, int]:
        """The picture's size, shrunk (aspect kept) where the screen cannot hold it with the controls."""
        screen = QtGui.QGuiApplication.primaryScreen()
        if screen is None:
            return size
        room = screen.availableGeometry()
        f = min(1.0, (room.width() - 40) / size[0], (room.height() - 180) / size[1])
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

    # ------------------------------------------------------------ opening and saving runs

    def open_dialog(self) -> None:
        """Choose a run file to open (ctrl+o)."""
        start = str(self.source.parent if self.source else self.save_dir)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self,
            "open a run",
            start,
            "deform3d runs (*.npz);;all files (*)",
            options=QtWidgets.QFileDialog.Option.DontUseNativeDialog,
        )
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> None:
        """Open the run at ``path``: read in a worker thread, shown when read (errors in the status bar)."""
        self._loading = path
        self.statusBar().showMessage(f"opening {path.name}\u2026")
        self._state_changed()

        def work():
            try:
                result = Trajectory.load(path)
            except UsageError as e:
                result = e
            except Exception as e:  # a file that is not a run at all
                result = UsageError(f"{path} is not a deform3d run ({type(e).__name__})")
            self._loaded.done.emit(result, path)

        threading.Thread(target=work, name="deform3d-open", daemon=True).start()

    def _on_loaded(self, result, path: Path) -> None:
        if path != self._loading:
            return  # another file was asked for since
        self._loading = None
        if isinstance(result, Exception):
            self.statusBar().showMessage(f"cannot open: {result}", 10000)
            self._state_changed()
            return
        self.open_run(result, path)
        self.statusBar().showMessage(f"opened {path}", 5000)

    def _remember(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("recent", recent[:RECENT])

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            action = self.recent_menu.addAction(Path(p).name, lambda p=p: self.load_file(Path(p)))
            action.setToolTip(p)
            action.setEnabled(Path(p).is_file())
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("no recent runs").setEnabled(False)

    def dragEnterEvent(self, event) -> None:
        if any(u.toLocalFile().lower().endswith(".npz") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.toLocalFile().lower().endswith(".npz")]
        if files:
            event.acceptProposedAction()
            self.load_file(files[0])

    def save_run(self) -> None:
        """Save the live-trained run (as far as it has trained) as .npz in the save folder (ctrl+shift+s)."""
        if self.live is None:
            self.statusBar().showMessage("only a run trained here needs saving; this one is a file already", 6000)
            return
        run = self.live.copy()
        c = self.live.config
        path = _unique(
            self.save_dir / f"{c.dataset if '/' not in c.dataset else 'data'}-k{c.hidden}-{c.activation}"
            f"-lr{c.lr:g}-seed{c.seed}.npz"
        )
        try:
            run.save(path)
        except (OSError, UsageError) as e:
            self.statusBar().showMessage(f"could not save {path}: {e}", 8000)
            return
        self.saved_runs.append(str(path))
        self._remember(path)
        self.statusBar().showMessage(f"saved {path} ({run.num_steps} steps)", 6000)
        self._state_changed()

    # ------------------------------------------------------------ time

    def seek(self, t: float, follow: bool | None = None) -> None:
        """Show fractional step ``t`` (clamped to the run); ``math.inf``: the newest step."""
        if self.scene is None:
            return
        self._set_step(self.playback.seek(t, follow))
        self._moved()

    def _moved(self) -> None:
        """The picture changed by a jump (slider, key, new live step): coarse now, full at rest."""
        self._motion.start()
        self._update_detail()

    def _set_step(self, t: float) -> None:
        self.step = t
        i = int(round(t))
        # A diverged step (NaN/inf weights) has no picture: the scene keeps the last one, and the
        # banner (_check_health) says why. Not waited for (a frame being drawn is not held up), and
        # steps asked for faster than the scene takes them (a scrub) go as one, the newest.
        queued, self._step_to = self._step_to is not None, (self.scene, t)
        if not queued:
            self.surface.post(self._apply_step)
        self.slider.blockSignals(True)
        self.slider.setValue(i)
        self.slider.blockSignals(False)
        self._update_step_label()
        self._check_health(i)
        if self._selection is not None:
            self._show_readout()
        self.surface.update()
        self._state_changed()

    def _apply_step(self) -> None:
        """On the scene's thread: the newest step asked for."""
        target, self._step_to = self._step_to, None
        if target is not None:
            target[0].set_step(target[1])

    def _update_step_label(self) -> None:
        self.step_label.setText(self.control_bar.step_text(self.run, self.step))

    def nudge(self, n: int, epoch: bool = False) -> None:
        """One step (or epoch, with ``epoch``) forwards (n > 0) or back; pauses playback."""
        if self.scene is None:
            return
        self.set_playing(False)
        self.seek(self.playback.nudge(n, epoch))

    def _on_slider(self, value: int) -> None:
        self.seek(value)

    def _set_speed(self, epochs_per_s: float) -> None:
        self.speed = float(epochs_per_s)
        self._state_changed()

    def _step_speed(self, d: int) -> None:
        i = min(max(self.speed_box.currentIndex() + d, 0), len(SPEEDS) - 1)
        self.speed_box.setCurrentIndex(i)

    def toggle_play(self) -> None:
        self.set_playing(not self.playing)

    def set_playing(self, on: bool) -> None:
        if self.run is None:
            return
        if self.playback.set_playing(on, time.perf_counter()):
            self._set_step(0.0)  # play at the end: from the start again
        self.control_bar.show_playing(self.playing)
        self._update_detail()
        if self.playing:
            self.surface.update()
        self._state_changed()

    def _advance(self) -> None:
        """Playback: move on by the wall-clock time since the last frame (any frame rate)."""
        was_playing = self.playing
        t = self.playback.advance(time.perf_counter())
        if was_playing and not self.playing:
            self.set_playing(False)  # the end of the run: the button and the detail follow
        if t is not None:
            self._set_step(self.playback.seek(t))

    @property
    def _training(self) -> bool:
        return self.playback.training or self._pending is not None

    def _poll_live(self) -> None:
        """Live training: take the newest published steps (never waits on the trainer)."""
        pending = self._pending
        if pending is not None:
            if pending.ready:
                self._adopt(pending)
                return  # its newer steps at the next poll: one picture's work per tick
            elif pending.finished:
                self._pending = None
                self._poll.stop()
                if self.placeholder is not None:
                    self.placeholder.setText("training could not start")
                self._train_label.setText("training failed")
                self._set_health(f"training could not start: {pending.error}")
                return
            else:
                return
        live = self.live
        if live is None:
            return
        if self.playback.take_published():
            self.surface.call(setattr, self.scene, "run", self.run)
            self.slider.blockSignals(True)
            self.slider.setMaximum(self.run.num_steps)
            self.slider.blockSignals(False)
            if self.following:
                self._set_step(self.run.num_steps)
                self._moved()
            else:
                self._update_step_label()
                self._state_changed()
            self._reframe_if_outgrown()
        done = live.published // live.steps_per_epoch
        if live.finished:
            self._poll.stop()
            self.setWindowTitle(self._title())
            if self.playback.training_ended():
                self.set_playing(False)  # it was waiting for steps that will not come
            if live.error is None and needs_reframe(self.run) and np.all(np.isfinite(self.run.weights[-1].flat())):
                self._reframe()
            self._update_detail()
            if live.error is not None:
                text = f"training failed: {str(live.error).splitlines()[0][:160]}"
                self._train_label.setText("training failed")
                self._set_health(text)
            else:
                acc = 100 * float(self.run.accuracy[-1])
                self._train_label.setText(f"trained {done} epochs, accuracy {acc:.1f}%")
            self._state_changed()
        else:
            self._train_label.setText(f"training: epoch {done} / {live.config.epochs}")

    def _reframe_if_outgrown(self) -> None:
        """Live relu runs grow past the boxes framed on their first step: frame them anew as they
        go (at most every 4 s: a new scene costs a GL rebuild on this thread)."""
        run = self.run
        if (
            np.isfinite(ACTIVATION_RANGE[run.activation][1])
            or time.monotonic() - self._last_reframe < 4.0
            or not np.all(np.isfinite(run.weights[run.num_steps].flat()))
        ):  # (nothing to frame)
            return
        pos = self.surface.call(self.scene.data_positions, run.num_steps)
        lo, hi = self.scene.geo.plane_range
        outside = float(np.nanmax(np.abs(pos["plane"]))) if "plane" in pos else 0.0
        lift = float(np.nanmax(np.abs(pos["lift"]))) if "lift" in pos else 0.0
        if max(outside, lift) > 1.05 * hi:
            self._last_reframe = time.monotonic()
            self.reframes += 1
            self._reframe()

    def _reframe(self) -> None:
        """Rebuild the scene on the run as it is now, keeping the step and the lift's angles.

        A live scene is framed on the first step; for k = 4 (the PCA projection of the final lift)
        and relu (unbounded: boxes sized by the final run) that framing is a guess, and once
        training ends the window frames the run as ``deform3d render`` does.
        """
        step, following, selection = self.step, self.following, self._selection
        self._show_run(self.run, self._camera())
        self.seek(step, follow=following)
        if selection is not None:
            self.select(selection)

    # ------------------------------------------------------------ failures said in words

    def _set_health(self, text: str) -> None:
        if text != self._health:
            self._health = text
            self.banner.setText(text)
            self.banner.setVisible(bool(text))
            self._place_overlays()
            self._state_changed()

    def _check_health(self, i: int) -> None:
        """Say in words when the step shown has diverged (NaN/inf, or too far out to draw: not
        ``drawn``) or collapsed every point onto one spot (all within a pixel in the plane): either
        leaves a picture that looks empty or stale."""
        if i == self._health_step:
            return
        self._health_step = i
        run = self.run
        lr = self.live.config.lr if self.live is not None else (run.meta.get("config") or {}).get("lr")
        epoch = i / run.steps_per_epoch
        hint = (
            f" (learning rate {lr:g}: try a smaller one)"
            if isinstance(lr, (int, float))
            else " (try a smaller learning rate)"
        )
        w = run.weights[i]
        # What Scene.set_step refuses to draw: weights not finite, or a sheet too far out (only an
        # unbounded activation's can be: a bounded one's is finite wherever its weights are).
        drawn = bool(np.all(np.isfinite(w.flat())))
        if drawn and not np.all(np.isfinite(ACTIVATION_RANGE[run.activation])):
            with np.errstate(over="ignore", invalid="ignore"):
                drawn = drawable(forward(w, self.scene.geo.sheet_sample, run.activation))
        if not (drawn and np.isfinite(run.loss[i])):
            # When it happened (the first step with an infinite loss or weights), not the step shown.
            bad = ~np.isfinite(run.loss[: i + 1]) | ~np.isfinite(run.weights[: i + 1].flat()).all(axis=1)
            epoch = (int(np.argmax(bad)) if bad.any() else i) / run.steps_per_epoch
            self._set_health(
                f"Training diverged at epoch {epoch:.1f}: the weights blew up (too large to draw, then "
                f"infinite or NaN), so there is nothing left to draw{hint}."
            )
            return
        # Collapsed, every input gets one answer: the accuracy is the larger class's share. Only then
        # is the forward pass over the data worth its time (this runs on every step shown).
        share = float(max(np.mean(np.asarray(run.y) > 0.5), np.mean(np.asarray(run.y) <= 0.5)))
        if float(run.accuracy[i]) <= share + 1e-6 and "plane" in self.scene.views:
            lo, hi = self.scene.geo.plane_range
            per_unit = min(self.scene.views["plane"].size) / max(hi - lo, 1e-12)
            X = np.asarray(run.X, np.float64)
            collapsed = False
            for sample in (X[:: max(len(X) // 64, 1)], X):  # a sample first; all of them only to confirm
                h2 = forward(w, sample, run.activation).h2
                collapsed = float(np.ptp(h2, axis=0).max()) * per_unit < 1.0
                if not collapsed:
                    break
            if collapsed:
                self._set_health(
                    f"Training collapsed by epoch {epoch:.1f}: every one of the {len(X)} points lands "
                    f"on the same spot in the plane (within a pixel), so the network gives every input "
                    f"the same answer{hint}."
                )
                return
        self._set_health("")

    # ------------------------------------------------------------ level of detail

    @property
    def moving(self) -> bool:
        """The picture is changing by itself or under the mouse (playback, live follow, drag, wheel,
        the slider, keys)."""
        return (
            self.playing
            or self._dragging
            or self._wheel_rest.isActive()
            or self._motion.isActive()
            or (self.playback.training and self.following)
        )

    def _drag(self, down: bool) -> None:
        self._dragging = down
        if not down:
            self._motion.start()
        self._update_detail()

    def _update_detail(self) -> None:
        """While the view moves, the coarser sheet (Scene.set_detail) drawn at 1 / MOTION_DIVISOR
        of the canvas's resolution and stretched back; at rest the full picture."""
        if self.scene is None:
            return
        full = self.always_full or self._pending_shot is not None or not self.moving
        self.surface.set_motion(not full)

    # ------------------------------------------------------------ linked points

    def _mouse_press(self, event: Pointer) -> None:
        if self.scene is None:
            return
        self._press = event.pos
        if event.button == 1 and event.control:
            self._box_start = self._press
            self.surface.call(self._interactive, False)  # the box is drawn, the cameras stay
            return
        self._drag(True)

    def _interactive(self, on: bool) -> None:
        for view in self.scene.views.values():
            view.camera.interactive = on

    def _wheel(self) -> None:
        self._wheel_rest.start()
        self._update_detail()

    def _mouse_move(self, event: Pointer) -> None:
        if self.scene is None:
            return
        if self._box_start is not None:
            return
        if event.dragging or self._dragging:
            return
        if self._selection is None:  # hovering: a readout of the point under the pointer, no mark
            hit = self._pick(event.pos)
            self._show_readout(None if hit is None else [hit])

    def _mouse_release(self, event: Pointer) -> None:
        if self.scene is None:
            return
        if self._box_start is not None:
            start, self._box_start = self._box_start, None
            self.surface.call(self._interactive, True)
            self.select_box(start, event.pos)
            return
        self._drag(False)
        if self._press is not None and np.hypot(*np.subtract(event.pos, self._press)) < 4:
            hit = self._pick(event.pos)  # a click, not a drag: mark the point under it (or clear)
            self.select(None if hit is None else [hit])
        self._press = None

    def _panel_at(self, pos) -> str | None:
        """The panel under ``pos`` (logical picture px)."""
        s = self.surface.scale  # canvas pixels per logical pixel
        for name, view in self.scene.views.items():
            x, y = view.pos
            w, h = view.size
            if x <= pos[0] * s < x + w and y <= pos[1] * s < y + h:
                return name
        return None

    def _drawn_at(self, panel: str) -> np.ndarray:
        """Where the data points are drawn in ``panel`` now: (n, 2) logical picture px."""
        scene = self.scene
        # (in canvas pixels, read where the pixel scale cannot change meanwhile: a motion frame's is 1/2)
        px = self.surface.call(lambda: scene.pixels(panel, scene.data_positions()[panel]) / scene.canvas.pixel_scale)
        return px / self.surface.scale

    def _pick(self, pos, radius: float = 8.0) -> int | None:
        """The data point drawn nearest ``pos`` (logical canvas px) in the panel under it, within
        ``radius`` px (in the lift: nearest on screen, whatever its depth)."""
        panel = self._panel_at(pos)
        if panel is None or not self.config.points:
            return None
        px = self._drawn_at(panel)
        d = np.hypot(px[:, 0] - pos[0], px[:, 1] - pos[1])
        i = int(np.nanargmin(d))
        return i if d[i] <= radius else None

    def select(self, indices) -> None:
        """Mark data points (indices into the run's data) in every panel; None clears."""
        self._selection = None if indices is None or len(indices) == 0 else np.asarray(indices, int)
        self.surface.call(self.scene.set_highlight, self._selection)
        self._show_readout()
        self.surface.update()
        self._state_changed()

    def select_box(self, a, b) -> None:
        """Mark every point drawn inside the box from ``a`` to ``b`` (canvas px) in the panel it was drawn on."""
        panel = self._panel_at(a)
        if panel is None:
            return
        px = self._drawn_at(panel)
        (x0, x1), (y0, y1) = sorted((a[0], b[0])), sorted((a[1], b[1]))
        inside = np.flatnonzero((px[:, 0] >= x0) & (px[:, 0] <= x1) & (px[:, 1] >= y0) & (px[:, 1] <= y1))
        self.select(inside if len(inside) else None)
        if not len(inside):
            self.statusBar().showMessage("no points in that box", 4000)

    def _show_readout(self, indices=None) -> None:
        idx = self._selection if indices is None else np.asarray(indices, int)
        if idx is None or self.scene is None:
            self.readout.setVisible(False)
            return
        run = self.run
        labels = run.meta.get("labels") or ("class 0", "class 1")
        if len(idx) == 1:
            from ..core.geometry import forward

            i = int(idx[0])
            f = forward(run.weights_at(self.step), np.asarray(run.X[i : i + 1], np.float64), run.activation)
            fmt = lambda v: "(" + ", ".join(f"{x:+.2f}" for x in np.ravel(v)) + ")"  # noqa: E731
            cls = int(run.y[i] > 0.5)
            text = (
                f"point {i}: {labels[cls]}   x {fmt(run.X[i])}   h1 {fmt(f.h1)}   h2 {fmt(f.h2)}   "
                f"p = {float(np.ravel(f.p)[0]):.3f}"
            )
        else:
            y = np.asarray(run.y)[idx] > 0.5
            text = (
                f"{len(idx)} points marked: {int((~y).sum())} {labels[0]}, {int(y.sum())} {labels[1]}"
                f"   (click empty space or Esc to clear)"
            )
        self.readout.setText(text)
        self.readout.setWordWrap(False)
        self.readout.setMinimumWidth(0)
        self.readout.setMaximumWidth(QT_MAX_SIZE)
        self.readout.setVisible(True)
        self._place_overlays()

    # ------------------------------------------------------------ view options, camera, text

    def set_option(self, name: str, on: bool) -> None:
        self.surface.call(self.scene.set_options, **{name: on})
        self.config = dataclasses.replace(self.config, **{name: on})
        self.surface.update()
        self._state_changed()

    def reset_camera(self) -> None:
        """Every panel's camera back to where the window opened (r)."""
        if self.scene is None:
            return
        c = self.config

        def reset(scene=self.scene, home=self._home):
            for name, view in scene.views.items():
                if name == "lift":
                    view.camera.center, view.camera.fov = home["lift"]
                else:
                    view.camera.rect = home[name]
            scene.set_camera(c.azimuth, c.elevation, c.distance)

        self.surface.call(reset)
        self.surface.update()
        self._state_changed()

    def set_font_scale(self, direction: int) -> None:
        """Larger (1) or smaller (-1) text in the picture and the controls; 0: back to 1."""
        if direction == 0:
            self.font_scale = 1.0
        else:
            i = min(range(len(FONT_STEPS)), key=lambda j: abs(FONT_STEPS[j] - self.font_scale))
            self.font_scale = FONT_STEPS[min(max(i + direction, 0), len(FONT_STEPS) - 1)]
        if self.scene is not None:
            self.surface.call(self.scene.set_text_scale, WINDOW_TEXT * self.font_scale)
            self.surface.update()
        self._scale_controls()
        self.statusBar().showMessage(f"text size {self.font_scale:g}x", 2000)
        self._state_changed()

    def _scale_controls(self) -> None:
        """The controls' text grows with the window's width (and the font scale), as the picture's does."""
        factor = min(max(self.width() / 1280, 0.9), 2.2) * self.font_scale
        app = QtWidgets.QApplication.instance()
        if not hasattr(self, "_base_points"):
            self._base_points = app.font().pointSizeF()
        size = round(max(self._base_points * factor, 7.0) * 2) / 2
        if getattr(self, "_control_points", None) == size:
            return
        self._control_points = size
        # A style sheet, not setFont: it re-polishes every control, so each one's size follows its text
        # (a font set on the window leaves tool buttons and labels at their old sizes, their text cut).
        sheet = f"* {{ font-size: {size}pt }}"
        for widget in (self.control_bar, self.toolbar, self.statusBar(), self.playground):
            widget.setStyleSheet(sheet)
        for widget, own in ((self.banner, BANNER_STYLE), (self.readout, READOUT_STYLE), (self.help, HELP_STYLE)):
            widget.setStyleSheet(own + sheet)
        self.control_bar.fit_label(self.run)
        QtCore.QTimer.singleShot(0, lambda: (self.control_bar.reflow(force=True), self._place_overlays()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._scale_controls()
        self._place_help()
        QtCore.QTimer.singleShot(0, self._place_overlays)  # after the layout has placed the picture

    def toggle_fullscreen(self) -> None:
        """Fullscreen on or off (F11). The geometry is set too: without a window manager (a bare X
        server, a kiosk) the fullscreen state alone changes nothing."""
        if self._normal_geometry is not None:  # (isFullScreen() is not kept without a window manager)
            self.showNormal()
            self.setGeometry(self._normal_geometry)
            self._normal_geometry = None
        else:
            self._normal_geometry = self.geometry()
            self.showFullScreen()
            screen = self.screen() or QtGui.QGuiApplication.primaryScreen()
            if screen is not None:
                self.setGeometry(screen.geometry())
        self._state_changed()

    def toggle_help(self) -> None:
        self.help.setVisible(not self.help.isVisible())
        self._place_help()
        self._state_changed()

    def _place_overlays(self) -> None:
        """The banner along the picture's top edge, the readout along its bottom edge."""
        if self.scene is None:
            return
        g = self.surface.widget.geometry()
        if self.banner.isVisible():
            self.banner.setFixedWidth(g.width())
            self.banner.adjustSize()
            self.banner.move(g.x(), g.y())
            self.banner.raise_()
        if self.readout.isVisible():
            self.readout.adjustSize()
            if self.readout.sizeHint().width() > g.width():  # too long for one line: wrap it
                self.readout.setWordWrap(True)
            self.readout.setFixedWidth(min(self.readout.sizeHint().width(), g.width()))
            self.readout.adjustSize()
            self.readout.move(g.x(), g.y() + g.height() - self.readout.height())
            self.readout.raise_()

    def _place_help(self) -> None:
        if self.help.isVisible():
            self.help.adjustSize()
            parent = self.help.parentWidget().rect()
            self.help.move(
                max((parent.width() - self.help.width()) // 2, 0), max((parent.height() - self.help.height()) // 2, 0)
            )
            self.help.raise_()

    def _escape(self) -> None:
        if self.help.isVisible():
            self.toggle_help()
        elif self._selection is not None:
            self.select(None)

    # ------------------------------------------------------------ frames: fps, screenshots, video

    def _after_draw(self, image: np.ndarray | None, started: float) -> None:
        """A frame reached the screen (``image``: it, when a screenshot asked for it)."""
        now = time.perf_counter()
        draw = [started, math.nan]
        self._draws.append(draw)
        # The frame ends when the event loop is back: Qt paints and composes the window after this.
        QtCore.QTimer.singleShot(0, lambda: draw.__setitem__(1, time.monotonic()))
        self._frames += 1
        self._frame_times.append(now)
        if self._pending_shot is not None and image is not None:
            self._save_shot(image)
        if self._take is not None:
            self._sample(now)
        if self.playing:
            if self.surface.in_paint:  # (a VisPy canvas: changes wait until its paint is over)
                QtCore.QTimer.singleShot(0, self._advance)
            else:  # the next frame starts when this returns, with the step that time has reached
                self._advance()
        self._state_changed()

    def screenshot(self) -> None:
        """Save the next frame drawn as a PNG in the save folder (s)."""
        if self.scene is None:
            return
        self._pending_shot = _unique(self.save_dir / f"{self._stem}-step{int(round(self.step)):05d}.png")
        self.surface.shoot()  # a screenshot is a still: drawn with the full mesh

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
        """Start or stop recording (v): the step and the lift's camera are sampled as you play, and
        on stop rendered offscreen at VIDEO_FPS, at full quality, in a child process."""
        if self.scene is None:
            return
        if self._take is not None:
            self._stop_recording()
            return
        if self._render is not None:
            self.statusBar().showMessage("the last recording is still rendering; wait for it", 5000)
            return
        w, h = self.surface.frame_size()
        self._take = {
            "start": time.perf_counter(),
            "samples": [],
            "size": (w - w % 2, h - h % 2),
            "path": _unique(self.save_dir / f"{self._stem}-{datetime.now():%Y%m%d-%H%M%S}.mp4"),
        }
        self._sample(self._take["start"])
        self._rec_label.setText("\u25cf REC 00:00")
        self._state_changed()

    def _sample(self, now: float) -> None:
        cam = self._camera() or (0.0, 90.0, None)
        self._take["samples"].append(
            [
                now - self._take["start"],
                self.step,
                float(cam[0]),
                float(cam[1]),
                None if cam[2] is None else float(cam[2]),
            ]
        )

    def _stop_recording(self) -> None:
        take, self._take = self._take, None
        self._sample_into(take)
        folder = Path(tempfile.mkdtemp(prefix="deform3d-take-"))
        if self.source is not None:
            run_path = self.source
        else:
            run_path = folder / "run.npz"
            (self.live.copy() if self.live is not None else self.run).save(run_path)
        view = dataclasses.replace(self.config, size=take["size"], mesh=self.config.resolved("interactive").mesh)
        spec = {
            "run": str(run_path),
            "fps": VIDEO_FPS,
            "samples": take["samples"],
            "out": str(take["path"]),
            "view": dataclasses.asdict(view),
            "text_scale": WINDOW_TEXT * self.font_scale,
        }
        (folder / "take.json").write_text(json.dumps(spec))
        proc = self._render = QtCore.QProcess(self)
        proc.setProcessChannelMode(QtCore.QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(self._render_output)
        proc.finished.connect(lambda code, _status: self._render_finished(code, take["path"], folder))
        self._render_progress = (0, 0)
        self._render_log = []
        proc.start(sys.executable, ["-m", "deform3d.video.take", str(folder / "take.json")])
        self._rec_label.setText("rendering video\u2026")
        self._state_changed()

    def _sample_into(self, take: dict) -> None:
        saved, self._take = self._take, take
        self._sample(time.perf_counter())
        self._take = saved

    def _render_output(self) -> None:
        for line in bytes(self._render.readAllStandardOutput()).decode(errors="replace").splitlines():
            if line.startswith("progress "):
                done, total = map(int, line.split()[1:3])
                self._render_progress = (done, total)
                self._rec_label.setText(f"rendering video: {100 * done // max(total, 1)}% ({done}/{total} frames)")
            elif line.strip():
                self._render_log.append(line)

    def _render_finished(self, code: int, path: Path, folder: Path) -> None:
        self._render_output()
        shutil.rmtree(folder, ignore_errors=True)  # the take's spec and run copy
        self._render = None
        self._rec_label.setText("")
        if code == 0 and path.exists():
            self.videos.append(str(path))
            done = self._render_progress[1] if self._render_progress else 0
            self.statusBar().showMessage(f"saved {path} ({done} frames, {done / VIDEO_FPS:.1f} s)", 8000)
        else:
            why = next((line[6:] for line in self._render_log if line.startswith("error ")), None)
            self.statusBar().showMessage(
                f"recording failed: {why or (self._render_log[-1:] or ['see the terminal'])[0]}", 10000
            )
        self._render_progress = None
        self._state_changed()

    def _on_heartbeat(self) -> None:
        now = time.perf_counter()
        if self._beat is not None:
            late = (now - self._beat - 0.05) * 1000  # how long the event loop kept this timer waiting
            if late > 20:
                self._lateness.append((time.monotonic(), round(late, 1)))
        self._beat = now
        if self._take is not None:
            self._sample(now)
            seconds = now - self._take["start"]
            self._rec_label.setText(f"\u25cf REC {int(seconds // 60):02d}:{int(seconds % 60):02d}")
        if self.debug:
            recent = [t for t in self._frame_times if now - t <= 1.0]
            if len(recent) >= 2 and recent[-1] > recent[0]:
                self._fps = (len(recent) - 1) / (recent[-1] - recent[0])
                text = f"{self._fps:.1f} fps"
            else:
                text = "idle"
            if self._fps_label.text() != text:
                self._fps_label.setText(text)
            self._debug_commands()

    def _debug_commands(self) -> None:
        """Debug mode only: commands a test leaves beside the state file (``STATE.cmd``, JSON), run
        through the real event handlers: ``{"drop": PATH}`` delivers a real QDropEvent of PATH."""
        if self.state_path is None:
            return
        path = self.state_path.with_name(self.state_path.name + ".cmd")
        if not path.exists():
            return
        try:
            command = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        path.unlink(missing_ok=True)
        if "drop" in command:
            mime = QtCore.QMimeData()
            mime.setUrls([QtCore.QUrl.fromLocalFile(command["drop"])])
            point = QtCore.QPointF(self.width() / 2, self.height() / 2)
            actions = QtCore.Qt.DropAction.CopyAction
            buttons, mods = QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier
            enter = QtGui.QDragEnterEvent(point.toPoint(), actions, mime, buttons, mods)
            QtWidgets.QApplication.sendEvent(self, enter)
            if enter.isAccepted():
                QtWidgets.QApplication.sendEvent(self, QtGui.QDropEvent(point, actions, mime, buttons, mods))

    # ------------------------------------------------------------ the training panel

    def _train_from_playground(self) -> None:
        try:
            self.train_live(self.playground.config())
        except UsageError as e:
            self.playground.message.setText(str(e))
            return
        self.playground.message.setText("")
        if self.scene is not None:
            self.surface.widget.setFocus()

    # ------------------------------------------------------------ debug state and closing

    def state(self) -> dict:
        """What the window shows, for tests and benchmarks (written to DEFORM3D_DEBUG_STATE).

        ``rects[name]``: what a 2-D panel's camera shows, [x, y, w, h] in panel coordinates.
        ``transforms[name]``: the 4 x 4 matrix M taking a panel position (x, y, z, 1) as a row
        vector to canvas pixels (v @ M, then x / w, y / w), read from the panel's camera;
        ``pixel_scale``: canvas pixels per screen pixel (divide by it for the screen).
        Screen positions are global X coordinates: ``canvas`` and ``panels[name]`` as [x, y, w, h];
        ``slider_track`` as [x at the first step, x at the last step, y] of the handle's centre;
        ``toggles[name]`` as [x, y] of each check box's box; ``playground`` (None when hidden) as
        [x, y] of the training panel's k menu (``hidden``) and its ``train`` button; ``toolbar[name]``
        as [x, y, tooltip, enabled]. ``lateness``: [monotonic time, ms] each time the 50 ms timer
        ran over 20 ms late. ``layout``: the picture's text cap heights (px). ``time`` is
        time.monotonic(), comparable across processes on one machine.
        """
        run, scene = self.run, self.scene
        base = {
            "pid": os.getpid(),
            "time": time.monotonic(),
            "title": self.windowTitle(),
            "frames": self._frames,
            "window": int(self.winId()),
            "scene": scene is not None,
            "training": self._training,
            "lateness": list(self._lateness),
            "draws": [d for d in self._draws if d[1] == d[1]],
            "recent": self._recent(),
            "banner": self._health,
            "help": self.help.isVisible(),
            "fullscreen": self._normal_geometry is not None,
            "font_scale": self.font_scale,
            "window_size": [self.width(), self.height()],
            "saved_runs": self.saved_runs,
            "loading": str(self._loading) if self._loading else None,
            "toolbar": {
                name: [p.x(), p.y(), a.toolTip(), a.isEnabled()]
                for name, a in self.actions_.items()
                for w in [self.toolbar.widgetForAction(a)]
                for p in [w.mapToGlobal(w.rect().center())]
            },
            "screenshots": self.screenshots,
            "videos": self.videos,
            "recording": str(self._take["path"]) if self._take else None,
            "rendering": list(self._render_progress) if self._render_progress else None,
            "fps": self._fps,
            "placeholder": self.placeholder is not None and self.placeholder.isVisible(),
            "reframes": self.reframes,
            "torch_loaded": "torch" in sys.modules,
        }
        if scene is None:
            return base
        cam = scene.views["lift"].camera if "lift" in scene.views else None
        widget = self.surface.widget
        origin = widget.mapToGlobal(QtCore.QPoint(0, 0))
        scale = self.surface.scale  # canvas pixels per logical (screen) pixel
        probed = self.surface.probed
        if probed is None or probed[0] is not scene:  # (no frame of this scene yet)
            probed = self.surface.call(self._probe, scene)
        panels = {
            name: [origin.x() + int(x0 / scale), origin.y() + int(y0 / scale), int(w / scale), int(h / scale)]
            for name, (x0, y0, w, h) in probed[1].items()
        }
        transforms = probed[2]
        s = self.slider
        opt = QtWidgets.QStyleOptionSlider()
        s.initStyleOption(opt)
        style = s.style()
        handle = style.subControlRect(
            QtWidgets.QStyle.ComplexControl.CC_Slider, opt, QtWidgets.QStyle.SubControl.SC_SliderHandle, s
        )
        groove = style.subControlRect(
            QtWidgets.QStyle.ComplexControl.CC_Slider, opt, QtWidgets.QStyle.SubControl.SC_SliderGroove, s
        )
        g0 = s.mapToGlobal(QtCore.QPoint(groove.x() + handle.width() // 2, handle.center().y()))
        g1 = s.mapToGlobal(QtCore.QPoint(groove.right() - handle.width() // 2, handle.center().y()))
        live = self.live
        lay = scene.layout
        sel = self._selection
        return {
            **base,
            "source": str(self.source) if self.source else None,
            "mode": "live" if live else "file",
            "step": self.step,
            "num_steps": run.num_steps,
            "steps_per_epoch": run.steps_per_epoch,
            "slider": {"min": s.minimum(), "max": s.maximum(), "value": s.value()},
            "playing": self.playing,
            "following": self.following,
            "speed": self.speed,
            "training_total": live.total if live else None,
            "training_finished": bool(live.finished) if live else None,
            "training_error": str(live.error) if live and live.error else None,
            "hidden": run.hidden,
            "dataset": run.meta.get("dataset"),
            "activation": run.activation,
            "azimuth": cam.azimuth if cam else None,
            "elevation": cam.elevation if cam else None,
            "distance": cam.distance if cam else None,
            "rects": {
                name: [float(v) for v in (*view.camera.rect.pos, *view.camera.rect.size)]
                for name, view in scene.views.items()
                if name != "lift"
            },
            "transforms": transforms,
            "pixel_scale": float(scale),
            "full_detail": self.surface.shown_full,
            "stage": scene.stage,
            "options": {name: getattr(self.config, name) for name, _, _ in OPTIONS},
            "canvas": [origin.x(), origin.y(), widget.width(), widget.height()],
            "canvas_pixels": list(self.surface.frame_size()),
            "panels": panels,
            "layout": {
                "cap": lay.cap,
                "hud_cap": lay.hud_cap,
                "titles": {k: list(v) for k, v in lay.titles.items()},
                "hud": list(lay.hud) if lay.hud else None,
            },
            "selection": None if sel is None else [int(i) for i in sel],
            "readout": self.readout.text() if self.readout.isVisible() else None,
            "slider_track": [g0.x(), g1.x(), g0.y()],
            "play_button": [self.play_button.mapToGlobal(QtCore.QPoint(0, 0)).x(), self.play_button.width()],
            "step_label": [self.step_label.mapToGlobal(QtCore.QPoint(0, 0)).x(), self.step_label.width()],
            "toggles": {
                name: [p.x(), p.y()]
                for name, box in self.toggles.items()
                for p in [box.mapToGlobal(QtCore.QPoint(8, box.height() // 2))]
            },
            "widgets": {
                name: [p.x(), p.y(), w.width(), w.height()]
                for name, w in self.control_bar.named().items()
                for p in [w.mapToGlobal(QtCore.QPoint(0, 0))]
                if w.isVisible()
            },
            "playground": {
                name: [p.x(), p.y()]
                for name, widget in (("hidden", self.pg_hidden), ("train", self.pg_train))
                for p in [widget.mapToGlobal(widget.rect().center())]
            }
            if self.playground.isVisible()
            else None,
            "playground_rect": (
                [
                    *(lambda p: (p.x(), p.y()))(self.playground.mapToGlobal(QtCore.QPoint(0, 0))),
                    self.playground.width(),
                    self.playground.height(),
                ]
                if self.playground.isVisible()
                else None
            ),
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
        self.stage_slider = QtWidgets.QSlider(
            QtCore.Qt.Orientation.Horizontal,
            minimum=0,
            maximum=700,
            value=round(100 * (self.config.stage or 0.0)),
            enabled=on,
            toolTip="stage: 0 input, 3 the lift h1, 6 the plane h2, 7 the cut (, and .)",
        )
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
        """a: the anatomy on or off; , and .: to the previous or next whole stage ([ and ] set the
        playback speed)."""

        def step(n: int) -> None:
            s = self.config.stage if self.config.stage is not None else 0.0
            self.set_stage(min(max(math.floor(s + 1e-9) + n if n > 0 else math.ceil(s - 1e-9) + n, 0), 7))

        return {
            "A": lambda: self.stage_box.setChecked(not self.stage_box.isChecked()),
            ".": lambda: step(1),
            ",": lambda: step(-1),
        }

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
            self.surface.call(self.scene.set_stage, s)
            self.surface.update()
        self._state_changed()

    @staticmethod
    def _probe(scene: Scene) -> tuple:
        """On the scene's thread, with each frame (debug mode): the scene, and each panel's
        [x, y, w, h] and camera matrix in canvas pixels (see ``state``)."""
        panels, transforms = {}, {}
        for name, view in scene.views.items():
            tr = view.get_transform("visual", "canvas")
            (x0, y0), (x1, y1) = (tr.map([0, 0])[:2], tr.map(list(view.size))[:2])
            panels[name] = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
            m = view.scene.node_transform(scene.canvas.scene).map(np.eye(4))
            transforms[name] = np.asarray(m, float).tolist()
        return scene, panels, transforms

    def _state_changed(self) -> None:
        if self.state_path is None or self._state_dirty:
            return
        self._state_dirty = True
        # At most one write per STATE_WRITE_S: a scrub changes the state a hundred times a second,
        # and writing each (a few ms of JSON) would make the measurement what it measures.
        wait = STATE_WRITE_S - (time.monotonic() - self._state_written)
        QtCore.QTimer.singleShot(int(1000 * max(wait, 0.0)), self._write_state)

    def _write_state(self) -> None:
        self._state_dirty = False
        self._state_written = time.monotonic()
        if self._switching:  # halfway through switching runs (closing a canvas runs the event loop)
            return
        path = self.state_path
        if path is None:  # closed since this write was queued
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.state()))
        os.replace(tmp, path)

    def closeEvent(self, event) -> None:
        self._take = None  # a recording not yet stopped is dropped: nothing was rendered
        self._heartbeat.stop()
        self._poll.stop()
        self.state_path = None  # before anything below processes events and runs a queued write
        for live in (self.live, self._pending):
            if live is not None:
                live.stop()
                live.join(5.0)  # the window is gone: finishing its epoch is all that is left
                live.close()
        if self._render is not None:
            self._render.waitForFinished(120000)  # a video being rendered is finished, never left broken
        self.surface.close()
        event.accept()


def open_window(
    run: Trajectory | None,
    source: Path | None,
    train: TrainConfig | None,
    render: RenderConfig,
    save_dir: Path,
    play: bool = False,
    state_path: Path | None = None,
    full_detail: bool = False,
    font_scale: float = 1.0,
) -> int:
    """Create the Qt application and the window, run until it closes; returns 0."""
    qapp = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])

    def vapp():  # VisPy's Qt application, only where the picture is a VisPy canvas (ui.surface)
        from vispy import app as vispy_app

        made = vispy_app.Application("pyside6")
        made.create()
        return made

    window = Window(vapp, render, save_dir, state_path, full_detail, font_scale)
    try:
        if run is not None:
            window.open_run(run, source)
        else:
            window.train_live(train)  # returns at once: the window opens while the child starts
            w, h = window._fit(render.size)
            window.placeholder.setMinimumSize(w, h)
            QtCore.QTimer.singleShot(0, lambda: window.placeholder.setMinimumSize(160, 90))
    except BaseException:
        window.close()  # tear Qt and GL down in order before the error leaves (else a crash at exit)
        qapp.processEvents()
        raise
    # Terminated (SIGTERM: a session ending, `kill`), the window closes as by ctrl+q: training stops
    # and its shared file goes. Python runs the handler between Qt events (the heartbeat wakes it).
    previous = signal.signal(signal.SIGTERM, lambda *_: QtCore.QTimer.singleShot(0, window.close))
    window.show()
    window.raise_()
    window.activateWindow()
    if play:
        window.set_playing(True)
    try:
        qapp.exec()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
