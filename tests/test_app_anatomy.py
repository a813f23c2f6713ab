"""The window's anatomy control, driven for real (Xvfb, xdotool; see test_app.py): the a key turns
the anatomy on (a new frame is drawn) and off, [ and ] step through the stages."""

from __future__ import annotations

import pytest

from test_app import Window, display, run_file  # noqa: F401 (fixtures)

pytestmark = pytest.mark.gl


def test_a_toggles_the_anatomy_and_comma_and_period_step_through_the_stages(display, run_file, tmp_path):  # noqa: F811
    w = Window(display, [str(run_file)], tmp_path)
    try:
        assert w.settle()["stage"] is None
        frames = w.state()["frames"]
        w.key("a")
        s = w.wait(lambda s: s["stage"] == 0.0 and s["frames"] > frames, what="a: the anatomy at stage 0")
        for want in (1.0, 2.0, 3.0):
            w.key("period")
            s = w.wait(lambda s: s["stage"] == want, what=f"]: stage {want:g}")
        w.key("comma")
        w.wait(lambda s: s["stage"] == 2.0, what="[: back to stage 2")
        w.key("a")
        w.wait(lambda s: s["stage"] is None, what="a: the lift again")
        w.key("ctrl+q")
        assert w.proc.wait(30) == 0, w.log()
    finally:
        w.close()
