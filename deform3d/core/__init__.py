"""Layer 1, the core: the math, the data, the network, training, the run file, and every option.

Owns: ``errors`` (the one user-facing exception), ``config`` (every option and default), ``files``
(atomic writes), ``progress``, ``geometry`` (the numpy reference of the math: every view agrees
with it), ``data`` (datasets), ``model`` and ``trainer`` (torch), ``live`` (training in a thread
that a window watches), ``trajectory`` (the recorded run and its ``.npz`` format), ``frontend``
(the slot through which a layer above lends a run its Jupyter display), ``sweeps`` (a grid of runs
trained in stacks: runs, summary, digest) and ``pool`` (local worker processes).

May import: the standard library, numpy, scipy, torch, and Dask (optional: a sweep on a cluster).
Never VisPy, OpenGL, Qt, IPython, nor any other deform3d layer (``graphics``, ``media``, ``ui``, the
front ends): every other layer reads this one. This ``__init__`` imports nothing, so ``import
deform3d`` stays free of numpy.
"""


# The one source of the version is the package's metadata (pyproject.toml's [project] version, as
# installed): read on first use, so this __init__ still imports nothing at import time.
def version() -> str:
    """deform3d's version, from the installed package's metadata ("0+unknown" when run uninstalled)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        return _version("deform3d")
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name):
    if name == "__version__":  # kept for ``deform3d.__version__`` and older callers
        return version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
