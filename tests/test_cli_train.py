"""``deform3d train`` through the real command line (a subprocess, as a user runs it).

Every bad input of issue 2 exits with code 2 and one line on stderr that names the problem, with no
traceback and no file (nor temporary file) left behind. Also: help, reproducibility through files,
and that the command line starts without torch or VisPy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from deform3d.core.config import TrainConfig
from deform3d.core.geometry import Weights
from deform3d.core.trajectory import FORMAT, SCHEMA_VERSION, Trajectory
from folders import unwritable_folder

HEAVY = ("torch", "vispy")


def deform3d(*args, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m deform3d ARGS`` in ``cwd``; stdout and stderr are pipes (not a terminal)."""
    return subprocess.run([sys.executable, "-m", "deform3d", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def write_csv(folder: Path, text: str, name: str = "points.csv") -> str:
    (folder / name).write_text(text)
    return name


def csv_case(text: str, name: str = "points.csv"):
    return lambda d: ["train", "--dataset", write_csv(d, text, name), "--out", "run.npz"]


def train_with(*options):
    return lambda d: ["train", *options, "--out", "run.npz"]


def _binary(d: Path):
    (d / "image.csv").write_bytes(bytes(range(256)) * 4)
    return ["train", "--dataset", "image.csv", "--out", "run.npz"]


def _folder_csv(d: Path):
    (d / "data.csv").mkdir()
    return ["train", "--dataset", "data.csv", "--out", "run.npz"]


def _read_only_folder(d: Path):
    return ["train", "--out", str(unwritable_folder(d) / "run.npz")]


def _out_is_folder(d: Path):
    (d / "run.npz").mkdir()
    return ["train", "--out", "run.npz"]


def _saved_run(d: Path) -> Path:
    """A tiny valid trajectory written without training (no torch in this process)."""
    k, steps = 3, 4
    w = Weights.from_flat(np.random.default_rng(0).normal(size=(steps, 5 * k + 5)).astype(np.float32), k)
    run = Trajectory(w, np.ones(steps, np.float32), np.full(steps, 0.5, np.float32),
                     np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1], np.uint8),
                     {"activation": "tanh", "steps_per_epoch": 1, "hidden": k, "seed": 0,
                      "dataset": "circles", "config": TrainConfig().to_dict()})
    return run.save(d / "good.npz")


def _truncated_npz(d: Path):
    whole = _saved_run(d).read_bytes()
    (d / "good.npz").unlink()
    (d / "cut.npz").write_bytes(whole[: len(whole) // 2])
    return ["render", "cut.npz", "--out", "still.png"]


def _foreign_npz(d: Path):
    np.savez(d / "other.npz", weights=np.zeros(3))
    return ["render", "other.npz", "--out", "still.png"]


def _newer_npz(d: Path):
    good = _saved_run(d)
    with np.load(good) as z:
        arrays = {n: z[n] for n in z.files}
    good.unlink()
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps(dict(meta, format=FORMAT, schema=SCHEMA_VERSION + 1)))
    np.savez(d / "future.npz", **arrays)
    return ["render", "future.npz", "--out", "still.png"]


GOOD_ROWS = "0,0,0\n1,1,1\n2,2,0\n3,3,1\n"

# id: (make the inputs in a fresh folder and return the arguments, words the one line must contain)
BAD_INPUT = {
    "unknown dataset": (train_with("--dataset", "squares"), ["--dataset", "squares"]),
    "missing csv": (train_with("--dataset", "nowhere.csv"), ["nowhere.csv", "does not exist"]),
    "csv is a folder": (_folder_csv, ["data.csv", "folder"]),
    "binary csv": (_binary, ["image.csv", "UTF-8"]),
    "non-numeric cell": (csv_case(GOOD_ROWS + "4,four,0\n"), ["points.csv", "line 5", "non-numeric"]),
    "nan": (csv_case(GOOD_ROWS + "nan,4,0\n"), ["points.csv", "line 5", "NaN"]),
    "inf": (csv_case("x,y,label\n" + GOOD_ROWS + "4,-inf,1\n"), ["points.csv", "line 6", "infinite"]),
    "two columns": (csv_case(GOOD_ROWS + "4,4\n"), ["points.csv", "line 5", "3 columns"]),
    "four columns": (csv_case(GOOD_ROWS + "4,4,0,9\n"), ["points.csv", "line 5", "3 columns"]),
    "one class": (csv_case("0,0,1\n1,1,1\n2,2,1\n"), ["points.csv", "two values", "found 1"]),
    "three classes": (csv_case(GOOD_ROWS + "4,4,2\n"), ["points.csv", "two values", "found 3"]),
    "one point in a class": (csv_case("0,0,0\n1,1,0\n2,2,0\n3,3,1\n"), ["points.csv", "at least 2 points"]),
    "empty csv": (csv_case("x,y,label\n"), ["points.csv", "no data rows"]),
    "k = 1": (train_with("--hidden", "1"), ["--hidden", "2, 3 or 4"]),
    "k = 5": (train_with("--hidden", "5"), ["--hidden", "2, 3 or 4"]),
    "epochs 0": (train_with("--epochs", "0"), ["--epochs", ">= 1"]),
    "epochs -3": (train_with("--epochs", "-3"), ["--epochs", ">= 1"]),
    "lr 0": (train_with("--lr", "0"), ["--lr", "> 0"]),
    "lr -0.1": (train_with("--lr", "-0.1"), ["--lr", "> 0"]),
    "lr nan": (train_with("--lr", "nan"), ["--lr", "finite"]),
    "batch size 0": (train_with("--batch-size", "0"), ["--batch-size", ">= 1"]),
    "batch size -1": (train_with("--batch-size", "-1"), ["--batch-size", ">= 1"]),
    "epochs not a number": (train_with("--epochs", "ten"), ["--epochs", "ten"]),
    "points 1": (train_with("--points", "1"), ["--points", "2..50000"]),
    "momentum 1": (train_with("--momentum", "1"), ["--momentum", "[0, 1)"]),
    "seed -1": (train_with("--seed", "-1"), ["--seed", ">= 0"]),
    "seed 2**64": (train_with("--seed", str(2**64)), ["--seed", "2**64"]),
    "out in a missing folder": (lambda d: ["train", "--out", "nowhere/run.npz"], ["nowhere", "does not exist"]),
    "out in a read-only folder": (_read_only_folder, ["cannot write", "/proc/self" if os.geteuid() == 0 else "locked"]),
    "out is a folder": (_out_is_folder, ["run.npz", "folder"]),
    "no --out": (lambda d: ["train"], ["--out"]),
    "truncated npz": (_truncated_npz, ["cut.npz"]),
    "foreign npz": (_foreign_npz, ["other.npz", "not a deform3d trajectory"]),
    "newer schema": (_newer_npz, ["future.npz", "newer"]),
}


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    """Run every bad-input case at once (each is a separate process; several load torch)."""
    cases = {}
    for name, (make, _) in BAD_INPUT.items():
        folder = tmp_path_factory.mktemp("bad")
        args = make(folder)
        cases[name] = (folder, sorted(p.name for p in folder.iterdir()), args)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(deform3d, *args, cwd=folder) for name, (folder, _, args) in cases.items()}
        return {name: (cases[name][0], cases[name][1], futures[name].result()) for name in cases}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(bad_input_runs, case):
    folder, before, result = bad_input_runs[case]
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("deform3d") and ": error: " in lines[0], lines[0]  # argparse adds the command
    for word in BAD_INPUT[case][1]:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    assert result.stdout == ""
    # Nothing written, not even a temporary file: the folder holds exactly what the case put there.
    assert sorted(p.name for p in folder.iterdir()) == before
    if os.geteuid() == 0 and case == "out in a read-only folder":
        assert not Path("/proc/self/run.npz").exists()


