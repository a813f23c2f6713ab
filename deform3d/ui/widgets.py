"""The window's Qt widgets, kept thin: the control bar and the training panel.

Owns: laying out the controls and reading back what the user set. What a control means (playback,
training, recording) is ``ui.playback``'s and ``ui.window``'s, which connect to these widgets'
signals. Imports Qt (PySide6); imported only by ``ui.window``, after ``ui.app``'s checks.
"""

from __future__ import annotations

import dataclasses

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.config import ACTIVATIONS, DATASETS, HIDDEN, TrainConfig
from ..core.errors import UsageError
from ..core.trajectory import Trajectory
from .playback import DEFAULT_SPEED, SPEEDS

LEARNING_RATES = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # a playground's menu
OPTIONS = (
    ("grid", "grid", "grid lines on the sheet"),
    ("points", "points", "the data points"),
    ("tint", "class tint", "tint the sheet by predicted class"),
    ("folds", "folds", "draw the folds' creases (det J = 0)"),
    ("surface", "decision surface", "the decision surface in the lift (k = 3, tanh or sigmoid)"),
)


class _JumpSlider(QtWidgets.QProxyStyle):
    """A click on the slider's groove jumps there (the default only pages towards the click)."""

    def styleHint(self, hint, option=None, widget=None, returnData=None):
        if hint == QtWidgets.QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return QtCore.Qt.MouseButton.LeftButton.value
        return super().styleHint(hint, option, widget, returnData)


def _no_focus(widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys go to the picture's shortcuts
    return widget


def apply_theme(app: QtWidgets.QApplication, theme: str) -> None:
    """The controls follow the picture's theme: Qt's Fusion style with a dark palette for "dark"
    (the platform's light one otherwise), so a dark picture does not sit under a bright bar."""
    if theme != "dark" or app is None:
        return
    app.setStyle("Fusion")
    p = QtGui.QPalette()
    c = QtGui.QColor
    role, group = QtGui.QPalette.ColorRole, QtGui.QPalette.ColorGroup
    for r, color in (
        (role.Window, "#1b1f24"),
        (role.WindowText, "#e6e6e6"),
        (role.Base, "#111418"),
        (role.AlternateBase, "#22272e"),
        (role.Text, "#e6e6e6"),
        (role.Button, "#2a3038"),
        (role.ButtonText, "#e6e6e6"),
        (role.ToolTipBase, "#2a3038"),
        (role.ToolTipText, "#f0f0f0"),
        (role.Highlight, "#3d7cc9"),
        (role.HighlightedText, "#ffffff"),
        (role.Link, "#56b4e9"),
        (role.PlaceholderText, "#8b949e"),
    ):
        p.setColor(r, c(color))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, c("#6b7280"))
    app.setPalette(p)


class ControlBar(QtWidgets.QWidget):
    """Play button, step slider and label, speed menu, view toggles, the training panel's button.

    ``options``: each toggle's initial state, by RenderConfig field (see OPTIONS). Fields keep a
    fixed width (``fit_label``), so nothing moves as numbers change or play turns into pause; the
    toggles go onto a row of their own when one row cannot hold them (``reflow``)."""

    def __init__(self, options: dict[str, bool]):
        super().__init__()
        self.setAutoFillBackground(True)
        grid = self._grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(8, 4, 8, 4)
        self.play_button = _no_focus(QtWidgets.QToolButton(text="\u25b6", toolTip="play / pause (space)"))
        self.slider = _no_focus(QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal))
        # No base style given: QProxyStyle(base) would own (and at exit delete) the application's style.
        self._slider_style = _JumpSlider()
        self._slider_style.setParent(self.slider)
        self.slider.setStyle(self._slider_style)
        self.slider.setToolTip("training step: left/right one step, shift one epoch, Home/End")
        self.step_label = QtWidgets.QLabel()
        self.step_label.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        grid.addWidget(self.play_button, 0, 0)
        grid.addWidget(self.slider, 0, 1)
        grid.addWidget(self.step_label, 0, 2)
        self.speed_label = QtWidgets.QLabel("speed")
        self.speed_box = _no_focus(QtWidgets.QComboBox(toolTip="playback speed ([ slower, ] faster)"))
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g} epoch/s" if s == 1 else f"{s:g} epochs/s", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.toggles: dict[str, QtWidgets.QCheckBox] = {}
        for name, label, tip in OPTIONS:
            self.toggles[name] = _no_focus(QtWidgets.QCheckBox(label, toolTip=tip, checked=options[name]))
        self.playground_button = _no_focus(
            QtWidgets.QToolButton(
                text="train\u2026",
                checkable=True,
                toolTip="train a new network here (dataset, k, activation, lr, seed)",
            )
        )
        self._rows = None
        self._row_a, self._row_b = QtWidgets.QHBoxLayout(), QtWidgets.QHBoxLayout()
        grid.addLayout(self._row_a, 1, 0, 1, 3)
        grid.addLayout(self._row_b, 2, 0, 1, 3)
        self.reflow(force=True)
        grid.setColumnStretch(1, 1)

    def named(self) -> dict[str, QtWidgets.QWidget]:
        """Every control by name (for the debug state's overlap checks)."""
        return {
            "play": self.play_button,
            "slider": self.slider,
            "step": self.step_label,
            "speed_label": self.speed_label,
            "speed": self.speed_box,
            "train": self.playground_button,
            **{f"toggle:{n}": b for n, b in self.toggles.items()},
        }

    def reflow(self, force: bool = False) -> None:
        """Speed, toggles and the train button on one row where they fit, else on two."""
        items = [self.speed_label, self.speed_box, *self.toggles.values(), self.playground_button]
        need = sum(w.sizeHint().width() for w in items) + 12 * len(items) + 40
        rows = 1 if need <= self.width() else 2
        if rows == self._rows and not force:
            return
        self._rows = rows
        for row in (self._row_a, self._row_b):
            while row.count():
                row.takeAt(0)  # widgets stay children of the bar; only their places are redone
        toggles = list(self.toggles.values())
        if rows == 1:
            places = [(self._row_a, [self.speed_label, self.speed_box, *toggles, None, self.playground_button])]
        else:
            places = [
                (self._row_a, [*toggles, None]),
                (self._row_b, [self.speed_label, self.speed_box, None, self.playground_button]),
            ]
        for row, group in places:
            for w in group:
                if w is None:
                    row.addStretch(1)
                else:
                    row.addWidget(w)
        self.layout().invalidate()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.reflow()

    @staticmethod
    def step_text(run: Trajectory, step: float) -> str:
        i = int(round(step))
        return (
            f"epoch {step / run.steps_per_epoch:6.1f}  step {i:>6d} / {run.num_steps:<6d}"
            f"  loss {float(run.loss[i]):<8.3g}"
        )

    def fit_label(self, run: Trajectory | None) -> None:
        """Fix the step label's and the play button's widths to their widest text (monospace)."""
        metrics = self.step_label.fontMetrics()
        self.step_label.setFixedWidth(
            metrics.horizontalAdvance("epoch 99999.9  step 999999 / 999999  loss -0.00e+00") + 8
        )
        m = self.play_button.fontMetrics()
        self.play_button.setFixedWidth(max(m.horizontalAdvance("\u25b6"), m.horizontalAdvance("\u275a\u275a")) + 18)
        self.reflow(force=True)

    def show_playing(self, on: bool) -> None:
        self.play_button.setText("\u275a\u275a" if on else "\u25b6")


