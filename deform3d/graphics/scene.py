"""The picture: panels side by side (lift in 3-D | plane | input), cameras, a heads-up line.

Owns: composing visuals into a VisPy SceneCanvas, themes, uploading a run's static geometry
(core.framing: input mesh, lift projection, boxes), and turning (fractional step, camera) into uniforms. Per frame it
sends uniforms only; vertex data is uploaded when the scene is built. Imports VisPy and numpy,
never torch. The canvas backend (EGL offscreen, Qt window) is chosen by the caller.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from vispy import scene
from vispy.visuals.text.text import FontManager

from ..core.config import RenderConfig
from ..core.framing import RunGeometry
from ..core.geometry import ACTIVATION_RANGE, forward, input_mesh, surface_presence
from ..core.trajectory import Trajectory
from .layout import fit_text, font_points, layout, text_width, ticks
from .visuals import HalfPlane, Outline, Points, Sheet, Surface, network_uniforms, surface_uniforms


@dataclass(frozen=True)
class Theme:
    """Colours (RGBA, 0..1). Classes use the Okabe-Ito palette: orange vs blue, not red vs green."""

    background: tuple
    text: tuple
    muted: tuple
    front: tuple  # the sheet's front side
    back: tuple  # its back side (lift)
    class0: tuple
    class1: tuple
    tint: float  # how strongly the sheet takes the predicted class's colour
    fill: float  # alpha of the class half-planes in the plane panel
    grid: tuple
    boundary: tuple  # the decision line and the z3 = 0 curve
    crease: tuple  # the fold's crease det J = 0: a neutral grey, never a class hue
    outline: tuple  # the edge of the sheet in the plane, visible however flat it is squeezed
    box: tuple
    surface: tuple
    rim: tuple


def _hex(h: str, a: float = 1.0) -> tuple:
    h = h.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)) + (a,)


THEMES = {
    "light": Theme(
        background=_hex("#fbfaf7"), text=_hex("#1f2328"), muted=_hex("#6b7280"),
        front=_hex("#f1ede4"), back=_hex("#9fb3c8"), class0=_hex("#e69f00"), class1=_hex("#0072b2"),
        tint=0.22, fill=0.10, grid=_hex("#3b4252", 0.35), boundary=_hex("#111111"), crease=_hex("#4a4f57"), outline=_hex("#5a7390", 0.8),
        box=_hex("#9aa0a6"), surface=_hex("#cc79a7", 0.35), rim=_hex("#1f2328", 0.55),
    ),
    "dark": Theme(
        background=_hex("#111418"), text=_hex("#e6e6e6"), muted=_hex("#9aa0a6"),
        front=_hex("#3a4048"), back=_hex("#1f2d3d"), class0=_hex("#f0a830"), class1=_hex("#56b4e9"),
        tint=0.30, fill=0.14, grid=_hex("#e6e6e6", 0.28), boundary=_hex("#fafafa"), crease=_hex("#c3c7ce"), outline=_hex("#8fb0d0", 0.8),
        box=_hex("#5c6370"), surface=_hex("#cc79a7", 0.40), rim=_hex("#000000", 0.6),
    ),
}

TITLES = {
    "lift": {2: "lift  h1 in R^2 (flat)", 3: "lift  h1 in R^3", 4: "lift  h1 in R^4, projected to 3-D"},
    "plane": "plane  h2, with the decision line",
    "input": "input  x, with the decision boundary",
}


FILL = 0.94  # the share of the lift's view (its tighter direction) that the framed sheet fills


def _box_edges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    edges = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
    return corners[np.array(edges).ravel()].astype(np.float32)


class Scene:
    """A SceneCanvas showing a run; ``set_step(t)`` and ``set_camera(...)`` change uniforms only.

    ``scale`` multiplies every size in pixels (fonts, line widths, sprites): the offscreen
    renderer draws at ``scale`` x the output size for supersampling. The layout (deform3d.layout)
    follows the canvas: a resize lays the picture out anew.
    """

    def __init__(self, run: Trajectory, config: RenderConfig = RenderConfig(), scale: int = 1, app=None,
                 size: tuple[int, int] | None = None, geometry: RunGeometry | None = None, show: bool = False,
                 text_scale: float = 1.0):
        self.run, self.config, self.scale, self.text_scale = run, config, scale, text_scale
        self.theme = THEMES[config.theme]
        self.mesh = config.resolved("interactive").mesh
        self.geo = geometry or RunGeometry(run, self.mesh)
        w, h = size or config.size
        # Lines and sprites only grow with the picture, never shrink below their 720p widths, so
        # they stay crisp and visible in small pictures; text sizes come from the layout.
        ui = min(max(min(w / 1280, h / 720), 0.4), 4.0)
        self.line_px = scale * max(ui, 1.0)
        self.marker_px = 5.0 * self.line_px  # a data point's diameter (its sprite is 2 px wider)
        self.canvas = scene.SceneCanvas(size=(w * scale, h * scale), bgcolor=self.theme.background, show=show,
                                        app=app, keys=None, title="deform3d")
        self.panels = tuple(p for p in config.panels if p != "curve")
        self.views: dict[str, scene.ViewBox] = {}
        self._network_visuals = []
        self._sheets, self._point_sets = [], []
        self._surface = None
        self._fill = None  # the plane panel's class half-planes
        self._surface_exists = False  # this step has a decision surface (surface_uniforms not None)
        self._meshes = None  # {full: (VertexBuffer, IndexBuffer)}, made by the first set_detail
        self._texts = {}  # name -> Text visual in canvas pixels (heads-up line, titles, legend)
        self._axis_texts = []  # Text in panel coordinates: tick labels and axis names, one per group
        self._axis_groups = {}  # (view, anchor_x, anchor_y) -> (view, texts, positions), while building
        self._hud_width = 0.0
        self._legend = []  # the legend's symbols (visuals in canvas pixels)
        self.layout = None
        self.full_detail = True
        self.step = None
        self._distance = config.distance
        self._lift_points = None  # what the lift's camera frames: the sheet's sample (follow) or the box's corners
        # One glyph atlas for every text of the picture: VisPy gives each Text visual its own font
        # manager, so each rendered every glyph it shows anew (about 0.5 s of a scene's first frame).
        self._fonts = FontManager()
        self._highlight = None  # indices of highlighted data points (a window's linked selection)
        self._highlight_visuals = {}  # panel -> (ring Markers, dot Markers)
        self._build()
        self._apply_options()
        self.set_camera(config.azimuth, config.elevation, config.distance)
        self.set_step(run.num_steps)
        self.canvas.events.resize.connect(lambda event: self._relayout())

    # ------------------------------------------------------------ building

    def _label(self, name, color, anchor_x="left"):
        text = scene.visuals.Text("", color=color, anchor_x=anchor_x, anchor_y="center", font_manager=self._fonts,
                                  parent=self.canvas.central_widget)
        self._texts[name] = text
        return text

    def _build(self):
        t = self.theme
        self.hud = self._label("hud", t.text)
        for panel in self.panels:
            view = scene.widgets.ViewBox(parent=self.canvas.central_widget)
            self.views[panel] = view
            self._label(f"title:{panel}", t.text)
            getattr(self, f"_build_{panel}")(view)
        self._curve = None
        if "curve" in self.config.panels:
            self._build_curve()
        self._axis_visuals()
        self._relayout()

    def _relayout(self):
        """Place every view and text for the canvas's current size (deform3d.layout)."""
        s = self.scale
        w, h = self.canvas.size
        lay = self.layout = layout((w / s, h / s), self.panels, legend=self.config.legend, curve=self._curve is not None,
                                   text_scale=self.text_scale)
        box = lambda r: tuple(v * s for v in r)  # noqa: E731  layout px -> canvas px
        for panel, view in self.views.items():
            x, y, vw, vh = box(lay.views[panel])
            view.pos, view.size = (x, y), (vw, vh)
            title = self._texts[f"title:{panel}"]
            title.visible = panel in lay.titles
            if title.visible:
                tx, ty, tw, th = box(lay.titles[panel])
                title.pos, title.font_size = (tx, ty + th / 2), font_points(lay.cap * s)
                title.text = fit_text(self._titles(panel), lay.cap * s, tw)
        self.hud.visible = lay.hud is not None
        if self.hud.visible:
            x, y, hw, hh = box(lay.hud)
            self.hud.pos, self.hud.font_size = (x, y + hh / 2), font_points(lay.hud_cap * s)
            self._hud_width = hw
        self._build_legend(box(lay.legend) if lay.legend is not None else None, lay.cap * s)
        if self._curve is not None:
            self._curve.visible = lay.curve is not None
            if self._curve.visible:
                x, y, cw, ch = box(lay.curve)
                self._curve.pos, self._curve.size = (x, y), (cw, ch)
        for text in self._axis_texts:  # ticks and axis names: only where there is room for titles
            text.font_size = font_points(lay.cap * s * 0.9)
            text.visible = bool(lay.titles)
        if self.step is not None:
            self._update_hud(force=True)
            self._fit_lift()

    def _titles(self, panel: str) -> list[str]:
        """A panel's title, most detailed first (the layout keeps the longest that fits)."""
        k = self.geo.k
        if panel == "lift":
            if k == 4:
                share = f"{100 * self.geo.projection.explained:.0f}%"
                return [f"lift h1 in R^4, shown by PCA to 3-D ({share} of its variance)",
                        f"lift h1: PCA of R^4 ({share})", f"lift (PCA {share})"]
            return [f"lift h1 = act(W1 x + b1) in R^{k}" + (", a flat map" if k == 2 else ""), f"lift h1 in R^{k}", "lift"]
        if panel == "plane":
            return ["plane h2 = act(W2 h1 + b2), with the decision line", "plane h2, with the decision line", "plane h2"]
        return ["input x, with the decision boundary", "input x", "input"]

    def _legend_items(self) -> list[tuple[str, str, tuple]]:
        """(kind, label, colour) of what the picture shows: classes, line, surface, crease."""
        t, c, labels = self.theme, self.config, self.run.meta.get("labels") or ("class 0", "class 1")
        items = [("dot", str(labels[0]), t.class0), ("dot", str(labels[1]), t.class1),
                 ("line", "decision line", t.boundary)]
        if self._surface is not None and c.surface:
            items.append(("square", "decision surface", t.surface))
        if c.folds and self.geo.k >= 3:
            items.append(("dash", "fold crease", t.crease))
        return items

    def _build_legend(self, box, cap):
        """The legend in one line: its symbols in one Markers and one Line visual, its labels in one
        Text (few visuals: each is a shader program that a software rasterizer compiles anew)."""
        if not self._legend:
            cw = self.canvas.central_widget
            self._legend = [scene.visuals.Markers(parent=cw), scene.visuals.Line(connect="segments", parent=cw),
                            scene.visuals.Text("", color=self.theme.text, anchor_x="left", anchor_y="center", parent=cw,
                                               font_manager=self._fonts)]
        marks, lines, labels = self._legend
        if box is None:
            for v in self._legend:
                v.visible = False
            return
        x, y, w, h = box
        cy = y + h / 2
        size = cap * 1.1
        dots, dot_colors, symbols, segments, seg_colors, texts, spots = [], [], [], [], [], [], []
        for kind, label, color in self._legend_items():
            if x + size * 1.6 + text_width(label, cap) - cap > box[0] + w:
                break  # what does not fit is left out, never drawn over something else
            if kind in ("dot", "square"):
                dots.append((x + size / 2, cy))
                dot_colors.append(color)
                symbols.append("disc" if kind == "dot" else "square")
                sx = x + size + 0.5 * cap
            else:
                ends = [x, x + size * 1.6] if kind == "line" else [x + i * size * 0.4 for i in range(4)]
                for x0, x1 in zip(ends[::2], ends[1::2]):
                    segments += [(x0, cy), (x1, cy)]
                    seg_colors += [color, color]
                sx = x + size * 1.6 + 0.5 * cap
            texts.append(label)
            spots.append((sx, cy))
            x = sx + text_width(label, cap) + 0.6 * cap
        for v in self._legend:
            v.visible = bool(texts)
        if not texts:
            return
        marks.visible, lines.visible = bool(dots), bool(segments)
        if dots:
            marks.set_data(np.array(dots), face_color=np.array(dot_colors), edge_color=self.theme.rim, size=size,
                           edge_width=max(1.0, 0.1 * size), symbol=np.array(symbols))
        if segments:
            lines.set_data(np.array(segments), color=np.array(seg_colors), width=max(1.5, 0.2 * cap))
        labels.text, labels.pos, labels.font_size = texts, np.array(spots), font_points(cap)

    def _sheet(self, view, space):
        t = self.theme
        blend = "over" if space == "lift" else ("capped-dark" if self.config.theme == "dark" else "capped-light")
        sheet = Sheet(self.geo.vertices, self.geo.faces, space=space, blend=blend, parent=view.scene)
        sheet.set_uniforms(
            front=t.front, back=t.back, class0=t.class0, class1=t.class1,
            grid=(*self.geo.lo, self.geo.grid_step, 1.2 * self.line_px),
            contour=(*t.boundary[:3], 2.2 * self.line_px), light=(0, 0, 0),
        )
        self._network_visuals.append(sheet)
        self._sheets.append((sheet, space))
        return sheet

    def _points(self, view, space):
        pts = Points(self.run.X, self.run.y, space=space, parent=view.scene)
        pts.set_uniforms(size=self.marker_px, class0=self.theme.class0, class1=self.theme.class1, rim=self.theme.rim)
        self._network_visuals.append(pts)
        self._point_sets.append(pts)
        return pts

    def _axis_text(self, view, text, pos, anchor_x="center", anchor_y="center"):
        """An axis label or tick in panel coordinates; labels of one panel that share their anchors
        are drawn by one Text visual (see _axis_visuals)."""
        group = self._axis_groups.setdefault((id(view), anchor_x, anchor_y), (view, [], []))
        group[1].append(text)
        group[2].append(tuple(float(v) for v in pos) + (0.0,) * (3 - len(pos)))

    def _axis_visuals(self):
        for (_, anchor_x, anchor_y), (view, texts, spots) in self._axis_groups.items():
            self._axis_texts.append(scene.visuals.Text(texts, pos=np.array(spots), color=self.theme.muted, font_manager=self._fonts,
                                                       anchor_x=anchor_x, anchor_y=anchor_y, parent=view.scene))

    def _build_lift(self, view):
        lo, hi = self.geo.lift_box
        self.lift_sheet = self._sheet(view, "lift")
        if self.geo.k == 3 and np.isfinite(ACTIVATION_RANGE[self.geo.activation][1]):
            self._surface = Surface(parent=view.scene)
            self._surface.set_uniforms(color=self.theme.surface)
            self._network_visuals.append(self._surface)
        self._points(view, "lift")
        scene.visuals.Line(_box_edges(lo, hi), connect="segments", color=self.theme.box, width=1.0 * self.line_px,
                           parent=view.scene)
        # Axis names at the middle of three edges of the box, ticks of the activation's range on one.
        span = hi - lo
        off = 0.12 * float(span.max())
        if self.geo.k == 4:
            names = ("PC1", "PC2", "PC3")
        else:
            names = ("h1_1", "h1_2", "h1_3")
        self._axis_text(view, names[0], (lo[0] + 0.75 * span[0], lo[1] - 1.5 * off, lo[2]))
        self._axis_text(view, names[1], (hi[0] + off, lo[1] + 0.75 * span[1], lo[2]))
        if self.geo.k >= 3:
            self._axis_text(view, names[2], (lo[0] - off, lo[1] - off, (lo[2] + hi[2]) / 2))
        if self.geo.k != 4:
            for v in ticks(lo[0], hi[0]):
                self._axis_text(view, f"{v:g}", (v, lo[1] - off * 0.45, lo[2]))
        center = (lo + hi) / 2
        # k = 2's lift is a flat map: seen face on, from above, with no perspective.
        fov = 0.0 if self.geo.k == 2 else 30.0
        view.camera = scene.TurntableCamera(fov=fov, center=tuple(center), up="+z")

    def _build_plane(self, view):
        lo, hi = self.geo.plane_range
        fill = self._fill = HalfPlane(lo, hi, parent=view.scene)
        fill.set_uniforms(line=(0, 0, 0, 0))
        # No z3 = 0 curve of the sheet's own here: in the plane it is the decision line, drawn once
        # (drawn by every squashed sliver of a saturated sheet too, it piled into dark shards).
        self._sheet(view, "plane").set_uniforms(front=(*self.theme.front[:3], 0.55), back=(*self.theme.back[:3], 0.55),
                                                contour=(0.0, 0.0, 0.0, 0.0))
        line = HalfPlane(lo, hi, parent=view.scene)
        line.set_uniforms(class0=(0, 0, 0, 0), class1=(0, 0, 0, 0), line=(*self.theme.boundary[:3], 2.6 * self.line_px))
        self._network_visuals += [fill, line]
        self._frame(view, (lo, lo), (hi, hi))  # before the points: saturated points sit on the frame
        # After the frame: a sheet pressed flat against the box lies on the frame line itself.
        outline = Outline(self.geo.lo, self.geo.hi, space="plane", width=2.0 * self.line_px, parent=view.scene)
        outline.set_uniforms(color=self.theme.outline)
        self._network_visuals.append(outline)
        self._points(view, "plane")
        span = hi - lo
        for i, v in enumerate(ticks(lo, hi)):
            if i > 0:  # the corner's value is written once, on the vertical axis
                self._axis_text(view, f"{v:g}", (v, lo - 0.02 * span), anchor_y="top")
            self._axis_text(view, f"{v:g}", (lo - 0.02 * span, v), anchor_x="right")
        self._axis_text(view, "h2_1", (lo + 0.75 * span, lo - 0.02 * span), anchor_y="top")
        self._axis_text(view, "h2_2", (lo - 0.02 * span, lo + 0.75 * span), anchor_x="right")

    def _build_input(self, view):
        self._sheet(view, "input")
        self._frame(view, self.geo.lo, self.geo.hi)
        self._points(view, "input")

    def _frame(self, view, lo, hi):
        (x0, y0), (x1, y1) = lo, hi
        square = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], np.float32)
        scene.visuals.Line(square, color=self.theme.box, width=1.0 * self.line_px, parent=view.scene)
        m = 0.04 * (x1 - x0)
        view.camera = scene.PanZoomCamera(rect=(x0 - m, y0 - m, x1 - x0 + 2 * m, y1 - y0 + 2 * m), aspect=1.0)

    def _build_curve(self):
        """A strip of loss and accuracy over the whole run, with a cursor at the current step."""
        run, t = self.run, self.theme
        view = self._curve = scene.widgets.ViewBox(parent=self.canvas.central_widget)
        epochs = np.arange(run.num_steps + 1) / run.steps_per_epoch
        every = max(1, len(epochs) // 2000)
        x = epochs[::every]
        acc = np.asarray(run.accuracy, np.float64)[::every]
        loss = np.asarray(run.loss, np.float64)[::every]
        loss = loss / max(float(np.nanmax(loss)), 1e-12)  # the loss on its own scale: 1 = its worst
        end = float(epochs[-1]) or 1.0
        scene.visuals.Line(np.array([[0, 0], [end, 0], [end, 1], [0, 1], [0, 0]], np.float32), color=t.box,
                           width=1.0 * self.line_px, parent=view.scene)
        scene.visuals.Line(np.column_stack([x, loss]).astype(np.float32), color=t.muted, width=1.5 * self.line_px,
                           parent=view.scene)
        scene.visuals.Line(np.column_stack([x, acc]).astype(np.float32), color=t.text, width=2.0 * self.line_px,
                           parent=view.scene)
        self._cursor = scene.visuals.Line(np.array([[0, 0], [0, 1]], np.float32), color=t.class1,
                                          width=2.0 * self.line_px, parent=view.scene)
        self._axis_text(view, "accuracy", (0.3 * end, 0.86), anchor_x="left", anchor_y="top")
        self._axis_text(view, "loss (of its worst)", (0.3 * end, 0.45), anchor_x="left", anchor_y="top")
        self._axis_text(view, f"epoch {end:g}", (end, -0.04), anchor_x="right", anchor_y="top")
        view.camera = scene.PanZoomCamera(rect=(-0.01 * end, -0.18, 1.02 * end, 1.26))

    # ------------------------------------------------------------ per frame: uniforms only

    def set_options(self, **flags: bool) -> None:
        """Turn parts on or off without rebuilding: ``grid``, ``points``, ``tint``, ``folds``,
        ``surface``, ``legend`` (RenderConfig's names and meanings). Uniforms and visibility only."""
        self.config = dataclasses.replace(self.config, **flags)
        self._apply_options()
        if "legend" in flags or "folds" in flags or "surface" in flags:
            self._relayout()

    def set_text_scale(self, factor: float) -> None:
        """Every text size times ``factor`` (a window's projector setting); lays the picture out anew."""
        self.text_scale = float(factor)
        self._relayout()

    def data_positions(self, step: float | None = None) -> dict[str, np.ndarray]:
        """Where every data point is drawn in each panel at ``step`` (default: the step shown), in
        panel coordinates (n, 3), computed in numpy (core.geometry, the reference) in data order."""
        w = self.run.weights_at(self.step if step is None else step)
        f = forward(w, np.asarray(self.run.X, np.float64), self.geo.activation)
        flat = lambda a: np.column_stack([a, np.zeros(len(a))])  # noqa: E731
        out = {"lift": np.asarray(self.geo.projection(f.h1), np.float64), "plane": flat(f.h2),
               "input": flat(np.asarray(self.run.X, np.float64))}
        return {name: out[name] for name in self.views}

    def set_highlight(self, indices) -> None:
        """Mark data points (indices into the run's data; None or empty: none) in every panel: a
        ring in the text colour around the point redrawn on top in its class colour, so a marked
        point shows through the sheet and its neighbours."""
        self._highlight = None if indices is None or len(indices) == 0 else np.asarray(indices, int)
        if self._highlight is not None and not self._highlight_visuals:
            for name, view in self.views.items():
                ring, dot = scene.visuals.Markers(parent=view.scene), scene.visuals.Markers(parent=view.scene)
                for v in (ring, dot):
                    v.set_gl_state("translucent", depth_test=False)
                    v.order = 100  # after everything else in the panel
                self._highlight_visuals[name] = (ring, dot)
        self._update_highlight()

    def _update_highlight(self) -> None:
        if not self._highlight_visuals:
            return
        idx = self._highlight
        t = self.theme
        few = idx is not None and len(idx) <= 20  # one marked point gets a ring; a crowd stands out of dimmed others
        fade = 1.0 if idx is None or few else 0.22
        for pts in self._point_sets:
            pts.set_uniforms(class0=(*t.class0[:3], fade), class1=(*t.class1[:3], fade),
                             rim=(*t.rim[:3], t.rim[3] * fade))
        for ring, dot in self._highlight_visuals.values():
            ring.visible = few
            dot.visible = idx is not None
        if idx is None:
            return
        colors = np.where((np.asarray(self.run.y)[idx] > 0.5)[:, None], t.class1, t.class0)
        for name, pos in self.data_positions().items():
            ring, dot = self._highlight_visuals[name]
            p = pos[idx].astype(np.float32)
            if few:
                ring.set_data(p, face_color=(0, 0, 0, 0), edge_color=t.text, size=self.marker_px * 2.6,
                              edge_width=max(1.5, 0.45 * self.marker_px))
                dot.set_data(p, face_color=colors, edge_color=t.background, size=self.marker_px * 1.15,
                             edge_width=max(1.0, 0.2 * self.marker_px))
            else:
                dot.set_data(p, face_color=colors, edge_color=t.rim, size=self.marker_px * 1.5, edge_width=0.6)

    def set_detail(self, full: bool = True) -> None:
        """Sheets with the config's mesh (``full``), or half as many vertices per side.

        For a window while the view moves (playback, a drag): on the software rasterizer a 256^2
        sheet at 720p makes triangles of about 2 pixels, and those cost the most per pixel; half the
        mesh is about a third cheaper per frame. Grid lines and the decision curve are per fragment,
        so they stay exact; only the sheet's silhouette is coarser. Stills keep the full mesh.
        """
        full = bool(full)
        if full == self.full_detail:
            return
        if self._meshes is None:
            from vispy import gloo

            coarse = input_mesh(max(8, self.mesh // 2), self.geo.lo, self.geo.hi)
            self._meshes = {f: (gloo.VertexBuffer(np.ascontiguousarray(v, np.float32)),
                                gloo.IndexBuffer(np.ascontiguousarray(faces, np.uint32)))
                            for f, (v, faces) in ((True, (self.geo.vertices, self.geo.faces)), (False, coarse))}
        for sheet, _ in self._sheets:
            sheet.set_mesh(*self._meshes[full])
        self.full_detail = full

    def _apply_options(self) -> None:
        t, c = self.theme, self.config
        for sheet, space in self._sheets:
            sheet.set_uniforms(crease=(*t.crease[:3], 2.2 * self.line_px if c.folds else 0.0), tint=t.tint if c.tint else 0.0,
                               grid_color=t.grid if c.grid else (0, 0, 0, 0))
        for pts in self._point_sets:
            pts.visible = c.points
        if self._fill is not None:  # the plane's half-planes are tinted by class too
            a = t.fill if c.tint else 0.0
            self._fill.set_uniforms(class0=(*t.class0[:3], a), class1=(*t.class1[:3], a))
        if self._surface is not None:
            self._surface.visible = c.surface and self._surface_exists

    def set_step(self, t: float) -> None:
        """Show the network at fractional step t (weights interpolated between recorded steps)."""
        t = min(max(float(t), 0.0), float(self.run.num_steps))
        self.step = t
        w = self.run.weights_at(t)
        u = network_uniforms(w, self.geo.activation, self.geo.projection)
        for v in self._network_visuals:
            v.set_uniforms(**u)
        # Where the sheet is now (one forward pass of a sparse sample), for the follow framing and the
        # decision surface's presence; neither needs it in fixed framing without a surface.
        follow = self.config.framing == "follow"
        sheet = None
        if follow or self._surface is not None:
            sheet = forward(w, self.geo.sheet_sample, self.geo.activation)
        if self._surface is not None:
            su = surface_uniforms(w, self.geo.activation)
            presence = 0.0
            if su is not None:
                presence = surface_presence(w, sheet.h1, self.geo.activation)
            self._surface_exists = presence > 0.01
            self._surface.visible = self._surface_exists and self.config.surface
            if self._surface_exists:
                color = self.theme.surface
                self._surface.set_uniforms(**su, color=(*color[:3], color[3] * presence))
        if self._curve is not None:
            e = t / self.run.steps_per_epoch
            self._cursor.set_data(np.array([[e, -0.02], [e, 1.02]], np.float32))
        self._frame_views(sheet if follow else None)
        self._update_hud()
        self._update_highlight()

    def _update_hud(self, force: bool = False) -> None:
        t, run = self.step, self.run
        i = int(round(t))
        epoch, loss, acc = t / run.steps_per_epoch, run.loss[i], 100 * run.accuracy[i]
        dataset = run.meta.get("dataset", "")
        # Fixed-width fields, most detail first; the layout keeps the longest that fits.
        text = fit_text([
            f"k = {self.geo.k}   {dataset}   epoch {epoch:5.1f}   step {i:>5d} / {run.num_steps}   "
            f"loss {loss:<8.3g}   accuracy {acc:5.1f}%",
            f"k = {self.geo.k}   {dataset}   epoch {epoch:5.1f}   loss {loss:<7.2g}   accuracy {acc:5.1f}%",
            f"k={self.geo.k}  epoch {epoch:5.1f}  acc {acc:5.1f}%",
        ], self.layout.hud_cap * self.scale, self._hud_width)
        if force or text != self.hud.text:  # new text means new glyph buffers: upload only on change
            self.hud.text = text

    def _frame_views(self, f) -> None:
        """Follow framing (``f``: the forward pass of the sheet's sample at this step): the lift's
        and the plane's cameras frame the sheet of this moment, continuously in the weights and the
        camera, so a video's framing moves as smoothly as its sheet. ``f`` None: fixed framing, the
        activation's whole box."""
        follow = f is not None
        if follow:
            self._lift_points = self.geo.projection(f.h1)
        else:
            self._lift_points = self.geo.box_corners()
        self._fit_lift()
        view = self.views.get("plane")
        if view is not None:
            lo, hi = self.geo.plane_range
            span = hi - lo
            if follow:
                # The sheet's box with room for the markers, never larger than the fixed view, never
                # smaller than a fifth of it.
                a = np.maximum(f.h2.min(axis=0), lo) - 0.04 * span
                b = np.minimum(f.h2.max(axis=0), hi) + 0.04 * span
                side = max(float((b - a).max()), 0.2 * span)
                c = (a + b) / 2
            else:
                side, c = 1.08 * span, np.full(2, (lo + hi) / 2)
            # Room left of and below the content for the tick labels and axis names, in pixels.
            cap = self.layout.cap * self.scale * 0.9
            left, bottom = text_width("h2_2", cap) + cap, 2.6 * cap
            px = max(min(view.size) - left, 1.0)
            per_px = side / px
            rect = (c[0] - side / 2 - left * per_px, c[1] - side / 2 - bottom * per_px,
                    side + left * per_px, side + bottom * per_px)
            view.camera.rect = rect

    def _fit_lift(self) -> None:
        """Aim and zoom the lift's camera so the framed points (the sheet, or the box's corners),
        seen from the camera's angles, sit centred and fill FILL of the view in its tighter direction.
        An explicit distance keeps its zoom; only the aim follows."""
        view = self.views.get("lift")
        if view is None or self._lift_points is None:
            return
        pts = self._lift_points
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        box_lo, box_hi = self.geo.lift_box
        floor = 0.1 * float(np.linalg.norm(box_hi - box_lo))  # a collapsed sheet is not zoomed to a dot
        cam = view.camera
        # A sheet seen end-on projects small, but zooming in on it must not bring the camera (at
        # scale / (2 tan(fov / 2)) from the centre) inside the sheet's own depth: keep it 1.6
        # bounding radii away.
        floor = max(floor, 2 * math.tan(math.radians(cam.fov) / 2) * 1.6 * 0.5 * float(np.linalg.norm(hi - lo)))
        centre = (lo + hi) / 2
        cam.center = tuple(centre)
        scale = max(float(np.linalg.norm(hi - lo)), floor) * 1.15  # a first guess, corrected below
        cam.scale_factor, cam.distance = scale, self._distance
        w, h = view.size
        if w <= 1 or h <= 1:
            return
        # Re-aim and re-zoom, three rounds (perspective makes each round approximate): move the
        # centre so that the points' on-screen box is centred in the view (the projection's 2 x 3
        # Jacobian at the centre, solved least-norm for the offset), then scale to fill FILL.
        px = self.canvas.pixel_scale  # pixels() are physical; the view's box is logical
        middle = np.asarray(view.pos, np.float64) + np.array([w, h]) / 2
        for _ in range(3):
            p = self.pixels("lift", pts) / px
            e = 1e-3 * max(float(np.linalg.norm(hi - lo)), floor)
            base = self.pixels("lift", np.vstack([centre, centre + e * np.eye(3)])) / px
            J = (base[1:] - base[0]).T / e  # d pixel / d world
            offset = (p.min(axis=0) + p.max(axis=0)) / 2 - middle
            if np.all(np.isfinite(J)) and np.all(np.isfinite(offset)):
                centre = centre + np.linalg.pinv(J) @ offset
                cam.center = tuple(centre)
            if self._distance is None:
                # (the markers' radius, plus a pixel, is kept clear of the view's edges)
                room = self.marker_px + 4 * self.scale
                p = self.pixels("lift", pts) / px
                fill = max(np.ptp(p[:, 0]) / max(w - room, 1.0), np.ptp(p[:, 1]) / max(h - room, 1.0))
                if np.isfinite(fill) and fill > 0:
                    scale = max(scale * fill / FILL, floor)
                    cam.scale_factor = scale

    def set_camera(self, azimuth: float | None = None, elevation: float | None = None, distance: float | None = None) -> None:
        """Turn the lift's camera (degrees); distance None fits the framed sheet (or box).

        k = 2's lift is a flat map and is always seen face on: its angles are fixed."""
        view = self.views.get("lift")
        if view is None:
            return
        cam = view.camera
        if self.geo.k == 2:
            azimuth, elevation = 0.0, 90.0
        if azimuth is not None:
            cam.azimuth = azimuth
        if elevation is not None:
            cam.elevation = elevation
        self._distance = distance  # None: VisPy derives it from the field of view and scale_factor
        self._fit_lift()
        # A headlight from above the camera: its direction in lift coordinates, for the shading.
        az, el = math.radians(cam.azimuth), math.radians(min(cam.elevation + 25.0, 89.0))
        light = (math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el))
        for v in (self.lift_sheet, self._surface):
            if v is not None:
                v.set_uniforms(light=light)

    def pixels(self, panel: str, positions: np.ndarray) -> np.ndarray:
        """Canvas pixel coordinates (x right, y down; in the scaled canvas) of panel positions (n, 3)."""
        view = self.views[panel]
        tr = view.scene.node_transform(self.canvas.scene)
        p = np.asarray(positions, np.float64)
        if p.shape[1] == 2:
            p = np.column_stack([p, np.zeros(len(p))])
        mapped = tr.map(p)
        return mapped[:, :2] / mapped[:, 3:4] * self.canvas.pixel_scale
