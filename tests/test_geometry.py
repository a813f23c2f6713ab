"""The numpy reference (deform3d.core.geometry) against torch and against the math in docs/design.md.

Every view and the trainer are checked against ``geometry``, so geometry itself is checked here
against independent computations: torch's own forward pass, finite differences, and the defining
equations of the decision line and surface.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from deform3d.core import geometry
from deform3d.core.geometry import ACTIVATION_RANGE, Weights

KS = (2, 3, 4)
ACTIVATIONS = ("tanh", "sigmoid", "relu")


def torch_forward(w: Weights, X: np.ndarray, activation: str):
    """h1, h2, p from the torch model itself (deform3d.core.model.Net), as float64 numpy."""
    from deform3d.core.model import Net

    net = Net(w.hidden, activation).load_weights(w)
    with torch.no_grad():
        h1, h2, p = net(torch.from_numpy(np.asarray(X, np.float32)))
    return h1.double().numpy(), h2.double().numpy(), p.double().numpy()


def random_points(n: int = 300, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.0, 2.0, (n, 2)).astype(np.float32)


# ---------------------------------------------------------------- forward pass


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("k", KS)
def test_forward_matches_torch(make_weights, k, activation):
    w, X = make_weights(k, seed=10 * k), random_points()
    f = geometry.forward(w, X, activation)
    h1, h2, p = torch_forward(w, X, activation)
    assert f.h1.shape == (len(X), k) and f.h2.shape == (len(X), 2) and f.p.shape == (len(X),)
    np.testing.assert_allclose(f.h1, h1, rtol=0, atol=1e-5)
    np.testing.assert_allclose(f.h2, h2, rtol=0, atol=1e-5)
    np.testing.assert_allclose(f.p, p, rtol=0, atol=1e-5)
    np.testing.assert_allclose(f.p, 1 / (1 + np.exp(-f.z3)), rtol=0, atol=1e-12)
    if activation == "relu":  # the comparison must have crossed relu's kink
        assert (f.h1 == 0).any() and (f.h1 > 0).any()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("k", KS)
def test_forward_on_a_stack_of_weights(make_weights, k, activation):
    stack, X = make_weights(k, seed=k, stack=5), random_points(50)
    f = geometry.forward(stack, X, activation)
    assert f.h1.shape == (5, 50, k) and f.h2.shape == (5, 50, 2) and f.p.shape == (5, 50)
    for s in range(5):
        h1, h2, p = torch_forward(stack[s], X, activation)
        np.testing.assert_allclose(f.h1[s], h1, rtol=0, atol=1e-5)
        np.testing.assert_allclose(f.h2[s], h2, rtol=0, atol=1e-5)
        np.testing.assert_allclose(f.p[s], p, rtol=0, atol=1e-5)


def test_weights_flat_round_trip(make_weights):
    stack = make_weights(4, stack=3)
    assert stack.hidden == 4 and stack.W1.shape == (3, 4, 2) and stack.b3.shape == (3,)
    again = Weights.from_flat(stack.flat(), 4)
    for name in Weights.NAMES:
        assert np.array_equal(getattr(again, name), getattr(stack, name))
    with pytest.raises(ValueError):
        Weights.from_flat(np.zeros(21), 3)


@pytest.mark.parametrize("stacked", [False, True])
def test_metrics_match_a_direct_computation(make_weights, stacked):
    w = make_weights(3, seed=5, stack=4 if stacked else None, scale=0.8)
    X = random_points(400)
    y = (np.linalg.norm(X, axis=1) > 1.2).astype(np.uint8)
    loss, accuracy = geometry.metrics(w, X, y, "tanh")
    for s in range(4) if stacked else [None]:
        ws = w if s is None else w[s]
        _, _, p = torch_forward(ws, X, "tanh")
        direct_loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        direct_acc = np.mean((p > 0.5) == (y == 1))
        got_loss, got_acc = (loss, accuracy) if s is None else (loss[s], accuracy[s])
        assert got_loss == pytest.approx(direct_loss, abs=1e-5)
        assert got_acc == pytest.approx(direct_acc, abs=1e-12)


# ---------------------------------------------------------------- the plane


@pytest.mark.parametrize("box", [(-1.0, 1.0), (0.0, 1.0), (-3.0, 0.5)])
def test_decision_line_is_clipped_to_the_box(make_weights, box):
    lo, hi = box
    rng = np.random.default_rng(7)
    for seed in range(20):
        w = make_weights(3, seed=seed)
        # Move the line through a random point of the box so that it must cross it.
        through = rng.uniform(lo, hi, 2)
        w = Weights(w.W1, w.b1, w.W2, w.b2, w.w3, np.float32(-w.w3.astype(np.float64) @ through))
        normal, offset = geometry.decision_line(w)
        seg = geometry.clip_line(normal, offset, lo, hi)
        assert seg is not None and seg.shape == (2, 2)
        for t in np.linspace(0.0, 1.0, 11):
            h2 = (1 - t) * seg[0] + t * seg[1]
            assert abs(w.w3.astype(np.float64) @ h2 + float(w.b3)) < 1e-5
            assert np.all(h2 >= lo - 1e-9) and np.all(h2 <= hi + 1e-9)
        # Clipped, not shortened: each end lies on the box's boundary.
        for end in seg:
            assert np.isclose(end, lo, atol=1e-9).any() or np.isclose(end, hi, atol=1e-9).any()


def test_decision_line_that_misses_the_box_is_none():
    assert geometry.clip_line(np.array([1.0, 0.0]), -5.0, -1.0, 1.0) is None  # x = 5
    assert geometry.clip_line(np.array([0.0, 0.0]), 1.0, -1.0, 1.0) is None  # no line at all
    seg = geometry.clip_line(np.array([0.0, 2.0]), -1.0, -1.0, 1.0)  # y = 0.5, axis-aligned
    np.testing.assert_allclose(sorted(seg[:, 0]), [-1.0, 1.0])
    np.testing.assert_allclose(seg[:, 1], [0.5, 0.5])


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("k", KS)
def test_jacobian_det_matches_finite_differences(make_weights, k, activation):
    w = make_weights(k, seed=3 * k + 1).astype(np.float64)
    X = random_points(200, seed=4).astype(np.float64)
    det = geometry.jacobian_det(w, X, activation)
    h, J = 1e-6, np.empty((len(X), 2, 2))
    for j in range(2):
        dx = np.zeros(2)
        dx[j] = h
        plus = geometry.forward(w, X + dx, activation).h2
        minus = geometry.forward(w, X - dx, activation).h2
        J[:, :, j] = (plus - minus) / (2 * h)
    det_fd = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
    keep = np.ones(len(X), bool)
    if activation == "relu":  # finite differences straddling a kink measure nothing useful
        f = geometry.forward(w, X, activation)
        keep = (np.abs(f.z1).min(axis=1) > 1e-4) & (np.abs(f.z2).min(axis=1) > 1e-4)
        assert keep.sum() > 100
    np.testing.assert_allclose(geometry.jacobian(w, X, activation)[keep], J[keep], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(det[keep], det_fd[keep], rtol=1e-5, atol=1e-7)


def test_jacobian_det_on_a_stack(make_weights):
    stack, X = make_weights(3, stack=4), random_points(30)
    det = geometry.jacobian_det(stack, X)
    assert det.shape == (4, 30)
    for s in range(4):
        np.testing.assert_allclose(det[s], geometry.jacobian_det(stack[s], X), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- the lift


def surface_residual(w: Weights, verts: np.ndarray, activation: str) -> np.ndarray:
    """z3 = w3 . act(W2 v + b2) + b3 at each vertex v of the surface."""
    w = w.astype(np.float64)
    h2 = geometry.act(activation, verts.astype(np.float64) @ w.W2.T + w.b2)
    return h2 @ w.w3 + float(w.b3)


def true_surface_points(w: Weights, activation: str, n: int = 3000) -> np.ndarray:
    """Points of the decision surface inside the box, found without geometry's construction:
    bisection on z3 along random segments of the box whose ends z3 tells apart."""
    lo, hi = ACTIVATION_RANGE[activation]
    rng = np.random.default_rng(0)
    a, b = rng.uniform(lo, hi, (n, 3)), rng.uniform(lo, hi, (n, 3))
    fa = surface_residual(w, a, activation)
    keep = np.sign(fa) != np.sign(surface_residual(w, b, activation))
    a, b, fa = a[keep], b[keep], fa[keep]
    for _ in range(50):
        m = (a + b) / 2
        same = np.sign(surface_residual(w, m, activation)) == np.sign(fa)
        a, b = np.where(same[:, None], m, a), np.where(same[:, None], b, m)
    return (a + b) / 2


def check_surface(w: Weights, activation: str) -> int:
    """Assert the mesh lies on the surface, inside the box, and covers all of it; return its size."""
    verts, faces = geometry.decision_surface(w, activation)
    assert verts.dtype == np.float32 and verts.ndim == 2 and verts.shape[1] == 3
    assert faces.dtype == np.uint32 and faces.ndim == 2 and faces.shape[1] == 3
    if len(faces):
        assert faces.max() < len(verts)
    lo, hi = ACTIVATION_RANGE[activation]
    assert np.all(verts >= lo - 1e-6) and np.all(verts <= hi + 1e-6)
    z3 = surface_residual(w, verts, activation)
    assert np.all(np.abs(z3) < 1e-4), f"max |z3| on the surface: {np.abs(z3).max():.3g}"
    # Complete: every point of the true surface lies near the mesh. The surface is ruled along
    # W2's null direction, so compare across it: project both onto the plane normal to it.
    truth = true_surface_points(w, activation)
    if len(truth):
        assert len(verts), f"empty mesh, but {len(truth)} points of the surface lie in the box"
        null = np.cross(*w.W2.astype(np.float64))
        null /= np.linalg.norm(null)
        flat = lambda v: v - np.outer(v @ null, null)
        nearest, _ = cKDTree(flat(verts.astype(np.float64))).query(flat(truth))
        assert nearest.max() < 0.03 * (hi - lo), f"surface missed by {nearest.max():.3g} (box side {hi - lo})"
    return len(verts)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_decision_surface_on_random_weights(make_weights, activation):
    lo, hi = ACTIVATION_RANGE[activation]
    rng = np.random.default_rng(11)
    for seed in range(12):
        w = make_weights(3, seed=seed)
        # Put a random lift point h1* on the surface (b3 chosen so that z3(h1*) = 0), so the surface
        # must exist inside the box and an empty mesh would be a bug.
        h1_star = rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), 3)
        h2_star = geometry.act(activation, w.W2.astype(np.float64) @ h1_star + w.b2)
        w = Weights(w.W1, w.b1, w.W2, w.b2, w.w3, np.float32(-w.w3.astype(np.float64) @ h2_star))
        assert check_surface(w, activation) > 0


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_decision_surface_with_an_axis_parallel_decision_line(make_weights, activation):
    lo, hi = ACTIVATION_RANGE[activation]
    w = make_weights(3, seed=4)
    middle = (lo + hi) / 2
    # w3 = (0, 1): the line h2_2 = middle; then w3 = (1, 0): h2_1 = middle.
    for w3 in ([0.0, 1.0], [1.0, 0.0]):
        flat = Weights(w.W1, w.b1, w.W2, w.b2, np.float32(w3), np.float32(-middle))
        check_surface(flat, activation)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_decision_surface_on_trained_weights(activation):
    from deform3d.core.config import TrainConfig
    from deform3d.core.trainer import train

    # Trained weights are where the surface is hard: saturated units and a nearly singular W2.
    run = train(TrainConfig(activation=activation), progress=False)  # the defaults, ~1 s
    assert run.accuracy[-1] > 0.95
    sizes = [check_surface(run.weights[s], activation) for s in (0, run.num_steps // 10, run.num_steps)]
    assert sizes[-1] > 0  # a net that separates the circles has a decision surface in its lift


def test_decision_surface_needs_an_invertible_activation_and_k3(make_weights):
    with pytest.raises(ValueError, match="relu"):
        geometry.decision_surface(make_weights(3), "relu")
    for k in (2, 4):
        with pytest.raises(ValueError):
            geometry.decision_surface(make_weights(k), "tanh")


def test_lift_projection_k2_puts_the_sheet_at_z0():
    h1 = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    y = geometry.lift_projection(h1)(h1)
    assert y.shape == (50, 3)
    np.testing.assert_array_equal(y[:, :2], h1)
    np.testing.assert_array_equal(y[:, 2], 0.0)


def test_lift_projection_k3_is_the_identity():
    h1 = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    np.testing.assert_array_equal(geometry.lift_projection(h1)(h1), h1)


def test_lift_projection_k4_is_pca_with_orthonormal_rows():
    rng = np.random.default_rng(2)
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    h1 = (rng.normal(size=(500, 4)) * [3.0, 2.0, 1.0, 0.1]) @ rotation.T + [0.3, -0.2, 0.1, 0.5]
    proj = geometry.lift_projection(h1)
    assert proj.M.shape == (3, 4)
    np.testing.assert_allclose(proj.M @ proj.M.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(proj.center, h1.mean(axis=0), atol=1e-12)
    # It keeps the three directions of largest variance: the dropped one is the thin axis.
    np.testing.assert_allclose(np.abs(proj.M @ rotation[:, 3]), 0.0, atol=0.05)
    # Deterministic: the same points (in any order) give the same map, signs included.
    again = geometry.lift_projection(h1[rng.permutation(len(h1))])
    np.testing.assert_array_equal(geometry.lift_projection(h1).M, proj.M)
    np.testing.assert_allclose(again.M, proj.M, atol=1e-10)
    M4, c4 = proj.padded()
    assert M4.shape == (3, 4) and c4.shape == (4,) and M4.dtype == np.float32


def test_projection_padded_zero_fills_past_k():
    M4, c4 = geometry.lift_projection(np.zeros((3, 2))).padded()
    np.testing.assert_array_equal(M4[:, 2:], 0.0)
    np.testing.assert_array_equal(M4[:, :2], [[1, 0], [0, 1], [0, 0]])
    np.testing.assert_array_equal(c4, 0.0)


# ---------------------------------------------------------------- the input plane


def test_input_mesh_covers_the_square_with_ccw_triangles():
    n, lo, hi = 5, (-1.0, -2.0), (3.0, 1.0)
    verts, faces = geometry.input_mesh(n, lo, hi)
    assert verts.shape == (n * n, 2) and verts.dtype == np.float32
    assert faces.shape == (2 * (n - 1) ** 2, 3) and faces.dtype == np.uint32
    assert faces.max() == n * n - 1 and len(np.unique(faces)) == n * n
    np.testing.assert_allclose(verts.min(axis=0), lo)
    np.testing.assert_allclose(verts.max(axis=0), hi)
    a, b, c = (verts[faces[:, i]].astype(np.float64) for i in range(3))
    area = 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    assert np.all(area > 0)  # counter-clockwise seen from +z
    assert area.sum() == pytest.approx(4.0 * 3.0)  # the triangles tile the square exactly once


def test_input_extent_is_a_square_around_the_data():
    X = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, -1.0]])
    lo, hi = geometry.input_extent(X, margin=0.1)
    assert np.all(lo < X.min(axis=0)) and np.all(hi > X.max(axis=0))
    assert hi[0] - lo[0] == pytest.approx(hi[1] - lo[1])
    assert hi[0] - lo[0] == pytest.approx(2.0 * 1.1)
