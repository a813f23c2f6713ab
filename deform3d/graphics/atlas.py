"""A sweep's pictures: ``atlas.png`` (every run's final frame) and ``curves.png`` (accuracy over epochs).

Owns: rendering an atlas cell (a run's final frame of one panel, cropped to that panel, headless
through ``offscreen.Renderer``), laying cells out by group and outcome with legible labels, and
drawing the accuracy curves (median and spread per group). Both pictures are drawn with VisPy on
the EGL canvas the renders use, so they need nothing matplotlib would add. Imports numpy and VisPy
(lazily); never torch. Dask, when a client is given, renders the cells on its workers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core.config import RenderConfig
from .offscreen import close_canvas, write_png

CELL = 220  # an atlas cell's picture, pixels a side
MAX_COLUMNS = 16
# Okabe-Ito: distinguishable with every common colour-vision deficiency; cycled past eight groups.
GROUP_COLOURS = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
INK, MUTED, PAPER, RULE = "#1f2328", "#6b7280", "#fbfaf7", "#d0d4d9"
# The label band under each cell tells the outcome at a distance: solid ink for a run that
# separates, pale for one that does not (not a hue: the classes already use orange and blue).
BAND_SEPARATED, BAND_STUCK = (31, 35, 40), (222, 224, 228)


def _rgb(h: str) -> tuple:
    h = h.lstrip("#")
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))


def render_cell(run, panel: str = "plane", size: int = CELL) -> np.ndarray:
    """A run's final frame of one panel, cropped to the panel: (size, size, 3) uint8.

    Runs wherever it is called: in this process, or on a Dask worker (headless, through EGL).
    """
    from .offscreen import Renderer, gl_call

    # The scene puts a heads-up line and a title above the panel; render a little taller, then crop
    # to the panel's own square (its frame for plane and input, its view box for the lift).
    # Fixed framing: every cell shows the activation's whole box at one scale, so cells compare.
    config = RenderConfig(size=(size + 16, size + 64), panels=(panel,), ssaa=2, mesh=128, legend=False, framing="fixed")
    with Renderer(run, config) as r:
        image, corners = gl_call(_draw_cell, r.scene, panel)
    (x0, y0), (x1, y1) = corners.min(0), corners.max(0)
    n = int(round(max(x1 - x0, y1 - y0) * 1.04))  # a little margin round the panel's frame
    top, left = int(round((y0 + y1 - n) / 2)), int(round((x0 + x1 - n) / 2))
    h, w = image.shape[:2]
    crop = np.empty((n, n, 3), np.uint8)
    crop[:] = image[0, 0]  # outside the canvas: its background
    ys, xs = slice(max(top, 0), min(top + n, h)), slice(max(left, 0), min(left + n, w))
    crop[ys.start - top : ys.stop - top, xs.start - left : xs.stop - left] = image[ys, xs]
    return _resize(crop, size)


def _draw_cell(scene, panel: str):
    """(the ssaa-times larger canvas, not yet averaged; the panel's corners in its pixels, x right,
    y down). On the GL thread."""
    scene.hud.text = ""  # cropped away anyway; laying out its glyphs was ~40% of a cell's time
    image = scene.canvas.render(alpha=False)
    view = scene.views[panel]
    if panel == "lift":
        corners = view.node_transform(scene.canvas.scene).map([[0, 0], list(view.size)])[:, :2]
    else:  # the panel's fixed frame; its tick labels and axis names lie outside it
        lo, hi = scene.geo.plane_range if panel == "plane" else (scene.geo.lo, scene.geo.hi)
        lo, hi = np.broadcast_to(lo, 2), np.broadcast_to(hi, 2)
        corners = scene.pixels(panel, np.array([[lo[0], lo[1]], [hi[0], hi[1]]]))
    return image, corners


def render_file(path: str, panel: str = "plane", size: int = CELL) -> np.ndarray:
    """``render_cell`` of the run saved at ``path`` (for a local process pool: a path pickles small)."""
    from ..core.trajectory import Trajectory

    return render_cell(Trajectory.load(path), panel, size)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    """A square image resampled to size x size: box averages down, nearest neighbour up."""
    n = image.shape[0]
    if n == size:
        return image
    if n < size:
        idx = np.arange(size) * n // size
        return image[idx][:, idx]
    edges = np.linspace(0, n, size + 1).astype(int)[:-1]
    counts = np.diff(np.append(edges, n)).astype(np.float32)
    sums = np.add.reduceat(np.add.reduceat(image.astype(np.float32), edges, axis=0), edges, axis=1)
    return (sums / counts[:, None, None] / counts[None, :, None] + 0.5).astype(np.uint8)


def _canvas(size):
    from vispy import scene

    from .offscreen import egl_app

    return scene.SceneCanvas(size=size, bgcolor=PAPER, app=egl_app(), show=False, keys=None)


def _text(canvas, text, pos, size, color=INK, bold=False, anchor=("left", "center")):
    from vispy import scene

    return scene.visuals.Text(
        text,
        pos=pos,
        font_size=size,
        color=color,
        bold=bold,
        anchor_x=anchor[0],
        anchor_y=anchor[1],
        parent=canvas.scene,
    )


# ---------------------------------------------------------------- atlas


def write_atlas(path, grouped, runs_dir, panel: str = "plane", client=None, cell: int = CELL, title: str = "") -> Path:
    """atlas.png: one block per group (a heading with its outcome), cells sorted best first.

    ``grouped``: [(label, [sweep.RunResult])], as ``sweep.groups`` gives; each run is read from
    ``runs_dir``. The cells render on a Dask ``client``'s workers, else here. ``title``: what the
    runs share (e.g. "circles, tanh, adam, lr 0.03, 30 epochs").
    """
    from ..core.trajectory import Trajectory

    order = [
        (label, sorted(rs, key=lambda r: (-r.final_accuracy, r.final_loss, r.config.seed))) for label, rs in grouped
    ]
    runs = [r for _, rs in order for r in rs]
    paths = [str(Path(runs_dir) / f"{r.name}.npz") for r in runs]
    if client is not None:  # the runs travel to the workers: they need not share this file system
        futures = [client.submit(render_cell, Trajectory.load(p), panel, cell, retries=3, pure=False) for p in paths]
        images = client.gather(futures)
    else:
        # In this process, not a local pool: a pool of EGL processes once hung the test suite
        # (intermittently; on a 2-core machine the pool was no faster anyway).
        images = [render_file(p, panel, cell) for p in paths]
    pictures = dict(zip((r.name for r in runs), images))

    cols = min(MAX_COLUMNS, max(len(rs) for _, rs in order))
    gap, margin, band, heading, top = 8, 28, 36, 76, 64
    heading_text = f"{title + ': ' if title else ''}{len(runs)} runs, final {panel} panel, best first"
    # Wide enough for the title too (about 14 pixels a character at its size).
    width = max(2 * margin + cols * cell + (cols - 1) * gap, 2 * margin + 14 * len(heading_text))
    heights = [heading + math.ceil(len(rs) / cols) * (cell + band + gap) + 16 for _, rs in order]
    height = top + sum(heights) + margin
    mosaic = np.empty((height, width, 3), np.uint8)
    mosaic[:] = _rgb(PAPER)
    labels = []  # (text, (x, y), size, colour, bold, anchor)
    labels.append((heading_text, (margin, top / 2 + 6), 20, INK, True, ("left", "center")))
    y = top
    for (label, rs), block in zip(order, heights):
        separated = sum(r.separated for r in rs)
        acc = [r.final_accuracy for r in rs]
        labels.append(
            (f"{label}:  {separated}/{len(rs)} separate", (margin, y + heading / 2), 30, INK, True, ("left", "center"))
        )
        low, high = f"{100 * min(acc):.0f}", f"{100 * max(acc):.0f}"
        labels.append(
            (
                f"final accuracy {low if low == high else low + '-' + high}%",
                (width - margin, y + heading / 2),
                20,
                MUTED,
                False,
                ("right", "center"),
            )
        )
        mosaic[y + heading - 6 : y + heading - 3, margin : width - margin] = _rgb(RULE)
        for i, r in enumerate(rs):
            row, col = divmod(i, cols)
            x0, y0 = margin + col * (cell + gap), y + heading + row * (cell + band + gap)
            mosaic[y0 : y0 + cell, x0 : x0 + cell] = pictures[r.name]
            mosaic[y0 + cell : y0 + cell + band, x0 : x0 + cell] = BAND_SEPARATED if r.separated else BAND_STUCK
            colour = "#ffffff" if r.separated else INK
            labels.append(
                (f"seed {r.config.seed}", (x0 + 8, y0 + cell + band / 2), 13, colour, False, ("left", "center"))
            )
            labels.append(
                (
                    f"{100 * r.final_accuracy:.1f}%",
                    (x0 + cell - 8, y0 + cell + band / 2),
                    15,
                    colour,
                    True,
                    ("right", "center"),
                )
            )
        y += block
    from .offscreen import gl_call

    return write_png(gl_call(_overlay, mosaic, labels), path)


def _overlay(image: np.ndarray, labels) -> np.ndarray:
    """The image with text drawn on it (VisPy text on the EGL canvas), as (H, W, 3) uint8. On the
    GL thread (``offscreen.gl_call``)."""
    from vispy import scene

    h, w = image.shape[:2]
    canvas = _canvas((w, h))
    try:
        scene.visuals.Image(image, parent=canvas.scene, method="subdivide", interpolation="nearest")
        for text, pos, size, colour, bold, anchor in labels:
            _text(canvas, text, pos, size, colour, bold, anchor)
        return canvas.render(alpha=False)
    finally:
        close_canvas(canvas)


# ---------------------------------------------------------------- curves


def write_curves(path, grouped, threshold: float, size=(1600, 900), title: str = "") -> Path:
    """curves.png: accuracy over epochs, one colour per group: the median over its runs (a line),
    the middle half and the whole spread of its runs (bands); ``threshold`` (the accuracy that
    counts as separated) dashed; each group named at the end of its line."""
    from .offscreen import gl_call

    return write_png(gl_call(_draw_curves, grouped, threshold, size, title), path)


def _draw_curves(grouped, threshold: float, size, title: str) -> np.ndarray:
    """write_curves's picture, (H, W, 3) uint8. On the GL thread."""
    from vispy import scene

    from ..core.framing import nice_step

    w, h = size
    left, right, top, bottom = 110, 330, 90, 90
    pw, ph = w - left - right, h - top - bottom
    epochs = max(r.accuracy.size - 1 for _, rs in grouped for r in rs)  # accuracy: one value per epoch end
    lowest = min(float(np.min(r.accuracy)) for _, rs in grouped for r in rs)
    y_lo = min(0.5, math.floor(lowest * 10) / 10)

    def to_px(e, a):
        return np.column_stack([left + np.asarray(e) / epochs * pw, top + (1.0 - np.asarray(a)) / (1.0 - y_lo) * ph])

    canvas = _canvas((w, h))
    try:
        _text(
            canvas,
            f"{title + ': ' if title else ''}accuracy, median (line), middle half and all runs (bands)",
            (left, top / 2),
            20,
            INK,
            True,
        )
        step = nice_step(epochs, 8)
        for e in np.arange(0, epochs + 1e-9, step):
            scene.visuals.Line(to_px([e, e], [y_lo, 1.0]).astype(np.float32), color=RULE, parent=canvas.scene)
            _text(canvas, f"{e:g}", tuple(to_px([e], [y_lo])[0] + (0, 24)), 18, MUTED, anchor=("center", "center"))
        for a in np.arange(y_lo, 1.0 + 1e-9, 0.1):
            scene.visuals.Line(to_px([0, epochs], [a, a]).astype(np.float32), color=RULE, parent=canvas.scene)
            _text(canvas, f"{100 * a:.0f}%", tuple(to_px([0], [a])[0] - (14, 0)), 18, MUTED, anchor=("right", "center"))
        _text(canvas, "epoch", (left + pw / 2, h - bottom / 2 + 16), 20, MUTED, anchor=("center", "center"))
        dashes = np.linspace(0, epochs, 81)
        seg = to_px(dashes, np.full_like(dashes, threshold)).astype(np.float32)
        scene.visuals.Line(seg, color=INK, connect="segments", parent=canvas.scene)
        _text(canvas, f"{threshold:.0%}", tuple(to_px([epochs], [threshold])[0] + (8, 0)), 14, INK)

        ends: list[list] = []  # [y, label, colour]: sorted by y, then nudged apart
        for i, (label, rs) in enumerate(grouped):
            colour = GROUP_COLOURS[i % len(GROUP_COLOURS)]
            steps = min(r.accuracy.size for r in rs)
            acc = np.stack([r.accuracy[:steps] for r in rs]).astype(np.float64)
            # A point every ~4 pixels at most keeps the shape and the bands readable.
            idx = np.unique(np.linspace(0, steps - 1, min(steps, pw // 4)).astype(int))
            e = idx.astype(np.float64)
            rgb = tuple(c / 255 for c in _rgb(colour))
            lo, q1, med, q3, hi = np.percentile(acc[:, idx], [0, 25, 50, 75, 100], axis=0)
            for (a, b), alpha in (((lo, hi), 0.10), ((q1, q3), 0.35)):  # all runs; the middle half
                strip = np.empty((2 * len(idx), 2), np.float32)  # a triangle strip between b and a
                strip[0::2], strip[1::2] = to_px(e, b), to_px(e, a)
                faces = np.array([[j, j + 1, j + 2] for j in range(len(strip) - 2)], np.uint32)
                scene.visuals.Mesh(vertices=strip, faces=faces, color=(*rgb, alpha), parent=canvas.scene)
            scene.visuals.Line(
                to_px(e, med).astype(np.float32),
                color=(*rgb, 1.0),
                width=5,
                parent=canvas.scene,
                method="agg",
                antialias=True,
            )
            separated = sum(r.separated for r in rs)
            ends.append([float(to_px([e[-1]], [med[-1]])[0, 1]), f"{label}  {separated}/{len(rs)} separate", colour])
        # Name each group at the end of its median line, nudged apart so names never overlap.
        ends.sort()
        for j in range(1, len(ends)):
            ends[j][0] = max(ends[j][0], ends[j - 1][0] + 34)
        for yy, text, colour in ends:
            _text(canvas, text, (left + pw + 14, yy), 21, colour, True)
        frame = to_px([0, epochs, epochs, 0, 0], [y_lo, y_lo, 1.0, 1.0, y_lo]).astype(np.float32)
        scene.visuals.Line(frame, color=MUTED, width=1.0, parent=canvas.scene)
        return canvas.render(alpha=False)
    finally:
        close_canvas(canvas)
