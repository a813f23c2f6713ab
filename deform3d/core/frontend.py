"""The seam through which a front end lends a run its Jupyter display.

Owns: one slot, filled from above: ``deform3d/__init__.py`` attaches a loader of the notebook front
end (``deform3d.notebook``). ``Trajectory.video`` and ``Trajectory._repr_mimebundle_`` call through
it, so the core names no front end and no import points up (napari's way: a model never imports
its views; a view is attached from outside).

Imports nothing.
"""

from __future__ import annotations

_loader = None


def attach(loader) -> None:
    """Install ``loader``, a function returning an object with ``video(run, path, **options)`` and
    ``repr_mimebundle(run, include, exclude)``; it is called only when a run is displayed."""
    global _loader
    _loader = loader


def notebook():
    """The attached notebook front end (loaded on first use)."""
    return _loader()  # attached by deform3d/__init__.py, which Python runs before any submodule
