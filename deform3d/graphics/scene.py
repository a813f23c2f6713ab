"""The picture: panels side by side (lift in 3-D | plane | input), cameras, a heads-up line.

Owns: composing visuals into a VisPy SceneCanvas, themes, uploading a run's static geometry
(core.framing: input mesh, lift projection, boxes), and turning (fractional step, camera) into uniforms. Per frame it
sends uniforms only; vertex data is uploaded when the scene is built. Imports VisPy and numpy,
never torch. The canvas backend (EGL offscreen, Qt window) is chosen by the caller.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from vispy import scene
from vispy.visuals.text.text import FontManager

from ..core.config import RenderConfig, motion_mesh
from ..core.framing import RunGeometry, drawable
from ..core.geometry import (
    ACTIVATION_RANGE,
    LAST_STAGE,
    LIFT_STAGE,
    PLANE_STAGE,
    check_stage,
    forward,
    input_mesh,
    stage_name,
    stage_positions,
    surface_presence,
)
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
        background=_hex("#fbfaf7"),
        text=_hex("#1f2328"),
        muted=_hex("#6b7280"),
        front=_hex("#f1ede4"),
        back=_hex("#9fb3c8"),
        class0=_hex("#e69f00"),
        class1=_hex("#0072b2"),
        tint=0.22,
        fill=0.10,
        grid=_hex("#3b4252", 0.35),
        boundary=_hex("#111111"),
        crease=_hex("#4a4f57"),
        outline=_hex("#5a7390", 0.8),
        box=_hex("#9aa0a6"),
        surface=_hex("#cc79a7", 0.35),
        rim=_hex("#1f2328", 0.55),
    ),
    "dark": Theme(
        background=_hex("#111418"),
        text=_hex("#e6e6e6"),
        muted=_hex("#9aa0a6"),
        front=_hex("#3a4048"),
        back=_hex("#1f2d3d"),
        class0=_hex("#f0a830"),
        class1=_hex("#56b4e9"),
        tint=0.30,
        fill=0.14,
        grid=_hex("#e6e6e6", 0.28),
        boundary=_hex("#fafafa"),
        crease=_hex("#c3c7ce"),
        outline=_hex("#8fb0d0", 0.8),
        box=_hex("#5c6370"),
        surface=_hex("#cc79a7", 0.40),
        rim=_hex("#000000", 0.6),
    ),
}

TITLES = {
    "lift": {2: "lift  h1 in R^2 (flat)", 3: "lift  h1 in R^3", 4: "lift  h1 in R^4, projected to 3-D"},
    "plane": "plane  h2, with the decision line",
    "input": "input  x, with the decision boundary",
}


FILL = 0.94  # the share of the lift's view (its tighter direction) that the framed sheet fills


@contextlib.contextmanager
def _one_update(camera):
    """Change several of a VisPy camera's properties with one transform update at the end (each
    setter recomputes the camera's transforms, ~1 ms a time, the bulk of a frame's Python). The flag
    is VisPy's own, which its set_range uses for the same purpose."""
    previous, camera._resetting = camera._resetting, True
    try:
        yield camera
    finally:
        camera._resetting = previous
    if not previous:
        camera.view_changed()


def _turntable_projector(cam, size):
    """``project(centre, scale, distance, points)``: the view pixels (x right, y down, logical) at
    which the turntable camera ``cam``, seen in a view of ``size``, would draw ``points`` (n, 3)
    were its centre, scale_factor and distance these. It is VisPy's own transform chain
    (PerspectiveCamera._update_transform: view box <- projection <- inverse camera matrix) in numpy,
    so that fitting the lift tries cameras without setting one: each set recomputes every
    transform of the scene graph (tests/test_layout.py holds the two equal)."""
    from vispy.util import transforms as tr

    w, h = (float(v) for v in size)
    up, forward, right = cam._get_dim_vectors()
    axes = tr.affine_map(
        np.array([(0, 0, 0), (0, 0, -1), (1, 0, 0), (0, 1, 0)]), np.array([(0, 0, 0), forward, right, up])
    ).T
    # The camera's angles, roll and flips stay fixed while a fit tries centres and scales.
    turn = cam._get_rotation_tr() @ tr.scale([1.0 / a for a in cam._flip_factors])
    fov, depth = float(cam.fov), float(cam.depth_value)

    def project(centre, scale: float, distance: float | None, points: np.ndarray) -> np.ndarray:
        fx = fy = float(scale)
        if w / h > 1:
            fx *= w / h
        else:
            fy *= h / w
        if fov == 0:
            projection = tr.ortho(-0.5 * fx, 0.5 * fx, -0.5 * fy, 0.5 * fy, -depth, depth)
            dist = distance or 0.0
        else:
            f = max(0.01, fov)
            dist = distance or fy / (2 * math.tan(math.radians(f) / 2))
            val = math.sqrt(depth * 10)
            projection = tr.perspective(f, fx / fy, dist / val, dist * val)
        camera = axes @ tr.translate(-dist * np.asarray(forward, np.float64)) @ turn @ tr.translate(centre)
        q = np.column_stack([points, np.ones(len(points))]) @ np.linalg.inv(camera) @ projection
        ndc = q[:, :2] / q[:, 3:4]
        return np.column_stack([(ndc[:, 0] + 1) / 2 * w, (1 - ndc[:, 1]) / 2 * h])

    return project


