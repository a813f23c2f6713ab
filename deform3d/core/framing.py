"""What stays fixed for a whole animation of a run: its input domain and mesh, the lift's
projection to 3-D, the panels' boxes and the grid's spacing. Every picture of a run (a still, a
video's frames, the window, the notebook viewer) is framed by this, so they agree.

Owns: RunGeometry and nice_step. numpy math on a recorded run (geometry's functions): no GL, no
torch, so a test or a benchmark can frame a run without a context.
"""

from __future__ import annotations

import math

import numpy as np

from .config import MESH_STILL
from .geometry import ACTIVATION_RANGE, forward, input_extent, input_mesh, lift_projection
from .trajectory import Trajectory


def nice_step(span: float, lines: int = 10) -> float:
    """A round grid spacing (1, 2, 2.5 or 5 x 10^n) giving about ``lines`` lines over ``span``."""
    raw = span / lines
    mag = 10 ** math.floor(math.log10(raw))
    return mag * min((1, 2, 2.5, 5, 10), key=lambda m: abs(m * mag - raw))


#: The largest coordinate a picture draws. A run past it is diverging (a live run at a huge learning
#: rate: weights of 1e9 and more on their way to NaN) and is drawn up to the step before: cameras
#: framing such extents overflow float32.
MAX_EXTENT = 1e6


def drawable(f) -> bool:
    """Whether a forward pass ``f`` (geometry.forward over a sample of the sheet) can be drawn: all
    of it finite and within MAX_EXTENT."""
    with np.errstate(invalid="ignore"):
        return bool(np.abs(f.h1).max() <= MAX_EXTENT and np.abs(f.h2).max() <= MAX_EXTENT)


class RunGeometry:
    """What stays fixed for a whole animation of a run: domain, mesh, projection, boxes."""

    def __init__(self, run: Trajectory, mesh: int = MESH_STILL):
        self.run = run
        self.k, self.activation = run.hidden, run.activation
        self.lo, self.hi = input_extent(run.X)
        self.vertices, self.faces = input_mesh(mesh, self.lo, self.hi)
        # Framed on the final step; a live run that diverged, on the last step that can be drawn.
        sample = np.concatenate([run.X, input_mesh(48, self.lo, self.hi)[0]])
        step = run.last_finite_step
        with np.errstate(over="ignore", invalid="ignore"):
            f = forward(run.weights[step], sample, self.activation)
            while step > 0 and not drawable(f):
                step -= 1
                f = forward(run.weights[step], sample, self.activation)
        self.frame_step = step  # the step framed on (and a scene's first picture)
        self.projection = lift_projection(f.h1)
        lo, hi = ACTIVATION_RANGE[self.activation]
        if not np.isfinite(hi):  # relu: unbounded; frame the final run's extent
            hi = float(max(np.abs(f.h1).max(), np.abs(f.h2).max(), 1e-3)) * 1.1
        self.plane_range = (lo, hi)
        if self.k == 4:
            r = float(np.abs(self.projection(f.h1)).max()) * 1.05
            self.lift_box = (np.full(3, -r), np.full(3, r))
        else:
            self.lift_box = (
                np.array([lo, lo, lo if self.k == 3 else 0.0]),
                np.array([hi, hi, hi if self.k == 3 else 0.0]),
            )
        self.grid_step = nice_step(float(self.hi[0] - self.lo[0]))
        # The sheet, sparsely, for what each frame asks of where it is (cameras that follow it, the
        # decision surface's presence): a 17 x 17 lattice (its edge included: the sheet's extremes
        # lie on it or near) and every data point (each must stay whole in view).
        self.sheet_sample = np.concatenate([input_mesh(17, self.lo, self.hi)[0], run.X])

    def box_corners(self) -> np.ndarray:
        """The 8 corners (8, 3) of the lift's box in the 3-D panel's coordinates."""
        lo, hi = self.lift_box
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


# ---------------------------------------------------------------- a video's camera that avoids edge-on views

#: The follow camera fills this share of the lift's view in the sheet's tighter direction
#: (graphics.scene.FILL); the steering below keeps the sheet's width at least STEER_WIDTH of the
#: view's in its orthographic model (perspective and markers make the picture differ a little, so
#: this aims above the 45% a frame must show).
STEER_FILL = 0.94
STEER_WIDTH = 0.5
STEER_REACH = 90.0  # degrees: the farthest the camera turns away from its orbit's azimuth
STEER_RISE = 40.0  # degrees: the most it rises above the orbit's elevation (a tall sheet, seen from higher)
STEER_SMOOTH_S = 1.0  # seconds: the Gaussian that makes the turn as calm as the orbit itself


def screen_axes(azimuth, elevation) -> tuple[np.ndarray, np.ndarray]:
    """The lift camera's screen right and up directions in lift coordinates (degrees in; VisPy's
    turntable with +z up, orthographic: tests/test_layout.py checks them against the real camera).
    Angles: scalars or arrays of one shape; each direction gains a last axis of 3."""
    a, e = np.broadcast_arrays(
        np.radians(np.asarray(azimuth, np.float64)), np.radians(np.asarray(elevation, np.float64))
    )
    right = np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], -1)
    up = np.stack([-np.sin(a) * np.sin(e), np.cos(a) * np.sin(e), np.cos(e)], -1)
    return right, up


