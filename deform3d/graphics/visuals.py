"""VisPy visuals over deform3d's shaders: the sheet, the data points, the plane's decision line
(with its half-planes) and the k = 3 decision surface.

Owns: uploading geometry once (input coordinates, never positions) and packing a network's weights
into the ~40 floats of uniforms that every frame sends. Imports VisPy and numpy; never torch.
Each ``*Visual`` has a scene-node twin without the suffix (``Sheet``, ``Points``, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from vispy import gloo
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

from ..core import activations
from ..core.geometry import ACTIVATION_RANGE, Projection, Weights, clip_line, fold_minors
from . import glsl

SPACES = {"lift": 0.0, "plane": 1.0, "input": 2.0}
ACTIVATION_CODE = {name: float(a.glsl) for name, a in activations.TABLE.items()}  # u_act


def _pad(a: np.ndarray, shape=(4, 4)) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    out[tuple(slice(0, n) for n in np.shape(a))] = a
    return out


def network_uniforms(w: Weights, activation: str, projection: Projection) -> dict:
    """One network's uniforms for network.glsl (float32; matrices transposed for GLSL).

    Also the 2 x 2 minors products of the crease function (geometry.fold_minors), once per frame.

    numpy is row-major and GLSL column-major: uploading ``A.T`` makes ``u_A * v`` in GLSL A v.
    """
    M, c = projection.padded()
    b3 = float(np.asarray(w.b3))
    minors = fold_minors(w)
    return {
        "u_W1": _pad(w.W1).T.copy(),
        "u_b1": _pad(w.b1, (4,)),
        "u_W2": _pad(w.W2).T.copy(),
        "u_b2": _pad(w.b2, (4,)),
        "u_out": np.array([w.w3[0], w.w3[1], b3, 0.0], np.float32),
        "u_act": ACTIVATION_CODE[activation],
        "u_M": _pad(M).T.copy(),
        "u_c": c,
        "u_minors_a": np.array(minors[:3], np.float32),
        "u_minors_b": np.array(minors[3:], np.float32),
    }


def surface_uniforms(w: Weights, activation: str) -> dict | None:
    """Uniforms that surface.vert builds the k = 3 decision surface from, or None where none shows.

    The construction of geometry.decision_surface: rows evenly spaced in tau = sigma . W2 h1 over
    act's range box, each row's point of the decision curve found by bisection along p (on which the
    logit falls strictly), pinv(W2) for a point of the row's line, W2's unit null direction for it.
    """
    lo, hi = ACTIVATION_RANGE[activation]
    if w.hidden != 3 or not np.isfinite(hi):
        return None
    W2 = np.asarray(w.W2, np.float64)
    w3, b3, b2 = np.asarray(w.w3, np.float64), float(np.asarray(w.b3)), np.asarray(w.b2, np.float64)
    null = np.cross(W2[0], W2[1])
    if np.linalg.norm(null) < 1e-12 or clip_line(w3, b3, lo, hi) is None:
        return None
    sigma = np.sign([-w3[1], w3[0]])
    if not sigma.any():
        return None
    c = sigma @ W2
    tau = (np.minimum(c * lo, c * hi).sum(), np.maximum(c * lo, c * hi).sum())
    return {
        "u_sigma": np.array([sigma[0], sigma[1], -sigma[1], sigma[0]], np.float32),
        "u_tau": np.array(tau, np.float32),
        "u_half": float(2 * max(abs(tau[0]), abs(tau[1])) + np.abs(b2).max() + 40.0),
        "u_pinv": _pad(np.linalg.pinv(W2)).T.copy(),
        "u_null": _pad(null / np.linalg.norm(null), (4,)),
        "u_box": np.array([lo, hi], np.float32),
    }


class _ShaderVisual(Visual):
    """A Visual whose code comes from shaders/ and whose per-frame state is uniforms only.

    Sizes in pixels (``PIXELS``: uniform -> the component that is a width, None for the whole
    value) are given in canvas pixels and drawn times the framebuffer's pixels per canvas pixel,
    as VisPy's own lines and markers are: the same on a still, larger on a high-DPI screen, and
    smaller in a window's reduced motion frame (scene._Canvas), so such a frame is the picture.
    """

    PIXELS: dict[str, int | None] = {}

    def __init__(self, vert: str, frag: str, mode: str, defines: tuple[str, ...] = ()):
        Visual.__init__(self, vcode=glsl.load(vert, defines), fcode=glsl.load(frag, defines))
        self._draw_mode = mode
        self._index_buffer = None
        self._pixels: dict[str, Any] = {}  # PIXELS' uniforms as given, in canvas pixels
        self._px_scale = 1.0  # framebuffer pixels per canvas pixel that they were last set for
        if "u_stage" in glsl.load(vert):
            # anatomy.glsl: no stage (the panel's own placement) until a scene asks for one; an
            # unset uniform would read 0, the input stage.
            self.shared_program["u_stage"] = -1.0

    def set_uniforms(self, **values) -> None:
        """Set uniforms by name (``u_`` prefix added if missing) and request a redraw."""
        for name, value in values.items():
            name = name if name.startswith("u_") else "u_" + name
            if name in self.PIXELS:
                self._pixels[name] = value
                value = self._in_framebuffer_pixels(name, value)
            self.shared_program[name] = value
        self.update()

    def _in_framebuffer_pixels(self, name: str, value: Any) -> Any:
        if self._px_scale == 1.0:
            return value
        i = self.PIXELS[name]
        if i is None:
            return float(value) * self._px_scale
        v = list(value)
        v[i] = float(v[i]) * self._px_scale
        return tuple(v)

    def _prepare_draw(self, view):
        scale = float(view.transforms.pixel_scale)
        if scale != self._px_scale:
            self._px_scale = scale
            for name, value in self._pixels.items():
                self.shared_program[name] = self._in_framebuffer_pixels(name, value)
            self._pixel_scale_changed()

    def _pixel_scale_changed(self) -> None:
        """Sizes in pixels kept outside PIXELS' uniforms (GL state) follow ``_px_scale`` here."""

    def _prepare_transforms(self, view):
        view.view_program.vert["transform"] = view.get_transform()

    def _compute_bounds(self, axis, view):
        return self._bounds[axis] if self._bounds is not None else None


