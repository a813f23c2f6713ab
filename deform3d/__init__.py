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
    deform3d.notebook.Viewer(run)                        interactive view in Jupyter (extra: notebook)

In Jupyter a run shows itself as a still; ``run.video()`` embeds a video.

Importing this package imports neither torch nor VisPy; each entry point loads what it needs.
"""

__version__ = "0.1.0"

__all__ = ["train", "render", "record", "compare", "video_plan", "show", "demo", "load", "watch"]


def __dir__():
    # The API is loaded lazily (below), so name it here for dir() and help(deform3d).
    return sorted(set(globals()) | set(__all__))


def __getattr__(name):
    # The API lives in deform3d.api; loading it lazily keeps `import deform3d` free of torch/VisPy.
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'deform3d' has no attribute {name!r}")
