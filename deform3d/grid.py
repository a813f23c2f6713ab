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

from .config import MESH_VIDEO, RenderConfig
from .errors import UsageError

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
    """The label strips: one small offscreen canvas of a strip's size, its text set per cell."""

    def __init__(self, size: tuple[int, int], theme, app):
        from vispy import scene

        w, h = size
        self.canvas = scene.SceneCanvas(size=(w, h), bgcolor=theme.background, show=False, app=app, keys=None)
        # Pixel coordinates, the text centred in the strip; font_size is in points (LABEL_TEXT).
        self.text = scene.visuals.Text("", color=theme.text, font_size=LABEL_TEXT * h,
                                       pos=(w / 2, h / 2), anchor_x="center", anchor_y="center",
                                       parent=self.canvas.scene)
        self._cache: dict[str, np.ndarray] = {}

    def draw(self, text: str) -> np.ndarray:
        image = self._cache.get(text)
        if image is None:
            self.text.text = text
            image = self.canvas.render(alpha=False)[..., :3]
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[text] = image
        return image

    def close(self) -> None:
        self.canvas.close()


class Grid:
    """Frames of several runs side by side: ``Grid(runs, view).frame(steps, azimuth, elevation, distance)``.

    ``view``: the picture; its ``size`` is the whole frame's, each cell gets a share (``layout``)
    and draws ``view.panels`` at that size with the shared camera. ``steps``: one fractional step
    per run, in order (the pipeline passes the steps of one epoch). Returns (H, W, 3) uint8.
    """

    def __init__(self, runs, view: RenderConfig):
        from .offscreen import Renderer, egl_app

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
                self.cells.append(Renderer(r, cell_view))
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

    def label(self, i: int, step: float) -> str:
        run = self.runs[i]
        s = int(round(step))
        return (f"{self.names[i]}   epoch {step / run.steps_per_epoch:.1f}   "
                f"accuracy {100 * float(run.accuracy[s]):.1f}%")

    def frame(self, steps, azimuth=None, elevation=None, distance=None) -> np.ndarray:
        if len(steps) != len(self.runs):
            raise ValueError(f"{len(steps)} steps for {len(self.runs)} runs")
        out = np.empty((self.height, self.width, 3), np.uint8)
        out[...] = self.background
        for i, (cell, step) in enumerate(zip(self.cells, steps)):
            x, y = self.origins[i]
            out[y : y + self.label_h, x : x + self.cell_size[0]] = self.labels.draw(self.label(i, step))
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
