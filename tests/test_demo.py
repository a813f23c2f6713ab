"""The main job, ``deform3d demo``, through the real command line at a tiny size.

It trains the three full default networks (k = 2, 3, 4 on the circles, 100 epochs: about a second
each) and records a short, small video of each and of the three side by side, so this checks both what is written (three
decodable videos of the right length, three runs, a contact sheet) and that the runs tell the
story the videos are for: two hidden units cannot separate the circles, three and four can.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_cli_record import decode, gl, hidden_files, png_size, probe  # noqa: F401 (gl: a fixture)

pytestmark = pytest.mark.gl

ROOT = Path(__file__).resolve().parents[1]
W, H, FPS, SECONDS = 160, 96, 8, 1.5
N = 12  # fps x duration
TINY = ["--quality", "low", "--size", f"{W}x{H}", "--fps", str(FPS), "--duration", str(SECONDS),
        "--mesh", "32", "--ssaa", "1", "--hold-start", "0.2", "--hold-end", "0.3", "--quiet"]
STILL = (960, 540)  # each final frame on the contact sheet


@pytest.fixture(scope="module")
def demo(gl, tmp_path_factory):
    """(output folder, finished process) of one tiny demo run."""
    out = tmp_path_factory.mktemp("demo") / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "deform3d", "demo", "--out", str(out), *TINY],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return out, p


def test_demo_writes_three_videos_three_runs_and_a_contact_sheet(demo):
    out, p = demo
    names = [f"circles-k{k}{ext}" for k in (2, 3, 4) for ext in (".mp4", ".npz", "-anatomy.mp4")]
    names += ["contact-sheet.png", "circles-k2-k3-k4.mp4"]
    assert sorted(os.listdir(out)) == sorted(names)
    assert hidden_files(out) == []
    for k in (2, 3, 4):
        video = out / f"circles-k{k}.mp4"
        info = probe(video)
        assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (W, H))
        frames = decode(video)
        assert len(frames) == N == round(FPS * SECONDS)
        assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2  # it trains on screen
    assert png_size(out / "contact-sheet.png") == (3 * STILL[0], STILL[1])


def test_demo_writes_the_anatomy_of_each_trained_network(demo):
    out, p = demo
    for k in (2, 3, 4):
        video = out / f"circles-k{k}-anatomy.mp4"
        assert probe(video)["size"] == (W, H)
        frames = decode(video)
        assert len(frames) == N
        # The input plane first, the plane cut by the line last: the two pictures differ.
        assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2
        assert re.search(rf"^k={k}: its anatomy, the forward pass in stages -> .*circles-k{k}-anatomy\.mp4$", p.stdout, re.M), \
            p.stdout


def test_demo_writes_the_three_side_by_side(demo):
    out, p = demo
    video = out / "circles-k2-k3-k4.mp4"
    info = probe(video)
    assert (info["codec"], info["size"]) == ("h264", (W, H))
    frames = decode(video)
    assert len(frames) == N
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2  # it trains on screen
    assert re.search(r"^k = 2 \| 3 \| 4 side by side -> .*circles-k2-k3-k4\.mp4$", p.stdout, re.M), p.stdout


def test_demo_runs_tell_the_story(demo):
    from deform3d.core.trajectory import Trajectory

    out, p = demo
    acc = {}
    for k in (2, 3, 4):
        run = Trajectory.load(out / f"circles-k{k}.npz")
        assert (run.hidden, run.meta["config"]["epochs"], run.meta["dataset"]) == (k, 100, "circles")
        acc[k] = float(run.accuracy[-1])
    assert acc[2] < 0.95, acc  # 2 units: no straight line separates the circles on the plane
    assert acc[3] >= 0.99 and acc[4] >= 0.99, acc
    # What it says is what it wrote: one line per network with its final accuracy.
    for k in (2, 3, 4):
        m = re.search(rf"^k={k}: final accuracy +([\d.]+)%.*circles-k{k}\.mp4$", p.stdout, re.M)
        assert m, p.stdout
        assert abs(float(m[1]) - 100 * acc[k]) <= 0.05
    assert p.stdout.rstrip().endswith("contact-sheet.png")