class TrainingPanel(QtWidgets.QDockWidget):
    """The "train" dock: dataset, k, activation, learning rate, seed, epochs, and a train button.

    ``fill(run)`` shows a run's settings; ``config()`` is the TrainConfig the fields describe."""

    def __init__(self, parent: QtWidgets.QWidget):
        super().__init__("train", parent)
        self.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        panel = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(panel)
        self.dataset = QtWidgets.QComboBox()
        self.dataset.addItems(DATASETS)
        self.hidden = QtWidgets.QComboBox()
        for k in HIDDEN:
            self.hidden.addItem(str(k), k)
        self.activation = QtWidgets.QComboBox()
        self.activation.addItems(ACTIVATIONS)
        self.lr = QtWidgets.QComboBox()
        for lr in LEARNING_RATES:
            self.lr.addItem(f"{lr:g}", lr)
        self.seed = QtWidgets.QSpinBox(minimum=0, maximum=2**31 - 1)
        self.epochs = QtWidgets.QSpinBox(minimum=1, maximum=100000)
        for label, widget in (
            ("dataset", self.dataset),
            ("hidden k", self.hidden),
            ("activation", self.activation),
            ("learning rate", self.lr),
            ("seed", self.seed),
            ("epochs", self.epochs),
        ):
            form.addRow(label, widget)
        self.train = QtWidgets.QPushButton("train")
        self.train.setToolTip("stop the current training, train these settings live")
        form.addRow(self.train)
        self.message = QtWidgets.QLabel(wordWrap=True)
        form.addRow(self.message)
        self.setWidget(panel)
        self._base = TrainConfig()

    def fill(self, run: Trajectory) -> None:
        """Show the settings ``run`` was trained with (the fields' starting point for a new run)."""
        try:
            base = TrainConfig(**run.meta.get("config", {}))
        except (TypeError, UsageError):  # a run from another version, or made by hand
            base = TrainConfig(hidden=run.hidden, activation=run.activation)
        self._base = base
        if self.dataset.findText(base.dataset) < 0:
            self.dataset.addItem(base.dataset)
        self.dataset.setCurrentText(base.dataset)
        self.hidden.setCurrentIndex(self.hidden.findData(base.hidden))
        self.activation.setCurrentText(base.activation)
        if self.lr.findData(base.lr) < 0:
            self.lr.addItem(f"{base.lr:g}", base.lr)
        self.lr.setCurrentIndex(self.lr.findData(base.lr))
        self.seed.setValue(base.seed)
        self.epochs.setValue(base.epochs)

    def config(self) -> TrainConfig:
        """The TrainConfig the fields describe (the shown run's other settings kept); ConfigError
        where one is out of range."""
        return dataclasses.replace(
            self._base,
            dataset=self.dataset.currentText(),
            hidden=self.hidden.currentData(),
            activation=self.activation.currentText(),
            lr=float(self.lr.currentData()),
            seed=self.seed.value(),
            epochs=self.epochs.value(),
        )
