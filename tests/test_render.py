"""Rendering through a real EGL context, checked against the numpy reference (``geometry``).

Every test here can fail: pixels are found by colour and compared with where ``geometry`` puts
things, mapped to the canvas through VisPy's own transforms (``Scene.pixels``). Renders use
ssaa = 1 so pixel positions are exact; pixel (row i, column j) has its centre at (j + 0.5, i + 0.5)
in canvas coordinates. Runs are made by hand (a few known weight steps, a handful of data points
chosen so that no two sprites overlap in any panel), except the reference images, which use small
trained runs stored in tests/reference/.

Reference images: ``DEFORM3D_REGEN=1 pytest tests/test_render.py -k reference`` rewrites them (and,
if a stored run is missing, trains it again); a mismatch writes reference | actual | diff to
tests/_failures/.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from deform3d.core.config import RenderConfig
from deform3d.core.geometry import Weights, clip_line, crease, forward, jacobian_det
from deform3d.graphics.offscreen import Renderer
from deform3d.graphics.scene import THEMES
from deform3d.core.trajectory import Trajectory
from deform3d.graphics.visuals import HalfPlaneVisual, OutlineVisual, PointsVisual, SheetVisual, SurfaceVisual
from pngs import read_png

pytestmark = [pytest.mark.gl, pytest.mark.usefixtures("gl_app")]

HERE = Path(__file__).parent
REFERENCE = HERE / "reference"
FAILURES = HERE / "_failures"
REGEN = os.environ.get("DEFORM3D_REGEN", "") not in ("", "0")

# ---------------------------------------------------------------- hand-made runs

# Weights (named as in docs/design.md) that bend the plane visibly without squashing the chosen points
# together: tanh leaves its linear regime, the decision line crosses the plane's box diagonally.
NETS = {
    2: dict(W1=[[-0.56, -1.75], [1.82, -1.12]], b1=[-0.5, 1.1], W2=[[2.0, 1.0], [-0.9, 1.3]], b2=[-1.5, -0.1],
            w3=[0.1, 2.1], b3=0.2),
    3: dict(W1=[[-0.42, 0.84], [-0.42, -0.98], [0.77, 0.63]], b1=[0.7, 1.2, 0.0],
            W2=[[-1.4, -0.9, 0.1], [-0.2, 0.8, 2.7]], b2=[0.0, 0.3], w3=[1.7, 2.0], b3=0.1),
    4: dict(W1=[[2.66, 0.07], [1.82, -1.05], [0.63, 0.98], [-1.75, -0.21]], b1=[0.9, 3.3, -0.4, 1.2],
            W2=[[-0.8, 1.3, 3.3, 2.0], [-2.0, -1.6, -2.0, -0.6]], b2=[-1.8, 2.8], w3=[0.4, 3.2], b3=0.1),
}
# Data points for each net, picked (greedily, on a 9 x 9 grid) so that their sprites lie >= 14 px
# apart in every panel of SPRITES below. The corners fix the input square to [-1.15, 1.15]^2.
POINTS = {
    2: [[-1, -1], [1, 1], [0.25, -1], [0.75, -0.75], [-0.25, 0], [-0.5, 0.75], [-0.5, 0.25], [-1, -0.25],
        [-0.75, 1], [-1, 0.25]],
    3: [[-1, -1], [1, 1], [0.25, 0.75], [1, -0.75], [-0.5, 0.75], [0.5, -1], [-1, 0.25], [0, -0.5]],
    4: [[-1, -1], [1, 1], [0.75, -0.75], [0, 1], [-0.5, 0.75], [-0.25, -0.75]],
}
# A k = 3 net whose fold (det J < 0) covers about a third of the input square.
FOLDING = dict(W1=[[-0.6, 1.2], [-0.6, -1.4], [1.1, 0.9]], b1=[0.7, 1.2, 0.0],
               W2=[[-1.4, -0.9, 0.1], [-0.2, 0.8, 2.7]], b2=[0.0, 0.3], w3=[1.7, 2.0], b3=0.1)

SPRITES = RenderConfig(size=(600, 240), ssaa=1, panels=("lift", "plane", "input"), grid=False, tint=False,
                       folds=False, surface=False, mesh=128)


def weights(**named) -> Weights:
    return Weights(*(np.asarray(named[n], np.float32) for n in Weights.NAMES))


def stack(nets: list[Weights]) -> Weights:
    return Weights(*(np.stack([getattr(w, n) for w in nets]) for n in Weights.NAMES))


def hand_run(nets: list[Weights], X, y=None, activation: str = "tanh") -> Trajectory:
    """A Trajectory with the given weights as steps 0, 1, ... and data X (labels alternate)."""
    X = np.asarray(X, np.float32)
    y = (np.arange(len(X)) % 2).astype(np.uint8) if y is None else np.asarray(y, np.uint8)
    n = len(nets)
    meta = {"activation": activation, "hidden": nets[0].hidden, "steps_per_epoch": 1, "dataset": "hand-made"}
    return Trajectory(stack(nets), np.linspace(0.7, 0.1, n).astype(np.float32), np.linspace(0.5, 1, n).astype(np.float32),
                      X, y, meta)


def square_points() -> np.ndarray:
    """The corners of [-1, 1]^2: data that only fixes the input square."""
    return np.array([[-1, -1], [1, 1]], np.float32)


# ---------------------------------------------------------------- reading pixels


def bare(scene) -> None:
    """No annotations: the axes' tick labels and names (text inside the panels) hidden."""
    for text in scene._axis_texts:
        text.visible = False


