"""The numpy reference of deform3d's math (see docs/design.md): every view and test agrees with this.

Owns: the network's forward pass for any points (and for stacks of weights), the decision line in
the plane, the Jacobian of input -> plane, the exact decision surface in the lift (k = 3), the lift
-> 3-D projection (k = 2, 3, 4), and the input-plane mesh. Imports numpy only: never torch, never
VisPy, so it is testable with no GL context and no training.

Shapes: a single network's weights are ``W1 (k, 2), b1 (k,), W2 (2, k), b2 (2,), w3 (2,), b3 ()``.
Every function here also accepts a stack of them with a leading axis (S, ...), which is how the
trainer's per-step metrics and the tests evaluate a whole trajectory at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import activations
from .activations import sigmoid

# ---------------------------------------------------------------- activations

#: Range of each activation: the lift lives in this box, the plane panel is fixed to it.
ACTIVATION_RANGE = {name: a.range for name, a in activations.TABLE.items()}


def act(name: str, z: np.ndarray) -> np.ndarray:
    """The hidden activation, elementwise."""
    return activations.get(name).numpy(z)


def act_grad(name: str, z: np.ndarray) -> np.ndarray:
    """d act / d z at z, elementwise (relu: 0 at z <= 0, as torch does)."""
    a = activations.get(name)
    return a.grad(a.numpy(z), np)


def act_inverse(name: str, h: np.ndarray) -> np.ndarray:
    """act^-1 on the open range of an invertible activation (tanh, sigmoid)."""
    inverse = activations.get(name).inverse
    if inverse is None:
        raise ValueError(f"activation {name!r} is not invertible")
    return inverse(h)


# ---------------------------------------------------------------- weights


@dataclass(frozen=True)
class Weights:
    """One network's weights (or a stack of them, with a leading axis), named as in docs/design.md."""

    W1: np.ndarray  # (k, 2)
    b1: np.ndarray  # (k,)
    W2: np.ndarray  # (2, k)
    b2: np.ndarray  # (2,)
    w3: np.ndarray  # (2,)
    b3: np.ndarray  # ()

    NAMES = ("W1", "b1", "W2", "b2", "w3", "b3")

    @property
    def hidden(self) -> int:
        return self.W1.shape[-2]

    @staticmethod
    def sizes(k: int) -> list[tuple[str, tuple[int, ...]]]:
        """Each field's name and shape for hidden width k, in the flat-vector order."""
        return [("W1", (k, 2)), ("b1", (k,)), ("W2", (2, k)), ("b2", (2,)), ("w3", (2,)), ("b3", ())]

    @classmethod
    def from_flat(cls, theta: np.ndarray, k: int) -> "Weights":
        """Split a flat vector (..., 5k + 5) into named fields (views, no copies)."""
        theta = np.asarray(theta)
        lead = theta.shape[:-1]
        out, i = {}, 0
        for name, shape in cls.sizes(k):
            n = int(np.prod(shape, dtype=int))
            out[name] = theta[..., i : i + n].reshape(lead + shape)
            i += n
        if i != theta.shape[-1]:
            raise ValueError(f"flat weights have {theta.shape[-1]} values, k = {k} needs {i}")
        return cls(**out)

    def flat(self) -> np.ndarray:
        lead = self.b1.shape[:-1]
        return np.concatenate([np.reshape(getattr(self, n), lead + (-1,)) for n in self.NAMES], axis=-1)

    def __getitem__(self, index) -> "Weights":
        """One network (or a sub-stack) out of a stack."""
        return Weights(*(getattr(self, n)[index] for n in self.NAMES))

    def astype(self, dtype) -> "Weights":
        return Weights(*(np.asarray(getattr(self, n), dtype=dtype) for n in self.NAMES))


# ---------------------------------------------------------------- forward pass


class Forward(NamedTuple):
    """Every intermediate of the forward pass. Leading axes: (S,) for a stack, then (n,) points."""

    z1: np.ndarray  # (..., n, k)
    h1: np.ndarray  # (..., n, k)   the lift
    z2: np.ndarray  # (..., n, 2)
    h2: np.ndarray  # (..., n, 2)   the plane
    z3: np.ndarray  # (..., n)      logit; z3 = 0 is the decision boundary
    p: np.ndarray  # (..., n)       probability of class 1


