"""The story in time (issue 11): pacing by change, time codes, short videos, and runs side by side.

Pacing is checked where the issue measures it, on the time codes of real default runs; the time
codes are checked against the pixels they name (a step rendered alone must equal the recorded
frame); a comparison's cells against the same epoch, each cell's pixels against its run rendered
alone. Videos go to PNG folders where pixels are compared, so no codec stands between.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from deform3d.core.config import MESH_VIDEO, RecordConfig, RenderConfig, TrainConfig
from deform3d.core.geometry import Weights
from deform3d.video.pipeline import TIMECODE_COLUMNS, read_timecodes, states, write_timecodes
from deform3d.media.timeline import CHANGE_CAP, CHANGE_FLOOR, Timeline, change_clock
from deform3d.core.trajectory import Trajectory
from pngs import read_png
from test_cli_record import cli, decode, gl, ok  # noqa: F401 (gl: a fixture)

# ---------------------------------------------------------------- pacing by change


def burst_run(n: int = 300, burst=(120, 150), spe: int = 10) -> Trajectory:
    """A synthetic run that stands still but for a burst of change between two steps."""
    rng = np.random.default_rng(0)
    a, b = (rng.normal(size=5 * 3 + 5) for _ in range(2))
    s = np.clip((np.arange(n + 1) - burst[0]) / (burst[1] - burst[0]), 0, 1)[:, None]
    theta = ((1 - s) * a + s * b).astype(np.float32)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    return Trajectory(Weights.from_flat(theta, 3), np.ones(n + 1, np.float32), np.full(n + 1, 0.5, np.float32), X,
                      (X[:, 0] > 0).astype(np.uint8), {"activation": "tanh", "steps_per_epoch": spe, "dataset": "burst"})


def test_change_clock_spends_the_video_on_the_burst_within_floor_and_cap():
    run = burst_run()
    clock = change_clock(run)
    assert clock.shape == (301,) and clock[0] == 0 and clock[-1] == 1
    share = np.diff(clock)
    assert np.all(share > 0), "a floor: every step advances"
    assert share.max() / share.min() <= CHANGE_CAP / CHANGE_FLOOR + 1e-9
    # The 30 burst steps (a tenth of the run, widened by a quarter epoch of smoothing) take most of it.
    assert clock[155] - clock[115] > 0.6, clock[155] - clock[115]
    assert np.array_equal(change_clock(run), clock), "deterministic"
    # Pacing by that clock: frames land on the burst in proportion.
    tl = Timeline(run.num_steps, 100, 10, "change", 0, 0, clock=clock)
    steps = np.array([s.step for s in tl])
    assert np.mean((steps > 115) & (steps < 155)) > 0.5
    assert steps[0] == 0 and steps[-1] == run.num_steps and np.all(np.diff(steps) >= 0)


def test_a_run_that_never_changes_is_paced_linearly():
    run = burst_run(burst=(400, 500))  # beyond the end: nothing moves
    assert np.allclose(change_clock(run), np.linspace(0, 1, 301))


def test_a_shared_clock_runs_on_epochs_whatever_each_runs_steps():
    # The same burst in epochs 12..15, recorded at 10 and at 20 steps per epoch: one shared clock,
    # and by it every frame shows one epoch in both.
    a, b = burst_run(300, (120, 150), 10), burst_run(600, (240, 300), 20)
    clock = change_clock([a, b])
    assert clock.shape == (601,)
    tl = Timeline.for_runs([a, b], RecordConfig(fps=10, duration=10, size=(160, 96)))
    for f in states([a, b], tl):
        assert f.steps[0] / 10 == pytest.approx(f.steps[1] / 20) == pytest.approx(f.epoch)


TRAINED = {"circles-0": (0, "circles"), "circles-1": (1, "circles"), "circles-2": (2, "circles"),
           "circles-3": (3, "circles"), "circles-4": (4, "circles"), "moons-0": (0, "moons")}


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory) -> dict[str, Path]:
    """The issue's runs at default settings (k = 3, 100 epochs), saved."""
    from deform3d.core.trainer import train

    folder = tmp_path_factory.mktemp("runs")
    return {name: train(TrainConfig(seed=seed, dataset=data), progress=False).save(folder / f"{name}.npz")
            for name, (seed, data) in TRAINED.items()}


def learning_share(rows) -> float:
    acc = np.array([r["accuracy"] for r in rows])
    return float(np.mean((acc >= 0.6) & (acc <= 0.95)))