def hide(scene, panel: str, kind, predicate=lambda v: True) -> list:
    """Hide the visuals of class ``kind`` in a panel (optionally only those matching predicate)."""
    found = [v for v in scene.views[panel].scene.children if isinstance(v, kind) and predicate(v)]
    assert found, f"no {kind.__name__} in the {panel} panel"
    for v in found:
        v.visible = False
    return found


def panel_box(scene, panel: str) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the whole pixels inside a panel's view box (ssaa 1)."""
    view = scene.views[panel]
    (x0, y0), (x1, y1) = view.node_transform(scene.canvas.scene).map([[0, 0], list(view.size)])[:, :2]
    return int(np.ceil(x0)), int(np.ceil(y0)), int(np.floor(x1)), int(np.floor(y1))


def pixel_centres(box) -> tuple[np.ndarray, np.ndarray]:
    """Rows, columns (int) and canvas coordinates (float (n, 2)) of the pixel centres in box."""
    x0, y0, x1, y1 = box
    rows, cols = np.mgrid[y0:y1, x0:x1]
    return (rows.ravel(), cols.ravel()), np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5])


def luminance(img: np.ndarray) -> np.ndarray:
    return img[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]


def inverse_2d(scene, panel: str):
    """Canvas pixel -> panel coordinates for a 2-D panel (PanZoom: affine), from three points."""
    P = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    Q = scene.pixels(panel, P)
    A = np.column_stack([Q[1] - Q[0], Q[2] - Q[0]])  # d pixel / d panel
    Ainv = np.linalg.inv(A)
    return lambda pix: (np.asarray(pix, np.float64) - Q[0]) @ Ainv.T