def width_share(points: np.ndarray, azimuth, elevation, aspect: float):
    """The share of a view (``aspect`` = width / height) that ``points`` (n, 3) span across, once
    the follow camera has zoomed them to fill STEER_FILL of it in their tighter direction. Angles
    in degrees: scalars (a float back) or arrays of one shape (an array back)."""
    right, up = screen_axes(azimuth, elevation)
    shape = right.shape[:-1]
    w = np.ptp(points @ right.reshape(-1, 3).T, axis=0)
    h = np.ptp(points @ up.reshape(-1, 3).T, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = STEER_FILL * np.minimum(1.0, np.where(h > 0, w / h / aspect, np.where(w > 0, np.inf, 0.0)))
    return float(out[0]) if not shape else out.reshape(shape)


def steer_camera(
    points: list[np.ndarray], azimuth: np.ndarray, elevation: np.ndarray, aspect: float, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (degrees, one per frame) to add to a video camera's azimuth and elevation so that the
    sheet is never seen edge-on: a sheet standing on end, met side-on by a steady orbit, would fill
    the view's height and a sliver of its width. ``points[i]``: the sheet's sample in the lift's 3-D
    coordinates at frame i; ``azimuth``, ``elevation``: the orbit's angles at each frame.

    The turns (azimuth within STEER_REACH in 5 degree steps; a rise of up to STEER_RISE in 8 degree
    steps, for a sheet too tall to look wide from any side at the orbit's height) are one path
    chosen for the whole video by dynamic programming: each frame shows the sheet at least
    STEER_WIDTH wide where any turn can, turns are small, and they change little from frame to frame
    (so the camera keeps to one side of the sheet). The path is then smoothed over STEER_SMOOTH_S,
    pushing out where smoothing would undo a needed turn. Zero wherever the orbit already sees the
    sheet broadly, so most videos are not changed at all.
    """
    n = len(points)
    zeros = (np.zeros(n), np.zeros(n))

    def share(i: int, da: float, de: float) -> float:
        return width_share(points[i], azimuth[i] + da, min(elevation[i] + de, 89.0), aspect)

    if min(share(i, 0.0, 0.0) for i in range(n)) >= STEER_WIDTH:
        return zeros
    da, de = np.meshgrid(np.arange(-STEER_REACH, STEER_REACH + 1e-9, 5.0), np.arange(0.0, STEER_RISE + 1e-9, 8.0))
    da, de = da.ravel(), de.ravel()
    shares = np.array(
        [width_share(points[i], azimuth[i] + da, np.minimum(elevation[i] + de, 89.0), aspect) for i in range(n)]
    )
    # Aim above STEER_WIDTH: smoothing the path costs a little of what each frame's turn achieves.
    best = np.minimum(shares.max(axis=1), STEER_WIDTH + 0.08)  # what each frame can reach at all
    unary = (np.abs(da) / STEER_REACH + 1.5 * de / STEER_RISE)[None, :] + 100.0 * np.maximum(
        best[:, None] - shares, 0.0
    )
    pair = 0.02 * ((da[:, None] - da[None, :]) ** 2 + 2.0 * (de[:, None] - de[None, :]) ** 2)  # [from, to]
    total, back = unary[0].copy(), np.zeros((n, len(da)), np.intp)
    for i in range(1, n):
        step = total[:, None] + pair
        back[i] = np.argmin(step, axis=0)
        total = unary[i] + step[back[i], np.arange(len(da))]
    path = np.empty(n, np.intp)
    path[-1] = int(np.argmin(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    raw = np.stack([da[path], de[path]])

    sigma = max(STEER_SMOOTH_S * fps, 1.0)
    half = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum()

    def smooth(x: np.ndarray) -> np.ndarray:
        return np.stack([np.convolve(np.pad(r, half, mode="edge"), kernel, mode="valid") for r in x])

    def worst(x: np.ndarray) -> float:  # the narrowest frame's shortfall against what it could show
        return max(min(best[i], STEER_WIDTH) - share(i, *x[:, i]) for i in range(n))

    target = raw.copy()
    out = keep = smooth(target)
    for _ in range(12):  # smoothing flattens each turn's peak: push those frames out and smooth again
        short = [i for i in range(n) if share(i, *out[:, i]) < min(best[i], STEER_WIDTH) - 1e-3]
        if not short:
            break
        for i in short:
            target[:, i] += 0.5 * (raw[:, i] - out[:, i])
        target[0] = np.clip(target[0], -2 * STEER_REACH, 2 * STEER_REACH)
        target[1] = np.clip(target[1], 0.0, 2 * STEER_RISE)
        out = smooth(target)
        keep = out if worst(out) < worst(keep) else keep
    out = keep
    out[1] = np.clip(out[1], 0.0, np.maximum(89.0 - elevation, 0.0))
    return out[0], out[1]
