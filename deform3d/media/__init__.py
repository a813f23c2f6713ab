"""Layer 2, media: frames to files. Beside ``graphics``, independent of it.

Owns: ``timeline`` (video time -> training step and camera: pacing, holds, orbit, keyframes),
``anatomy`` (video time -> the stage of the forward pass shown, at one step) and ``recorder`` (frames piped to the bundled ffmpeg, written atomically).

May import: ``deform3d.core`` (not its torch modules), numpy, scipy and imageio-ffmpeg. Never
VisPy, torch, Qt, nor ``graphics`` (a recorder takes frames from whoever renders them), ``ui`` or
the front ends. This ``__init__`` imports nothing.
"""