class SheetVisual(_ShaderVisual):
    """The input square through the network into one panel (``space``: lift, plane or input).

    vertices (n, 2) float32 input coordinates and faces (m, 3) uint32, uploaded once. The lift's
    sheet is compiled with its lighting and back faces (SHEET_LIT); ``contour`` False compiles out
    the z3 = 0 curve (the plane's, where the decision line draws it), ``crease`` False the fold's
    crease (for a network that cannot fold). On llvmpipe these cost their fragments even when a
    uniform turns them off.
    """

    # (blend_func, blend_equation, u_capped) per mode.
    BLEND = {
        # The lift: premultiplied alpha, over, with depth.
        "over": (("one", "one_minus_src_alpha"), "func_add", 0.0),
        # The plane and input panels, where a folded sheet overlaps itself many times over (hundreds
        # of saturated slivers at the plane's edges). The destination's alpha is a budget, 1 where
        # the sheet starts: each layer uses up the share alpha of what is left (dst_a *= 1 - alpha)
        # and darkens (light theme) or lightens (dark theme) the picture by its colour times what is
        # left. N layers of one colour c then reach 1 - (1 - alpha)^N of the way to c, and never
        # past it: overlap reads as darker, capped at the sheet's own colour, in any draw order
        # (plain multiplication piled such layers into black bands).
        "capped-light": (("dst_alpha", "one", "dst_alpha", "one"), "func_reverse_subtract", 1.0),
        "capped-dark": (("dst_alpha", "one", "dst_alpha", "one"), ("func_add", "func_reverse_subtract"), 2.0),
    }

    PIXELS = {"u_grid": 3, "u_contour": 3, "u_crease": 3}

    def __init__(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        space: str = "lift",
        blend: str = "over",
        contour: bool = True,
        crease: bool = True,
    ):
        features = {"SHEET_LIT": space == "lift", "SHEET_CONTOUR": contour, "SHEET_CREASE": crease}
        defines = tuple(name for name, on in features.items() if on)
        super().__init__("sheet.vert", "sheet.frag", "triangles", defines)
        self.shared_program["a_x"] = gloo.VertexBuffer(np.ascontiguousarray(vertices, np.float32))
        self._index_buffer = gloo.IndexBuffer(np.ascontiguousarray(faces, np.uint32))
        self.shared_program["u_space"] = SPACES[space]
        self._bounds = None
        self.set_blend(blend, depth_test=space == "lift")

    def set_blend(self, blend: str, depth_test: bool) -> None:
        """How the sheet is blended (BLEND's modes): GL state and one uniform, no upload. The
        anatomy switches the lift's sheet to the plane's blend once it lies flat in the plane."""
        func, equation, capped = self.BLEND[blend]
        self.shared_program["u_capped"] = capped
        self.set_gl_state(depth_test=depth_test, blend=True, blend_func=func, blend_equation=equation, cull_face=False)
        self.update()

    def set_mesh(self, vertices: gloo.VertexBuffer, faces: gloo.IndexBuffer) -> None:
        """Draw another mesh of the input square, given as uploaded buffers (input coordinates and
        faces), so sheets can share them and switching back and forth uploads nothing."""
        self.shared_program["a_x"] = vertices
        self._index_buffer = faces
        self.update()


