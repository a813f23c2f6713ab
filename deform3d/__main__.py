"""``python -m deform3d`` is the ``deform3d`` command."""

from .cli import main

raise SystemExit(main())
