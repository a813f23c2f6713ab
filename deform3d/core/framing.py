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


class RunGeometry:
    """What stays fixed for a whole animation of a run: domain, mesh, projection, boxes."""

    def __init__(self, run: Trajectory, mesh: int = MESH_STILL):
        self.run = run
        self.k, self.activation = run.hidden, run.activation
        self.lo, self.hi = input_extent(run.X)
        self.vertices, self.faces = input_mesh(mesh, self.lo, self.hi)
        final = run.weights[run.num_steps]
        sample = np.concatenate([run.X, input_mesh(48, self.lo, self.hi)[0]])
        f = forward(final, sample, self.activation)
        self.projection = lift_projection(f.h1)
        lo, hi = ACTIVATION_RANGE[self.activation]
        if not np.isfinite(hi):  # relu: unbounded; frame the final run's extent
            hi = float(max(np.abs(f.h1).max(), np.abs(f.h2).max(), 1e-3)) * 1.1
        self.plane_range = (lo, hi)
        if self.k == 4:
            r = float(np.abs(self.projection(f.h1)).max()) * 1.05
            self.lift_box = (np.full(3, -r), np.full(3, r))
        else:
            self.lift_box = (np.array([lo, lo, lo if self.k == 3 else 0.0]), np.array([hi, hi, hi if self.k == 3 else 0.0]))
        self.grid_step = nice_step(float(self.hi[0] - self.lo[0]))
        # The sheet, sparsely, for what each frame asks of where it is (cameras that follow it, the
        # decision surface's presence): a 17 x 17 lattice (its edge included: the sheet's extremes
        # lie on it or near) and every data point (each must stay whole in view).
        self.sheet_sample = np.concatenate([input_mesh(17, self.lo, self.hi)[0], run.X])

    def box_corners(self) -> np.ndarray:
        """The 8 corners (8, 3) of the lift's box in the 3-D panel's coordinates."""
        lo, hi = self.lift_box
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
