"""deform3d: see, in 3-D and in motion, how a small neural network bends its input plane.

A network 2 -> k -> 2 -> 1 lifts the input plane into a curved sheet in R^k, projects it onto a
plane and draws a straight decision line there. deform3d trains it (PyTorch), records every step,
and renders the sheet with OpenGL (VisPy): in a window, to video, or headless.

The Python API (the CLI is built on it; options and defaults are the CLI's, defined once):

    run = deform3d.train(hidden=3, epochs=100)           -> Trajectory (every step's weights)
    image = deform3d.render(run, epoch=10, size=(960, 540))  -> (H, W, 3) uint8, headless
    deform3d.record(run, "run.mp4", quality="low")       -> Path of the video
    deform3d.compare([r2, r3, r4], "k234.mp4")           -> several runs side by side, same epoch
    plan = deform3d.video_plan("run.mp4", duration=6)    -> a checked VideoPlan: .record(run), .frames(run)
    deform3d.show(run)                                   an interactive window
    deform3d.demo("out/demo")                            k = 2, 3, 4 on the circles
    deform3d.load("run.npz")                             -> Trajectory
    with deform3d.watch(model, optimizer, X, y) as run:  your own torch loop, recorded -> Trajectory
    deform3d.sweep("out/width", hidden=[2, 3], seed=range(32))  many runs, batched; atlas, summary
    deform3d.doctor()                                    -> what this machine gives deform3d (.lines, .ok)
    deform3d.notebook.Viewer(run)                        interactive view in Jupyter (extra: notebook;
                                                         deform3d.notebook loads on first use)

In Jupyter a run shows itself as a still; ``run.video()`` embeds a video.

Importing this package imports neither torch nor VisPy; each entry point loads what it needs.

The package's folders are its layers; imports only point down (import-linter checks it, see
pyproject.toml and docs/design.md):

    api, cli, notebook, __main__   the front ends: Python, shell, Jupyter
    ui                             the Qt window (deform3d show)
    graphics | media               OpenGL drawing | frames to video files (independent)
    core                           math, data, network, training, the run file, options
"""

from .core import frontend as _frontend


def _notebook():
    from . import notebook  # IPython and friends: only when a run is displayed in Jupyter

    return notebook


# The core never imports a front end; the top of the package attaches Jupyter's display to it.
_frontend.attach(_notebook)

__all__ = ["train", "render", "record", "compare", "video_plan", "show", "demo", "load", "watch", "sweep", "doctor"]


def __dir__():
    # The API and the notebook module are loaded lazily (below): name them for dir() and help().
    return sorted(set(globals()) | set(__all__) | {"notebook", "__version__"})


def __getattr__(name):
    # The API lives in deform3d.api; loading it lazily keeps `import deform3d` free of torch/VisPy.
    if name in __all__:
        from . import api

        return getattr(api, name)
    if name == "__version__":  # one source: the installed package's metadata (deform3d.core.version)
        from .core import version

        return version()
    if name == "notebook":  # `deform3d.notebook.Viewer(run)` in a fresh kernel, with no import of it first
        import importlib

        return importlib.import_module(".notebook", __name__)
    raise AttributeError(f"module 'deform3d' has no attribute {name!r}")
