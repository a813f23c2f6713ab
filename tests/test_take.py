"""A window's recording (deform3d.video.take): the played path resampled at a fixed frame rate, and
rendered through the one frame pipeline, so its frames are the offscreen Renderer's at each state."""

from __future__ import annotations

import numpy as np
import pytest

from deform3d.core.config import RenderConfig
from deform3d.video.take import Take, render_take


def test_a_take_resamples_the_played_path_at_its_frame_rate():
    # Played for 1 s: the step from 0 to 30 in the first half, then held; the camera turned through 360.
    take = Take([(10.0, 0, 350, 20, None), (10.5, 30, 10, 30, None), (11.0, 30, 40, 30, None)], fps=30)
    assert len(take) == 31 and take.duration == pytest.approx(31 / 30)
    s = [take.state(i) for i in range(len(take))]
    assert s[0].step == 0 and s[15].step == 30 and s[30].step == 30
    assert s[7].step == pytest.approx(14.0)
    assert s[15].azimuth == pytest.approx(370.0), "azimuth unwrapped: 350 -> 10 turns on through 360"
    assert s[30].azimuth == pytest.approx(400.0) and s[30].elevation == 30 and s[30].distance is None
    steps = [f.step for f in s[:16]]
    assert len(set(steps)) == 16, "every frame of the played part is its own moment"
    with pytest.raises(IndexError):
        take.state(31)


@pytest.mark.gl
def test_render_take_draws_each_frame_as_the_renderer_draws_that_state(gl_app, short_run, tmp_path):
    import imageio_ffmpeg

    from deform3d.graphics.offscreen import Renderer

    def read_png(path):  # any PNG filter (the recorder's encoder uses them all), decoded by ffmpeg
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        return np.frombuffer(next(reader), np.uint8).reshape(meta["size"][1], meta["size"][0], 3)

    take = Take([(0.0, 0, -50, 24, None), (0.2, 40, -30, 24, None)], fps=15)
    view = RenderConfig(size=(160, 90), mesh=32)
    out = render_take(short_run, take, view, tmp_path / "frames/")
    files = sorted(out.glob("*.png"))
    assert len(files) == len(take) == 4
    with Renderer(short_run, view) as r:
        for path, state in zip(files, take):
            want = r.frame(state.step, state.azimuth, state.elevation, state.distance)
            np.testing.assert_array_equal(read_png(path), want)
    assert len({read_png(p).tobytes() for p in files}) == 4
