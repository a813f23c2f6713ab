"""The anatomy through a real EGL context: the shaders' stages (anatomy.glsl) against the numpy
reference (geometry.stage_points), the lift at stage 3, and uniforms-only frames.

Pixels are found by colour, as in test_render.py (whose hand-made runs and helpers are reused), and
compared with where ``geometry`` puts the points, mapped through VisPy's own transforms.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from deform3d.core.config import RenderConfig
from deform3d.core.geometry import stage_points
from deform3d.graphics.offscreen import Renderer
from deform3d.graphics.scene import THEMES
from test_render import (MISMATCH_RATIO, NETS, POINTS, TOLERANCE, GlirLog, _network_buffer_ids, hand_run, panel_box,
                         reference_run, sprite_centre, weights)

pytestmark = [pytest.mark.gl, pytest.mark.usefixtures("gl_app")]

STAGES = (0, 0.5, 1, 1.5, 2, 2.7, 3, 3.4, 4, 4.25, 5, 5.5, 6, 6.5, 7)
MARKERS = RenderConfig(size=(480, 360), ssaa=1, panels=("lift",), grid=False, tint=False, folds=False, surface=False,
                       legend=False, mesh=64)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_markers_land_on_the_numpy_stage_positions_at_every_stage(k):
    w = weights(**NETS[k])
    run = hand_run([w], POINTS[k])
    theme = THEMES["light"]
    checked = Counter()
    with Renderer(run, MARKERS) as r:
        for s in STAGES:
            img = r.frame(stage=s)
            at = r.scene.pixels("lift", stage_points(w, run.X, s, r.scene.geo.projection, run.activation))
            gaps = np.linalg.norm(at[:, None] - at[None], axis=-1) + 1e9 * np.eye(len(at))
            alone = gaps.min(axis=1) >= 12  # sprites that overlap no other can be found by colour
            assert alone.sum() >= len(at) // 2, f"k={k} s={s}: test set-up, most sprites overlap"
            x0, y0, x1, y1 = panel_box(r.scene, "lift")
            inside = (at[:, 0] > x0 + 6) & (at[:, 0] < x1 - 6) & (at[:, 1] > y0 + 6) & (at[:, 1] < y1 - 6)
            assert inside.all(), f"k={k} s={s}: the stage's framing left points outside the view: {at[~inside].round(1)}"
            for i in np.flatnonzero(alone):
                colour = theme.class1 if run.y[i] else theme.class0
                centre, count = sprite_centre(img, at[i], colour)
                assert count >= 3, f"k={k} s={s}: no sprite of point {i} near {at[i].round(1)}"
                error = np.linalg.norm(centre - at[i])
                assert error <= 1.5, f"k={k} s={s}: sprite {i} at {centre.round(2)}, geometry says {at[i].round(2)}"
                checked[s] += 1
    assert len(checked) == len(STAGES)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_stage_3_is_today_s_lift_of_the_same_step(k):
    run = reference_run(k)
    cfg = RenderConfig(size=(480, 270), ssaa=2, panels=("lift", "plane"))
    step = run.num_steps // 3
    with Renderer(run, cfg) as r:
        lift = r.frame(step)
        box = panel_box(r.scene, "lift")
        staged = r.frame(step, stage=3)
        r.scene.set_stage(None)
        back = r.frame(step)
    # (pixel boxes at ssaa 2 are in the doubled canvas; the picture is downsampled by 2)
    x0, y0, x1, y1 = (v // 2 for v in box)
    a, b = lift[y0:y1, x0:x1].astype(int), staged[y0:y1, x0:x1].astype(int)
    bad = np.any(np.abs(a - b) > TOLERANCE, axis=-1)
    assert bad.mean() <= MISMATCH_RATIO, f"k={k}: stage 3 differs from the lift in {100 * bad.mean():.2f}% of pixels"
    assert np.array_equal(lift, back), "leaving the anatomy did not give the lift back"
    assert not np.array_equal(lift[:y0], staged[:y0]), "the title should name the stage"


def test_stages_change_the_picture_continuously():
    run = hand_run([weights(**NETS[3])], POINTS[3])
    with Renderer(run, MARKERS) as r:
        frames = {s: r.frame(stage=s).astype(int) for s in (2.0, 2.02, 2.5)}
    near = np.abs(frames[2.0] - frames[2.02]).mean()
    far = np.abs(frames[2.0] - frames[2.5]).mean()
    assert 0 < near < far / 5, (near, far)


def test_anatomy_frames_upload_no_vertex_data_and_traffic_does_not_grow_with_the_mesh():
    k, n_points = 3, 400
    X = np.random.default_rng(0).uniform(-1, 1, (n_points, 2))
    run = hand_run([weights(**NETS[k]), weights(**NETS[k])], X)
    traffic = {}
    for mesh in (16, 128):
        cfg = RenderConfig(size=(320, 180), ssaa=1, panels=("lift", "plane"), mesh=mesh)
        with Renderer(run, cfg) as r:
            log = GlirLog(r.scene.canvas)
            try:
                ours = set()
                for s in (0, 7, 3):  # every anatomy visual drawn once: its one-time uploads
                    r.frame(stage=s)
                    ours |= _network_buffer_ids(r.scene)
                assert ours <= {i for _, i, _ in log.take()}
                per_frame = []
                for step, s in ((1, 0.0), (1, 0.5), (0.5, 1.0), (1, 2.5), (1, 3.0), (1, 3.5), (1, 4.0), (0, 5.5),
                                (1, 6.0), (1, 6.5), (1, 7.0)):
                    r.frame(step, stage=s)
                    uploads = log.take()
                    assert not [u for u in uploads if u[1] in ours], f"stage {s}: re-uploaded vertex data"
                    per_frame.append(sum(b for c, _, b in uploads if c == "DATA"))
            finally:
                log.close()
        traffic[mesh] = per_frame
    assert traffic[16] == traffic[128], traffic
    assert max(traffic[128]) < 32 * 1024, traffic


def _plane_pixels_of_the_anatomy(k: int, stage: float, line: bool):
    """(plane panel, the anatomy at ``stage`` with its camera set to map the plane z = 0 exactly as
    the plane panel does): two pictures of one size, their boxes' furniture hidden."""
    from vispy.scene.visuals import Line

    from test_render import bare, hide
    from deform3d.graphics.visuals import HalfPlaneVisual

    run = reference_run(k)
    step = run.num_steps // 2
    base = dict(size=(400, 400), ssaa=1, legend=False, framing="fixed")
    with Renderer(run, RenderConfig(panels=("plane",), **base)) as r:
        bare(r.scene)
        hide(r.scene, "plane", Line)  # the frame: the anatomy draws none
        if not line:
            hide(r.scene, "plane", HalfPlaneVisual)
        plane = r.frame(step)
        corners = np.array([[-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
        want = r.scene.pixels("plane", corners)
        box = panel_box(r.scene, "plane")
    with Renderer(run, RenderConfig(panels=("lift",), **base)) as r:
        r.frame(step, stage=stage)
        cam = r.scene.views["lift"].camera
        assert (cam.elevation, cam.fov) == (90.0, 0.0), "the 2-D stages are seen straight down"
        assert panel_box(r.scene, "lift") == box, "test set-up: one panel of one size in both"
        for _ in range(3):  # aim and zoom the (orthographic) camera onto the plane panel's mapping
            got = r.scene.pixels("lift", corners)
            cam.scale_factor *= np.linalg.norm(got[1] - got[0]) / np.linalg.norm(want[1] - want[0])
            got = r.scene.pixels("lift", corners)
            per_px = 2.0 / np.linalg.norm(got[1] - got[0])
            shift = (got[0] - want[0]) * per_px
            cam.center = (cam.center[0] + shift[0], cam.center[1] - shift[1], 0.0)
        got = r.scene.pixels("lift", corners)
        assert np.abs(got - want).max() < 0.05, (got, want)
        anatomy = r.frame()
    x0, y0, x1, y1 = box
    return plane[y0:y1, x0:x1].astype(int), anatomy[y0:y1, x0:x1].astype(int)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("stage, line", [(6, False), (7, True)])
def test_stage_6_is_the_plane_panel_s_sheet_and_7_adds_its_line(k, stage, line):
    plane, anatomy = _plane_pixels_of_the_anatomy(k, stage, line)
    bad = np.any(np.abs(plane - anatomy) > TOLERANCE, axis=-1)
    assert bad.mean() <= MISMATCH_RATIO, f"k={k} s={stage}: {100 * bad.mean():.2f}% of pixels differ from the plane panel"
    assert np.abs(plane - anatomy).max(axis=-1).mean() < 2