def test_train_writes_a_run_and_says_where(tmp_path):
    result = deform3d("train", "--points", "40", "--epochs", "3", "--hidden", "2", "--activation", "sigmoid",
                      "--optimizer", "sgd", "--lr", "0.5", "--momentum", "0.5", "--batch-size", "16",
                      "--noise", "0.01", "--seed", "7", "--out", "run.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # work under half a second shows no progress (deform3d.progress)
    assert result.stdout.count("\n") == 1 and "run.npz" in result.stdout and "accuracy" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]
    run = Trajectory.load(tmp_path / "run.npz")
    expected = TrainConfig(points=40, epochs=3, hidden=2, activation="sigmoid", optimizer="sgd", lr=0.5,
                           momentum=0.5, batch_size=16, noise=0.01, seed=7)
    assert run.meta["config"] == expected.to_dict()
    assert run.num_steps == 3 * 5 and run.hidden == 2 and run.activation == "sigmoid"
    assert f"{100 * run.accuracy[-1]:.1f}%" in result.stdout


def test_same_seed_gives_identical_files_through_the_cli(tmp_path):
    runs = {"a": ("0",), "b": ("0",), "c": ("1",)}
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = {name: pool.submit(deform3d, "train", "--points", "60", "--epochs", "4", "--seed", seed,
                                  "--out", f"{name}.npz", cwd=tmp_path) for name, (seed,) in runs.items()}
        assert all(f.result().returncode == 0 for f in done.values()), [f.result().stderr for f in done.values()]
    a, b, c = (Trajectory.load(tmp_path / f"{name}.npz") for name in "abc")
    for name in Weights.NAMES:
        assert np.array_equal(getattr(a.weights, name), getattr(b.weights, name)), name
    assert np.array_equal(a.loss, b.loss)
    assert not np.array_equal(a.weights.flat(), c.weights.flat())


def test_help(tmp_path):
    top = deform3d("--help", cwd=tmp_path)
    assert top.returncode == 0 and "train" in top.stdout and top.stderr == ""
    sub = deform3d("train", "--help", cwd=tmp_path)
    assert sub.returncode == 0 and sub.stderr == ""
    for f in fields(TrainConfig):  # every config field is an option: the CLI cannot drift from it
        assert "--" + f.name.replace("_", "-") in sub.stdout, f.name
    assert "--out" in sub.stdout and "--quiet" in sub.stdout


def test_cli_defaults_are_the_config_defaults():
    from deform3d.cli import build_parser, config_from

    args = build_parser().parse_args(["train", "--out", "x.npz"])
    assert config_from(args, TrainConfig) == TrainConfig()


def test_console_script_and_module_agree(tmp_path):
    script = Path(sys.executable).parent / "deform3d"
    if not script.exists():
        pytest.skip("the deform3d console script is not installed beside this python")
    as_script = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    as_module = deform3d("--version", cwd=tmp_path)
    assert as_script.returncode == as_module.returncode == 0
    assert as_script.stdout == as_module.stdout and as_script.stdout.startswith("deform3d ")


def test_import_and_help_load_neither_torch_nor_vispy():
    code = f"""
import sys
import deform3d, deform3d.cli, deform3d.core.config, deform3d.core.geometry, deform3d.core.trajectory, deform3d.core.data
for argv in (["--help"], ["train", "--help"]):
    try:
        deform3d.cli.main(argv)
    except SystemExit as e:
        assert e.code == 0, e.code
print(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