class PointsVisual(_ShaderVisual):
    """The data as round sprites: X (n, 2) float32 input coordinates, y (n,) labels, uploaded once.

    Drawn in a fixed shuffled order (the same every frame, so nothing flickers): data files list one
    class after the other, and drawn in that order the second class hid the first wherever they
    overlap, which is the very overlap a failing network's picture exists to show.
    """

    PIXELS = {"u_size": None, "u_px": None}  # u_px: one canvas pixel (the rim's width)

    def __init__(self, X: np.ndarray, y: np.ndarray, space: str = "lift"):
        super().__init__("points.vert", "points.frag", "points")
        order = np.random.default_rng(0).permutation(len(X))
        X, y = np.asarray(X)[order], np.asarray(y)[order]
        self.shared_program["a_x"] = gloo.VertexBuffer(np.ascontiguousarray(X, np.float32))
        self.shared_program["a_label"] = gloo.VertexBuffer(np.asarray(y, np.float32).reshape(-1, 1))
        self.shared_program["u_space"] = SPACES[space]
        self.shared_program["u_depth_bias"] = 2e-3 if space == "lift" else 0.0
        self._bounds = None
        self.set_gl_state("translucent", depth_test=space == "lift", cull_face=False)
        self.set_uniforms(px=1.0)


class OutlineVisual(_ShaderVisual):
    """The edge of the input square [lo, hi] (``n`` points a side) carried into a panel, as lines."""

    def __init__(self, lo, hi, n: int = 1024, space: str = "plane", width: float = 1.0):
        super().__init__("outline.vert", "outline.frag", "line_strip")
        (x0, y0), (x1, y1) = lo, hi
        t = np.linspace(0.0, 1.0, n, endpoint=False)
        edge = np.concatenate(
            [
                np.column_stack([x0 + t * (x1 - x0), np.full(n, y0)]),
                np.column_stack([np.full(n, x1), y0 + t * (y1 - y0)]),
                np.column_stack([x1 - t * (x1 - x0), np.full(n, y1)]),
                np.column_stack([np.full(n, x0), y1 - t * (y1 - y0)]),
                [[x0, y0]],
            ]
        )
        self.shared_program["a_x"] = gloo.VertexBuffer(edge.astype(np.float32))
        self.shared_program["u_space"] = SPACES[space]
        self._bounds = None
        self._width = float(width)  # canvas pixels
        self.set_gl_state("translucent", depth_test=False, cull_face=False, line_width=width)

    def _pixel_scale_changed(self) -> None:
        self.update_gl_state(line_width=self._width * self._px_scale)


