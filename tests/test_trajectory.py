"""The trajectory file (deform3d.core.trajectory): round trip, atomic save, interpolation, and every way a
file can be wrong (truncated, foreign, pickled, newer schema), each a TrajectoryError naming the file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from deform3d.core.errors import UsageError
from deform3d.core.geometry import Weights
from deform3d.core.trajectory import FORMAT, SCHEMA_VERSION, Trajectory, TrajectoryError


def test_round_trip_keeps_every_array_and_the_metadata(any_run, tmp_path):
    # any_run: a run from deform3d's trainer and one from a user's loop (deform3d.watch), alike here.
    path = any_run.save(tmp_path / "run.npz")
    back = Trajectory.load(path)
    assert type(back) is Trajectory
    for name in Weights.NAMES:
        assert np.array_equal(getattr(back.weights, name), getattr(any_run.weights, name)), name
        assert getattr(back.weights, name).dtype == np.float32
    for name in ("loss", "accuracy", "X", "y"):
        assert np.array_equal(getattr(back, name), getattr(any_run, name)), name
    assert back.y.dtype == np.uint8 and back.X.dtype == np.float32
    assert back.meta == dict(any_run.meta, format=FORMAT, schema=SCHEMA_VERSION)
    assert back.num_steps == any_run.num_steps == 70
    assert back.hidden == 3 and back.activation == "tanh" and back.steps_per_epoch == 7
    for key in ("config", "dataset", "activation", "seed", "versions"):
        assert key in back.meta
    assert back.meta["versions"]["numpy"] == np.__version__
    if back.meta.get("source") == "deform3d.watch":  # no TrainConfig made it; the optimizer is named
        assert back.meta["config"] is None and back.meta["optimizer"]["class"] == "torch.optim.adam.Adam"
    else:
        assert back.meta["config"]["hidden"] == 3


def test_metrics_on_first_use_match_the_reference_and_survive_a_file_without_them(tmp_path):
    """Issue 19's format decision: a trained run computes every step's full-dataset metrics on
    first use; a file saved before that has none and computes the same numbers when loaded."""
    from deform3d.core.config import TrainConfig
    from deform3d.core.geometry import metrics
    from deform3d.core.trainer import train

    run = train(TrainConfig(points=100, epochs=4, seed=3), progress=False)
    assert not run.has_metrics
    path = run.save(tmp_path / "lazy.npz", metrics=False)
    with np.load(path) as z:
        assert "loss" not in z.files and "accuracy" not in z.files
    steps = [0, 7, run.num_steps]
    loss_at, acc_at = run.metrics_at(steps)
    assert not run.has_metrics  # a few steps evaluate only those steps
    reference_loss, reference_acc = metrics(run.weights, run.X, run.y)  # float64, every step
    assert np.allclose(run.loss, reference_loss, rtol=1e-5, atol=1e-6)
    assert np.array_equal(run.accuracy, reference_acc.astype(np.float32))
    assert run.loss.dtype == run.accuracy.dtype == np.float32 and run.loss.shape == (run.num_steps + 1,)
    assert np.array_equal(loss_at, run.loss[steps]) and np.array_equal(acc_at, run.accuracy[steps])
    back = Trajectory.load(path)
    assert not back.has_metrics and back.num_steps == run.num_steps
    assert np.array_equal(back.loss, run.loss) and np.array_equal(back.accuracy, run.accuracy)
    fresh = train(TrainConfig(points=100, epochs=4, seed=3), progress=False)
    fresh.save(path)  # by default a file holds them, computed for the save
    assert fresh.has_metrics
    with np.load(path) as z:
        assert np.array_equal(z["loss"], run.loss) and np.array_equal(z["accuracy"], run.accuracy)
    back.save(path, metrics=False)  # known now (computed above): written anyway
    with np.load(path) as z:
        assert np.array_equal(z["loss"], run.loss)


def test_save_leaves_only_the_file(any_run, tmp_path):
    any_run.save(tmp_path / "run.npz")
    any_run.save(tmp_path / "run.npz")  # overwriting is atomic too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_failed_save_keeps_the_old_file_and_leaves_no_temp(short_run, tmp_path, monkeypatch):
    path = short_run.save(tmp_path / "run.npz")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-write

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        short_run.save(path)
    with pytest.raises(KeyboardInterrupt):
        short_run.save(tmp_path / "new.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]
    assert path.read_bytes() == before


def test_weights_at_integer_steps_is_exact(short_run):
    for t in (0, 1, 35, 69, 70):
        w = short_run.weights_at(t)
        for name in Weights.NAMES:
            assert np.array_equal(getattr(w, name), getattr(short_run.weights[t], name))


def test_weights_at_fractional_steps_is_linear(short_run):
    for t in (0.25, 10.5, 69.9):
        i, a = int(t), t - int(t)
        w = short_run.weights_at(t)
        for name in Weights.NAMES:
            w0, w1 = getattr(short_run.weights[i], name), getattr(short_run.weights[i + 1], name)
            np.testing.assert_allclose(getattr(w, name), (1 - a) * w0 + a * w1, rtol=0, atol=1e-6)
            assert getattr(w, name).shape == w0.shape


def test_weights_at_is_clamped_to_the_run(short_run):
    for t, step in ((-3.0, 0), (-0.1, 0), (70.2, 70), (1e9, 70)):
        assert np.array_equal(short_run.weights_at(t).flat(), short_run.weights[step].flat())


def test_epoch_of_each_step(short_run):
    epoch = short_run.epoch
    assert epoch.shape == (71,)
    np.testing.assert_allclose(epoch, np.arange(71) / 7)
    assert epoch[7] == 1.0 and epoch[-1] == 10.0


def test_a_run_of_one_step(tmp_path):
    w = Weights.from_flat(np.arange(2 * 20, dtype=np.float32).reshape(2, 20), 3)
    run = Trajectory(w, np.zeros(2, np.float32), np.ones(2, np.float32), np.zeros((4, 2), np.float32),
                     np.array([0, 1, 0, 1], np.uint8), {"activation": "tanh", "steps_per_epoch": 1})
    np.testing.assert_allclose(run.weights_at(0.5).flat(), np.arange(20) + 10.0)
    assert Trajectory.load(run.save(tmp_path / "one.npz")).num_steps == 1


# ---------------------------------------------------------------- bad files


def assert_names_the_file(error, path):
    message = str(error.value)
    assert str(path) in message, message
    assert "\n" not in message
    assert isinstance(error.value, UsageError)  # so the CLI turns it into exit code 2


def valid_arrays(run: Trajectory) -> dict:
    arrays = {n: getattr(run.weights, n) for n in Weights.NAMES}
    arrays.update(loss=run.loss, accuracy=run.accuracy, X=run.X, y=run.y)
    arrays["meta"] = np.array(json.dumps(dict(run.meta, format=FORMAT, schema=SCHEMA_VERSION)))
    return arrays


def test_truncated_file(short_run, tmp_path):
    whole = short_run.save(tmp_path / "run.npz").read_bytes()
    for size in (len(whole) // 2, len(whole) - 10, 100, 0):
        path = tmp_path / f"cut-{size}.npz"
        path.write_bytes(whole[:size])
        with pytest.raises(TrajectoryError) as e:
            Trajectory.load(path)
        assert_names_the_file(e, path)


@pytest.mark.parametrize(
    "content",
    [
        {"a": np.arange(3)},  # someone else's arrays
        {"meta": np.array("not json"), "W1": np.zeros(3)},
        {"meta": np.array(json.dumps({"format": "other"}))},
        {"meta": np.array(json.dumps([1, 2]))},  # valid JSON, but not our metadata
        {"meta": np.arange(4)},
    ],
    ids=["arrays", "bad-json", "other-format", "json-list", "numeric-meta"],
)
def test_foreign_npz(tmp_path, content):
    path = tmp_path / "foreign.npz"
    np.savez(path, **content)
    with pytest.raises(TrajectoryError) as e:
        Trajectory.load(path)
    assert_names_the_file(e, path)


def test_not_a_zip_at_all(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello\n")
    with pytest.raises(TrajectoryError) as e:
        Trajectory.load(path)
    assert_names_the_file(e, path)


def _drop_b2(a):
    del a["b2"]


DAMAGE = {
    "missing-array": _drop_b2,
    "short-loss": lambda a: a.update(loss=a["loss"][:-3]),
    "scalar-loss": lambda a: a.update(loss=np.float32(0.5)),
    "wrong-W2": lambda a: a.update(W2=a["W2"][:, :, :2]),
    "k-5": lambda a: a.update(W1=np.zeros((71, 5, 2), np.float32)),
    "labels-vs-points": lambda a: a.update(y=a["y"][:-1]),
    "schema-null": lambda a: a.update(meta=np.array(json.dumps({"format": FORMAT, "schema": None}))),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_file(short_run, tmp_path, damage):
    arrays = valid_arrays(short_run)
    DAMAGE[damage](arrays)
    path = tmp_path / "damaged.npz"
    np.savez(path, **arrays)
    with pytest.raises(TrajectoryError) as e:
        Trajectory.load(path)
    assert_names_the_file(e, path)


def test_newer_schema(short_run, tmp_path):
    arrays = valid_arrays(short_run)
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps(dict(meta, schema=SCHEMA_VERSION + 1)))
    path = tmp_path / "future.npz"
    np.savez(path, **arrays)
    with pytest.raises(TrajectoryError, match="newer") as e:
        Trajectory.load(path)
    assert_names_the_file(e, path)


class _Planted:
    """Unpickling this would create a file: the loader must never unpickle."""

    def __init__(self, flag):
        self.flag = flag

    def __reduce__(self):
        return (open, (str(self.flag), "w"))


def test_loads_without_pickle(short_run, tmp_path):
    flag = tmp_path / "unpickled"
    arrays = valid_arrays(short_run)
    arrays["X"] = np.array([_Planted(flag)], dtype=object)  # np.savez pickles object arrays
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(TrajectoryError) as e:
        Trajectory.load(path)
    assert_names_the_file(e, path)
    assert not flag.exists()


def test_missing_file_and_folder(tmp_path):
    for path in (tmp_path / "nothing.npz", tmp_path):
        with pytest.raises(TrajectoryError) as e:
            Trajectory.load(path)
        assert_names_the_file(e, path)