def _box_edges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    edges = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
    return corners[np.array(edges).ravel()].astype(np.float32)


_BLIT_VERT = """
attribute vec2 a_pos;
varying vec2 v_uv;
void main() {
    v_uv = 0.5 * (a_pos + 1.0);
    gl_Position = vec4(a_pos, 0.0, 1.0);
}
"""
_BLIT_FRAG = """
uniform sampler2D u_frame;
varying vec2 v_uv;
void main() {
    gl_FragColor = texture2D(u_frame, v_uv);
}
"""


GL_BGRA = 0x80E1  # (not among the formats VisPy's glReadPixels takes)


@functools.cache
def _read_pixels():
    """glReadPixels itself, writing into memory it is given (VisPy's returns a bytes copy)."""
    from vispy.gloo.gl import _gl2

    args = (ctypes.c_int,) * 4 + (ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p)
    return _gl2._get_gl_func("glReadPixels", None, args)


class _Canvas(scene.SceneCanvas):
    """A SceneCanvas that can draw on screen at 1 / ``reduce_by`` of its resolution a side: the
    whole picture into a framebuffer that much smaller, stretched back over the canvas (linear
    filtering). A window draws so while its view moves (graphics.motion): on a CPU rasterizer a
    frame's cost follows its pixels. Only on-screen draws are reduced: a draw into a framebuffer
    (``render``, a screenshot, picking, Scene.start_frame) is always full.
    """

    reduce_by = 1
    _reduced = None  # ((w, h), FrameBuffer, blit Program), made on first use

    def _draw_scene(self, bgcolor=None):
        d = int(self.reduce_by)
        if d <= 1 or self._fb_stack:
            return super()._draw_scene(bgcolor=bgcolor)
        from vispy import gloo

        W, H = self.physical_size
        w, h = max(1, W // d), max(1, H // d)
        if self._reduced is None or self._reduced[0] != (w, h):
            frame = gloo.Texture2D(shape=(h, w, 4), interpolation="linear")
            blit = gloo.Program(_BLIT_VERT, _BLIT_FRAG)
            blit["a_pos"] = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32)
            blit["u_frame"] = frame
            self._reduced = ((w, h), gloo.FrameBuffer(color=frame, depth=gloo.RenderBuffer((h, w), "depth")), blit)
        _, fbo, blit = self._reduced
        # Changing the transforms for the framebuffer and back asks for another paint (each visual
        # hears its transform change): without this, a reduced picture at rest redraws forever.
        self.update = lambda node=None: None  # type: ignore[method-assign]
        self.push_fbo(fbo, (0, 0), (W, H))
        try:
            # push_fbo takes the region's size (W, H) for the framebuffer's as well, so VisPy would
            # draw the canvas 1:1 into it, cropped: give its transforms the framebuffer's real size
            # and every visual lands in it scaled down, as a whole.
            self.transforms.configure(viewport=(0, 0, w, h), fbo_size=(w, h), fbo_rect=(0, 0, W, H))
            super()._draw_scene(bgcolor=bgcolor)
        finally:
            self.pop_fbo()
            del self.update
        gloo.set_state(blend=False, depth_test=False, cull_face=False)
        blit.draw("triangle_strip")