def _affine(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return x @ np.swapaxes(W, -1, -2) + b[..., None, :]


def forward(w: Weights, X: np.ndarray, activation: str = "tanh") -> Forward:
    """Forward pass of points X (n, 2) through weights w (float64 result).

    With a stack of weights (leading axis S) every output gains that leading axis.
    """
    w = w.astype(np.float64)
    X = np.asarray(X, dtype=np.float64)
    z1 = _affine(X, w.W1, w.b1)
    h1 = act(activation, z1)
    z2 = _affine(h1, w.W2, w.b2)
    h2 = act(activation, z2)
    z3 = np.einsum("...nj,...j->...n", h2, w.w3) + np.asarray(w.b3)[..., None]
    return Forward(z1, h1, z2, h2, z3, sigmoid(z3))


def metrics(w: Weights, X: np.ndarray, y: np.ndarray, activation: str = "tanh"):
    """Mean binary cross-entropy and accuracy of weights (or a stack) on labelled points.

    Returns (loss, accuracy), each a float (or an (S,) array for a stack).
    """
    z3 = forward(w, X, activation).z3
    y = np.asarray(y, dtype=np.float64)
    # BCE from the logit: softplus(z) - y z, stable for large |z|.
    loss = (np.logaddexp(0.0, z3) - y * z3).mean(axis=-1)
    accuracy = ((z3 > 0) == (y > 0.5)).mean(axis=-1)
    return loss, accuracy


def step_metrics(
    w: Weights, X: np.ndarray, y: np.ndarray, activation: str = "tanh", chunk: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Full-dataset loss and accuracy of a stack of weights (every step of a run): (S,) float32 each.

    ``metrics`` in float32, in chunks of steps so memory stays ~chunk x n x k floats; about 25 ns a
    point and step on one core (a 6300-step run on 2000 points: ~0.35 s). Runs compute it on first
    use (``Trajectory.loss``), not while training: see docs/design.md, "Metrics".
    """
    X = np.asarray(X, np.float32)
    yv = np.asarray(y, np.float32)
    x0, x1, positive = X[:, 0][None, :, None], X[:, 1][None, :, None], yv > 0.5
    loss, accuracy = [], []
    for s in range(0, len(w.W1), chunk):
        c = w[s : s + chunk].astype(np.float32)
        h1 = act(activation, c.b1[:, None, :] + x0 * c.W1[:, None, :, 0] + x1 * c.W1[:, None, :, 1])
        h2 = act(activation, h1 @ np.swapaxes(c.W2, 1, 2) + c.b2[:, None, :])
        z3 = h2[..., 0] * c.w3[:, None, 0] + h2[..., 1] * c.w3[:, None, 1] + c.b3[:, None]
        loss.append((np.logaddexp(np.float32(0), z3) - yv * z3).mean(1, dtype=np.float32))
        accuracy.append(((z3 > 0) == positive).mean(1, dtype=np.float32))
    return np.concatenate(loss).astype(np.float32), np.concatenate(accuracy).astype(np.float32)


# ---------------------------------------------------------------- the plane


def decision_line(w: Weights) -> tuple[np.ndarray, float]:
    """The decision line in the plane, w3 . h2 + b3 = 0, as (normal (2,), offset)."""
    return np.asarray(w.w3, dtype=np.float64), float(w.b3)


def clip_line(normal: np.ndarray, offset: float, lo, hi) -> np.ndarray | None:
    """The segment of the line {x : normal . x + offset = 0} inside the box [lo, hi]^d.

    Returns (2, d) endpoints, or None where the line misses the box (or normal is zero).
    """
    normal = np.asarray(normal, dtype=np.float64)
    d = normal.size
    norm2 = normal @ normal
    if norm2 == 0:
        return None
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (d,))
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (d,))
    if d != 2:
        raise ValueError("clip_line works in the plane (d = 2)")
    point = -offset * normal / norm2
    direction = np.array([-normal[1], normal[0]]) / np.sqrt(norm2)
    span = clip_ray(point, direction, lo, hi)
    if span is None:
        return None
    return np.stack([point + span[0] * direction, point + span[1] * direction])


def clip_ray(point: np.ndarray, direction: np.ndarray, lo, hi) -> tuple[float, float] | None:
    """Parameter range [s0, s1] of point + s * direction inside the box [lo, hi] (Liang-Barsky)."""
    s0, s1 = -np.inf, np.inf
    for p, v, a, b in zip(point, direction, lo, hi):
        if abs(v) < 1e-15:
            if p < a or p > b:
                return None
            continue
        t0, t1 = (a - p) / v, (b - p) / v
        s0, s1 = max(s0, min(t0, t1)), min(s1, max(t0, t1))
    if not (np.isfinite(s0) and np.isfinite(s1)) or s1 <= s0:
        return None
    return float(s0), float(s1)


def jacobian(w: Weights, X: np.ndarray, activation: str = "tanh") -> np.ndarray:
    """Jacobian of input -> plane, J = diag(act'(z2)) W2 diag(act'(z1)) W1, shape (..., n, 2, 2)."""
    f = forward(w, X, activation)
    w = w.astype(np.float64)
    a1 = act_grad(activation, f.z1)  # (..., n, k)
    a2 = act_grad(activation, f.z2)  # (..., n, 2)
    inner = a1[..., :, :, None] * w.W1[..., None, :, :]  # diag(a1) W1: (..., n, k, 2)
    outer = a2[..., :, :, None] * w.W2[..., None, :, :]  # diag(a2) W2: (..., n, 2, k)
    return outer @ inner


def jacobian_det(w: Weights, X: np.ndarray, activation: str = "tanh") -> np.ndarray:
    """det J of input -> plane, shape (..., n). Negative where the network folds the plane over."""
    J = jacobian(w, X, activation)
    return J[..., 0, 0] * J[..., 1, 1] - J[..., 0, 1] * J[..., 1, 0]


#: Index pairs i < j of the hidden units (k <= 4), in the order of the shaders' minors uniforms.
PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


def fold_minors(w: Weights) -> np.ndarray:
    """det W2[:, ij] * det W1[ij, :] for each pair ij of PAIRS (6,), zero past k: Cauchy-Binet's
    terms of det(W2 diag(a) W1) = sum over pairs of a_i a_j * minor_ij."""
    w = w.astype(np.float64)
    W1, W2 = np.zeros((4, 2)), np.zeros((2, 4))
    W1[: w.hidden], W2[:, : w.hidden] = w.W1, w.W2
    return np.array([np.linalg.det(W2[:, [i, j]]) * np.linalg.det(W1[[i, j], :]) for i, j in PAIRS])


def _log_inverse_act_grad(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 / act'(z)) and its derivative in z, stable for any z (act' itself underflows to 0)."""
    a = np.abs(z)
    if name == "tanh":  # 1/act' = cosh^2 z
        return 2 * a + 2 * np.log1p(np.exp(-2 * a)) - 2 * np.log(2.0), 2 * np.tanh(z)
    if name == "sigmoid":  # 1/act' = (1 + e)^2 / e, e = exp(-|z|)
        return a + 2 * np.log1p(np.exp(-a)), np.tanh(z / 2)
    raise ValueError(f"activation {name!r} has no smooth crease function")


def crease(w: Weights, X: np.ndarray, activation: str = "tanh") -> tuple[np.ndarray, np.ndarray]:
    """The fold's crease function F at points X (n, 2) of one network: (F (n,), dF/dx (n, 2)).

    A fold is the crease det J = 0 (docs/design.md), not the sign of det J. With Cauchy-Binet,
    det J = act'(z2_1) act'(z2_2) * sum_ij a_i a_j m_ij (a = act'(z1), m = fold_minors), and since
    act' > 0 for tanh and sigmoid, det J has the sign of F = sum_ij m_ij prod_{l not in ij} g_l with
    g = 1/act'(z1) (dividing by the product of all a). F is smooth where det J underflows to 0 in
    saturated regions, so its zero set is the crease and nothing else. It is scaled per point by
    the largest product of g over the pairs with a nonzero minor (computed in logs), which keeps it
    O(|m|) and leaves its zero set and sign unchanged; the gradient takes that scale as constant,
    which is exact on the crease itself, where distances to it are measured. k = 2 has one pair:
    F is a constant (dF/dx = 0) and never crosses zero, so k = 2 never folds.
    """
    w = w.astype(np.float64)
    X = np.asarray(X, np.float64)
    k = w.hidden
    z = np.zeros((len(X), 4))
    z[:, :k] = _affine(X, w.W1, w.b1)
    L, kappa = _log_inverse_act_grad(activation, z)
    L[:, k:], kappa[:, k:] = 0.0, 0.0  # padding units: act'(0) stands in as 1, as on the GPU
    m = fold_minors(w)
    others = [[l for l in range(4) if l not in p] for p in PAIRS]
    logP = np.stack([L[:, o].sum(axis=1) for o in others], axis=1)  # (n, 6)
    live = m != 0
    if not live.any():
        return np.ones(len(X)), np.zeros((len(X), 2))
    P = np.exp(np.minimum(logP - logP[:, live].max(axis=1, keepdims=True), 0.0)) * live
    terms = P * m  # (n, 6)
    W1 = np.zeros((4, 2))
    W1[:k] = w.W1
    # dF/dx = sum_l kappa_l W1_l * (sum of the terms whose pair leaves l out)
    R = np.stack([terms[:, [i for i, o in enumerate(others) if l in o]].sum(axis=1) for l in range(4)], axis=1)
    return terms.sum(axis=1), (kappa * R) @ W1


# ---------------------------------------------------------------- the lift


def decision_surface(w: Weights, activation: str = "tanh", rows: int = 96, cols: int = 24):
    """The exact decision surface in the lift for k = 3: h1 with w3 . act(W2 h1 + b2) + b3 = 0.

    The condition depends on h1 only through u = W2 h1, so the surface is ruled: each point u of the
    decision curve {u : w3 . act(u + b2) + b3 = 0} (the preimage of the decision line) gives the line
    W2 h1 = u in R^3, along W2's null space, clipped to act's range box. The mesh's rows are such
    lines, about (box diagonal) / ``rows`` apart in the lift wherever they meet the box, with ``cols``
    points along each. Returns (vertices (m, 3) float32, faces (f, 3) uint32), possibly empty.
    Only invertible activations (tanh, sigmoid) have such a surface; relu raises ValueError.
    """
    empty = np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32)
    if w.hidden != 3:
        raise ValueError("the decision surface is a surface in R^3: it needs k = 3")
    lo, hi = ACTIVATION_RANGE[activation]
    if not np.isfinite(hi):
        raise ValueError(f"activation {activation!r} is not invertible: no exact decision surface")
    w = w.astype(np.float64)
    W2 = w.W2
    null = np.cross(W2[0], W2[1])
    if np.linalg.norm(null) < 1e-12 or clip_line(w.w3, float(w.b3), lo, hi) is None:
        return empty
    null /= np.linalg.norm(null)
    pinv = np.linalg.pinv(W2)  # (3, 2): base = pinv u is the line's point nearest the origin
    # Rows are placed along the curve in u, not evenly along the decision line in the plane: where
    # W2 is nearly singular only a sliver of that line lifts into the box, and where act saturates a
    # long stretch of surface maps onto a tiny end of it; even spacing there leaves the surface
    # empty or cut short. tau = sigma . u grows monotonically along the curve (each u_j moves one way).
    sigma = np.sign([-w.w3[1], w.w3[0]])
    c = sigma @ W2  # tau = c . h1 on the box
    tau = np.linspace(np.minimum(c * lo, c * hi).sum(), np.maximum(c * lo, c * hi).sum(), rows)
    u = _decision_curve(tau, w, activation, sigma)
    step = (hi - lo) * np.sqrt(3.0) / rows
    for _ in range(16):
        base = u @ pinv.T
        t0, t1 = _clip_lines(base, null, lo, hi)
        inside = t1 > t0
        gap = np.linalg.norm(np.diff(base, axis=0), axis=1)
        # Finer where the surface leaves the box, so that it reaches the box's edge.
        fine = np.where(inside[1:] != inside[:-1], step / 16, step)
        split = np.flatnonzero((gap > fine) & _may_meet_box(u[:-1], u[1:], W2, lo, hi))
        if split.size == 0:
            break
        pieces = np.minimum(np.ceil(gap[split] / fine[split]), 64).astype(int)
        extra = pieces - 1
        frac = (np.arange(extra.sum()) - np.repeat(np.cumsum(extra) - extra, extra) + 1) / np.repeat(pieces, extra)
        new = np.repeat(tau[split], extra) + frac * np.repeat(tau[split + 1] - tau[split], extra)
        order = np.argsort(np.concatenate([tau, new]), kind="stable")
        tau = np.concatenate([tau, new])[order]
        u = np.concatenate([u, _decision_curve(new, w, activation, sigma)])[order]
    rows_in = np.flatnonzero(inside)
    pairs = np.flatnonzero(np.diff(rows_in) == 1)  # neighbouring rows that both meet the box
    if pairs.size == 0:
        return empty
    t = np.linspace(0.0, 1.0, cols)
    along = t0[rows_in, None] + t * (t1 - t0)[rows_in, None]  # (r, cols)
    verts = base[rows_in, None, :] + along[..., None] * null
    a = (pairs[:, None] * cols + np.arange(cols - 1)).ravel()
    faces = np.concatenate([np.stack([a, a + 1, a + cols], axis=1), np.stack([a + 1, a + cols + 1, a + cols], axis=1)])
    return verts.reshape(-1, 3).astype(np.float32), faces.astype(np.uint32)


def surface_presence(w: Weights, h1: np.ndarray, activation: str = "tanh") -> float:
    """How much the k = 3 decision surface is there to see, in [0, 1]: its opacity's factor.

    The surface spans act's whole range box, while the sheet (lift points h1 (n, 3), e.g. the data
    and a coarse grid) may fill a corner of it: early in training the surface was a huge pink plane
    beside a small sheet, and it popped in and out as the decision line grazed the box. The factor
    is (the share of the surface's area that lies within the sheet's bounding box) times (that
    area against 0.4 of the box's largest cross-section, capped at 1), so it is 0 where no surface
    exists and grows continuously with the weights as it comes to cut through the sheet.
    """
    verts, faces = decision_surface(w, activation, rows=24, cols=6)
    if len(faces) == 0:
        return 0.0
    tri = verts[faces].astype(np.float64)  # (f, 3, 3)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    lo, hi = np.min(h1, axis=0), np.max(h1, axis=0)
    pad = 0.05 * (hi - lo).max()
    centre = tri.mean(axis=1)
    inside = area[np.all((centre >= lo - pad) & (centre <= hi + pad), axis=1)].sum()
    total = area.sum()
    extent = np.sort(hi - lo + 2 * pad)
    cross_section = extent[1] * extent[2]
    if total <= 0 or cross_section <= 0:
        return 0.0
    return float(inside / total * min(1.0, inside / (0.4 * cross_section)))


def _decision_curve(tau: np.ndarray, w: Weights, activation: str, sigma: np.ndarray) -> np.ndarray:
    """Points u (m, 2) of the decision curve w3 . act(u + b2) + b3 = 0 with sigma . u = tau (m,).

    On the line u = tau sigma / |sigma|^2 + x p (p perpendicular to sigma) the logit decreases
    strictly in x, so bisection finds the crossing. The bracket reaches past where both units
    saturate: a crossing beyond it is far outside the box's image, where no row is kept anyway.
    """
    p = np.array([-sigma[1], sigma[0]])
    origin = tau[:, None] * sigma / (sigma @ sigma)
    half = 2 * np.abs(tau).max(initial=0.0) + np.abs(w.b2).max() + 40.0
    a, b = np.full(len(tau), -half), np.full(len(tau), half)
    for _ in range(52):
        x = 0.5 * (a + b)
        above = act(activation, origin + x[:, None] * p + w.b2) @ w.w3 + float(w.b3) > 0
        a, b = np.where(above, x, a), np.where(above, b, x)
    return origin + (0.5 * (a + b))[:, None] * p


def _clip_lines(base: np.ndarray, direction: np.ndarray, lo: float, hi: float):
    """Parameter ranges (t0, t1) of the lines base (m, 3) + t direction inside [lo, hi]^3.

    t1 <= t0 where a line misses the box (Liang-Barsky, vectorized over lines).
    """
    t0, t1 = np.full(len(base), -np.inf), np.full(len(base), np.inf)
    for p, v in zip(base.T, direction):
        if abs(v) < 1e-15:
            t1 = np.where((p < lo) | (p > hi), -np.inf, t1)
            continue
        a, b = (lo - p) / v, (hi - p) / v
        t0, t1 = np.maximum(t0, np.minimum(a, b)), np.minimum(t1, np.maximum(a, b))
    return t0, t1


def _may_meet_box(ua: np.ndarray, ub: np.ndarray, W2: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Whether the rectangles with corners ua, ub (m, 2) meet W2's image of the box [lo, hi]^3.

    The decision curve is monotone in each coordinate, so between two of its points it stays in
    their rectangle: False proves that no row between them meets the box. Separating-axis test
    (exact for convex polygons) on the rectangle's axes and the normals of the image's edges.
    """
    axes = np.vstack([np.eye(2), np.stack([-W2[1], W2[0]], axis=1)])  # (5, 2)
    centre, radius = W2.sum(axis=1) * (lo + hi) / 2, np.abs(axes @ W2).sum(axis=1) * (hi - lo) / 2
    middle, half = (ua + ub) / 2, np.abs(ub - ua) / 2
    distance = np.abs((middle - centre) @ axes.T)  # (m, 5)
    reach = radius + half @ np.abs(axes).T
    return np.all(distance <= reach * (1 + 1e-9) + 1e-12, axis=1)


@dataclass(frozen=True)
class Projection:
    """Affine map lift (R^k) -> 3-D view: y = M (h1 - center). M is (3, k), center (k,)."""

    M: np.ndarray
    center: np.ndarray
    explained: float = 1.0  # share of the lift's variance the 3-D view keeps (k = 4's PCA; else 1)

    def __call__(self, h1: np.ndarray) -> np.ndarray:
        return (np.asarray(h1, dtype=np.float64) - self.center) @ self.M.T

    def padded(self) -> tuple[np.ndarray, np.ndarray]:
        """(M as 3 x 4 with zero columns past k, center as 4) in float32, for the shaders."""
        M4 = np.zeros((3, 4), np.float32)
        M4[:, : self.M.shape[1]] = self.M
        c4 = np.zeros(4, np.float32)
        c4[: self.center.size] = self.center
        return M4, c4


def lift_projection(h1: np.ndarray) -> Projection:
    """The fixed lift -> 3-D map for a run, from sample lift points h1 (n, k).

    k = 2: the flat sheet at z = 0; k = 3: the identity; k = 4: PCA of h1 (its top three principal
    axes, each signed so that its largest component is positive, which keeps it deterministic).
    """
    h1 = np.asarray(h1, dtype=np.float64)
    k = h1.shape[-1]
    if k == 2:
        return Projection(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), np.zeros(2))
    if k == 3:
        return Projection(np.eye(3), np.zeros(3))
    center = h1.mean(axis=0)
    _, sv, vt = np.linalg.svd(h1 - center, full_matrices=False)
    M = vt[:3]
    flip = np.sign(M[np.arange(3), np.abs(M).argmax(axis=1)])
    total = float((sv**2).sum())
    return Projection(M * flip[:, None], center, float((sv[:3] ** 2).sum()) / total if total > 0 else 1.0)


# ---------------------------------------------------------------- the input plane


def input_extent(X: np.ndarray, margin: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """A square (lo (2,), hi (2,)) around the data with a margin, the domain of the sheet."""
    X = np.asarray(X, dtype=np.float64)
    a, b = X.min(axis=0), X.max(axis=0)
    center, half = (a + b) / 2, (b - a).max() / 2 * (1 + margin)
    half = max(half, 1e-3)
    return center - half, center + half


def input_mesh(n: int, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """An n x n grid over the input square [lo, hi]: (vertices (n*n, 2) float32, faces uint32).

    Faces are two counter-clockwise triangles per cell (seen from +z in the input plane).
    """
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    xs = np.linspace(lo[0], hi[0], n)
    ys = np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)  # row r is y = ys[r]
    verts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    r, c = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (r * n + c).ravel()
    faces = np.concatenate([np.stack([a, a + 1, a + n + 1], axis=1), np.stack([a, a + n + 1, a + n], axis=1)]).astype(
        np.uint32
    )
    return verts, faces


# ---------------------------------------------------------------- anatomy: the forward pass in stages

#: The stages of the forward pass, 0..7, as the anatomy shows them (docs/design.md, "Anatomy"):
#: what stage i is, and (for i >= 1) the move from stage i - 1 that made it; "{act}" is the
#: activation's name. Stages 0..3 live in the lift's 3-D view, 4..7 in the plane z = 0 of it.
STAGES = (
    ("x, the input plane", None),
    ("W1 x", "stretch and rotate by W1"),
    ("W1 x + b1", "shift by b1"),
    ("h1 = {act}(W1 x + b1)", "bend by {act}"),
    ("W2 h1", "collapse to 2-D by W2"),
    ("W2 h1 + b2", "shift by b2"),
    ("h2 = {act}(W2 h1 + b2)", "bend by {act}"),
    ("h2 split by the decision line", "cut by the line w3 . h2 + b3 = 0"),
)
LAST_STAGE = len(STAGES) - 1  # 7
LIFT_STAGE = 3  # h1: the stage today's lift panel shows
PLANE_STAGE = 6  # h2: the stage the plane panel shows


def check_stage(s) -> float:
    """s as a float in [0, LAST_STAGE], or ValueError naming the range."""
    if (
        isinstance(s, bool)
        or not isinstance(s, (int, float, np.integer, np.floating))
        or not np.isfinite(s)
        or not 0 <= s <= LAST_STAGE
    ):
        raise ValueError(f"stage must be a number from 0 to {LAST_STAGE}, got {s!r}")
    return float(s)


def stage_name(s: float, activation: str = "tanh") -> tuple[str, str]:
    """(what the picture shows at stage s, the move under way or just made) in words.

    At a whole s = i the move is the one that made stage i ("" at 0); at a fraction it is the move
    from floor(s) to the next stage.
    """
    s = check_stage(s)
    i = int(np.floor(s))
    moving = s > i
    state = STAGES[min(i + 1, LAST_STAGE) if moving else i][0]
    move = STAGES[i + 1][1] if moving else (STAGES[i][1] or "")
    return state.format(act=activation), move.format(act=activation)


def stage_positions(w: Weights, X: np.ndarray, projection: Projection, activation: str = "tanh") -> np.ndarray:
    """Every stage's position of points X (n, 2) in the lift's 3-D view: (8, n, 3) float64.

    The embedding (the same in shaders/anatomy.glsl):

    - stage 0, the input: x laid flat in the view's first two axes, through the image of R^k's
      origin, ``projection(0) + (x1, x2, 0)``. For k = 2 and 3 (projection: [I; 0] and I, centre 0)
      that is x embedded as (x1, x2, 0, ...) in R^k; for k = 4 the square lies flat in the PCA
      view's (PC1, PC2) plane, so the move to W1 x is W1 seen through the projection, with no
      shift of its own.
    - stages 1..3 (W1 x, W1 x + b1, h1) are points of R^k through the run's fixed projection
      (stage 3 is exactly what the lift panel draws).
    - stages 4..6 (W2 h1, W2 h1 + b2, h2) are points of R^2, shown in the view's plane z = 0
      (x, y as in the plane panel): the move 3 -> 4 collapses the sheet onto that plane.
    - stage 7 (the cut) keeps stage 6's positions: the decision line is drawn, nothing moves.
    """
    w = w.astype(np.float64)
    X = np.asarray(X, np.float64)
    flat = lambda u: np.column_stack([u, np.zeros(len(u))])  # noqa: E731  R^2 -> the plane z = 0
    a = X @ w.W1.T
    z1 = a + w.b1
    h1 = act(activation, z1)
    u = h1 @ w.W2.T
    z2 = u + w.b2
    h2 = act(activation, z2)
    origin = projection(np.zeros((1, w.hidden)))
    return np.stack(
        [origin + flat(X), projection(a), projection(z1), projection(h1), flat(u), flat(z2), flat(h2), flat(h2)]
    )


def stage_points(w: Weights, X: np.ndarray, s: float, projection: Projection, activation: str = "tanh") -> np.ndarray:
    """Positions (n, 3) float64 in the lift's 3-D view of points X (n, 2) at stage s in [0, 7].

    Linear in position between consecutive stages (``stage_positions``): from stage i to i + 1,
    (1 - a) P_i + a P_{i+1} with a = s - i. For the activation moves (2 -> 3, 5 -> 6) that is
    (1 - a) t + a act(t) of the pre-activation t, seen through the view.
    """
    s = check_stage(s)
    P = stage_positions(w, X, projection, activation)
    i = min(int(np.floor(s)), LAST_STAGE - 1)
    a = s - i
    return (1.0 - a) * P[i] + a * P[i + 1]
