"""Headless rendering through EGL: frames as numpy arrays, with no display and no GPU needed.

Owns: arranging EGL before VisPy loads (Mesa needs ``EGL_PLATFORM=surfaceless``; the user never
sets it), the clear error where no GL exists, supersampling, and the Renderer that turns
(step, camera) into an (H, W, 3) uint8 frame. Imports VisPy lazily; never torch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ..core.config import RenderConfig
from ..core.errors import UsageError
from ..core.files import atomic_path

NO_GL = ("no OpenGL for headless rendering (EGL) was found: install Mesa's EGL "
         "(Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri)")

_app = None


def egl_app():
    """VisPy's EGL application, set up once per process. Raises UsageError where EGL is missing."""
    global _app
    if _app is not None:
        return _app
    if "vispy.app.backends._egl" not in sys.modules:
        # Mesa's EGL fails eglInitialize with no display unless told to go surfaceless.
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    try:
        from vispy import app

        _app = app.Application("egl")
    except Exception as e:  # VisPy raises plain RuntimeError/ImportError/OSError from ctypes here
        raise UsageError(f"{NO_GL} ({str(e).splitlines()[0][:100] if str(e) else type(e).__name__})") from None
    return _app


def downsample(image: np.ndarray, n: int) -> np.ndarray:
    """Average n x n blocks of an (H*n, W*n, C) uint8 image into (H, W, C) uint8."""
    if n == 1:
        return image
    h, w, c = image.shape[0] // n, image.shape[1] // n, image.shape[2]
    blocks = image[: h * n, : w * n].reshape(h, n, w, n, c).astype(np.float32)
    return (blocks.mean(axis=(1, 3)) + 0.5).astype(np.uint8)


class Renderer:
    """Offscreen frames of a run: ``Renderer(run, config).frame(step, azimuth, elevation)``.

    Returns (height, width, 3) uint8 RGB. The scene is built once; each frame sets uniforms and
    renders, so frame cost does not grow on the Python side with mesh size.
    """

    def __init__(self, run, config: RenderConfig = RenderConfig()):
        from .scene import Scene

        self.config = config
        self.ssaa = config.resolved("interactive").ssaa
        self.scene = Scene(run, config, scale=self.ssaa, app=egl_app())

    def frame(self, step: float | None = None, azimuth: float | None = None, elevation: float | None = None,
              distance: float | None = None) -> np.ndarray:
        if step is not None:
            self.scene.set_step(step)
        if azimuth is not None or elevation is not None or distance is not None:
            self.scene.set_camera(azimuth, elevation, distance)
        image = self.scene.canvas.render(alpha=False)
        return downsample(image, self.ssaa)

    def close(self) -> None:
        self.scene.canvas.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def write_png(image: np.ndarray, path) -> Path:
    """Write an (H, W, 3|4) uint8 image as PNG, atomically (a temporary file, then a rename)."""
    from vispy.io import write_png as _write

    with atomic_path(path, suffix=".png") as tmp:
        _write(str(tmp), np.ascontiguousarray(image))
    return Path(path)