def distance_to_line(pix: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance of points (n, 2) to the line through a, b, and position along it from a (px)."""
    d = (b - a) / np.linalg.norm(b - a)
    rel = pix - a
    return rel @ np.array([-d[1], d[0]]), rel @ d


def colour_distance(img: np.ndarray, rgba) -> np.ndarray:
    return np.linalg.norm(img[..., :3].astype(np.float64) - 255 * np.asarray(rgba[:3]), axis=-1)


def sprite_centre(img: np.ndarray, at: np.ndarray, rgba, radius: int = 6) -> tuple[np.ndarray | None, int]:
    """Centroid (canvas px) of the pixels of colour ``rgba`` within ``radius`` of ``at``, and their count."""
    cx, cy = int(np.floor(at[0])), int(np.floor(at[1]))
    y0, x0 = max(cy - radius, 0), max(cx - radius, 0)
    window = img[y0 : cy + radius + 1, x0 : cx + radius + 1]
    rows, cols = np.nonzero(colour_distance(window, rgba) < 90)
    if len(rows) == 0:
        return None, 0
    return np.array([cols.mean() + x0 + 0.5, rows.mean() + y0 + 0.5]), len(rows)


def near_sign_change(f, pix: np.ndarray, radius: float) -> np.ndarray:
    """True where f (a function of canvas pixels (n, 2) -> (n,)) changes sign within radius px."""
    s = np.sign(f(pix))
    out = np.zeros(len(pix), bool)
    for r in (radius / 2, radius):
        for a in np.linspace(0, 2 * np.pi, 12, endpoint=False):
            out |= np.sign(f(pix + r * np.array([np.cos(a), np.sin(a)]))) != s
    return out


def near_background(img: np.ndarray, theme, radius: int) -> np.ndarray:
    """True within ``radius`` px of a pixel of the plain background colour."""
    bg = np.all(np.abs(img.astype(int) - np.round(255 * np.asarray(theme.background[:3]))) <= 1, axis=-1)
    out = bg.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out |= np.roll(np.roll(bg, dy, 0), dx, 1)
    return out


def box_pixels(img: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return img[y0:y1, x0:x1]


# ---------------------------------------------------------------- 1. the decision line


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_decision_line_pixels_lie_on_the_analytic_line_along_its_whole_clipped_length(theme):
    w = weights(**NETS[3])
    run = hand_run([w], square_points())
    cfg = RenderConfig(size=(400, 300), ssaa=1, panels=("plane",), theme=theme, grid=False, tint=False,
                       folds=False, points=False, mesh=16, legend=False, framing="fixed")
    with Renderer(run, cfg) as r:
        bare(r.scene)
        hide(r.scene, "plane", SheetVisual)  # only the line is drawn in the boundary colour now
        hide(r.scene, "plane", OutlineVisual)
        img = r.frame()
        box = panel_box(r.scene, "plane")
        lo, hi = r.scene.geo.plane_range
        seg = clip_line(w.w3, float(w.b3), lo, hi)
        a, b = r.scene.pixels("plane", seg)
    (rows, cols), pix = pixel_centres(box)
    lum = luminance(img[rows, cols])
    ink = lum < 130 if theme == "light" else lum > 130  # at least half the line's colour
    assert ink.sum() > 0.8 * np.linalg.norm(b - a), "the decision line is missing"
    off, along = distance_to_line(pix[ink], a, b)
    assert np.abs(off).max() <= 1.5, f"line pixels up to {np.abs(off).max():.2f} px off the analytic line"
    # Clipped to the plane's box: nothing past the segment's ends.
    length = np.linalg.norm(b - a)
    assert along.min() >= -1.5 and along.max() <= length + 1.5
    # A fit through the line's pixels, weighted by ink: same direction and place.
    weight = np.abs(lum - np.median(lum))[ink]
    centre = (pix[ink] * weight[:, None]).sum(0) / weight.sum()
    cov = np.cov((pix[ink] - centre).T, aweights=weight)
    direction = np.linalg.eigh(cov)[1][:, -1]
    angle = np.degrees(np.arccos(min(1.0, abs(direction @ (b - a)) / length)))
    assert angle < 0.5, f"fitted line turned {angle:.2f} degrees from the analytic one"
    assert abs(distance_to_line(centre[None], a, b)[0][0]) < 0.5
    # Present along its whole visible length: a line pixel within 1.5 px of every point of it.
    samples = a + np.linspace(2, length - 2, int(length / 2))[:, None] * (b - a) / length
    gaps = np.linalg.norm(samples[:, None] - pix[ink][None], axis=-1).min(axis=1)
    assert gaps.max() <= 1.5, f"the line has a gap at {samples[gaps.argmax()].round(1)}"


def test_the_plane_s_sheet_draws_no_curve_of_its_own_along_the_decision_line():
    """In the plane z3 = 0 is the decision line, drawn once by its own visual; the sheet's shader is
    compiled without the contour there (SheetVisual(contour=False)). A contour only zeroed by a
    uniform still darkened the half pixel on either side of the line (line_alpha at width 0)."""
    w = weights(**NETS[3])
    run = hand_run([w], square_points())
    cfg = RenderConfig(size=(400, 300), ssaa=1, panels=("plane",), grid=False, tint=False,
                       folds=False, points=False, mesh=64, legend=False, framing="fixed")
    with Renderer(run, cfg) as r:
        bare(r.scene)
        hide(r.scene, "plane", HalfPlaneVisual)  # fill and line: the sheet alone over the background
        hide(r.scene, "plane", OutlineVisual)
        img = r.frame()
        box = panel_box(r.scene, "plane")
        lo, hi = r.scene.geo.plane_range
        a, b = r.scene.pixels("plane", clip_line(w.w3, float(w.b3), lo, hi))
    (rows, cols), pix = pixel_centres(box)
    lum = luminance(img[rows, cols])
    off, along = distance_to_line(pix, a, b)
    inside = (along > 5) & (along < np.linalg.norm(b - a) - 5)
    on, near = inside & (np.abs(off) < 0.75), inside & (np.abs(off) > 3) & (np.abs(off) < 6)
    assert on.sum() > 50 and near.sum() > 200
    # Untinted, the sheet (where it reaches) is one flat colour: as dark on the line as beside it,
    # never darker (the zeroed contour took the line's darkest tenth ~25 levels below it).
    dark_on, dark_near = np.percentile(lum[on], 10), np.percentile(lum[near], 10)
    assert dark_near < 245, "the sheet does not reach the line here: nothing tested"
    assert dark_on >= dark_near - 2, f"a curve along the line: {dark_on:.0f} against {dark_near:.0f} beside it"


# ---------------------------------------------------------------- 2. sprites, k = 2, 3, 4


@pytest.mark.parametrize("k", [2, 3, 4])
def test_sprites_land_where_geometry_puts_the_points_in_every_panel(k):
    w = weights(**NETS[k])
    run = hand_run([w], POINTS[k])
    theme = THEMES["light"]
    with Renderer(run, SPRITES) as r:
        img = r.frame()
        geo = r.scene.geo
        f = forward(w, run.X, run.activation)
        lifted = geo.projection(f.h1)
        expected = {
            "lift": r.scene.pixels("lift", lifted),
            "plane": r.scene.pixels("plane", f.h2),
            "input": r.scene.pixels("input", run.X),
        }
    if k == 2:
        assert np.all(lifted[:, 2] == 0), "k = 2: the lift is the flat sheet at z = 0"
    for panel, at in expected.items():
        gaps = np.linalg.norm(at[:, None] - at[None], axis=-1) + 1e9 * np.eye(len(at))
        assert gaps.min() >= 12, f"test set-up: sprites overlap in {panel} ({gaps.min():.1f} px); pick other POINTS"
        for i, (p, label) in enumerate(zip(at, run.y)):
            colour = theme.class1 if label else theme.class0
            centre, count = sprite_centre(img, p, colour)
            assert count >= 3, f"k={k} {panel}: no sprite of point {i} {run.X[i]} near {p.round(1)}"
            error = np.linalg.norm(centre - p)
            assert error <= 1.5, f"k={k} {panel}: sprite of point {i} at {centre.round(2)}, geometry says {p.round(2)}"


# ---------------------------------------------------------------- 3. the sheet's contour = the line


@pytest.mark.parametrize("k", [2, 3, 4])
def test_the_sheet_s_decision_curve_lies_on_the_numpy_curve_z3_0(k):
    # The input panel shows the network's z3 = 0 curve per fragment (evaluate() in network.glsl):
    # its pixels lie on the numpy zero set, and the whole set is drawn. In the plane the curve is
    # the decision line itself, drawn once by its own visual: the sheet adds no copy there.
    w = weights(**NETS[k])
    run = hand_run([w], square_points())
    cfg = RenderConfig(size=(400, 300), ssaa=1, panels=("input", "plane"), grid=False, tint=False, folds=False,
                       points=False, legend=False, framing="fixed")
    with Renderer(run, cfg) as r:
        bare(r.scene)
        hide(r.scene, "plane", HalfPlaneVisual)  # no line, no fills: what is dark is the sheet's own
        img = r.frame()
        box, plane_box = panel_box(r.scene, "input"), panel_box(r.scene, "plane")
        lo, hi = r.scene.geo.lo, r.scene.geo.hi
        n = 801
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
        z = forward(w, np.column_stack([gx.ravel(), gy.ravel()]), run.activation).z3.reshape(gx.shape)
        cross = []
        for za, zb, xa, xb in ((z[:, :-1], z[:, 1:], np.stack([gx[:, :-1], gy[:, :-1]], -1), np.stack([gx[:, 1:], gy[:, 1:]], -1)),
                               (z[:-1], z[1:], np.stack([gx[:-1], gy[:-1]], -1), np.stack([gx[1:], gy[1:]], -1))):
            m = np.sign(za) != np.sign(zb)
            t = (za[m] / (za[m] - zb[m]))[:, None]
            cross.append(xa[m] + t * (xb[m] - xa[m]))
        on_curve = r.scene.pixels("input", np.concatenate(cross))
    assert len(on_curve) > 100, "test set-up: the decision curve should cross the input square"
    (rows, cols), pix = pixel_centres(box)
    ink = luminance(img[rows, cols]) < 130
    assert ink.sum() > 20, "the sheet's z3 = 0 curve is missing in the input panel"
    frame = near_background(img, THEMES["light"], 2)[rows, cols] | (np.abs(pix - pix.min(0)) < 3).any(1) | \
        (np.abs(pix - pix.max(0)) < 3).any(1)  # the panel's frame line
    from scipy.spatial import cKDTree

    gap, _ = cKDTree(on_curve).query(pix[ink & ~frame])
    assert gap.max() <= 1.5, f"curve pixels up to {gap.max():.2f} px off the numpy z3 = 0"
    probe = on_curve[:: max(1, len(on_curve) // 400)]
    inside = np.all((probe > pix.min(0) + 3) & (probe < pix.max(0) - 3), axis=1)
    reach, _ = cKDTree(pix[ink]).query(probe[inside])
    assert reach.max() <= 1.5, f"no curve drawn near {probe[inside][reach.argmax()].round(1)}"
    (rows, cols), _ = pixel_centres(plane_box)
    assert (luminance(img[rows, cols]) < 60).sum() == 0, "the sheet drew its own decision curve in the plane"


# ---------------------------------------------------------------- 4. folds: the crease det J = 0


def crease_pixels(r, panel: str) -> np.ndarray:
    """Boolean image of the pixels that the crease changes: the frame with folds on vs off."""
    on = r.frame().astype(int)
    r.scene.set_options(folds=False)
    off = r.frame().astype(int)
    r.scene.set_options(folds=True)
    assert np.array_equal(r.frame(), on), "folds on -> off -> on must give the first frame again"
    # A pixel of the crease: at least a quarter of the way to the crease's colour (antialiasing's
    # faintest fringe, a tenth of a pixel's coverage past the line's edge, is not the line).
    full = np.abs(255 * np.asarray(r.scene.theme.crease[:3]) - off).sum(axis=-1)
    return np.abs(on - off).sum(axis=-1) > np.maximum(0.25 * full, 24)


def crease_contour(w: Weights, activation: str, lo, hi, n: int = 1200) -> np.ndarray:
    """Points (m, 2) of the numpy crease F = 0 (geometry.crease) in the input square, from sign
    changes on an n x n lattice, each placed on its lattice edge by linear interpolation."""
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    F = crease(w, grid, activation)[0].reshape(n, n)
    det = jacobian_det(w, grid, activation).reshape(n, n)
    assert np.array_equal(np.sign(F)[np.abs(det) > 1e-9], np.sign(det)[np.abs(det) > 1e-9]), \
        "the crease function must have det J's sign"
    P = grid.reshape(n, n, 2)
    points = []
    for axis in (0, 1):
        a, b = (F[:-1], F[1:]) if axis == 0 else (F[:, :-1], F[:, 1:])
        pa, pb = (P[:-1], P[1:]) if axis == 0 else (P[:, :-1], P[:, 1:])
        cross = np.sign(a) != np.sign(b)
        t = (a / (a - b))[cross][:, None]
        points.append(pa[cross] + t * (pb[cross] - pa[cross]))
    return np.concatenate(points)


@pytest.mark.parametrize("source", ["hand-made", "trained"])
def test_the_crease_is_drawn_on_the_numpy_curve_det_j_0_and_nowhere_else(source):
    if source == "hand-made":
        w, run = weights(**FOLDING), hand_run([weights(**FOLDING)], square_points())
    else:
        run = reference_run(3)
        w = run.weights[run.num_steps]
    cfg = RenderConfig(size=(480, 360), ssaa=1, panels=("input",), grid=False, tint=False, folds=True,
                       points=False, mesh=64, legend=False)
    with Renderer(run, cfg) as r:
        ink = crease_pixels(r, "input")
        box = panel_box(r.scene, "input")
        lo, hi = r.scene.geo.lo, r.scene.geo.hi
        contour = r.scene.pixels("input", crease_contour(w, run.activation, lo, hi))
    x0, y0, x1, y1 = box
    inside = (contour[:, 0] > x0 + 2) & (contour[:, 0] < x1 - 2) & (contour[:, 1] > y0 + 2) & (contour[:, 1] < y1 - 2)
    assert inside.sum() > 100, "test set-up: the crease should cross the input square"
    rows, cols = np.nonzero(ink)
    assert len(rows) > 50, "no crease drawn"
    pix = np.column_stack([cols + 0.5, rows + 0.5])
    from scipy.spatial import cKDTree

    gap, nearest = cKDTree(contour).query(pix)
    assert gap.max() <= 1.5, f"crease pixel {pix[gap.argmax()]} is {gap.max():.2f} px from the numpy crease"
    # And the whole curve is drawn: dashes of 8 px with gaps of 5 (measured along a straight screen
    # direction, so a bend stretches a gap a little) leave no point of the curve far from ink.
    reach, _ = cKDTree(pix).query(contour[inside])
    assert np.quantile(reach, 0.99) <= 6.0, f"the crease is missing near {contour[inside][reach.argmax()]}"


def test_k_2_never_shows_a_crease_in_any_panel_at_any_step():
    run = reference_run(2)
    cfg = RenderConfig(size=(480, 180), ssaa=1, panels=("lift", "plane", "input"), folds=True, mesh=64, legend=False)
    signs = []
    with Renderer(run, cfg) as r:
        for step in np.linspace(0, run.num_steps, 9):
            r.scene.set_step(step)
            assert not crease_pixels(r, "input").any(), f"a crease drawn for k = 2 at step {step}"
            signs.append(np.sign(jacobian_det(run.weights[int(step)], run.X[:1], run.activation))[0])
    # The old fold shading flipped whole panels when det W1 det W2 changed sign; make sure this run
    # has such a flip, so the test would have caught that.
    assert len(set(signs)) == 2, "test set-up: det J should change sign somewhere along this run"


def test_a_sheet_pressed_flat_against_the_plane_s_box_keeps_its_outline():
    # Saturating weights: tanh squeezes the whole sheet onto the box's edges, where its triangles
    # have no area left; the outline (the input square's edge, as GL lines) still shows it.
    w = weights(W1=[[9.0, 0.5], [-0.4, 8.0]], b1=[0.0, 0.0], W2=[[9.0, 1.0], [1.0, -9.0]], b2=[0.0, 0.0],
                w3=[1.0, 1.0], b3=0.0)
    run = hand_run([w], square_points())
    cfg = RenderConfig(size=(400, 300), ssaa=1, panels=("plane",), grid=False, tint=False, folds=False,
                       points=False, mesh=32)
    with Renderer(run, cfg) as r:
        hide(r.scene, "plane", HalfPlaneVisual)
        with_outline = r.frame().astype(int)
        (outline,) = hide(r.scene, "plane", OutlineVisual)
        without = r.frame().astype(int)
        lo, hi = r.scene.geo.lo, r.scene.geo.hi
        t = np.linspace(0, 1, 40000)[:, None]
        dx, dy = hi - lo
        border = np.concatenate([lo + t * [dx, 0], [hi[0], lo[1]] + t * [0, dy], hi - t * [dx, 0],
                                 [lo[0], hi[1]] - t * [0, dy]])
        on_screen = r.scene.pixels("plane", forward(w, border, run.activation).h2)
    h2 = forward(w, np.random.default_rng(0).uniform(lo, hi, (4000, 2)), run.activation).h2
    assert np.mean(np.abs(h2).min(axis=1) > 0.99) > 0.9, "test set-up: the sheet should lie on the box's edges"
    rows, cols = np.nonzero(np.abs(with_outline - without).sum(axis=-1) > 30)
    assert len(rows) > 200, "the outline is missing"
    pix = np.column_stack([cols + 0.5, rows + 0.5])
    from scipy.spatial import cKDTree

    gap, _ = cKDTree(on_screen).query(pix)
    assert gap.max() <= 2.0, f"outline pixel {pix[gap.argmax()]} is {gap.max():.1f} px from the numpy edge"


# ---------------------------------------------------------------- 5. weights -> pixels


def test_a_changed_weight_moves_pixels_and_equal_weights_give_identical_pixels():
    w = weights(**NETS[3])
    w1 = weights(**{**NETS[3], "W1": np.array(NETS[3]["W1"]) + [[0.15, 0], [0, 0], [0, 0]]})
    w3 = weights(**{**NETS[3], "b3": NETS[3]["b3"] + 0.4})
    run = hand_run([w, w1, w, w3], POINTS[3])
    cfg = RenderConfig(size=(600, 240), ssaa=1, panels=("lift", "plane", "input"), tint=False, surface=False, mesh=96)
    with Renderer(run, cfg) as r:
        r.frame(0)  # warm-up: the first frame compiles and lays out
        frames = {t: r.frame(t) for t in (0, 1, 2, 3)}
        boxes = {p: panel_box(r.scene, p) for p in cfg.panels}
        to_plane = inverse_2d(r.scene, "plane")
        to_input = inverse_2d(r.scene, "input")
    for panel, box in boxes.items():
        # Step 2 has step 0's weights: every pixel of every panel is the same (the heads-up line differs).
        assert np.array_equal(box_pixels(frames[0], box), box_pixels(frames[2], box)), panel
        changed = np.any(box_pixels(frames[0], box) != box_pixels(frames[1], box), axis=-1)
        assert changed.sum() > 100, f"changing W1[0, 0] left the {panel} panel as it was"

    # Only b3 changed: the decision line moves in the plane; the sheet, its grid, the folds and the
    # points do not. Changed pixels lie near one of the two lines or between them (the fills).
    box = boxes["plane"]
    (rows, cols), pix = pixel_centres(box)
    changed = np.any(frames[0][rows, cols] != frames[3][rows, cols], axis=-1)
    z_old = lambda p: to_plane(p) @ w.w3 + float(w.b3)  # noqa: E731
    z_new = lambda p: to_plane(p) @ w3.w3 + float(w3.b3)  # noqa: E731
    between = np.sign(z_old(pix)) != np.sign(z_new(pix))
    near = near_sign_change(z_old, pix, 3.0) | near_sign_change(z_new, pix, 3.0)
    assert changed[near & ~between].sum() > 50, "moving b3 did not move the decision line"
    assert not (changed & ~near & ~between).any(), "b3 changed pixels away from the decision lines"
    # In the input panel only the decision curve moves (no tint): nothing else changes.
    box = boxes["input"]
    (rows, cols), pix = pixel_centres(box)
    changed = np.any(frames[0][rows, cols] != frames[3][rows, cols], axis=-1)
    curve_old = lambda p: forward(w, to_input(p), run.activation).z3  # noqa: E731
    curve_new = lambda p: forward(w3, to_input(p), run.activation).z3  # noqa: E731
    near = near_sign_change(curve_old, pix, 3.0) | near_sign_change(curve_new, pix, 3.0)
    assert changed.sum() > 50
    assert not (changed & ~near).any(), "b3 changed input-panel pixels away from the decision curves"


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_a_run_that_diverges_is_framed_and_drawn_up_to_its_last_drawable_step(activation):
    # A live run at a huge learning rate (the window's banner test, tests/test_window.py): healthy,
    # then weights of ~1e9 (a relu lift of ~1e16: cameras framing it overflow float32), then NaN.
    w = weights(**NETS[3])
    huge = Weights(*(getattr(w, n) * np.float32(3e9) for n in Weights.NAMES))
    nan = Weights(*(np.full_like(getattr(w, n), np.nan) for n in Weights.NAMES))
    w1 = weights(**{**NETS[3], "b3": NETS[3]["b3"] + 0.4})
    run = hand_run([w, w1, huge, nan, nan], POINTS[3], activation=activation)
    cfg = RenderConfig(size=(480, 200), ssaa=1, panels=("lift", "plane", "input"), surface=False, mesh=48, legend=False)
    with Renderer(run, cfg) as r:
        geo = r.scene.geo
        # relu's huge step cannot be drawn; tanh squashes it into the cube, and only NaN is refused.
        last = 1 if activation == "relu" else 2
        assert run.last_finite_step == 2 and geo.frame_step == last
        assert np.isfinite(geo.plane_range).all() and np.isfinite(geo.lift_box).all()
        assert float(geo.plane_range[1]) <= (1.0 if activation == "tanh" else 1e6)
        drawn = r.frame(last)
        for t in range(last + 1, run.num_steps + 1):
            assert r.scene.set_step(t) is False
            # The picture stays that of the last drawable step (the heads-up line says which).
            assert np.array_equal(r.frame(t), drawn), f"step {t} changed the picture"
        assert r.scene.set_step(0) is True and r.scene.step == 0
        assert np.any(r.frame(0) != drawn)


def test_a_stream_of_frames_drawn_one_ahead_gives_each_state_s_own_frame():
    # Renderer.stream reads frame i back after setting up frame i + 1: a frame must still show its
    # own state, bit for bit what frame() draws, also when the caller stops early and streams again.
    run = reference_run(3)
    states = [(run.num_steps * f, -50.0 + 20 * i, 24.0, None) for i, f in enumerate((0.1, 0.5, 0.9))]
    with Renderer(run, RenderConfig(size=(320, 180), mesh=32, legend=False)) as r:
        alone = [r.frame(*s) for s in states]
        streamed = list(r.stream(states))
        early = r.stream(states)
        next(early)
        early.close()  # a frame drawn and never read: the next stream must not hand it out
        again = list(r.stream(states[1:]))
    assert len(streamed) == 3 and len(again) == 2
    assert not np.array_equal(alone[0], alone[1]), "test set-up: the states should differ on screen"
    for a, b in zip(alone, streamed):
        assert np.array_equal(a, b)
    for a, b in zip(alone[1:], again):
        assert np.array_equal(a, b)


def test_the_motion_twin_is_the_same_picture_at_half_the_size_with_a_quarter_of_the_mesh():
    from deform3d.graphics import motion
    from deform3d.graphics.offscreen import downsample, egl_app, gl_call
    from deform3d.graphics.scene import Scene

    run = reference_run(3)
    config = RenderConfig(size=(480, 270), legend=False)
    full = gl_call(Scene, run, config, scale=1, app=egl_app())
    twin = gl_call(motion.motion_scene, run, config, 1, app=egl_app(), geometry=full.geo)
    try:
        state = (0.6 * run.num_steps, -30.0, 20.0, None)
        big = gl_call(motion.draw, full, *state)
        small = gl_call(motion.draw, twin, *state)
        other = gl_call(motion.draw, twin, 0.1 * run.num_steps, 10.0, 20.0, None)
        vertices = twin._meshes[False][0].size
    finally:
        gl_call(full.canvas.close)
        gl_call(twin.canvas.close)
    assert small.shape == (135, 240, 3) and big.shape == (270, 480, 3)
    assert vertices == (full.mesh // 4) ** 2
    # The same picture, shrunk: the full frame averaged down differs from the twin by little, and
    # far less than from another moment of the run would.
    shrunk = downsample(big, 2).astype(int)
    diff = np.abs(shrunk - small.astype(int)).mean()
    assert diff < 8, f"the motion frame differs from the full frame by {diff:.1f} levels on average"
    assert np.abs(shrunk - other.astype(int)).mean() > 3 * diff, "test set-up: another moment should differ more"


@pytest.mark.parametrize("path", ["on screen", "offscreen"])
def test_a_reduced_draw_is_the_whole_picture_at_half_resolution_sizes_included(path):
    """What a window shows while its view moves: the whole picture at half the resolution a side.
    ``on screen`` (the VisPy canvas window, scene._Canvas.reduce_by = 2): drawn into a framebuffer
    half as large and stretched over the canvas; VisPy by itself drew the canvas 1:1 into it (the
    top-left quarter, cropped). ``offscreen`` (the offscreen window, Scene.start_frame(2)): drawn
    at VisPy's pixel scale 1/2 and read back half as large (also as BGRA, the same picture). Either
    way the sizes our own shaders take in pixels (sprites, lines, grid) must halve with the frame,
    as VisPy's own lines and text do, and the next full frame is the full frame, bit for bit."""
    from vispy import gloo

    from deform3d.graphics.offscreen import downsample, gl_call

    run = reference_run(3)
    with Renderer(run, RenderConfig(size=(640, 360), ssaa=1, mesh=64)) as r:
        full = r.frame(0.3 * run.num_steps, azimuth=-40.0)
        other = r.frame(0.05 * run.num_steps, azimuth=10.0)
        r.frame(0.3 * run.num_steps, azimuth=-40.0)
        sizes = []

        def on_screen():  # into the EGL canvas's default framebuffer, the on-screen path
            canvas = r.scene.canvas
            canvas.reduce_by = 2
            try:
                canvas.set_current()
                canvas._draw_scene()
                sizes.append([float(p.shared_program["u_size"]) for p in r.scene._point_sets])
                shown = gloo.read_pixels(alpha=False)
                assert shown.shape == full.shape
                return downsample(shown, 2)  # the stretch undone by averaging
            finally:
                canvas.reduce_by = 1

        def offscreen():
            r.scene.start_frame(2)
            sizes.append([float(p.shared_program["u_size"]) for p in r.scene._point_sets])
            small, bgra = r.scene.read_frame(), r.scene.read_frame(bgra=True)
            assert small.shape == (180, 320, 3) and np.array_equal(bgra[..., 2::-1], small)
            return small

        half = gl_call(on_screen if path == "on screen" else offscreen)
        again = r.frame(0.3 * run.num_steps, azimuth=-40.0)  # a frame after it: sizes back to full
    assert sizes[0] == [0.5 * r.scene.marker_px] * len(sizes[0])
    assert np.array_equal(again, full), "a reduced draw left the next full frame changed"
    # The same picture, and far closer to it than another moment of the run is. Cropped, it
    # differed by ~50 levels; with sprites and lines at their full pixel sizes, by over twice what it does.
    diff = np.abs(half.astype(int) - downsample(full, 2).astype(int)).mean()
    assert diff < 5, f"the reduced frame differs from the full one by {diff:.1f} levels on average"
    assert np.abs(downsample(other, 2).astype(int) - downsample(full, 2).astype(int)).mean() > 2 * diff


def test_every_frame_draws_the_whole_picture_not_only_the_first():
    """Regression: the k = 3 decision surface turned the depth mask off for good, so from the second
    frame on glClear no longer cleared depth and the lift's sheet and points failed the depth test."""
    run = hand_run([weights(**NETS[3]), weights(**FOLDING)], POINTS[3])
    cfg = RenderConfig(size=(320, 180), ssaa=1, panels=("lift", "plane"), mesh=64)
    with Renderer(run, cfg) as r:
        first = r.frame(1)
        again = [r.frame(1), r.frame(0), r.frame(1)]
        box = panel_box(r.scene, "lift")
    lift = box_pixels(first, box)
    drawn = np.any(np.abs(lift.astype(int) - np.round(255 * np.asarray(THEMES["light"].background[:3]))) > 8, axis=-1)
    assert drawn.mean() > 0.1, "the lift panel is nearly empty on the first frame"
    assert np.array_equal(first, again[0]) and np.array_equal(first, again[2]), "a later frame lost part of the picture"
    assert not np.array_equal(box_pixels(again[1], box), lift)


# ---------------------------------------------------------------- 6. per frame: uniforms only


class GlirLog:
    """Records every GLIR command a canvas executes (after VisPy's queue filtering), by object id."""

    BUFFERS = ("VertexBuffer", "IndexBuffer")

    def __init__(self, canvas):
        self.parser = canvas.context.shared.parser
        self.types: dict[int, str] = {}
        self.commands: list[tuple] = []
        self._parse = self.parser.parse

        def parse(commands):
            commands = list(commands)
            self.commands += commands
            return self._parse(commands)

        self.parser.parse = parse

    def close(self):
        del self.parser.parse  # the instance attribute shadowed the method

    def take(self) -> list[tuple]:
        """Buffer uploads since the last take: (command, id, bytes) for DATA and SIZE on buffers."""
        out = []
        for c in self.commands:
            if c[0] == "CREATE":
                self.types[c[1]] = c[2]
            elif c[0] in ("DATA", "SIZE") and self.types.get(c[1]) in self.BUFFERS:
                nbytes = c[3].nbytes if c[0] == "DATA" else int(c[2])
                out.append((c[0], c[1], nbytes))
        self.commands = []
        return out


def _network_buffer_ids(scene) -> set:
    ids = set()
    for view in scene.views.values():
        for v in view.scene.children:
            # (only what is drawn: the anatomy's visuals stay hidden, and never uploaded, outside it)
            if isinstance(v, (SheetVisual, PointsVisual, HalfPlaneVisual, SurfaceVisual)) and v.visible:
                for value in v.shared_program._set_items.values():  # what the visual gave its program
                    if hasattr(value, "id") and type(value).__name__ in GlirLog.BUFFERS:
                        ids.add(value.id)
                if v._index_buffer is not None:
                    ids.add(v._index_buffer.id)
    return ids


def test_moving_to_another_step_or_camera_uploads_no_vertex_data():
    k, n_points = 3, 400
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (n_points, 2))
    nets = [weights(**NETS[k]), weights(**FOLDING), weights(**NETS[k])]
    run = hand_run(nets, X)
    traffic = {}
    for mesh in (16, 128):
        cfg = RenderConfig(size=(320, 180), ssaa=1, panels=("lift", "plane", "input"), mesh=mesh)
        with Renderer(run, cfg) as r:
            log = GlirLog(r.scene.canvas)
            try:
                r.frame()
                first = log.take()
                ours = _network_buffer_ids(r.scene)
                sheet_bytes = mesh * mesh * 2 * 4
                # The counter sees the one-time uploads: the sheets' input mesh, the points.
                assert any(c == "DATA" and b == sheet_bytes for c, _, b in first), Counter(first)
                assert any(c == "DATA" and b == n_points * 2 * 4 for c, _, b in first), Counter(first)
                assert ours and ours <= {i for _, i, _ in first}
                per_frame = []
                for step, camera in ((1, {}), (2, {}), (0.5, {}), (1.75, {}), (None, dict(azimuth=30)),
                                     (None, dict(elevation=60)), (None, dict(distance=9.0)), (0, dict(azimuth=-10))):
                    r.frame(step, **camera)
                    uploads = log.take()
                    assert not [u for u in uploads if u[1] in ours], f"step {step} {camera}: re-uploaded vertex data"
                    if step is None:  # the heads-up line is unchanged too: nothing at all goes up
                        assert uploads == [], f"a camera change uploaded buffers: {uploads}"
                    per_frame.append(sum(b for c, _, b in uploads if c == "DATA"))
            finally:
                log.close()
        traffic[mesh] = per_frame
    # What does go up per frame (the heads-up line's text) does not grow with the mesh.
    assert traffic[16] == traffic[128], traffic
    assert max(traffic[128]) < 32 * 1024, traffic  # one line of text; the 128^2 mesh alone is 128 KiB


