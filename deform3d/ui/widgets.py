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
OPTIONS = (("grid", "grid", "grid lines on the sheet"), ("points", "points", "the data points"),
           ("tint", "class tint", "tint the sheet by predicted class"),
           ("folds", "folds", "draw the folds' creases (det J = 0)"),
           ("surface", "decision surface", "the decision surface in the lift (k = 3, tanh or sigmoid)"))


class _JumpSlider(QtWidgets.QProxyStyle):
    """A click on the slider's groove jumps there (the default only pages towards the click)."""

    def styleHint(self, hint, option=None, widget=None, returnData=None):
        if hint == QtWidgets.QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return QtCore.Qt.MouseButton.LeftButton.value
        return super().styleHint(hint, option, widget, returnData)


def _no_focus(widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys go to the picture's shortcuts
    return widget


class ControlBar(QtWidgets.QWidget):
    """Play button, step slider and label, speed menu, view toggles, the training panel's button.

    ``options``: each toggle's initial state, by RenderConfig field (see OPTIONS)."""

    def __init__(self, options: dict[str, bool]):
        super().__init__()
        grid = QtWidgets.QGridLayout(self)
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
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("speed"))
        self.speed_box = _no_focus(QtWidgets.QComboBox(toolTip="playback speed"))
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g} epoch/s" if s == 1 else f"{s:g} epochs/s", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        row.addWidget(self.speed_box)
        row.addSpacing(16)
        self.toggles: dict[str, QtWidgets.QCheckBox] = {}
        for name, label, tip in OPTIONS:
            self.toggles[name] = _no_focus(QtWidgets.QCheckBox(label, toolTip=tip, checked=options[name]))
            row.addWidget(self.toggles[name])
        row.addStretch(1)
        self.playground_button = _no_focus(QtWidgets.QToolButton(
            text="train\u2026", checkable=True, toolTip="train a new network here (dataset, k, activation, lr, seed)"))
        row.addWidget(self.playground_button)
        grid.addLayout(row, 1, 0, 1, 3)
        grid.setColumnStretch(1, 1)


class TrainingPanel(QtWidgets.QDockWidget):
    """The "train" dock: dataset, k, activation, learning rate, seed, epochs, and a train button.

    ``fill(run)`` shows a run's settings; ``config()`` is the TrainConfig the fields describe."""

    def __init__(self, parent: QtWidgets.QWidget):
        super().__init__("train", parent)
        self.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
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
        for label, widget in (("dataset", self.dataset), ("hidden k", self.hidden), ("activation", self.activation),
                              ("learning rate", self.lr), ("seed", self.seed), ("epochs", self.epochs)):
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
            self._base, dataset=self.dataset.currentText(), hidden=self.hidden.currentData(),
            activation=self.activation.currentText(), lr=float(self.lr.currentData()),
            seed=self.seed.value(), epochs=self.epochs.value())
