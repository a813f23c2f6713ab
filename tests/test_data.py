"""Datasets (deform3d.core.data): the circles exactly as the original experiment, every built-in's shape
and labels, determinism given a seed, and the CSV loader's accepted forms.

The CSV loader's error paths are tested through the real command line in test_cli_train.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from deform3d.core import data
from deform3d.core.config import DATASETS, TrainConfig

MAKERS = {name: getattr(data, name) for name in DATASETS}


def test_circles_are_the_original_experiment():
    d = data.circles(points=1000, noise=0.0, seed=0)
    angles = np.pi * np.linspace(0.0, 2.0, 1000)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert d.X.shape == (2000, 2) and d.y.shape == (2000,)
    # Radius 0.5 -> label 0 first, then radius 1 -> label 1, each at angles pi * linspace(0, 2, n).
    np.testing.assert_allclose(d.X[:1000], 0.5 * ring, atol=1e-7)
    np.testing.assert_allclose(d.X[1000:], ring, atol=1e-7)
    assert np.all(d.y[:1000] == 0) and np.all(d.y[1000:] == 1)


def test_circles_noise_is_gaussian_with_the_given_sd():
    clean = data.circles(points=1000, noise=0.0, seed=3).X.astype(np.float64)
    for sd in (0.005, 0.05):
        noise = data.circles(points=1000, noise=sd, seed=3).X.astype(np.float64) - clean
        assert abs(noise.mean()) < 4 * sd / np.sqrt(noise.size)
        assert noise.std() == pytest.approx(sd, rel=0.05)
        # Gaussian, not uniform: about 4.6% of samples lie beyond 2 sd (a uniform has none).
        assert 0.03 < (np.abs(noise) > 2 * sd).mean() < 0.065


def test_circles_defaults_are_1000_points_per_class_and_sd_0005():
    d = data.load_dataset(TrainConfig())
    assert d.name == "circles" and d.X.shape == (2000, 2)
    clean = data.circles(points=1000, noise=0.0, seed=0).X.astype(np.float64)
    assert (d.X - clean).std() == pytest.approx(0.005, rel=0.05)
    assert data.DEFAULT_NOISE["circles"] == 0.005


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_has_the_promised_shape_and_labels(name):
    d = data.load_dataset(TrainConfig(dataset=name, points=37, seed=5))
    assert d.name == name
    assert d.X.shape == (74, 2) and d.X.dtype == np.float32 and np.isfinite(d.X).all()
    assert d.y.shape == (74,) and d.y.dtype == np.uint8
    assert np.bincount(d.y, minlength=2).tolist() == [37, 37]
    assert set(np.unique(d.y)) == {0, 1}
    assert np.abs(d.X).max() < 3  # all live near the unit square, where the network starts


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_is_deterministic_given_its_seed(name):
    a = data.load_dataset(TrainConfig(dataset=name, points=50, seed=1))
    b = data.load_dataset(TrainConfig(dataset=name, points=50, seed=1))
    c = data.load_dataset(TrainConfig(dataset=name, points=50, seed=2))
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("name", DATASETS)
def test_noise_option_is_used(name):
    quiet = data.load_dataset(TrainConfig(dataset=name, points=200, noise=0.0, seed=1))
    loud = data.load_dataset(TrainConfig(dataset=name, points=200, noise=0.3, seed=1))
    default = MAKERS[name](200, data.DEFAULT_NOISE[name], 1)
    assert np.array_equal(data.load_dataset(TrainConfig(dataset=name, points=200, seed=1)).X, default.X)
    assert not np.array_equal(quiet.X, loud.X)


def test_classes_are_separable_where_the_story_needs_it():
    """xor is labelled by quadrant sign, moons and spiral are mirror images: checks their geometry."""
    x = data.xor(points=300, noise=0.0, seed=0)
    assert np.all((x.X[:, 0] * x.X[:, 1] > 0) == (x.y == 1))
    s = data.spiral(points=100, noise=0.0, seed=0)
    np.testing.assert_allclose(s.X[100:], -s.X[:100])
    m = data.moons(points=100, noise=0.0, seed=0)
    np.testing.assert_allclose(m.X[100:], -m.X[:100], atol=1e-7)
    b = data.blobs(points=2000, noise=0.25, seed=0)
    np.testing.assert_allclose(b.X[:2000].mean(axis=0), [-0.5, -0.5], atol=0.02)
    np.testing.assert_allclose(b.X[2000:].mean(axis=0), [0.5, 0.5], atol=0.02)


# ---------------------------------------------------------------- CSV


def write(tmp_path, text: str, name: str = "points.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_without_header(tmp_path):
    path = write(tmp_path, "0.5,1.5,0\n-1,2,1\n3,4e-1,0\n\n7,8,1\n")
    d = data.load_csv(path)
    np.testing.assert_array_equal(d.X, np.array([[0.5, 1.5], [-1, 2], [3, 0.4], [7, 8]], np.float32))
    np.testing.assert_array_equal(d.y, [0, 1, 0, 1])
    assert d.X.dtype == np.float32 and d.y.dtype == np.uint8 and d.name == "points.csv"


def test_csv_with_header_and_arbitrary_labels(tmp_path):
    # Any two numeric labels: the smaller becomes class 0.
    path = write(tmp_path, "x,y,label\n0,0,7.5\n1,1,-2\n2,2,7.5\n3,3,-2\n4,4,-2\n")
    d = data.load_csv(path)
    np.testing.assert_array_equal(d.X[:, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(d.y, [1, 0, 1, 0, 0])


def test_csv_with_a_byte_order_mark(tmp_path):
    # Spreadsheets often start a UTF-8 CSV with a BOM; the first row is still data, not a header.
    path = tmp_path / "excel.csv"
    path.write_bytes("0,0,0\n1,1,1\n2,2,0\n3,3,1\n".encode("utf-8-sig"))
    np.testing.assert_array_equal(data.load_csv(path).X[:, 0], [0, 1, 2, 3])
    path.write_bytes("x,y,label\n0,0,0\n1,1,1\n2,2,0\n3,3,1\n".encode("utf-8-sig"))
    np.testing.assert_array_equal(data.load_csv(path).X[:, 0], [0, 1, 2, 3])


def test_csv_through_the_config(tmp_path):
    path = write(tmp_path, "x,y,label\n0,0,0\n1,1,1\n2,2,0\n3,3,1\n")
    d = data.load_dataset(TrainConfig(dataset=str(path), noise=0.5))
    np.testing.assert_array_equal(d.X[:, 0], [0, 1, 2, 3])  # a CSV is never noised


def test_csv_errors_name_the_file_and_line(tmp_path):
    from deform3d.core.errors import UsageError

    path = write(tmp_path, "0,0,0\n1,1,1\n2,oops,0\n3,3,1\n")
    with pytest.raises(UsageError, match=r"points\.csv, line 3: non-numeric"):
        data.load_csv(path)
