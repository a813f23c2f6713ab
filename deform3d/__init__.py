"""deform3d: see, in 3-D and in motion, how a small neural network bends its input plane.

A network 2 -> k -> 2 -> 1 lifts the input plane into a curved sheet in R^k, projects it onto a
plane and draws a straight decision line there. deform3d trains it (PyTorch), records every step,
and renders the sheet with OpenGL (VisPy): in a window, to video, or headless.

Importing this package imports neither torch nor VisPy; each entry point loads what it needs.
"""

__version__ = "0.1.0"

__all__ = ["train", "render", "record", "demo", "load"]


def __getattr__(name):
    # The API lives in deform3d.api; loading it lazily keeps `import deform3d` free of torch/VisPy.
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'deform3d' has no attribute {name!r}")