def test_pace_change_gives_learning_a_fifth_of_the_video(gl, default_runs, tmp_path):
    """Acceptance 1: circles k = 3 seeds 0..4 and moons seed 0, default settings (10 s): the frames
    whose accuracy is between 60% and 95% take at least 20% of the video, read from time codes.
    Two through the command line (a real recording, at a small size: pacing does not depend on it),
    the rest from the same time codes writer over the same timeline."""
    shares, ease = {}, {}
    for name in ("circles-0", "moons-0"):
        ok(cli("record", default_runs[name], "--out", "v/", "--size", "160x96", "--mesh", "32", "--quiet",
               "--timecodes", f"{name}.csv", cwd=tmp_path))
        rows = read_timecodes(tmp_path / f"{name}.csv")
        assert len(rows) == 300 and len(list((tmp_path / "v").iterdir())) == 300
        shares[name] = learning_share(rows)
    for name in TRAINED:
        run = Trajectory.load(default_runs[name])
        for pace, into in (("change", shares), ("ease", ease)):
            if pace == "change" and name in shares:
                continue
            tl = Timeline.for_runs(run, RecordConfig(pace=pace))
            path = write_timecodes(run, states(run, tl), tmp_path / f"{name}-{pace}.csv")
            into[name] = learning_share(read_timecodes(path))
    assert min(shares.values()) >= 0.20, shares
    # The check can fail: ease, the old default, gives circles seed 0 under a tenth.
    assert ease["circles-0"] < 0.10, ease


# ---------------------------------------------------------------- time codes


SMALL = (160, 96)


def differing(a: np.ndarray, b: np.ndarray) -> int:
    """Pixels that differ between two images. A frame rendered alone may differ from the same frame
    rendered in sequence in a few pixels of the heads-up text (VisPy's glyph atlas fills in the
    order texts were shown, and its sampling shifts a little), never elsewhere."""
    return int((np.abs(a.astype(int) - b.astype(int)).sum(axis=-1) > 0).sum())


def test_timecodes_name_what_each_frame_draws(gl, short_run, tmp_path):
    """Acceptance 2: render the step, azimuth, elevation and distance a row names, alone: the pixels
    equal the recorded frame's; a neighbouring row's moment does not."""
    from deform3d import api
    from deform3d.graphics.offscreen import Renderer

    api.record(short_run, tmp_path / "frames/", size=SMALL, fps=10, duration=3, mesh=32, progress=False,
               timecodes=tmp_path / "codes.csv")
    with open(tmp_path / "codes.csv", newline="") as f:
        assert tuple(next(csv.reader(f))) == TIMECODE_COLUMNS
    rows = read_timecodes(tmp_path / "codes.csv")
    assert [r["frame"] for r in rows] == list(range(30))
    assert [r["time_s"] for r in rows] == pytest.approx([i / 10 for i in range(30)])
    assert rows[0]["step"] == 0 and rows[-1]["step"] == short_run.num_steps
    for r in rows:
        i = int(round(r["step"]))
        assert r["epoch"] == pytest.approx(r["step"] / short_run.steps_per_epoch, abs=1e-6)
        assert r["accuracy"] == pytest.approx(short_run.accuracy[i]) and r["loss"] == pytest.approx(short_run.loss[i], rel=1e-5)
    recorded = decode(tmp_path / "frames", *SMALL)
    with Renderer(short_run, RenderConfig(size=SMALL, mesh=32)) as r:
        for n in (0, 9, 14, 29):
            row = rows[n]
            drawn = recorded[n]
            alone = r.frame(row["step"], row["azimuth"], row["elevation"], row["distance"])
            assert differing(alone, drawn) <= 20, f"row {n} does not name what frame {n} shows"
        # The check can fail: the next row's step, at this row's camera, is a different picture.
        wrong = r.frame(rows[10]["step"], rows[9]["azimuth"], rows[9]["elevation"], rows[9]["distance"])
        assert differing(wrong, recorded[9]) > 200


# ---------------------------------------------------------------- short videos


@pytest.mark.parametrize("duration, frames", [(1, 30), (0.5, 15)])
def test_a_short_gif_shrinks_its_holds_to_a_third(gl, default_runs, tmp_path, duration, frames):
    """Acceptance 4: `record r.npz --out clip.gif --duration 1 --size 480x270` works, and 0.5 s."""
    run = default_runs["circles-0"]
    p = ok(cli("record", run, "--out", "clip.gif", "--duration", duration, "--size", "480x270",
               "--timecodes", "codes.csv", cwd=tmp_path))
    assert f"{frames} frames, 480x270" in p.stdout
    assert len(decode(tmp_path / "clip.gif", 480, 270)) == frames
    rows = read_timecodes(tmp_path / "codes.csv")
    steps = np.array([r["step"] for r in rows])
    last = Trajectory.load(run).num_steps
    held = np.sum(steps == 0) - 1 + np.sum(steps == last) - 1  # frames past the first shown still
    assert 0 < held <= (frames - 1) / 3 + 1, (held, steps)
    assert np.sum((steps > 0) & (steps < last)) >= (frames - 1) * 2 / 3 - 1


# ---------------------------------------------------------------- side by side


