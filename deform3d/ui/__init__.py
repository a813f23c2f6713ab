"""Layer 3, ui: the interactive window of ``deform3d show``.

Owns: ``app`` (the checks before any Qt import, and opening the window), ``playback`` (playing a
run, following a live run, capturing what is shown as video: no Qt, tested without a display),
``widgets`` (the thin Qt control bar and training panel) and ``window`` (the main window: canvas,
shortcuts, screenshots, recording, wiring the widgets to ``playback``).

May import: ``core``, ``graphics`` and ``media``; Qt (PySide6) only in ``widgets`` and ``window``,
which only ``app`` imports, after it checked that Qt and a display exist. Never the front ends (``api``, ``cli``,
``notebook``). This ``__init__`` imports nothing.
"""
