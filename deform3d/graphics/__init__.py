"""Layer 2, graphics: a run drawn with OpenGL through VisPy, on screen or headless (EGL).

Owns: ``glsl`` (the one shader loader; the ``.glsl`` files live in the top-level ``shaders/``),
``visuals`` (the GPU visuals: sheet, half-plane, points, decision surface), ``scene`` (a run's
panels, camera and uniforms for one step), ``offscreen`` (the headless renderer and PNG writer),
``motion`` (the reduced twin of a scene for frames while a view moves) and ``atlas`` (a sweep's pictures: every run's final frame, and the accuracy curves).

May import: ``deform3d.core`` (never its torch modules: a render reads a recorded run), numpy and
VisPy. Never torch, Qt or IPython, nor ``media``, ``ui`` or the front ends. Named ``graphics``,
not ``render``, because ``deform3d.render`` is the API function. This ``__init__`` imports nothing.
"""