@pytest.fixture(scope="module")
def three_runs():
    """k = 2, 3, 4 with different batch sizes, so the same epoch is a different step in each."""
    from deform3d.core.trainer import train

    return [train(TrainConfig(hidden=k, points=100, epochs=6, batch_size=b), progress=False)
            for k, b in ((2, 16), (3, 32), (4, 50))]


def test_compare_cells_show_the_same_epoch(gl, three_runs, tmp_path):
    """Acceptance 3 (sync): every frame's cells are at one epoch (time codes), and each cell's
    pixels are its run rendered alone at that epoch's step; the label strips hold text."""
    from deform3d import api
    from deform3d.video.grid import cell_renderer
    from deform3d.video.pipeline import renderer

    size = (480, 270)
    api.compare(three_runs, tmp_path / "grid/", size=size, fps=8, duration=2, progress=False,
                timecodes=tmp_path / "codes.csv")
    rows = read_timecodes(tmp_path / "codes.csv")
    assert len(rows) == 16 * 3
    spe = [r.steps_per_epoch for r in three_runs]
    assert len(set(spe)) == 3, spe
    for frame in range(16):
        cells = [r for r in rows if r["frame"] == frame]
        assert [c["cell"] for c in cells] == [0, 1, 2]
        assert len({round(c["epoch"], 6) for c in cells}) == 1, cells
        for c, s in zip(cells, spe):
            assert c["step"] / s == pytest.approx(c["epoch"], abs=1e-6)
    recorded = decode(tmp_path / "grid", *size)
    grid = renderer(three_runs, RenderConfig(size=size))
    try:
        cell_view = grid.cells[0].config
        x_w = cell_view.size
        for n in (0, 7, 15):
            drawn = recorded[n]
            cells = [r for r in rows if r["frame"] == n]
            for i, c in enumerate(cells):
                x, y = grid.origins[i]
                with cell_renderer(three_runs[i], cell_view) as alone:
                    image = alone.frame(c["step"], c["azimuth"], c["elevation"], c["distance"])
                region = drawn[y + grid.label_h : y + grid.label_h + x_w[1], x : x + x_w[0]]
                assert differing(region, image) <= 20, f"frame {n} cell {i} is not its run at epoch {c['epoch']:.3f}"
                strip = drawn[y : y + grid.label_h, x : x + x_w[0]].astype(int)
                ink = np.abs(strip - strip[0, 0]).sum(axis=2) > 150
                assert ink.sum() > 100, f"frame {n} cell {i}: the label strip is blank"
    finally:
        grid.close()


def test_compare_labels_are_legible_at_720p(gl, three_runs):
    """At 1280x720 each label is text at least 11 px tall (the heads-up line of a lone cell is not),
    naming k, activation, dataset, epoch and accuracy."""
    from deform3d.video.grid import Grid

    with Grid(three_runs, RenderConfig(size=(1280, 720), mesh=32)) as g:
        image = g.frame([r.num_steps for r in three_runs], -50, 24, None)
        for i, run in enumerate(three_runs):
            x, y = g.origins[i]
            strip = image[y : y + g.label_h, x : x + g.cell_size[0]].astype(int)
            ink_rows = np.nonzero((np.abs(strip - strip[0, 0]).sum(axis=2) > 150).any(axis=1))[0]
            assert ink_rows.max() - ink_rows.min() + 1 >= 11, ink_rows
            text = g.label(i, run.num_steps)
            assert f"k = {run.hidden}" in text and "tanh" in text and "circles" in text
            assert f"accuracy   {100 * run.accuracy[-1]:.1f}%" in text and "epoch   6.0" in text
            assert "batch size" in text, "what tells the runs apart is named"


def test_compare_cli_trains_what_the_flags_say_and_writes_a_still(gl, tmp_path):
    p = ok(cli("compare", "--out", "seeds.png", "--size", "320x180", "--mesh", "32", "--seed", "0,1",
               "--epochs", "2", "--quiet", cwd=tmp_path))
    assert "runs side by side -> seeds.png" in p.stdout
    image = read_png(tmp_path / "seeds.png")
    assert image.shape[:2] == (180, 320)


@pytest.mark.parametrize("args, match", [
    (["RUN", "--hidden", "2,3"], r"--hidden: training options are used only when no RUN\.npz is given"),
    (["RUN", "--epoch", "3"], r"--epoch picks a still's moment"),
    (["RUN", "--timecodes", "c.txt"], r"--timecodes must name a \.csv file"),
    (["--hidden", "2,x"], r"--hidden: 'x' is not a valid value"),
    (["--hidden", "2,5"], r"--hidden: must be 2, 3 or 4"),
])
def test_compare_refuses_bad_options_in_one_line(tmp_path, default_runs, args, match):
    import re

    args = [str(default_runs["circles-0"]) if a == "RUN" else a for a in args]
    p = cli("compare", *args, "--out", "x.mp4", "--quiet", cwd=tmp_path, timeout=60)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(match, lines[0]), p.stderr
    assert not (tmp_path / "x.mp4").exists()
