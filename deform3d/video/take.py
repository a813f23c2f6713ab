"""A window's recording as a video: the path a user played (step and camera over wall-clock time)
rendered offscreen at a fixed frame rate through the one frame pipeline (``video.pipeline.frames``).

Owns: ``Take`` (samples of (time, step, azimuth, elevation, distance) -> a timeline of FrameStates
at ``fps``: what ``frames`` iterates, as it iterates a ``media.timeline.Timeline``), ``render_take``
(take + run + picture options -> an encoded video), and the command a window runs in a child
process (``python -m deform3d.video.take SPEC.json``), which prints ``progress DONE TOTAL`` lines.

Why offscreen and not the window's screen: a window draws when it can (a few frames a second on a
software renderer), so grabbing its frames gives a slideshow; here every video frame is rendered at
its own moment of the path, so every frame differs while the user played or turned the view.

Imports numpy and the light deform3d modules; the renderer (VisPy, EGL) through the pipeline. Never
Qt, never torch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..core.config import RenderConfig
from ..media.timeline import FrameClock, FrameState


class Take(FrameClock):
    """Samples of a played path, resampled at ``fps``: ``len(take)`` frames, ``state(i)``, ``time(i)``.

    ``samples``: rows (t seconds from the start, step, azimuth, elevation, distance or None), t
    increasing. Between samples everything is interpolated linearly (azimuth unwrapped, so a turn
    through 360 stays a turn); the video is as long as the samples span, at least two frames.
    """

    def __init__(self, samples, fps: float):
        rows = sorted((float(s[0]), float(s[1]), float(s[2]), float(s[3]), s[4]) for s in samples)
        if not rows:
            raise ValueError("a take needs at least one sample")
        self.fps = float(fps)
        t = np.array([r[0] for r in rows]) - rows[0][0]
        self._t = t
        self._step = np.array([r[1] for r in rows])
        self._az = np.degrees(np.unwrap(np.radians([r[2] for r in rows])))
        self._el = np.array([r[3] for r in rows])
        d = [r[4] for r in rows]
        self._dist = None if any(v is None for v in d) else np.array(d, np.float64)
        self.frame_count = max(2, int(round(t[-1] * self.fps)) + 1)
        self.num_steps = int(np.ceil(self._step.max()))

    def at(self, t: float) -> FrameState:
        f = lambda a: float(np.interp(t, self._t, a))  # noqa: E731
        return FrameState(f(self._step), f(self._az), f(self._el), None if self._dist is None else f(self._dist))


def render_take(run, take: Take, view: RenderConfig, out, progress=False, text_scale: float = 1.0) -> Path:
    """Render ``take`` of ``run`` (a Trajectory) at ``view`` (its size is the video's) into ``out``
    (.mp4, .webm, .gif or a folder), every frame through ``pipeline.frames``; returns ``out``.
    ``text_scale``: the window's text size, so the video's text is what the window showed."""
    from ..graphics.offscreen import gl_call
    from ..media.recorder import Recorder
    from .pipeline import frames, renderer

    r = renderer(run, view)
    try:
        if text_scale != 1.0:
            gl_call(r.scene.set_text_scale, text_scale)
        with Recorder(out, view.size, take.fps, total=len(take), progress=progress) as video:
            for f in frames(run, take, view, renderer_=r):
                assert f.image is not None  # frames() always draws
                video.write(f.image)
    finally:
        r.close()
    return Path(out)


def _main(spec_path: str) -> int:
    from ..core.errors import UsageError
    from ..core.trajectory import Trajectory

    spec = json.loads(Path(spec_path).read_text())
    try:
        run = Trajectory.load(spec["run"])
        options: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["view"].items()}
        view = RenderConfig(**options)
        take = Take(spec["samples"], spec["fps"])

        def report(done, total):
            print(f"progress {done} {total}", flush=True)

        render_take(run, take, view, spec["out"], progress=report, text_scale=spec.get("text_scale", 1.0))
    except UsageError as e:
        print(f"error {e}", flush=True)
        return 1
    print(f"done {spec['out']} {len(take)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
