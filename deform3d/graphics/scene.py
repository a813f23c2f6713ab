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

from ..core.config import RenderConfig
from ..core.framing import RunGeometry
from ..core.geometry import ACTIVATION_RANGE, forward, input_mesh, surface_presence
from ..core.trajectory import Trajectory
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


def _box_edges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    edges = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
    return corners[np.array(edges).ravel()].astype(np.float32)


class Scene:
    """A SceneCanvas showing a run; ``set_step(t)`` and ``set_camera(...)`` change uniforms only.

    ``scale`` multiplies every size in pixels (fonts, line widths, sprites): the offscreen
    renderer draws at ``scale`` x the output size for supersampling.
    """

    def __init__(self, run: Trajectory, config: RenderConfig = RenderConfig(), scale: int = 1, app=None,
                 size: tuple[int, int] | None = None, geometry: RunGeometry | None = None, show: bool = False):
        self.run, self.config, self.scale = run, config, scale
        self.theme = THEMES[config.theme]
        self.mesh = config.resolved("interactive").mesh
        self.geo = geometry or RunGeometry(run, self.mesh)
        w, h = size or config.size
        # Text follows the picture's size (a 480p video keeps its heads-up line inside the frame,
        # a 4k one gets text of the same proportions); lines and sprites only grow, never shrink
        # below their 720p widths, so they stay crisp and visible in small pictures.
        ui = min(max(min(w / 1280, h / 500), 0.4), 4.0)
        self.text_px, self.line_px = scale * ui, scale * max(ui, 1.0)
        self.marker_px = 5.0 * self.line_px  # a data point's diameter (its sprite is 2 px wider)
        self.canvas = scene.SceneCanvas(size=(w * scale, h * scale), bgcolor=self.theme.background, show=show,
                                        app=app, keys=None, title="deform3d")
        self.views: dict[str, scene.ViewBox] = {}
        self._network_visuals = []
        self._sheets, self._point_sets = [], []
        self._surface = None
        self._fill = None  # the plane panel's class half-planes
        self._surface_exists = False  # this step has a decision surface (surface_uniforms not None)
        self._meshes = None  # {full: (VertexBuffer, IndexBuffer)}, made by the first set_detail
        self.full_detail = True
        self._build()
        self._apply_options()
        self.step = None
        self.set_camera(config.azimuth, config.elevation, config.distance)
        self.set_step(run.num_steps)

    # ------------------------------------------------------------ building

    def _text(self, text, size, color, **kw):
        return scene.widgets.Label(text, color=color, font_size=size * self.text_px, **kw)

    def _build(self):
        t, s = self.theme, self.text_px
        grid = self.canvas.central_widget.add_grid(margin=round(6 * s), spacing=round(4 * s))
        n = len(self.config.panels)
        self.hud = self._text("", 11, t.text)
        self.hud.height_max = 30 * s
        grid.add_widget(self.hud, row=0, col=0, col_span=n)
        for col, panel in enumerate(self.config.panels):
            title = TITLES[panel] if panel != "lift" else TITLES["lift"][self.geo.k]
            label = self._text(title, 9, t.muted)
            label.height_max = 22 * s
            grid.add_widget(label, row=1, col=col)
            view = grid.add_view(row=2, col=col)
            self.views[panel] = view
            getattr(self, f"_build_{panel}")(view)

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
        center = (lo + hi) / 2
        self._fit_scale = float(np.linalg.norm(hi - lo)) * 1.15
        view.camera = scene.TurntableCamera(fov=30.0, center=tuple(center), up="+z")

    def _build_plane(self, view):
        lo, hi = self.geo.plane_range
        fill = self._fill = HalfPlane(lo, hi, parent=view.scene)
        fill.set_uniforms(line=(0, 0, 0, 0))
        self._sheet(view, "plane").set_uniforms(front=(*self.theme.front[:3], 0.55), back=(*self.theme.back[:3], 0.55))
        line = HalfPlane(lo, hi, parent=view.scene)
        line.set_uniforms(class0=(0, 0, 0, 0), class1=(0, 0, 0, 0), line=(*self.theme.boundary[:3], 2.6 * self.line_px))
        self._network_visuals += [fill, line]
        self._frame(view, (lo, lo), (hi, hi))  # before the points: saturated points sit on the frame
        # After the frame: a sheet pressed flat against the box lies on the frame line itself.
        outline = Outline(self.geo.lo, self.geo.hi, space="plane", width=2.0 * self.line_px, parent=view.scene)
        outline.set_uniforms(color=self.theme.outline)
        self._network_visuals.append(outline)
        self._points(view, "plane")

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

    # ------------------------------------------------------------ per frame: uniforms only

    def set_options(self, **flags: bool) -> None:
        """Turn parts on or off without rebuilding: ``grid``, ``points``, ``tint``, ``folds``,
        ``surface`` (RenderConfig's names and meanings). Uniforms and visibility only."""
        self.config = dataclasses.replace(self.config, **flags)
        self._apply_options()

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
        if self._surface is not None:
            su = surface_uniforms(w, self.geo.activation)
            presence = 0.0
            if su is not None:
                presence = surface_presence(w, forward(w, self.geo.extent_sample, self.geo.activation).h1,
                                            self.geo.activation)
            self._surface_exists = presence > 0.01
            self._surface.visible = self._surface_exists and self.config.surface
            if self._surface_exists:
                color = self.theme.surface
                self._surface.set_uniforms(**su, color=(*color[:3], color[3] * presence))
        i = int(round(t))
        run = self.run
        # Fixed-width fields, so the centred line does not jitter from frame to frame.
        text = (f"k = {self.geo.k}   {run.meta.get('dataset', '')}   epoch {t / run.steps_per_epoch:5.1f}"
                f"   step {i:>5d} / {run.num_steps}   loss {run.loss[i]:<8.3g}   accuracy {100 * run.accuracy[i]:5.1f}%")
        if text != self.hud.text:  # new text means new glyph buffers: upload only on change
            self.hud.text = text

    def set_camera(self, azimuth: float | None = None, elevation: float | None = None, distance: float | None = None) -> None:
        """Turn the lift's camera (degrees); distance None fits the lift's box."""
        view = self.views.get("lift")
        if view is None:
            return
        cam = view.camera
        if azimuth is not None:
            cam.azimuth = azimuth
        if elevation is not None:
            cam.elevation = elevation
        cam.scale_factor = self._fit_scale
        cam.distance = distance  # None: VisPy derives it from the field of view and scale_factor
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