class HalfPlaneVisual(_ShaderVisual):
    """The plane's decision line and class half-planes over the rectangle [lo, hi]^2.

    ``band`` True: the line alone, drawn over a band a few pixels wide along it (halfplane.vert
    places it from the uniforms) rather than over the whole panel, whose every fragment would pay
    for the line's few (on a software rasterizer, a full-panel pass costs as much as the line's
    whole share of a frame). The band's half-width in plane units follows the view's scale at each
    draw; the pixels are those of the full-panel pass, which leaves everything outside it blank.
    """

    PIXELS = {"u_line": 3}

    def __init__(self, lo: float, hi: float, band: bool = False):
        super().__init__("halfplane.vert", "halfplane.frag", "triangle_strip")
        if band:  # (along, across) in {0, 1} x {-1, 1}
            corners = np.array([[0, -1], [1, -1], [0, 1], [1, 1]], np.float32)
        else:
            corners = np.array([[lo, lo], [hi, lo], [lo, hi], [hi, hi]], np.float32)
        self.shared_program["a_h"] = gloo.VertexBuffer(corners)
        self.shared_program["u_box"] = (float(lo), float(hi))
        self.shared_program["u_band"] = 0.0
        self._band = band
        self._bounds = [(lo, hi), (lo, hi), (0, 0)]
        self.set_gl_state("translucent", depth_test=False, cull_face=False)

    def _prepare_draw(self, view):
        super()._prepare_draw(view)
        if not self._band:
            return
        # Plane units per framebuffer pixel here, and the band's half-width: the line's half-width
        # plus its antialiasing ramp (line_alpha) plus a pixel.
        tr = view.transforms.get_transform("visual", "framebuffer")
        p = tr.map(np.array([[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]]))
        p = p[:, :2] / p[:, 3:4]
        px_per_unit = min(np.linalg.norm(p[1] - p[0]), np.linalg.norm(p[2] - p[0]))
        if not np.isfinite(px_per_unit) or px_per_unit <= 0:
            return False
        width = float(self._pixels["u_line"][3]) if "u_line" in self._pixels else 0.0  # canvas pixels
        view.view_program["u_band"] = (0.5 * width * self._px_scale + 2.0) / px_per_unit


class SurfaceVisual(_ShaderVisual):
    """The k = 3 decision surface in the lift, a (rows x cols) parameter grid uploaded once."""

    def __init__(self, rows: int = 96, cols: int = 16):
        super().__init__("surface.vert", "surface.frag", "triangles")
        s, t = np.meshgrid(np.linspace(0, 1, rows), np.linspace(0, 1, cols), indexing="ij")
        self.shared_program["a_st"] = gloo.VertexBuffer(np.stack([s.ravel(), t.ravel()], 1).astype(np.float32))
        r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
        a = (r * cols + c).ravel()
        faces = np.concatenate([np.stack([a, a + 1, a + cols], 1), np.stack([a + 1, a + cols + 1, a + cols], 1)])
        self._index_buffer = gloo.IndexBuffer(faces.astype(np.uint32))
        self._bounds = None
        self.set_gl_state("translucent", depth_test=True, cull_face=False, depth_mask=False)

    def draw(self):
        super().draw()
        # The depth mask is global GL state that no other visual sets: left off, it also stops the
        # next frame's glClear from clearing depth, and the lift vanishes from the second frame on.
        gloo.set_depth_mask(True)


Sheet = create_visual_node(SheetVisual)
Points = create_visual_node(PointsVisual)
HalfPlane = create_visual_node(HalfPlaneVisual)
Outline = create_visual_node(OutlineVisual)
Surface = create_visual_node(SurfaceVisual)
