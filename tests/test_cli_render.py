"""``deform3d render``: a PNG of the asked size for the asked moment, or one line on stderr and exit 2.

Most cases call ``deform3d.cli.main`` in-process (fast; an unexpected exception fails the test
with its traceback); two run the installed entry point in a subprocess, as a user would.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from deform3d.cli import main
from deform3d.core.geometry import Weights
from deform3d.core.trajectory import Trajectory

pytestmark = [pytest.mark.gl, pytest.mark.usefixtures("gl_app")]

STEPS, PER_EPOCH = 4, 2


def png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from a PNG's signature and IHDR chunk."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0], "IHDR checksum"
    assert data.endswith(b"IEND\xaeB`\x82"), "the PNG is cut short"
    return width, height, depth, colour


@pytest.fixture(scope="module")
def run_path(tmp_path_factory) -> Path:
    """A hand-made k = 3 run: 4 steps whose weights all differ, 2 steps per epoch, 6 points."""
    rng = np.random.default_rng(7)
    theta = np.cumsum(rng.normal(0, 0.4, (STEPS + 1, 20)), axis=0).astype(np.float32)
    X = np.array([[-1, -1], [1, 1], [0.5, -0.5], [-0.5, 0.5], [0, 0.8], [0.8, 0]], np.float32)
    run = Trajectory(Weights.from_flat(theta, 3), np.linspace(0.7, 0.2, STEPS + 1).astype(np.float32),
                     np.linspace(0.5, 1.0, STEPS + 1).astype(np.float32), X, np.array([0, 1, 0, 1, 0, 1], np.uint8),
                     {"activation": "tanh", "hidden": 3, "steps_per_epoch": PER_EPOCH, "dataset": "hand-made"})
    return run.save(tmp_path_factory.mktemp("run") / "run.npz")


def cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


FAST = ("--mesh", "32", "--size", "96x64")


# ---------------------------------------------------------------- what it writes


def test_render_writes_a_png_of_the_asked_size(run_path, tmp_path, capsys):
    out = tmp_path / "still.png"
    code, stdout, err = cli(capsys, "render", run_path, "--out", out, "--size", "120x72", "--mesh", "32")
    assert (code, err) == (0, "")
    assert png_header(out) == (120, 72, 8, 2)  # 8-bit RGB
    assert f"step {STEPS} of {STEPS}" in stdout and str(out) in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["still.png"], "no temporary files left behind"


def test_step_epoch_and_at_each_pick_their_moment(run_path, tmp_path, capsys):
    def render(name, *when):
        code, _, err = cli(capsys, "render", run_path, "--out", tmp_path / name, *FAST, *when)
        assert (code, err) == (0, ""), when
        assert png_header(tmp_path / name)[:2] == (96, 64)
        return (tmp_path / name).read_bytes()

    last = render("last.png")  # no moment given: the last step
    # The same moment named three ways gives the same picture; another moment, another one.
    one_epoch = render("epoch1.png", "--epoch", 1)
    assert render("step2.png", "--step", PER_EPOCH) == one_epoch
    assert render("at-half.png", "--at", 0.5) == one_epoch  # 0.5 of 4 steps = step 2
    assert one_epoch != last
    assert render("step0.5.png", "--step", 0.5) not in (one_epoch, last)  # fractions interpolate


def test_render_options_reach_the_picture(run_path, tmp_path, capsys):
    def render(name, *options):
        code, _, err = cli(capsys, "render", run_path, "--out", tmp_path / name, *FAST, *options)
        assert (code, err) == (0, ""), options
        return (tmp_path / name).read_bytes()

    base = render("base.png")
    for options in (("--theme", "dark"), ("--panels", "plane,input"), ("--azimuth", "30")):
        assert render("x.png", *options) != base, options
    assert png_header(tmp_path / "x.png")[:2] == (96, 64)


def test_a_run_from_either_source_renders_alike_from_memory_and_from_its_file(any_run, tmp_path, capsys):
    # any_run: deform3d's trainer, or a user's loop recorded by deform3d.watch (conftest.py). The
    # command on the saved file draws exactly what the API draws from the run in memory.
    import deform3d
    from pngs import read_png

    path = any_run.save(tmp_path / "run.npz")
    code, stdout, err = cli(capsys, "render", path, "--out", tmp_path / "epoch1.png", *FAST, "--epoch", 1)
    assert (code, err) == (0, "") and f"step 7 of {any_run.num_steps}" in stdout
    from_file = read_png(tmp_path / "epoch1.png")
    assert from_file.shape == (64, 96, 3)
    assert np.array_equal(from_file, deform3d.render(any_run, epoch=1, size=(96, 64), mesh=32))
    assert not np.array_equal(from_file, deform3d.render(any_run, size=(96, 64), mesh=32))  # it trained


# ---------------------------------------------------------------- bad input: exit 2, one line, nothing written


def _truncated(run_path: Path, folder: Path) -> Path:
    bad = folder / "truncated.npz"
    data = run_path.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    return bad


BAD = {
    "missing run": (lambda run, d: [d / "nope.npz", "--out", d / "x.png"], "nope.npz"),
    "truncated run": (lambda run, d: [_truncated(run, d), "--out", d / "x.png"], "truncated.npz"),
    "not a png": (lambda run, d: [run, "--out", d / "x.jpg"], ".png"),
    "step past the end": (lambda run, d: [run, "--out", d / "x.png", "--step", STEPS + 1], "--step"),
    "negative step": (lambda run, d: [run, "--out", d / "x.png", "--step=-1"], "--step"),
    "epoch past the end": (lambda run, d: [run, "--out", d / "x.png", "--epoch", 3], "--epoch"),
    "at past 1": (lambda run, d: [run, "--out", d / "x.png", "--at", 1.5], "--at"),
    "negative at": (lambda run, d: [run, "--out", d / "x.png", "--at=-0.1"], "--at"),
    "step and epoch": (lambda run, d: [run, "--out", d / "x.png", "--step", 1, "--epoch", 1], "only one"),
    "step and at": (lambda run, d: [run, "--out", d / "x.png", "--step", 1, "--at", 0.5], "only one"),
    "size 0x0": (lambda run, d: [run, "--out", d / "x.png", "--size", "0x0"], "size"),
    "size 0": (lambda run, d: [run, "--out", d / "x.png", "--size", "0"], "size"),
    "negative size": (lambda run, d: [run, "--out", d / "x.png", "--size=-5x10"], "size"),
    "size 9000x10": (lambda run, d: [run, "--out", d / "x.png", "--size", "9000x10"], "size"),
    "size abc": (lambda run, d: [run, "--out", d / "x.png", "--size", "abc"], "size"),
    "unknown panel": (lambda run, d: [run, "--out", d / "x.png", "--panels", "lift,side"], "panels"),
    "unknown theme": (lambda run, d: [run, "--out", d / "x.png", "--theme", "neon"], "theme"),
    "missing folder": (lambda run, d: [run, "--out", d / "no" / "such" / "x.png"], "does not exist"),
    "out is a folder": (lambda run, d: [run, "--out", d / "folder.png"], "folder"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case, run_path, tmp_path, capsys):
    make_args, expect = BAD[case]
    (tmp_path / "folder.png").mkdir()
    args = make_args(run_path, tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, out, err = cli(capsys, "render", *args, *FAST[:2])
    assert code == 2, (case, out, err)
    assert re.match(r"deform3d( render)?: error: ", err) and err.endswith("\n") and err.count("\n") == 1, err
    assert expect in err, err
    assert "Traceback" not in err and out == ""
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, "something was written"


# ---------------------------------------------------------------- the installed command, as a user runs it


def _deform3d(*args, env=None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("deform3d")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "deform3d"]
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=Path(__file__).parent)


def test_the_command_renders_headless_with_no_display_and_no_environment_set_up(run_path, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "EGL_PLATFORM")}
    out = tmp_path / "still.png"
    done = _deform3d("render", run_path, "--out", out, "--at", "0.5", *FAST, env=env)
    assert done.returncode == 0, done.stderr
    assert png_header(out)[:2] == (96, 64)


def test_the_command_fails_in_one_line_without_a_traceback(run_path, tmp_path):
    done = _deform3d("render", tmp_path / "missing.npz", "--out", tmp_path / "x.png")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "missing.npz" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_with_no_usable_egl_it_says_what_to_install(run_path, tmp_path):
    # Mesa's EGL cannot initialise the X11 platform with no display: the same path as no EGL at all.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["EGL_PLATFORM"] = "x11"
    done = _deform3d("render", run_path, "--out", tmp_path / "x.png", *FAST, env=env)
    if done.returncode == 0:
        pytest.skip("this EGL renders even when told to use X11 with no display")
    assert done.returncode == 1, done.stderr  # a runtime fault (this machine lacks EGL), not a usage error
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("deform3d: error:") and "install" in last, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()