# ---------------------------------------------------------------- 7. reference images

REFERENCES = [
    # name, k, theme, panels, step (None: the last; a fraction interpolates)
    ("k2-light", 2, "light", ("lift", "plane", "input"), None),
    ("k3-light", 3, "light", ("lift", "plane", "input"), None),
    ("k4-light", 4, "light", ("lift", "plane", "input"), None),
    ("k2-dark", 2, "dark", ("lift", "plane"), 20.5),
    ("k3-dark", 3, "dark", ("lift", "plane"), 20.5),
    ("k4-dark", 4, "dark", ("lift", "plane"), None),
]
TOLERANCE = 24  # a pixel mismatches when any channel differs by more than this
MISMATCH_RATIO = 0.005  # ... and at most this fraction of pixels may mismatch


def reference_run(k: int) -> Trajectory:
    """A small trained run, stored so the references do not depend on the trainer's exact floats."""
    path = REFERENCE / f"run-k{k}.npz"
    if not path.exists():
        if not REGEN:
            pytest.fail(f"{path} is missing; make it with DEFORM3D_REGEN=1 pytest {__file__} -k reference")
        from deform3d.core.config import TrainConfig
        from deform3d.core.trainer import train

        REFERENCE.mkdir(exist_ok=True)
        train(TrainConfig(hidden=k, points=200, epochs=30, seed=0), progress=False).save(path)
    return Trajectory.load(path)


