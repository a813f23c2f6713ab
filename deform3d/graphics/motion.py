"""Frames while a view moves: the reduced twin of a scene, for the notebook Viewer.

(The window reduces its own scene instead: scene._Canvas draws it at 1 / MOTION_DIVISOR of the
canvas's resolution into a framebuffer and stretches it back, in the window's one GL context.)

Owns: what a motion frame gives up and when the full frame returns. While the view moves (a drag,
playback, a slider, the wheel) the Viewer draws the twin: the same run and options at
1 / MOTION_DIVISOR the scale (every pixel size shrinks with the canvas, so the layout, text and
lines are the full picture's, smaller; the front end stretches the frame back) and a mesh of
1 / (2 MOTION_DIVISOR) the vertices per side (Scene.set_detail), whose triangles are as large in
the twin's pixels as those of half the mesh in the full picture's. On a CPU rasterizer a frame's
cost follows its pixels and its triangles, so that is a quarter of the pixels and a sixteenth of
the triangles. SETTLE_S after the last motion the full
frame follows; a still, a screenshot and ``render`` always get full quality. Imports VisPy (through
``scene``) only when a twin is built, so front ends read the constants at no cost; never torch, Qt
or IPython. Like any scene, the twin is built and drawn on the GL thread of whoever owns the canvas
(graphics.offscreen's gl_call for offscreen canvases).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.config import RenderConfig

if TYPE_CHECKING:
    from ..core.framing import RunGeometry
    from .scene import Scene

MOTION_DIVISOR = 2  # a motion frame's width and height: 1 / MOTION_DIVISOR of the full frame's
SETTLE_S = 0.25  # seconds without motion before the full frame is drawn


def motion_scene(
    run,
    config: RenderConfig,
    scale: float,
    size: tuple[int, int] | None = None,
    app=None,
    geometry: "RunGeometry | None" = None,
) -> "Scene":
    """The reduced twin of ``Scene(run, config, scale=scale, size=size, app=app)``: 1 / MOTION_DIVISOR
    the scale (a fractional scale is fine) and the coarse mesh (at least 32 vertices a side). ``geometry``: the full scene's
    (``scene.geo``), shared so that nothing about the run is computed twice."""
    from .scene import Scene

    twin = Scene(run, config, scale=scale / MOTION_DIVISOR, app=app, size=size, geometry=geometry)
    twin.set_detail(False, coarse=max(32, (twin.mesh or 0) // (2 * MOTION_DIVISOR)))
    return twin


def draw(scene: "Scene", step, azimuth, elevation, distance):
    """``scene`` at (step, camera), as an (h, w, 3) uint8 array: one framing, a kept framebuffer."""
    scene.set_view(step, azimuth, elevation, distance)
    return scene.render_frame()
