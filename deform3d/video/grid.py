"""Several runs side by side in one picture: the grid's layout, each cell's label, and the Grid renderer.

Owns: choosing rows x columns for n cells, the label strip above each cell (k, activation, dataset,
epoch, accuracy now, and whatever else tells the runs apart, e.g. the seed), and composing cells
into one frame. Each cell is an ordinary offscreen Renderer (deform3d.offscreen) drawing its run at
the cell's size; the frame is the cells' numpy arrays tiled, under label strips drawn by a small
VisPy canvas of their own. Why cells and not one canvas holding every run's panels: a Scene is
built for one run and owns its layout, heads-up line and camera framing, so tiling whole Scenes
reuses all of it unchanged (and keeps up with changes to it) at the cost of one readback per cell;
rasterising is per pixel, and the cells together have no more pixels than the frame.

Imports VisPy (through deform3d.offscreen) and numpy; never torch. Synchronisation (the same epoch
in every cell) is the timeline's and the pipeline's: a Grid draws the steps it is given.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..core.config import MESH_VIDEO, RenderConfig
from ..core.errors import UsageError

MAX_CELLS = 12
LABEL_TEXT = 0.32  # the label's font size in points per pixel of strip height
# The label strip's height as a fraction of the cell's, within [LABEL_MIN_PX, LABEL_MAX_PX]: 360-px
# cells (a 720p 2x2 grid) get 34-px strips, whose 15-px text reads from the back of a lecture hall.
LABEL_SHARE, LABEL_MIN_PX, LABEL_MAX_PX = 0.095, 18, 64
# Mesh: the single video's (MESH_VIDEO at the full frame) scaled with the cell, so triangles keep
# their size in pixels (the software rasteriser's cost per pixel grows as they shrink), never below.
MIN_CELL_MESH = 48


def layout(n: int, size: tuple[int, int], panels: int) -> tuple[int, int]:
    """(rows, columns) for ``n`` cells of ``panels`` panels side by side in a ``size`` frame: the grid
    whose panels come out largest (a panel's side: the smaller of its width and height), fewer empty
    cells on a tie. A lone last row is centred by ``Grid``."""
    w, h = size
    best = None
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        if (rows - 1) * cols >= n:
            continue  # an empty row
        cell_w, cell_h = w / cols, h / rows
        side = min(cell_w / panels, cell_h - label_height(cell_h))
        key = (side, -(rows * cols - n), -rows)
        if best is None or key > best[0]:
            best = (key, (rows, cols))
    assert best is not None  # for mypy: rows = 1 always fits
    return best[1]


def label_height(cell_h: float) -> int:
    return int(min(max(round(LABEL_SHARE * cell_h), LABEL_MIN_PX), LABEL_MAX_PX))


def describe(runs) -> list[str]:
    """The fixed part of each run's label: k, activation, dataset, then any training option that
    differs between the runs (e.g. ``seed 2``, ``lr 0.01``), so no two cells read alike."""
    configs = [r.meta.get("config") or {} for r in runs]
    differing = []
    for key in configs[0] if configs else ():
        if key in ("hidden", "activation", "dataset"):
            continue
        values = {repr(c.get(key)) for c in configs}
        if len(values) > 1:
            differing.append(key)
    out = []
    for r, c in zip(runs, configs):
        parts = [f"k = {r.hidden}", r.activation, str(r.meta.get("dataset", ""))]
        parts += [f"{key.replace('_', ' ')} {c.get(key)}" for key in differing]
        out.append("   ".join(p for p in parts if p))
    return out


class _Labels:
    """The label strips, drawn without laying out text per frame.

    VisPy lays text out in Python (about 5 ms a string here), and a label's epoch and accuracy
    change every frame, so each piece is rendered once and the strip is assembled from column
    blocks of pixels: the run's fixed description, the words, and one block per character of the
    numbers (digits at one advance, so the numbers do not jitter as they change).
    """

    def __init__(self, size: tuple[int, int], theme, app):
        from vispy import scene

        w, h = size
        self.width, self.height = w, h
        self.pad = max(2, h // 8)
        self.canvas = scene.SceneCanvas(size=(w, h), bgcolor=theme.background, show=False, app=app, keys=None)
        # Pixel coordinates, left-anchored at pad; font_size is in points (LABEL_TEXT).
        self.text = scene.visuals.Text(
            "",
            color=theme.text,
            font_size=LABEL_TEXT * h,
            pos=(self.pad, h / 2),
            anchor_x="left",
            anchor_y="center",
            parent=self.canvas.scene,
        )
        self.blank = self._render("")
        self.gap = max(1, round(0.05 * h))  # between the characters of a number
        self.word = round(0.25 * h)  # between a word and its number
        self.space = round(0.75 * h)  # between the label's fields
        self._pieces: dict[str, np.ndarray] = {}
        digits = [self.piece(c) for c in "0123456789"]
        self.digit_w = max(d.shape[1] for d in digits)

    def _render(self, text: str) -> np.ndarray:
        self.text.text = text
        return self.canvas.render(alpha=False)[..., :3]

    def piece(self, text: str) -> np.ndarray:
        """The columns of ``text`` rendered alone, from its first to its last inked column."""
        block = self._pieces.get(text)
        if block is None:
            image = self._render(text)
            ink = np.nonzero((image != self.blank).any(axis=(0, 2)))[0]
            block = image[:, ink.min() : ink.max() + 1] if len(ink) else self.blank[:, :1]
            self._pieces[text] = block
        return block

    def _number(self, text: str) -> list[np.ndarray]:
        blocks = []
        for i, c in enumerate(text):
            block = self.piece(c)
            if c.isdigit():  # centred in one advance for every digit
                extra = self.digit_w - block.shape[1]
                block = np.concatenate([self._space(extra // 2), block, self._space(extra - extra // 2)], axis=1)
            if i and c != "." and text[i - 1] != ".":  # a point sits tight between its digits
                blocks.append(self._space(self.gap))
            blocks.append(block)
        return blocks

    def _space(self, n: int) -> np.ndarray:
        return self.blank[:, : max(n, 0)]

    def draw(self, fields: list[tuple[str, str]]) -> np.ndarray:
        """A strip of ``fields``, (kind, text) with kind "text" (rendered whole, cached) or
        "number" (assembled from characters), centred; clipped at the right if too long."""
        blocks = []
        for kind, text in fields:
            if blocks:
                blocks.append(self._space(self.word if kind == "number" else self.space))
            blocks += self._number(text) if kind == "number" else [self.piece(text)]
        row = np.concatenate(blocks, axis=1)
        out = self.blank.copy()
        x = max((self.width - row.shape[1]) // 2, 0)
        n = min(row.shape[1], self.width - x)
        out[:, x : x + n] = row[:, :n]
        return out

    def close(self) -> None:
        from ..graphics.offscreen import close_canvas

        close_canvas(self.canvas)


def cell_renderer(run, view: RenderConfig):
    """An offscreen Renderer of one cell: the run at the cell's ``view``, its heads-up line hidden.

    The label strip says what the heads-up line would, legibly; at a cell's size that line is
    5-point text, and laying it out costs 5 ms a frame. (Scene has no public switch for it yet; a
    Scene without a ``hud`` attribute keeps its line.)
    """
    from ..graphics.offscreen import Renderer

    r = Renderer(run, view)
    hud = getattr(r.scene, "hud", None)
    if hud is not None:
        hud.visible = False
    return r


class Grid:
    """Frames of several runs side by side: ``Grid(runs, view).frame(steps, azimuth, elevation, distance)``.

    ``view``: the picture; its ``size`` is the whole frame's, each cell gets a share (``layout``)
    and draws ``view.panels`` at that size with the shared camera. ``steps``: one fractional step
    per run, in order (the pipeline passes the steps of one epoch). Returns (H, W, 3) uint8.
    """

    def __init__(self, runs, view: RenderConfig):
        from ..graphics.offscreen import egl_app

        runs = list(runs)
        if not 1 <= len(runs) <= MAX_CELLS:
            raise UsageError(f"a comparison shows 1 to {MAX_CELLS} runs, got {len(runs)}")
        self.runs, self.view = runs, view
        self.width, self.height = view.size
        self.rows, self.cols = layout(len(runs), view.size, len(view.panels))
        cell_w, cell_h = self.width // self.cols, self.height // self.rows
        self.label_h = label_height(cell_h)
        scene_size = (cell_w, cell_h - self.label_h)
        mesh = view.mesh or max(MIN_CELL_MESH, round(MESH_VIDEO * min(cell_w / self.width, cell_h / self.height)))
        cell_view = dataclasses.replace(view, size=scene_size, mesh=mesh)
        self.cells = []
        try:
            for r in runs:
                self.cells.append(cell_renderer(r, cell_view))
            theme = self.cells[0].scene.theme
            self.background = np.array([round(255 * c) for c in theme.background[:3]], np.uint8)
            self.labels = _Labels((cell_w, self.label_h), theme, egl_app())
        except BaseException:
            self.close()
            raise
        self.names = describe(runs)
        # Cell origins (x, y) in the frame: rows top to bottom, a short last row centred.
        self.origins = []
        for i in range(len(runs)):
            row, col = divmod(i, self.cols)
            in_row = min(self.cols, len(runs) - row * self.cols)
            x0 = (self.width - in_row * cell_w) // 2
            self.origins.append((x0 + col * cell_w, row * cell_h))
        self.cell_size = (cell_w, cell_h)

    def label_fields(self, i: int, step: float) -> list[tuple[str, str]]:
        """Cell ``i``'s label at ``step``: its description, the epoch and the accuracy now."""
        run = self.runs[i]
        s = int(round(step))
        return [
            ("text", self.names[i]),
            ("text", "epoch"),
            ("number", f"{step / run.steps_per_epoch:.1f}"),
            ("text", "accuracy"),
            ("number", f"{100 * float(run.accuracy[s]):.1f}%"),
        ]

    def label(self, i: int, step: float) -> str:
        """Cell ``i``'s label as text (what the strip shows)."""
        return "   ".join(text for _, text in self.label_fields(i, step))

    def frame(self, steps, azimuth=None, elevation=None, distance=None) -> np.ndarray:
        if len(steps) != len(self.runs):
            raise ValueError(f"{len(steps)} steps for {len(self.runs)} runs")
        out = np.empty((self.height, self.width, 3), np.uint8)
        out[...] = self.background
        for i, (cell, step) in enumerate(zip(self.cells, steps)):
            x, y = self.origins[i]
            out[y : y + self.label_h, x : x + self.cell_size[0]] = self.labels.draw(self.label_fields(i, step))
            image = cell.frame(step, azimuth, elevation, distance)
            out[y + self.label_h : y + self.label_h + image.shape[0], x : x + image.shape[1]] = image
        return out

    def close(self) -> None:
        for cell in self.cells:
            cell.close()
        self.cells = []
        labels = getattr(self, "labels", None)
        if labels is not None:
            labels.close()
            self.labels = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