def test_png_reader_reads_what_vispy_writes(tmp_path):
    from vispy.io import write_png

    image = np.random.default_rng(1).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    write_png(str(tmp_path / "x.png"), image)
    assert np.array_equal(read_png(tmp_path / "x.png"), image)


@pytest.fixture(scope="module")
def gl_renderer(gl_app) -> str:
    from vispy import gloo, scene

    canvas = scene.SceneCanvas(size=(16, 16), app=gl_app, show=False)
    try:
        canvas.render()
        canvas.set_current()
        return str(gloo.gl.glGetParameter(gloo.gl.GL_RENDERER))
    finally:
        canvas.close()


@pytest.mark.parametrize("name,k,theme,panels,step", REFERENCES, ids=[r[0] for r in REFERENCES])
def test_reference_image(name, k, theme, panels, step, gl_renderer):
    if "llvmpipe" not in gl_renderer:
        pytest.skip(f"reference images are pinned to Mesa's llvmpipe; this GL is {gl_renderer}")
    from vispy.io import write_png

    run = reference_run(k)
    cfg = RenderConfig(size=(480, 270), ssaa=2, theme=theme, panels=panels)
    with Renderer(run, cfg) as r:
        image = r.frame(step)
    path = REFERENCE / f"{name}.png"
    if REGEN:
        write_png(str(path), image)
        pytest.skip(f"regenerated {path.relative_to(HERE.parent)}")
    assert path.exists(), f"{path} is missing; make it with DEFORM3D_REGEN=1 pytest {__file__} -k reference"
    expected = read_png(path)
    assert expected.shape == image.shape, f"{name}: size {image.shape[1::-1]} != reference {expected.shape[1::-1]}"
    bad = np.any(np.abs(image.astype(int) - expected.astype(int)) > TOLERANCE, axis=-1)
    if bad.mean() > MISMATCH_RATIO:
        FAILURES.mkdir(exist_ok=True)
        diff = np.where(bad[..., None], np.array([255, 0, 255], np.uint8), (expected // 3 + 170).astype(np.uint8))
        out = FAILURES / f"{name}.png"
        write_png(str(out), np.concatenate([expected, image, diff], axis=1))
        pytest.fail(f"{name}: {100 * bad.mean():.2f}% of pixels differ by more than {TOLERANCE} "
                    f"(allowed {100 * MISMATCH_RATIO:.1f}%); reference | actual | diff in {out}")
