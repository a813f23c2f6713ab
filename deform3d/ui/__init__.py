"""Layer 3, ui: the interactive window of ``deform3d show``.

Owns: ``app`` (the checks before any Qt import, and opening the window) and ``window`` (the Qt
widgets: canvas, control bar, training panel, screenshots and recording of what is on screen).

May import: ``core``, ``graphics`` and ``media``, and Qt (PySide6) from ``window`` only, after
``app`` checked that Qt and a display exist. Never the front ends (``api``, ``cli``,
``notebook``). This ``__init__`` imports nothing.
"""
