"""First contact (issue 15): doctor, the command line's conventions, one version, the package's files.

``deform3d doctor`` through the real command (a subprocess, with the environment changed to take a
piece away); the parser's conventions checked on every command at once, so a command added later
inherits the check; the rest are facts about the installed package.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

import deform3d
from deform3d.cli import SHORT, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def doctor(*args, env=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "deform3d", "doctor", *args], capture_output=True, text=True,
                          timeout=120, env=env)


# ---------------------------------------------------------------- doctor


def test_doctor_says_what_a_bug_report_needs_and_exits_0(egl):
    done = doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    assert done.stderr == "" and "Traceback" not in text
    assert f"deform3d {version('deform3d')}, Python" in text
    for name in ("numpy", "torch", "vispy"):
        assert re.search(rf"\b{name} \d+\.\d+", text), (name, text)
    assert re.search(r"CPU: \d+ cores, \d+ torch threads", text), text
    gl = re.search(r"GL \(headless, EGL\): (.+) / (.+) / (.+); software renderer: (yes|no)", text)
    assert gl, text
    assert (gl[4] == "yes") == bool(re.search(r"llvmpipe|softpipe|swrast", gl[2], re.I)), gl[0]
    assert re.search(r"ffmpeg: /\S+ \(ffmpeg version \S+", text), text
    assert re.search(r"show \(window\): (available|unavailable: .+)", text), text
    assert text.splitlines()[-1] == "render and record can work"
    assert len(text.splitlines()) <= 8  # a few lines, pasted into a bug report whole


def test_doctor_without_ffmpeg_exits_1_naming_it(monkeypatch, capsys):
    # In this process (the command's main, as `python -m deform3d` runs it): ffmpeg is looked up per call.
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/nonexistent")
    assert main(["doctor"]) == 1
    out, err = capsys.readouterr()
    assert "ffmpeg: none: " in out and "Traceback" not in out + err
    last = out.splitlines()[-1]
    assert last.startswith("render/record cannot work: missing ffmpeg") and "IMAGEIO_FFMPEG_EXE=/nonexistent" in last, last
    assert main(["doctor", "-q"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "missing ffmpeg" in err, err


def test_doctor_without_egl_exits_1_naming_it():
    # Mesa's EGL cannot initialise the X11 platform with no display: the same path as no EGL at all.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(EGL_PLATFORM="x11", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "deform3d", "doctor"], capture_output=True, text=True,
                          timeout=120, env=env)
    if done.returncode == 0:
        pytest.skip("this EGL renders even when told to use X11 with no display")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "GL (headless, EGL): none: " in done.stdout, done.stdout
    assert "missing EGL" in done.stdout.splitlines()[-1] and "install" in done.stdout.splitlines()[-1]
    assert "Traceback" not in done.stdout + done.stderr


# ---------------------------------------------------------------- the command line's conventions


def commands():
    return build_parser().commands


def options(parser) -> dict[str, list[str]]:
    """Each option's dest -> its option strings."""
    return {a.dest: a.option_strings for a in parser._actions if a.option_strings}


def test_short_flags_mean_the_same_on_every_command():
    for name, parser in commands().items():
        opts = options(parser)
        for dest, short in SHORT.items():
            if dest in opts:
                assert short in opts[dest], f"{name}: --{dest} without {short}"
            else:
                taken = [d for d, o in opts.items() if short in o]
                assert not taken, f"{name}: {short} means --{taken[0]}, elsewhere --{dest}"


def test_every_command_takes_quiet():
    for name, parser in commands().items():
        assert "-q" in options(parser).get("quiet", []), f"{name} has no -q/--quiet"


@pytest.mark.parametrize("argv, unknown, hint", [
    (["train", "--epoch", "3", "-o", "x.npz"], "--epoch", "did you mean --epochs?"),
    (["record", "r.npz", "--dur", "3", "-o", "x.mp4"], "--dur", "did you mean --duration?"),
    (["render", "r.npz", "--colour", "red", "-o", "x.png"], "--colour", None),
])
def test_options_are_never_abbreviated_and_an_unknown_one_prints_its_commands_usage(argv, unknown, hint, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: deform3d {argv[0]} "), err  # that command's usage, not the top level's
    last = err.splitlines()[-1]
    assert last.startswith(f"deform3d {argv[0]}: error: unrecognized option {unknown}"), last
    assert hint is None or hint in last, last
    assert "Traceback" not in err


# ---------------------------------------------------------------- one version, the package's files


def test_the_version_has_one_source():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project.get("dynamic", [])
    assert deform3d.__version__ == version("deform3d") == project["version"]
    done = subprocess.run([sys.executable, "-m", "deform3d", "--version"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == f"deform3d {project['version']}"
    assert not re.search(r"__version__\s*=\s*['\"]", (ROOT / "deform3d/core/__init__.py").read_text())


def test_license_changelog_and_py_typed_ship():
    assert (ROOT / "deform3d" / "py.typed").is_file()  # hatch packages all of deform3d/: it ships in the wheel
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "MIT"
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")


def test_repr_of_a_run_is_one_line(short_run):
    text = repr(short_run)
    assert "\n" not in text and len(text) < 160, text
    assert text == (f"<Trajectory k=3 tanh circles: 70 steps, 10 epochs, final loss {float(short_run.loss[-1]):.3g}, "
                    f"accuracy {100 * float(short_run.accuracy[-1]):.1f}%>")


def test_notebook_is_an_attribute_without_an_import():
    code = "import deform3d, sys; m = deform3d.notebook; print(m.__name__, callable(m.Viewer), 'notebook' in dir(deform3d))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["deform3d.notebook", "True", "True"]
