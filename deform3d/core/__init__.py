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

# The one place the version is written: pyproject.toml reads it ([tool.hatch.version]), the package
# re-exports it, and a run file records it (trainer.versions) without reaching up to the package.
__version__ = "0.1.0"