class Scene:
    """A SceneCanvas showing a run; ``set_step(t)`` and ``set_camera(...)`` change uniforms only.

    ``scale`` multiplies every size in pixels (fonts, line widths, sprites): the offscreen
    renderer draws at ``scale`` x the output size for supersampling. The layout (deform3d.layout)
    follows the canvas: a resize lays the picture out anew.
    """

    def __init__(
        self,
        run: Trajectory,
        config: RenderConfig = RenderConfig(),
        scale: float = 1,
        app=None,
        size: tuple[int, int] | None = None,
        geometry: RunGeometry | None = None,
        show: bool = False,
        text_scale: float = 1.0,
    ):
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
        self.canvas = _Canvas(
            size=(w * scale, h * scale), bgcolor=self.theme.background, show=show, app=app, keys=None, title="deform3d"
        )
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
        self.stage = None  # the anatomy's stage s in [0, 7] shown in the lift panel (None: the lift itself)
        self._flat = False  # the lift's sheet is drawn as the plane's (the anatomy's 2-D stages)
        self._angles = (config.azimuth, config.elevation)  # the camera's angles as asked (the anatomy turns them)
        self._weights = None
        self._target = None  # (FrameBuffer, size) that start_frame drew into last
        self._targets: dict = {}  # (canvas size, framebuffer size) -> FrameBuffer, kept from frame to frame (full and reduced)
        # One glyph atlas for every text of the picture: VisPy gives each Text visual its own font
        # manager, so each rendered every glyph it shows anew (about 0.5 s of a scene's first frame).
        self._fonts = FontManager()
        self._highlight = None  # indices of highlighted data points (a window's linked selection)
        self._highlight_visuals = {}  # panel -> (ring Markers, dot Markers)
        self._build()
        self._apply_options()
        self.set_camera(config.azimuth, config.elevation, config.distance)
        self.set_step(self.geo.frame_step)
        if config.stage is not None:
            self.set_stage(config.stage)
        self.canvas.events.resize.connect(lambda event: self._relayout())

    # ------------------------------------------------------------ building

    def _label(self, name, color, anchor_x="left"):
        text = scene.visuals.Text(
            "",
            color=color,
            anchor_x=anchor_x,
            anchor_y="center",
            font_manager=self._fonts,
            parent=self.canvas.central_widget,
        )
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
        self._share_text_kernel()
        self._relayout()

    def _share_text_kernel(self):
        """Every Text visual sets its font's smoothing kernel (16 x 1024 RGBA) as a sampler at each
        draw; given as an array, VisPy uploads it again each time, for each text (~7 a frame, ~9% of
        a frame's GL-thread time in a window scrub). Given as one texture, it is uploaded once."""
        from vispy import gloo

        for font in self._fonts._fonts.values():
            if isinstance(font._kernel, np.ndarray):
                font._kernel = gloo.Texture2D(font._kernel)

    def _relayout(self):
        """Place every view and text for the canvas's current size (deform3d.layout)."""
        s = self.scale
        w, h = self.canvas.size
        lay = self.layout = layout(
            (w / s, h / s),
            self.panels,
            legend=self.config.legend,
            curve=self._curve is not None,
            text_scale=self.text_scale,
        )
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
        if self.stage is not None:
            self._stage_visibility()
        if self.step is not None:
            self._update_hud(force=True)
            self._fit_lift()

    def _titles(self, panel: str) -> list[str]:
        """A panel's title, most detailed first (the layout keeps the longest that fits)."""
        k = self.geo.k
        if panel == "lift" and self.stage is not None:
            return self._stage_titles()
        if panel == "lift":
            if k == 4:
                share = f"{100 * self.geo.projection.explained:.0f}%"
                return [
                    f"lift h1 in R^4, shown by PCA to 3-D ({share} of its variance)",
                    f"lift h1: PCA of R^4 ({share})",
                    f"lift (PCA {share})",
                ]
            return [
                f"lift h1 = act(W1 x + b1) in R^{k}" + (", a flat map" if k == 2 else ""),
                f"lift h1 in R^{k}",
                "lift",
            ]
        if panel == "plane":
            return [
                "plane h2 = act(W2 h1 + b2), with the decision line",
                "plane h2, with the decision line",
                "plane h2",
            ]
        return ["input x, with the decision boundary", "input x", "input"]

    def _legend_items(self) -> list[tuple[str, str, tuple]]:
        """(kind, label, colour) of what the picture shows: classes, line, surface, crease."""
        t, c, labels = self.theme, self.config, self.run.meta.get("labels") or ("class 0", "class 1")
        items = [
            ("dot", str(labels[0]), t.class0),
            ("dot", str(labels[1]), t.class1),
            ("line", "decision line", t.boundary),
        ]
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
            self._legend = [
                scene.visuals.Markers(parent=cw),
                scene.visuals.Line(connect="segments", parent=cw),
                scene.visuals.Text(
                    "", color=self.theme.text, anchor_x="left", anchor_y="center", parent=cw, font_manager=self._fonts
                ),
            ]
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
            marks.set_data(
                np.array(dots),
                face_color=np.array(dot_colors),
                edge_color=self.theme.rim,
                size=size,
                edge_width=max(1.0, 0.1 * size),
                symbol=np.array(symbols),
            )
        if segments:
            lines.set_data(np.array(segments), color=np.array(seg_colors), width=max(1.5, 0.2 * cap))
        labels.text, labels.pos, labels.font_size = texts, np.array(spots), font_points(cap)

    def _sheet(self, view, space, contour: bool = True):
        t = self.theme
        blend = "over" if space == "lift" else ("capped-dark" if self.config.theme == "dark" else "capped-light")
        # k = 2 with a smooth activation cannot fold (its crease function is a nonzero constant):
        # no crease code to pay for in every fragment. relu's k = 2 can (a unit switching off).
        folds = self.geo.k >= 3 or self.geo.activation == "relu"
        sheet = Sheet(
            self.geo.vertices,
            self.geo.faces,
            space=space,
            blend=blend,
            contour=contour,
            crease=folds,
            parent=view.scene,
        )
        sheet.set_uniforms(
            front=t.front,
            back=t.back,
            class0=t.class0,
            class1=t.class1,
            grid=(*self.geo.lo, self.geo.grid_step, 1.2 * self.line_px),
            contour=(*t.boundary[:3], 2.2 * self.line_px),
            light=(0, 0, 0),
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
            self._axis_texts.append(
                scene.visuals.Text(
                    texts,
                    pos=np.array(spots),
                    color=self.theme.muted,
                    font_manager=self._fonts,
                    anchor_x=anchor_x,
                    anchor_y=anchor_y,
                    parent=view.scene,
                )
            )

    def _build_lift(self, view):
        lo, hi = self.geo.lift_box
        # The anatomy's class half-planes for the cut (hidden unless shown), under the sheet as in the plane.
        self._stage_fill = HalfPlane(*self.geo.plane_range, parent=view.scene)
        self._stage_fill.set_uniforms(line=(0, 0, 0, 0))
        self.lift_sheet = self._sheet(view, "lift")
        # The anatomy's own (hidden unless a stage is shown, so never compiled otherwise): the decision
        # line in the plane z = 0 for the cut, and the sheet's edge for the flattened 2-D stages.
        # Made here, after the sheet and before the points, for the plane panel's drawing order.
        lo2, hi2 = self.geo.plane_range
        self._stage_line = HalfPlane(lo2, hi2, parent=view.scene)
        self._stage_line.set_uniforms(class0=(0, 0, 0, 0), class1=(0, 0, 0, 0), line=(0, 0, 0, 0))
        self._stage_outline = Outline(
            self.geo.lo, self.geo.hi, space="lift", width=2.0 * self.line_px, parent=view.scene
        )
        self._stage_outline.set_uniforms(color=self.theme.outline)
        for v in (self._stage_fill, self._stage_line, self._stage_outline):
            v.visible = False
            self._network_visuals.append(v)
        if self.geo.k == 3 and np.isfinite(ACTIVATION_RANGE[self.geo.activation][1]):
            self._surface = Surface(parent=view.scene)
            self._surface.set_uniforms(color=self.theme.surface)
            self._network_visuals.append(self._surface)
        self._points(view, "lift")
        self._lift_box = scene.visuals.Line(
            _box_edges(lo, hi), connect="segments", color=self.theme.box, width=1.0 * self.line_px, parent=view.scene
        )
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
        # Compiled out, not zeroed: llvmpipe would still pay for it in every fragment.
        self._sheet(view, "plane", contour=False).set_uniforms(
            front=(*self.theme.front[:3], 0.55), back=(*self.theme.back[:3], 0.55)
        )
        line = HalfPlane(lo, hi, band=True, parent=view.scene)
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
        scene.visuals.Line(
            np.array([[0, 0], [end, 0], [end, 1], [0, 1], [0, 0]], np.float32),
            color=t.box,
            width=1.0 * self.line_px,
            parent=view.scene,
        )
        scene.visuals.Line(
            np.column_stack([x, loss]).astype(np.float32), color=t.muted, width=1.5 * self.line_px, parent=view.scene
        )
        scene.visuals.Line(
            np.column_stack([x, acc]).astype(np.float32), color=t.text, width=2.0 * self.line_px, parent=view.scene
        )
        self._cursor = scene.visuals.Line(
            np.array([[0, 0], [0, 1]], np.float32), color=t.class1, width=2.0 * self.line_px, parent=view.scene
        )
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
        out = {
            "lift": np.asarray(self.geo.projection(f.h1), np.float64),
            "plane": flat(f.h2),
            "input": flat(np.asarray(self.run.X, np.float64)),
        }
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
            pts.set_uniforms(
                class0=(*t.class0[:3], fade), class1=(*t.class1[:3], fade), rim=(*t.rim[:3], t.rim[3] * fade)
            )
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
                ring.set_data(
                    p,
                    face_color=(0, 0, 0, 0),
                    edge_color=t.text,
                    size=self.marker_px * 2.6,
                    edge_width=max(1.5, 0.45 * self.marker_px),
                )
                dot.set_data(
                    p,
                    face_color=colors,
                    edge_color=t.background,
                    size=self.marker_px * 1.15,
                    edge_width=max(1.0, 0.2 * self.marker_px),
                )
            else:
                dot.set_data(p, face_color=colors, edge_color=t.rim, size=self.marker_px * 1.5, edge_width=0.6)

    def set_detail(self, full: bool = True, coarse: int | None = None) -> None:
        """Sheets with the config's mesh (``full``), or the coarser one of a moving picture
        (config.motion_mesh: the video's mesh, at most half the config's per side; ``coarse``:
        another count, fixed at the first call; graphics.motion's twin, at half the scale, takes a
        quarter, so that its triangles keep the full picture's size in pixels).

        For a window while the view moves (playback, a drag): on the software rasterizer a 256^2
        sheet at 720p makes triangles of about 2 pixels, and those cost the most per pixel; 96^2
        costs less than half as much per frame. Grid lines and the decision curve are per fragment,
        so they stay exact; only the sheet's silhouette is coarser. Stills keep the full mesh.
        """
        full = bool(full)
        if full == self.full_detail:
            return
        if self._meshes is None:
            from vispy import gloo

            small = input_mesh(coarse or motion_mesh(self.mesh), self.geo.lo, self.geo.hi)
            self._meshes = {
                f: (
                    gloo.VertexBuffer(np.ascontiguousarray(v, np.float32)),
                    gloo.IndexBuffer(np.ascontiguousarray(faces, np.uint32)),
                )
                for f, (v, faces) in ((True, (self.geo.vertices, self.geo.faces)), (False, small))
            }
        for sheet, _ in self._sheets:
            sheet.set_mesh(*self._meshes[full])
        self.full_detail = full

    def _apply_options(self) -> None:
        t, c = self.theme, self.config
        for sheet, _space in self._sheets:
            sheet.set_uniforms(
                crease=(*t.crease[:3], 2.2 * self.line_px if c.folds else 0.0),
                tint=t.tint if c.tint else 0.0,
                grid_color=t.grid if c.grid else (0, 0, 0, 0),
            )
        for pts in self._point_sets:
            pts.visible = c.points
        if self._fill is not None:  # the plane's half-planes are tinted by class too
            a = t.fill if c.tint else 0.0
            self._fill.set_uniforms(class0=(*t.class0[:3], a), class1=(*t.class1[:3], a))
        if self._surface is not None:
            self._surface.visible = c.surface and self._surface_exists and self._lift_share() > 0

    def set_step(self, t: float, *, fit: bool = True) -> bool:
        """Show the network at fractional step t (weights interpolated between recorded steps);
        False (the picture unchanged) where it cannot be drawn (framing.drawable).

        ``fit`` False leaves aiming the lift's camera at the new sheet to a ``set_camera`` that
        follows (``set_view`` does both with one fit: fitting is most of a frame's Python)."""
        t = min(max(float(t), 0.0), float(self.run.num_steps))
        w = self.run.weights_at(t)
        # Where the sheet is now (one forward pass of a sparse sample): for the follow framing, the
        # decision surface's presence, and to refuse a step that cannot be drawn (a live run that
        # diverged: NaN or absurd extents); the picture before it stays, and the window says why.
        with np.errstate(over="ignore", invalid="ignore"):
            sheet = forward(w, self.geo.sheet_sample, self.geo.activation)
        if not drawable(sheet):
            return False
        self.step = t
        u = network_uniforms(w, self.geo.activation, self.geo.projection)
        for v in self._network_visuals:
            v.set_uniforms(**u)
        follow = self.config.framing == "follow"
        if self._surface is not None:
            su = surface_uniforms(w, self.geo.activation)
            presence = 0.0
            if su is not None:
                presence = surface_presence(w, sheet.h1, self.geo.activation)
            self._surface_exists = presence > 0.01
            self._surface.visible = self._surface_exists and self.config.surface and self._lift_share() > 0
            if self._surface_exists:
                color = self.theme.surface
                self._surface.set_uniforms(**su, color=(*color[:3], color[3] * presence * self._lift_share()))
        if self._curve is not None:
            e = t / self.run.steps_per_epoch
            self._cursor.set_data(np.array([[e, -0.02], [e, 1.02]], np.float32))
        self._weights = w
        self._frame_views(sheet if follow else None, fit)
        if self.stage is not None:
            self._frame_stage(fit)
        self._update_hud()
        self._update_highlight()
        return True

    def _update_hud(self, force: bool = False) -> None:
        t, run = self.step, self.run
        i = int(round(t))
        # metrics_at: a run that computes its metrics on first use evaluates this one step only.
        (loss,), (acc,) = run.metrics_at([i])
        epoch, acc = t / run.steps_per_epoch, 100 * acc
        dataset = run.meta.get("dataset", "")
        # Fixed-width fields, most detail first; the layout keeps the longest that fits.
        text = fit_text(
            [
                f"k = {self.geo.k}   {dataset}   epoch {epoch:5.1f}   step {i:>5d} / {run.num_steps}   "
                f"loss {loss:<8.3g}   accuracy {acc:5.1f}%",
                f"k = {self.geo.k}   {dataset}   epoch {epoch:5.1f}   loss {loss:<7.2g}   accuracy {acc:5.1f}%",
                f"k={self.geo.k}  epoch {epoch:5.1f}  acc {acc:5.1f}%",
            ],
            self.layout.hud_cap * self.scale,
            self._hud_width,
        )
        if force or text != self.hud.text:  # new text means new glyph buffers: upload only on change
            self.hud.text = text

    def _frame_views(self, f, fit: bool = True) -> None:
        """Follow framing (``f``: the forward pass of the sheet's sample at this step): the lift's
        and the plane's cameras frame the sheet of this moment, continuously in the weights and the
        camera, so a video's framing moves as smoothly as its sheet. ``f`` None: fixed framing, the
        activation's whole box."""
        follow = f is not None
        if follow:
            self._lift_points = self.geo.projection(f.h1)
        else:
            self._lift_points = self.geo.box_corners()
        if fit and self.stage is None:  # (the anatomy frames its stage itself: _frame_stage)
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
            rect = (
                c[0] - side / 2 - left * per_px,
                c[1] - side / 2 - bottom * per_px,
                side + left * per_px,
                side + bottom * per_px,
            )
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
        scale = max(float(np.linalg.norm(hi - lo)), floor) * 1.15  # a first guess, corrected below
        w, h = view.size
        if w > 1 and h > 1:
            # Re-aim and re-zoom, three rounds (perspective makes each round approximate): move the
            # centre so that the points' on-screen box is centred in the view (the projection's 2 x 3
            # Jacobian at the centre, solved least-norm for the offset), then scale to fill FILL. The
            # rounds try cameras in numpy (_turntable_projector); the camera is set once, at the end.
            project = _turntable_projector(cam, (w, h))
            middle = np.array([w, h]) / 2
            e = 1e-3 * max(float(np.linalg.norm(hi - lo)), floor)
            n = len(pts)
            room = self.marker_px + 4 * self.scale  # the markers' radius, plus a pixel, clear of the edges
            for _ in range(3):
                p = project(centre, scale, self._distance, np.vstack([pts, centre, centre + e * np.eye(3)]))
                base, p = p[n:], p[:n]
                J = (base[1:] - base[0]).T / e  # d pixel / d world
                offset = (p.min(axis=0) + p.max(axis=0)) / 2 - middle
                if np.all(np.isfinite(J)) and np.all(np.isfinite(offset)):
                    centre = centre + np.linalg.pinv(J) @ offset
                if self._distance is None:
                    # The spread measured after this round's re-aim: under perspective it changes
                    # with the aim, and zooming on the spread before it left a tall sheet seen from
                    # above at 83% of the view and jumping 8% between frames.
                    p = project(centre, scale, None, pts)
                    fill = max(np.ptp(p[:, 0]) / max(w - room, 1.0), np.ptp(p[:, 1]) / max(h - room, 1.0))
                    if np.isfinite(fill) and fill > 0:
                        scale = max(scale * fill / FILL, floor)
        with _one_update(cam):
            cam.center = tuple(centre)
            cam.scale_factor, cam.distance = scale, self._distance

    def set_view(
        self,
        step: float | None = None,
        azimuth: float | None = None,
        elevation: float | None = None,
        distance: float | None = None,
    ) -> None:
        """``set_step(step)`` (if not None) and ``set_camera(...)`` (if any angle or distance is
        given; else the camera stays as it is), with the lift framed once."""
        if step is not None:
            self.set_step(step, fit=False)
        if azimuth is not None or elevation is not None or distance is not None:
            self.set_camera(azimuth, elevation, distance)
        elif step is not None:
            self._fit_lift()

    def set_camera(
        self, azimuth: float | None = None, elevation: float | None = None, distance: float | None = None
    ) -> None:
        """Turn the lift's camera (degrees); distance None fits the framed sheet (or box).

        k = 2's lift is a flat map and is always seen face on: its angles are fixed."""
        view = self.views.get("lift")
        if view is None:
            return
        cam = view.camera
        if self.geo.k == 2:
            azimuth, elevation = 0.0, 90.0
        with _one_update(cam):
            if self.stage is None:
                if azimuth is not None:
                    cam.azimuth = azimuth
                if elevation is not None:
                    cam.elevation = elevation
                self._angles = (cam.azimuth, cam.elevation)
            else:  # the anatomy turns the camera from these angles (see _turn_for_stage)
                self._angles = (
                    self._angles[0] if azimuth is None else azimuth,
                    self._angles[1] if elevation is None else elevation,
                )
                self._turn_for_stage()
            # The fit reads the angles, not the camera's transforms: one transform update for both.
            self._distance = distance  # None: VisPy derives it from the field of view and scale_factor
            self._fit_lift()
        # A headlight from above the camera: its direction in lift coordinates, for the shading.
        az, el = math.radians(cam.azimuth), math.radians(min(cam.elevation + 25.0, 89.0))
        light = (math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el))
        for v in (self.lift_sheet, self._surface):
            if v is not None:
                v.set_uniforms(light=(0, 0, 0) if self._flat and v is self.lift_sheet else light)

    # ------------------------------------------------------------ frames as arrays (offscreen)

    def render_frame(self) -> np.ndarray:
        """The picture as (h, w, 3) uint8, top row first: what ``canvas.render(alpha=False)`` gives,
        drawn into a framebuffer kept from frame to frame (VisPy's render allocates one each time)."""
        self.start_frame()
        return self.read_frame()

    def start_frame(self, reduce_by: int = 1) -> None:
        """Draw the picture into a kept framebuffer and hand it to the rasterizer without waiting
        (a software rasterizer draws on threads of its own meanwhile); ``read_frame`` reads it.

        ``reduce_by`` d > 1: the whole picture at 1 / d of the resolution a side, sizes in pixels
        included (what a window shows while its view moves), read back that small for a front end
        to stretch. Offscreen canvases only (``_set_reduction``)."""
        from vispy.gloo import gl

        canvas = self.canvas
        self._set_reduction(max(int(reduce_by), 1))
        size = (w, h) = tuple(int(v) for v in canvas.physical_size)
        key = (*(int(v) for v in canvas.size), size)
        fbo = self._targets.get(key)
        if fbo is None:
            from vispy import gloo

            fbo = gloo.FrameBuffer(color=gloo.RenderBuffer((h, w, 4)), depth=gloo.RenderBuffer((h, w), "depth"))
            # (those of an older canvas size go: a window resized by hand passes through many)
            self._targets = {k: f for k, f in self._targets.items() if k[:2] == key[:2]}
            self._targets[key] = fbo
        self._target = (fbo, size)
        canvas.set_current()
        canvas.push_fbo(fbo, (0, 0), size)  # (the region it covers, in the canvas's physical pixels)
        try:
            canvas._draw_scene()  # what SceneCanvas.render draws, between its push_fbo and read
        finally:
            canvas.pop_fbo()
        canvas.context.flush_commands()
        gl.glFlush()

    _reduction = 1

    def _set_reduction(self, d: int) -> None:
        """Draw at 1 / d of the canvas's resolution a side from now on: the canvas reports a
        physical size 1 / d of its size, so VisPy's pixel scale is 1 / d (as a high-DPI screen
        makes it 2) and every visual, text and size in pixels follows it. Unlike a framebuffer
        drawn smaller than the canvas (scene._Canvas), this leaves VisPy's transforms as they
        were from one frame to the next: re-configuring them for each frame and back cost ~5 ms
        of Python a frame (their change events reach every visual)."""
        if d == self._reduction:
            return
        backend = self.canvas._backend
        if d == 1:
            del backend._vispy_get_physical_size  # the backend's own again
        else:
            backend._vispy_get_physical_size = lambda: tuple(max(1, int(v) // d) for v in backend._vispy_get_size())
        self._reduction = d
        self.canvas._update_transforms()

    def read_frame(self, bgra: bool = False) -> np.ndarray:
        """The frame ``start_frame`` drew, as ``render_frame`` returns it. No glFinish first (VisPy's
        read_pixels has one): the read waits for this framebuffer's drawing only.

        ``bgra``: (h, w, 4) in B, G, R, A order instead (alpha meaningless): what Qt paints without
        converting it (QImage.Format_RGB32), read straight into the array."""
        from vispy.gloo import gl

        fbo, (w, h) = self._target
        canvas = self.canvas
        canvas.set_current()
        fbo.activate()
        canvas.context.flush_commands()
        try:
            if bgra:
                image = np.empty((h, w, 4), np.uint8)
                _read_pixels()(0, 0, w, h, GL_BGRA, gl.GL_UNSIGNED_BYTE, image.ctypes.data)
            else:
                gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
                data = gl.glReadPixels(0, 0, w, h, gl.GL_RGB, gl.GL_UNSIGNED_BYTE)
                gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 4)
                image = np.frombuffer(data, np.uint8).reshape(h, w, 3)
        finally:
            fbo.deactivate()
            canvas.context.flush_commands()
        return np.ascontiguousarray(image[::-1])  # GL's rows run bottom up

    def pixels(self, panel: str, positions: np.ndarray) -> np.ndarray:
        """Canvas pixel coordinates (x right, y down; in the scaled canvas) of panel positions (n, 3)."""
        view = self.views[panel]
        tr = view.scene.node_transform(self.canvas.scene)
        p = np.asarray(positions, np.float64)
        if p.shape[1] == 2:
            p = np.column_stack([p, np.zeros(len(p))])
        mapped = tr.map(p)
        return mapped[:, :2] / mapped[:, 3:4] * self.canvas.pixel_scale

    # ------------------------------------------------------------ the anatomy: the forward pass in stages

    def set_stage(self, s: float | None) -> None:
        """Show the network's forward pass at stage s in [0, 7] in the lift panel (None: the lift).

        The stages (geometry.STAGES, docs/design.md "Anatomy"): the input plane, W1 x, + b1, act
        (= h1, exactly the lift), W2 h1, + b2, act (= h2, the plane panel's sheet), the cut by the
        decision line; fractions move linearly between them. The GPU places the sheet, the points and
        the outline (anatomy.glsl, one uniform); the lift's box, axes and decision surface belong to
        h1 and show only near stage 3; the camera frames each stage (_frame_stage) and turns to look
        down on the plane for the 2-D stages. Uniforms and visibility only: nothing is uploaded.
        """
        if "lift" not in self.views:
            raise ValueError("the anatomy is shown in the lift panel; include it in panels")
        was = self.stage
        s = None if s is None else check_stage(s)
        if was is None and s is not None:
            cam = self.views["lift"].camera
            self._angles = (cam.azimuth, cam.elevation)  # turned from where the camera is now
        self.stage = s
        value = -1.0 if s is None else s
        for v in (self.lift_sheet, self._stage_outline, *self._lift_points_visuals()):
            v.set_uniforms(stage=value)
        self._turn_for_stage()
        self._stage_visibility()
        self._update_lift_title()
        if self.step is not None:
            self.set_step(self.step)

    def _lift_points_visuals(self) -> list:
        from .visuals import PointsVisual

        return [v for v in self.views["lift"].scene.children if isinstance(v, PointsVisual)]

    def _lift_share(self) -> float:
        """How much of the decision surface (a thing of h1) shows: 1 at stage 3 and without a
        stage, fading to 0 half a stage away."""
        if self.stage is None:
            return 1.0
        return float(np.clip(1.0 - 2.0 * abs(self.stage - LIFT_STAGE), 0.0, 1.0))

    def _box_share(self) -> float:
        """How much of the lift's box shows: through the 3-D stages (the activation's box is
        the scale the stretch by W1 and the shift by b1 are seen against), fading out in the collapse."""
        if self.stage is None:
            return 1.0
        return float(np.clip(1.0 - 2.0 * (self.stage - LIFT_STAGE), 0.0, 1.0))

    def _stage_visibility(self) -> None:
        if "lift" not in self.views:
            return
        t, share = self.theme, self._box_share()
        self._lift_box.visible = share > 0
        self._lift_box.set_data(color=(*t.box[:3], t.box[3] * share))
        lift_scene = self.views["lift"].scene
        # The axes' names and ticks are h1's (h1_1, ...): only near stage 3, where the sheet is h1.
        names = self._lift_share()
        for text in self._axis_texts:
            if text.parent is lift_scene:
                text.visible = bool(self.layout and self.layout.titles) and names > 0
                text.color = (*t.muted[:3], t.muted[3] * names)
        if self._surface is not None:
            self._surface.visible = self._surface_exists and self.config.surface and self._lift_share() > 0
        s = self.stage
        # From halfway through the collapse (3.5) the sheet is drawn as the plane panel draws it:
        # translucent, its overlaps capped, unlit and without depth (a sheet folded over itself at
        # nearly one depth z-fights into speckle, the worse as the turning camera's perspective
        # flattens and its depth precision goes). Before, as the lift: opaque, lit, with depth.
        flat = s is not None and s >= LIFT_STAGE + 0.5
        if flat != self._flat:
            self._flat = flat
            sheet, front, back = self.lift_sheet, t.front, t.back
            if flat:
                sheet.set_blend("capped-dark" if self.config.theme == "dark" else "capped-light", depth_test=False)
                # (one colour on both sides, as in the plane panel: which side is up is the lift's story)
                sheet.set_uniforms(front=(*front[:3], 0.55), back=(*front[:3], 0.55), light=(0, 0, 0))
            else:
                sheet.set_blend("over", depth_test=True)
                sheet.set_uniforms(front=front, back=back)
                self.set_camera()  # the light again
            # The points too: at one depth, the depth test let the first of two overlapping sprites
            # clip the next (the plane draws them over each other, in their fixed order).
            for pts in self._lift_points_visuals():
                pts.set_gl_state("translucent", depth_test=not flat, cull_face=False)
                pts.update()
        # The sheet's edge once it is flat (from the collapse on), where a saturated sheet has no area.
        edge = 0.0 if s is None else float(np.clip(s - LIFT_STAGE, 0.0, 1.0))
        self._stage_outline.visible = edge > 0
        self._stage_outline.set_uniforms(color=(*t.outline[:3], t.outline[3] * edge))
        # The cut: the decision line grows in over the last stage.
        cut = 0.0 if s is None else float(np.clip(s - PLANE_STAGE, 0.0, 1.0))
        self._stage_line.visible = cut > 0
        self._stage_line.set_uniforms(line=(*t.boundary[:3], 2.6 * self.line_px * cut))
        # The class half-planes come in with it. The sheet's own z3 = 0 curve, which shows through the
        # earlier stages where the cut will fall, fades out in the last bend (5 -> 6): at stage 6 the
        # sheet is drawn as the plane panel draws it, which has no such curve (there the line is drawn
        # once; every squashed sliver drawing it too piled into shards).
        self._stage_fill.visible = cut > 0 and self.config.tint
        a = t.fill * cut
        self._stage_fill.set_uniforms(class0=(*t.class0[:3], a), class1=(*t.class1[:3], a))
        curve = 1.0 if s is None else float(np.clip(PLANE_STAGE - s, 0.0, 1.0))
        self.lift_sheet.set_uniforms(contour=(*t.boundary[:3], 2.2 * self.line_px * curve))

    def _turn_for_stage(self) -> None:
        """The lift camera's angles for the stage: the asked ones through stage 3, then (during the
        collapse 3 -> 4) turned smoothly to look straight down on the plane, x right and y up, with
        the perspective flattened, as the plane panel shows it; the 2-D stages are seen from there."""
        cam = self.views["lift"].camera
        az, el = self._angles
        if self.geo.k == 2:
            az, el = 0.0, 90.0
        if self.stage is None:
            cam.azimuth, cam.elevation = az, el
            cam.fov = 0.0 if self.geo.k == 2 else 30.0
            return
        a = float(np.clip(self.stage - LIFT_STAGE, 0.0, 1.0))
        a = a * a * (3.0 - 2.0 * a)
        down = 360.0 * round(az / 360.0)  # azimuth 0 the short way round from wherever an orbit is
        cam.azimuth = (1 - a) * az + a * down
        cam.elevation = (1 - a) * el + a * 90.0
        cam.fov = 0.0 if self.geo.k == 2 else 30.0 * (1 - a)

    def _frame_stage(self, fit: bool = True) -> None:
        """Frame the lift camera on the stage (replaces the follow framing's points; ``fit`` False
        leaves the fit to a ``set_camera`` that follows, as ``set_step`` does).

        The stages' extents differ a lot (W1 x can be many times the activation's box), and a camera
        that zoomed with the sheet would hide the stretch it exists to show. Between stages i and
        i + 1 (a = s - i) it frames the sheet's sample moved a fraction min(2a, 1) of the way and
        max(2a - 1, 0) of the way: at a = 0 exactly stage i, at a = 1/2 both stages (the move shows
        against a still frame), at a = 1 stage i + 1; continuous in s, and every point of the moving
        sheet lies between its two framed copies, so the sheet never leaves the view. At s = 3 it
        frames what the lift's own follow framing does: the picture is today's lift.
        """
        P = stage_positions(self._weights, self.geo.sheet_sample, self.geo.projection, self.geo.activation)
        i = min(int(np.floor(self.stage)), LAST_STAGE - 1)
        a = self.stage - i
        ahead, behind = min(2 * a, 1.0), max(2 * a - 1, 0.0)
        self._lift_points = np.vstack([P[i] + ahead * (P[i + 1] - P[i]), P[i] + behind * (P[i + 1] - P[i])])
        if fit:
            self._fit_lift()

    def _stage_titles(self) -> list[str]:
        """The lift panel's title at the stage, in words, most detailed first."""
        s = self.stage
        state, move = stage_name(s, self.geo.activation)
        i = int(np.floor(s))
        if s > i:
            return [f"stage {i} -> {i + 1} of {LAST_STAGE}: {move} -> {state}", f"{i} -> {i + 1}: {move}", move]
        if i == 0:
            return [f"stage 0 of {LAST_STAGE}: {state}, before the network", f"0: {state}", "input x"]
        return [f"stage {i} of {LAST_STAGE}: {move} -> {state}", f"{i}: {move}", move]

    def _update_lift_title(self) -> None:
        lay = self.layout
        if lay is None or "lift" not in lay.titles:
            return
        title = self._texts["title:lift"]
        tw = lay.titles["lift"][2] * self.scale
        text = fit_text(self._titles("lift"), lay.cap * self.scale, tw)
        if text != title.text:  # new glyphs only when the words change
            title.text = text
