"""Shared fixtures: seeded random weights and one short run from each source (trainer, watch).

Kept small on purpose; GL fixtures are appended below by the rendering tests.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from deform3d.core.geometry import Weights


# Optional extras: with only the test extra installed, tests marked for another one skip, saying
# what to install (pyproject.toml's markers). A test needing a display or a browser skips in its own
# fixture (test_app's display, tests/browser.py), with the reason.
EXTRAS = {
    "qt": (("PySide6",), "needs Qt for Python: pip install 'deform3d[gui]'"),
    "notebook": (("jupyter_rfb", "ipywidgets"), "needs the notebook extra: pip install 'deform3d[notebook]'"),
}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for marker, (modules, reason) in EXTRAS.items():
        if item.get_closest_marker(marker):
            missing = [m for m in modules if importlib.util.find_spec(m) is None]
            if missing:
                pytest.skip(f"{reason} ({', '.join(missing)} not installed)")


@pytest.fixture
def make_weights():
    """``make_weights(k, seed, stack=None, scale=1.5)``: random float32 Weights (optionally a stack).

    The scale is large enough that every activation leaves its linear regime, so tests that compare
    implementations exercise the nonlinearity (and relu's zeros), not just a near-linear map.
    """

    def make(k: int, seed: int = 0, stack: int | None = None, scale: float = 1.5) -> Weights:
        rng = np.random.default_rng(seed)
        lead = () if stack is None else (stack,)
        theta = rng.normal(0.0, scale, lead + (5 * k + 5,)).astype(np.float32)
        return Weights.from_flat(theta, k)

    return make


@pytest.fixture(scope="session")
def short_run():
    """A short real training run (k = 3, tanh, circles): 100 points per class, 10 epochs, 70 steps."""
    from deform3d.core.config import TrainConfig
    from deform3d.core.trainer import train

    return train(TrainConfig(points=100, epochs=10), progress=False)


@pytest.fixture(scope="session")
def watched_run():
    """The same size of run recorded from a plain torch loop by deform3d.watch (tests/loops.py): 70 steps."""
    from loops import watched_run

    return watched_run(points=100, epochs=10)


@pytest.fixture(params=["train", "watch"])
def any_run(request):
    """A run from each source: deform3d's trainer (short_run) and a user's loop (watched_run)."""
    return request.getfixturevalue("short_run" if request.param == "train" else "watched_run")


# ---------------------------------------------------------------- GL (appended by the rendering tests)


@pytest.fixture(scope="module")
def egl():
    """VisPy's EGL application; skips (with the reason) where no EGL exists. A GL that exists but
    fails is an error, never a skip."""
    from deform3d.core.errors import UsageError
    from deform3d.graphics.offscreen import egl_app

    try:
        return egl_app()
    except UsageError as e:
        pytest.skip(f"no OpenGL here: {e}")


@pytest.fixture(scope="module")
def gl_app():
    """VisPy's EGL application with a canvas shown to render; skips (with the reason) where no GL exists.

    Only a missing EGL skips (deform3d.core.errors.UsageError from egl_app); a GL that exists but fails to
    render is an error, never a skip. Tests that use this are marked ``@pytest.mark.gl``.
    """
    from deform3d.core.errors import UsageError
    from deform3d.graphics.offscreen import egl_app

    try:
        app = egl_app()
    except UsageError as e:
        pytest.skip(f"no OpenGL here: {e}")
    from vispy import scene

    canvas = scene.SceneCanvas(size=(16, 16), app=app, show=False, bgcolor="white")
    try:
        assert canvas.render(alpha=False).shape == (16, 16, 3)
    finally:
        canvas.close()
    return app
