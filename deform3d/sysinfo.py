"""``deform3d doctor`` (``deform3d.doctor()``): what this machine gives each command, in the few lines a bug report needs.

Owns: probing the pieces deform3d stands on (cf. ``vispy.sys_info()``), each in isolation, so one
missing piece is named rather than reported as whatever fails first: the versions of deform3d,
Python, numpy, torch and VisPy; the GL that headless rendering gets through EGL (vendor, renderer,
version, and whether it is a software renderer); whether ``show`` has Qt and a display; the ffmpeg
that recordings use; CPU threads. ``render``/``record`` can work when EGL gives a GL context and
ffmpeg runs: then the exit status is 0, else 1 with the missing piece named on the last line.

Sits just below the API (it asks ui, graphics and media; ``api.doctor`` calls it); it draws nothing
itself. Named sysinfo, not doctor: a submodule named like an API function would shadow it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass

from .core.errors import UsageError

# Renderer strings of GL implementations that rasterise on the CPU.
SOFTWARE = ("llvmpipe", "softpipe", "swrast", "swiftshader", "lavapipe", "software", "basic render driver")


@dataclass
class Report:
    """What ``doctor`` found: ``lines`` to print, and ``missing`` for render/record ([] when both work)."""

    lines: list[str]
    missing: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing


def _version(module: str) -> str:
    try:
        mod = __import__(module)
    except Exception as e:  # a broken install reads as what it is, not as a traceback
        return f"not importable ({type(e).__name__}: {str(e).splitlines()[0][:60] if str(e) else ''})"
    return str(getattr(mod, "__version__", "?"))


def gl_info() -> tuple[str, str, str]:
    """(vendor, renderer, version) of the GL context headless rendering gets; RuntimeFault without EGL."""
    from .graphics.offscreen import egl_app, gl_call

    def probe():
        from vispy import app as vispy_app
        from vispy.gloo import gl

        canvas = vispy_app.Canvas(size=(16, 16), app=egl_app(), show=False)
        try:
            canvas.set_current()
            return tuple(str(gl.glGetParameter(p)) for p in (gl.GL_VENDOR, gl.GL_RENDERER, gl.GL_VERSION))
        finally:
            canvas.close()

    return gl_call(probe)


def is_software(renderer: str) -> bool:
    return any(name in renderer.lower() for name in SOFTWARE)


def ffmpeg_info() -> tuple[str, str]:
    """(path, first line of ``ffmpeg -version``) of the ffmpeg recordings use; RuntimeFault without one."""
    from .core.errors import RuntimeFault
    from .media.recorder import NO_FFMPEG_FIX, ffmpeg_exe

    exe = ffmpeg_exe()
    try:
        done = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeFault(f"ffmpeg at {exe} does not run ({e}); {NO_FFMPEG_FIX}") from None
    first = (done.stdout.splitlines() or [""])[0]
    if done.returncode != 0 or not first.startswith("ffmpeg"):
        raise RuntimeFault(f"ffmpeg at {exe} does not run (exit {done.returncode}); {NO_FFMPEG_FIX}")
    return exe, first.split(" Copyright")[0]


def diagnose() -> Report:
    """Probe everything; never raises for a missing piece (that is what the report is for)."""
    from .core import version

    lines, missing = [], []
    lines.append(
        f"deform3d {version()}, Python {platform.python_version()} on {platform.system()} {platform.machine()}"
    )
    lines.append(f"numpy {_version('numpy')}, torch {_version('torch')}, vispy {_version('vispy')}")
    try:
        import torch

        threads = f"{torch.get_num_threads()} torch threads"
    except Exception:
        threads = "torch not importable"
    lines.append(f"CPU: {os.cpu_count()} cores, {threads}")
    try:
        vendor, renderer, gl_version = gl_info()
        soft = "yes" if is_software(renderer) else "no"
        lines.append(f"GL (headless, EGL): {vendor} / {renderer} / {gl_version}; software renderer: {soft}")
    except UsageError as e:
        lines.append(f"GL (headless, EGL): none: {e}")
        missing.append(
            "EGL (headless OpenGL): install Mesa's EGL (Debian/Ubuntu: apt-get install libegl1 "
            "libegl-mesa0 libgl1-mesa-dri) or a GPU driver"
        )
    except Exception as e:  # a GL that exists but fails: name it, do not hide it behind a traceback
        lines.append(f"GL (headless, EGL): fails: {type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}")
        missing.append("a working EGL context (it exists but fails; see the GL line)")
    try:
        exe, ffmpeg_version = ffmpeg_info()
        lines.append(f"ffmpeg: {exe} ({ffmpeg_version})")
    except UsageError as e:
        lines.append(f"ffmpeg: none: {e}")
        missing.append(f"ffmpeg, which record needs ({e})")
    lines.append(f"show (window): {_gui()}")
    can = "render and record can work" if not missing else f"render/record cannot work: missing {'; '.join(missing)}"
    lines.append(can)
    return Report(lines, missing)


def _gui() -> str:
    from .ui.app import check_gui

    display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
    where = (
        f"display {display}" if display else ("the desktop" if sys.platform in ("darwin", "win32") else "no display")
    )
    try:
        check_gui()
    except UsageError as e:
        return f"unavailable: {e}"
    import PySide6

    return f"available (PySide6 {PySide6.__version__}, {where})"
