"""The anatomy on the command line: ``render --stage S`` and ``record --anatomy``, and their bad input
(one line on stderr, exit 2, nothing written). Videos are tiny and decoded with the bundled ffmpeg.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from test_cli_record import FPS, H, TINY, TRAIN, W, cli, decode, ok, probe
from test_cli_render import png_header

pytestmark = [pytest.mark.gl]


@pytest.fixture(scope="module")
def run_npz(gl_app, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    ok(cli("train", *TRAIN, "--quiet", "--out", "run.npz", cwd=folder))
    return folder / "run.npz"


def refused(p, match: str) -> None:
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert lines[0].startswith("deform3d") and match in lines[0], lines[0]
    assert p.stdout == ""


def test_render_stage_draws_that_stage(run_npz, tmp_path):
    small = ["--size", "160x96", "--mesh", "32", "--ssaa", "1"]
    for s in ("0", "2.5", "7"):
        p = ok(cli("render", run_npz, "--out", f"s{s}.png", "--stage", s, *small, cwd=tmp_path))
        assert f"stage {float(s):g} of 7" in p.stdout
        assert png_header(tmp_path / f"s{s}.png")[:2] == (160, 96)
    ok(cli("render", run_npz, "--out", "lift.png", *small, cwd=tmp_path))
    sizes = {n: (tmp_path / n).read_bytes() for n in ("s0.png", "s2.5.png", "s7.png", "lift.png")}
    assert len(set(sizes.values())) == 4, "each stage should draw a picture of its own"


@pytest.mark.parametrize("value, match", [("8", "--stage"), ("-0.5", "--stage"), ("abc", "--stage"), ("nan", "--stage"),
                                          ("inf", "--stage")])
def test_render_refuses_a_stage_outside_0_7_or_not_a_number(run_npz, tmp_path, value, match):
    refused(cli("render", run_npz, "--out", "x.png", f"--stage={value}", cwd=tmp_path), match)
    assert list(tmp_path.iterdir()) == []


def test_render_stage_needs_the_lift_panel(run_npz, tmp_path):
    refused(cli("render", run_npz, "--out", "x.png", "--stage", "2", "--panels", "plane", cwd=tmp_path), "lift")


def test_record_anatomy_runs_through_the_stages_with_holds_and_stage_time_codes(run_npz, tmp_path):
    p = ok(cli("record", run_npz, "--anatomy", "--epoch", "1", "--out", "a.mp4", "--timecodes", "a.csv", *TINY,
               cwd=tmp_path))
    assert "the anatomy at step 7" in p.stdout  # epoch 1 of a run of 7 steps an epoch
    assert probe(tmp_path / "a.mp4")["size"] == (W, H)
    frames = decode(tmp_path / "a.mp4")
    assert len(frames) == round(FPS * 1.2)
    with open(tmp_path / "a.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    stages = np.array([float(r["stage"]) for r in rows])
    assert len(rows) == len(frames) and {float(r["step"]) for r in rows} == {7.0}
    assert stages[0] == 0 and stages[-1] == 7 and np.all(np.diff(stages) >= 0), stages
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2


@pytest.mark.parametrize("options, match", [
    (["--anatomy", "--pace", "linear"], "--pace"),
    (["--anatomy", "--camera", "cam.toml"], "--camera"),
    (["--anatomy", "--stage", "2"], "--stage"),
    (["--anatomy", "--step", "1", "--epoch", "1"], "only one of"),
    (["--step", "3"], "--anatomy"),
    (["--stage", "9"], "--stage"),
])
def test_record_refuses_options_that_make_no_sense_with_the_anatomy_before_training(tmp_path, options, match):
    (tmp_path / "cam.toml").write_text("[[keyframe]]\nt = 0\nazimuth = 0\nelevation = 10\ndistance = 7\n"
                                       "[[keyframe]]\nt = 1\nazimuth = 9\nelevation = 10\ndistance = 7\n")
    p = cli("record", "--out", "x.mp4", *TINY, *options, "--epochs", "1000000", cwd=tmp_path, timeout=60)
    refused(p, match)
    assert sorted(q.name for q in tmp_path.iterdir()) == ["cam.toml"]


def test_record_anatomy_refuses_a_moment_outside_the_run(run_npz, tmp_path):
    refused(cli("record", run_npz, "--anatomy", "--step", "99", "--out", "x.mp4", *TINY, cwd=tmp_path), "--step")
    assert list(tmp_path.iterdir()) == []
