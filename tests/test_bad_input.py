"""A table of hostile inputs (issue 15): train, render, record, show's loader and the Python API.

Each case sets up its own folder, runs one command (or API call), and names the exit status it
must end with (2 usage, 1 runtime fault, 130 SIGINT, 143 SIGTERM; for the API the exception class)
and the words its one-line message must hold: the bad value and what is allowed. Every case also
asserts: no traceback; one message line (for an unknown option, that command's usage before it);
nothing under the output's final name (or, where a previous file lay there, that file unchanged);
no temporary file left; every input file unchanged (hashes before and after).

Command-line cases run ``deform3d.cli.main`` in this process, as ``python -m deform3d`` does, so
the table costs no interpreter start or torch import per case; signals and two recordings at
once need real processes. ``DEFORM3D_BAD_INPUT_TABLE=docs/bad-input.md pytest tests/test_bad_input.py``
writes every outcome (case, exit status, message) as a markdown table.

Limits stated by the cases: a CSV dataset has at most 100,000 rows (a 10^6-row file is refused
after reading that many, under 64 MB of Python memory); a run file's array is at most 2 GiB and
inflates at most 100x (a zip bomb is refused from its zip directory, before any array is read);
a picture side is 16..8192 pixels (20000x20000 is refused before anything is allocated).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from folders import unwritable_folder

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES: list[tuple[str, str, str, str]] = []  # (case, surface, status, message), for the markdown table


# ---------------------------------------------------------------- shared inputs


@pytest.fixture(scope="session")
def good_run(short_run, tmp_path_factory) -> bytes:
    """The bytes of a real run file (conftest's short run: k = 3, 70 steps), shared by every case."""
    path = tmp_path_factory.mktemp("good") / "run.npz"
    short_run.save(path)
    return path.read_bytes()


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory) -> Path:
    """A run-shaped .npz whose W1 inflates from ~260 kB to 256 MiB of zeros (deflate, ~1000:1)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    n = 256 * 1024**2 // (3 * 2 * 4)
    header = _npy_header(np.dtype("<f4"), (n, 3, 2))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("W1.npy", "w", force_zip64=True) as f:
            f.write(header)
            chunk = bytes(4 * 1024**2)
            for _ in range(64):
                f.write(chunk)
        for name, shape in [("b1", (n, 3)), ("W2", (n, 2, 3)), ("b2", (n, 2)), ("w3", (n, 2)), ("b3", (n,)),
                            ("loss", (n,)), ("accuracy", (n,)), ("X", (4, 2))]:
            zf.writestr(name + ".npy", _npy_header(np.dtype("<f4"), shape))
        zf.writestr("y.npy", _npy_header(np.dtype("u1"), (4,)))
        zf.writestr("meta.npy", _npy_header(np.dtype("<U2"), ()))
    return path


def _npy_header(dtype: np.dtype, shape: tuple) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(dtype),
                                               "fortran_order": False, "shape": shape})
    return np.lib.format.magic(1, 0) + buf.getvalue()


class _Marker:
    """Unpickling this creates a file: the proof that a loader unpickled what it should not have."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def run_with(d: Path, good: bytes, name: str = "run.npz", *, drop=(), meta=None, pickled=False, **arrays) -> Path:
    """A copy of the good run in ``d``, with arrays changed (name=array), dropped, or meta edited."""
    src = d / ".good.npz"
    src.write_bytes(good)
    with np.load(src) as z:
        data = {k: z[k] for k in z.files}
    src.unlink()
    for k in drop:
        del data[k]
    for k, v in arrays.items():
        data[k] = v(data[k]) if callable(v) else v
    if meta is not None:
        m = json.loads(str(data["meta"]))
        m.update(meta)
        data["meta"] = np.array(json.dumps(m))
    if pickled:
        data["meta"] = np.array([_Marker(str(d / "UNPICKLED"))], dtype=object)
    path = d / name
    np.savez(path, **data)
    return path


def good_file(d: Path, good: bytes, name: str = "run.npz") -> Path:
    (d / name).write_bytes(good)
    return d / name


def with_nan(where: str, value=np.nan, index=5):
    def change(a):
        a = a.copy()
        a.reshape(len(a), -1)[index, 0] = value
        return a

    return change


def csv(d: Path, text: str | bytes, name: str = "points.csv") -> Path:
    path = d / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


GOOD_CSV = "x,y,label\n0,0,0\n1,1,1\n0,1,0\n1,0,1\n"


@pytest.fixture(scope="session")
def full_disk(tmp_path_factory):
    """A tiny tmpfs filled up (root only); skips, saying why, where it cannot be mounted."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a tmpfs mount, which needs root")
    folder = tmp_path_factory.mktemp("full")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte (a hidden filler file, kept)."""
    try:
        with open(folder / ".filler", "ab", buffering=0) as f:
            while True:
                f.write(b"\0" * 1024)
    except OSError:
        pass


# ---------------------------------------------------------------- the table

TRAIN = ["train", "-q", "--points", "20", "--epochs", "2"]
RENDER = ["-s", "96x64", "--ssaa", "1", "--mesh", "16"]
RECORD = ["-s", "160x96", "-f", "10", "--duration", "1", "-q"]


@dataclass
class Case:
    """``make(d, ctx)`` writes inputs into ``d`` and returns the argv (or, for the API, a callable).

    ``status``: the exit status (int) or the exception class name (API). ``words``: regexes the
    message must match. ``out``: the output's name in ``d`` that must not appear (or keep
    ``previous``). ``max_mb``: Python memory (tracemalloc) the case may peak at.
    """

    id: str
    surface: str
    make: Callable
    status: int | str
    words: tuple[str, ...]
    out: str | None = None
    previous: bytes | None = None
    max_mb: float | None = None
    needs: tuple[str, ...] = field(default=())


def C(id, surface, make, status, *words, **kw) -> Case:
    return Case(id, surface, make, status, words, **kw)


def T(*options, out="run.npz"):
    return lambda d, x: [*TRAIN, *options, "-o", d / out]


def TD(text, *options):
    return lambda d, x: [*TRAIN, "--dataset", csv(d, text), *options, "-o", d / "run.npz"]


def R(*options, out="x.png", run=None):
    return lambda d, x: ["render", (run or good_file)(d, x["good"]), "-o", d / out, *RENDER, *options]


def RB(builder, *options):
    """render on a damaged run made by ``builder(d, good)``."""
    return lambda d, x: ["render", builder(d, x["good"]), "-o", d / "x.png", *RENDER, *options]


def S(builder):
    """show on a damaged run: the loader reports the file before the window is even looked for."""
    return lambda d, x: ["show", builder(d, x["good"])]


def V(*options, out="x.mp4"):
    return lambda d, x: ["record", good_file(d, x["good"]), "-o", d / out, *RECORD, *options]


def VC(toml: str | bytes):
    def make(d, x):
        cam = d / "camera.toml"
        cam.write_bytes(toml if isinstance(toml, bytes) else toml.encode())
        return ["record", good_file(d, x["good"]), "-o", d / "x.mp4", *RECORD, "--camera", cam]

    return make


def truncated(d, good):
    return csv(d, good[: len(good) // 2], "run.npz")


def zero_bytes(d, good):
    return csv(d, b"", "run.npz")


def not_a_zip(d, good):
    return csv(d, "W1,b1\n1,2\n", "run.npz")


def plain_npy(d, good):
    path = d / "run.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(10))
    return path


def bomb(d, x):
    return x["bomb"]


def api(fn, inputs=lambda d, x: None):
    """An API case: ``inputs(d, ctx)`` writes its input files first (before the hashes are taken),
    then ``fn(deform3d, input, d)`` is called, and must raise."""

    def make(d, x):
        made = inputs(d, x)
        return lambda: fn(__import__("deform3d"), made, d)

    return make


def good(d, x):
    return good_file(d, x["good"])


KEY3 = "[[keyframe]]\nt = 0\nazimuth = -50\nelevation = 24\ndistance = 3\n"

CASES = [
    # ---- train: options
    C("train: --lr nan", "train", T("--lr", "nan"), 2, r"--lr", r"nan", r"finite number > 0"),
    C("train: --lr inf", "train", T("--lr", "inf"), 2, r"--lr", r"inf", r"finite number > 0"),
    C("train: --lr -1", "train", T("--lr=-1"), 2, r"--lr", r"-1", r"> 0"),
    C("train: --lr 1e13", "train", T("--lr", "1e13"), 2, r"--lr", r"1e\+13|10000000000000", r"at most 1e\+12"),
    C("train: --epochs 0", "train", T("--epochs", "0"), 2, r"--epochs", r"got 0", r">= 1"),
    C("train: --epochs -3", "train", T("--epochs=-3"), 2, r"--epochs", r"-3", r">= 1"),
    C("train: --epochs ten", "train", T("--epochs", "ten"), 2, r"--epochs", r"'ten'", r"int"),
    C("train: --hidden 5", "train", T("--hidden", "5"), 2, r"--hidden", r"got 5", r"2, 3 or 4"),
    C("train: --activation swish", "train", T("--activation", "swish"), 2, r"--activation", r"swish", r"tanh, sigmoid, relu"),
    C("train: --points 10^6", "train", T("--points", "1000000"), 2, r"--points", r"1000000", r"2\.\.50000"),
    C("train: --batch-size 0", "train", T("--batch-size", "0"), 2, r"--batch-size", r"got 0", r">= 1"),
    C("train: --momentum 1", "train", T("--momentum", "1"), 2, r"--momentum", r"1", r"\[0, 1\)"),
    C("train: --seed -1", "train", T("--seed=-1"), 2, r"--seed", r"-1", r">= 0"),
    C("train: --dataset donut", "train", T("--dataset", "donut"), 2, r"--dataset", r"donut", r"circles, moons"),
    C("train: abbreviated --epoch 3", "train", T("--epoch", "3"), 2, r"unrecognized option --epoch", r"--epochs"),
    C("train: lr 1e10 sgd relu (NaN weights)", "train", T("--lr", "1e10", "--optimizer", "sgd", "--activation", "relu", "--points", "50"),
      1, r"diverged", r"NaN or infinite at step \d+", r"1e\+10", r"smaller --lr", out="run.npz"),
    C("train: lr 1e3 (diverges, finite)", "train", T("--lr", "1e3"), 0, r"warning: training diverged", r"final loss",
      r"1000", r"smaller --lr", out=None),
    # ---- train: CSV datasets
    C("csv: NaN", "train", TD(GOOD_CSV + "nan,0,1\n"), 2, r"points\.csv, line 6", r"NaN or infinite", r"nan,0,1"),
    C("csv: inf", "train", TD(GOOD_CSV + "0,inf,1\n"), 2, r"line 6", r"NaN or infinite", r"0,inf,1"),
    C("csv: text", "train", TD(GOOD_CSV + "0,abc,1\n"), 2, r"line 6", r"non-numeric", r"0,abc,1"),
    C("csv: one class", "train", TD("0,0,1\n1,1,1\n2,2,1\n"), 2, r"exactly two values", r"found 1 \(1\)"),
    C("csv: three classes", "train", TD(GOOD_CSV + "2,2,2\n"), 2, r"exactly two values", r"found 3 \(0, 1, 2\)"),
    C("csv: one row", "train", TD("0.5,0.5,1\n"), 2, r"exactly two values", r"found 1"),
    C("csv: one point in a class", "train", TD("0,0,0\n1,1,0\n2,2,1\n"), 2, r"each class needs at least 2 points",
      r"found 2 and 1"),
    C("csv: 10^6 rows", "train", TD("x,y,label\n" + "0.1,0.2,0\n0.3,0.4,1\n" * 500_000), 2,
      r"more than 100,000 data rows", r"at most 100,000 points", max_mb=64),
    C("csv: non-UTF-8 bytes", "train", TD(b"x,y,label\n0,0,0\n\xff\xfe\x80,1,1\n"), 2, r"points\.csv", r"not a UTF-8 text file"),
    C("csv: zero bytes", "train", TD(""), 2, r"points\.csv has no data rows", r"x, y, label"),
    C("csv: four columns", "train", TD("0,0,0,9\n1,1,1,9\n"), 2, r"line 1", r"expected 3 columns", r"found 4"),
    C("csv: missing file", "train", lambda d, x: [*TRAIN, "--dataset", d / "none.csv", "-o", d / "run.npz"], 2,
      r"none\.csv does not exist", r"circles, moons"),
    # ---- train: where the output goes
    C("train: -o in a read-only folder", "train", lambda d, x: [*TRAIN, "-o", unwritable_folder(d) / "run.npz"], 2,
      r"cannot write to folder", r"choose another --out"),
    C("train: -o /dev/full", "train", lambda d, x: [*TRAIN, "-o", "/dev/full"], 2, r"/dev/full", r"not a regular file"),
    C("train: -o under a file", "train", lambda d, x: [*TRAIN, "-o", csv(d, "x") / "run.npz"], 2,
      r"points\.csv is a file, not a folder"),
    C("train: -o a folder", "train", lambda d, x: (d / "run.npz").mkdir() or [*TRAIN, "-o", d / "run.npz"], 2,
      r"run\.npz: it is a folder", r"give a file name"),
    C("train: -o on a full disk", "train", lambda d, x: [*TRAIN, "-o", x["full"] / "run.npz"], 1,
      r"cannot write .*run\.npz", r"No space left on device", r"unchanged", needs=("full",)),
    # ---- render
    C("render: missing run", "render", lambda d, x: ["render", d / "none.npz", "-o", d / "x.png"], 2,
      r"none\.npz does not exist", r"deform3d train"),
    C("render: zero-byte .npz", "render", RB(zero_bytes), 2, r"run\.npz is not a readable deform3d trajectory"),
    C("render: truncated .npz", "render", RB(truncated), 2, r"run\.npz is not a readable deform3d trajectory", r"truncated"),
    C("render: text file as .npz", "render", RB(not_a_zip), 2, r"not a readable deform3d trajectory"),
    C("render: .npy saved as .npz", "render", RB(plain_npy), 2, r"not a readable deform3d trajectory"),
    C("render: pickled object in .npz", "render", RB(lambda d, g: run_with(d, g, pickled=True)), 2,
      r"array meta holds Python objects", r"never loads"),
    C("render: zip bomb .npz", "render", lambda d, x: ["render", bomb(d, x), "-o", d / "x.png"], 2,
      r"W1 would inflate from [\d,]+ to 268,43[\d,]+ bytes", r"zip bomb", max_mb=16),
    C("render: missing key W2", "render", RB(lambda d, g: run_with(d, g, drop=("W2",))), 2, r"lacks the array\(s\) W2",
      r"W1, b1, W2"),
    C("render: extra key", "render", RB(lambda d, g: run_with(d, g, evil=np.zeros(3)))
      , 2, r"evil\.npy", r"exactly W1, b1"),
    C("render: no metadata", "render", RB(lambda d, g: run_with(d, g, drop=("meta",))), 2, r"no metadata"),
    C("render: W1 wrong shape", "render", RB(lambda d, g: run_with(d, g, W1=lambda a: np.zeros((len(a), 3, 3), a.dtype)))
      , 2, r"damaged", r"do not fit together"),
    C("render: W1 as text", "render", RB(lambda d, g: run_with(d, g, W1=lambda a: a.astype("U8"))), 2,
      r"W1 has dtype <U8", r"floating point"),
    C("render: loss complex", "render", RB(lambda d, g: run_with(d, g, loss=lambda a: a.astype(np.complex64))), 2,
      r"loss has dtype complex64", r"floating point"),
    C("render: y as float", "render", RB(lambda d, g: run_with(d, g, y=lambda a: a.astype(np.float32))), 2,
      r"y has dtype float32", r"integers 0/1"),
    C("render: y = 2", "render", RB(lambda d, g: run_with(d, g, y=lambda a: np.where(np.arange(len(a)) == 0, 2, a).astype(a.dtype)))
      , 2, r"labels y must be 0 or 1", r"2"),
    C("render: NaN in W2", "render", RB(lambda d, g: run_with(d, g, W2=with_nan("W2"))), 2,
      r"W2 holds NaN or infinite values from step 5", r"must be finite"),
    C("render: inf in loss", "render", RB(lambda d, g: run_with(d, g, loss=with_nan("loss", np.inf, 3))), 2,
      r"loss holds NaN or infinite values from step 3"),
    C("render: NaN in X", "render", RB(lambda d, g: run_with(d, g, X=with_nan("X", index=7))), 2,
      r"X holds NaN or infinite values at point 7"),
    C("render: newer schema", "render", RB(lambda d, g: run_with(d, g, meta={"schema": 99})), 2, r"schema 99",
      r"upgrade deform3d"),
    C("render: unknown activation in meta", "render", RB(lambda d, g: run_with(d, g, meta={"activation": "swish"})), 2,
      r"'swish'", r"tanh, sigmoid, relu"),
    C("render: steps_per_epoch 0 in meta", "render", RB(lambda d, g: run_with(d, g, meta={"steps_per_epoch": 0})), 2,
      r"steps_per_epoch", r"got 0", r">= 1"),
    C("render: -s 0x0", "render", R("-s", "0x0"), 2, r"--size", r"0x0", r"16\.\.8192"),
    C("render: -s 1x1", "render", R("-s", "1x1"), 2, r"--size", r"1x1", r"16\.\.8192"),
    C("render: -s 20000x20000", "render", R("-s", "20000x20000"), 2, r"--size", r"20000x20000", r"16\.\.8192", max_mb=16),
    C("render: -s 96x", "render", R("-s", "96x"), 2, r"--size", r"'96x'", r"WIDTHxHEIGHT"),
    C("render: --step nan", "render", R("--step", "nan"), 2, r"--step", r"got nan", r"between 0 and 70"),
    C("render: --step -1", "render", R("--step=-1"), 2, r"--step", r"got -1", r"between 0 and 70"),
    C("render: --epoch inf", "render", R("--epoch", "inf"), 2, r"--epoch", r"got inf", r"between 0 and 10"),
    C("render: --at 2", "render", R("--at", "2"), 2, r"--at", r"got 2", r"between 0 and 1"),
    C("render: -o x.jpg", "render", R(out="x.jpg"), 2, r"x\.jpg", r"\.png"),
    C("render: -o /dev/full", "render", lambda d, x: ["render", good_file(d, x["good"]), "-o", "/dev/full"], 2,
      r"not a png|\.png", ),
    C("render: -o full.png on a full disk", "render", lambda d, x: ["render", good_file(d, x["good"]), "-o",
                                                                     x["full"] / "x.png", *RENDER], 1,
      r"cannot write .*x\.png", r"No space left on device", needs=("full",)),
    C("render: unknown option", "render", R("--colour", "red"), 2, r"unrecognized option --colour"),
    # ---- show's loader (the file is checked before the window is looked for)
    C("show: missing run", "show", lambda d, x: ["show", d / "none.npz"], 2, r"none\.npz does not exist"),
    C("show: zero-byte .npz", "show", S(zero_bytes), 2, r"not a readable deform3d trajectory"),
    C("show: pickled object", "show", S(lambda d, g: run_with(d, g, pickled=True)), 2, r"Python objects", r"never loads"),
    C("show: NaN weights", "show", S(lambda d, g: run_with(d, g, b1=with_nan("b1", index=2))), 2,
      r"b1 holds NaN or infinite values from step 2"),
    C("show: wrong dtype", "show", S(lambda d, g: run_with(d, g, accuracy=lambda a: a.astype("U3"))), 2,
      r"accuracy has dtype <U3", r"floating point"),
    C("show: zip bomb", "show", lambda d, x: ["show", bomb(d, x)], 2, r"zip bomb", max_mb=16),
    # ---- record
    C("record: no ffmpeg", "record", V(), 1, r"IMAGEIO_FFMPEG_EXE=/nonexistent", r"not an executable file",
      r"unset IMAGEIO_FFMPEG_EXE", needs=("no-ffmpeg",), out="x.mp4"),
    C("record: no ffmpeg, training first", "record",
      lambda d, x: ["record", "-o", d / "x.mp4", *RECORD, "--epochs", "1000000", "--save-run", d / "run.npz"], 1,
      r"IMAGEIO_FFMPEG_EXE", needs=("no-ffmpeg",), out="x.mp4"),
    C("record: odd size for H.264", "record", V("-s", "161x97"), 2, r"--size", r"161x97", r"even", r"160x96 or 162x98"),
    C("record: -s 0x0", "record", V("-s", "0x0"), 2, r"--size", r"0x0", r"16\.\.8192"),
    C("record: -s 1x1", "record", V("-s", "1x1"), 2, r"--size", r"1x1", r"16\.\.8192"),
    C("record: -s 20000x20000", "record", V("-s", "20000x20000"), 2, r"--size", r"20000x20000", r"16\.\.8192", max_mb=16),
    C("record: -f 0", "record", V("-f", "0"), 2, r"--fps", r"got 0", r"> 0"),
    C("record: -f -1", "record", V("-f=-1"), 2, r"--fps", r"got -1", r"> 0"),
    C("record: -f 1e6", "record", V("-f", "1e6"), 2, r"--fps", r"1000000", r"at most 240"),
    C("record: -f 60 for .gif", "record", V("-f", "60", out="x.gif"), 2, r"--fps", r"at most 50", r"60"),
    C("record: --duration -1", "record", V("--duration=-1"), 2, r"--duration", r"-1", r"> 0"),
    C("record: --duration nan", "record", V("--duration", "nan"), 2, r"--duration", r"nan", r"finite"),
    C("record: --frames 0", "record", V("--frames", "0"), 2, r"--frames", r"got 0", r">= 1"),
    C("record: --crf 99", "record", V("--crf", "99"), 2, r"--crf", r"99", r"0\.\.51|0\.\.63"),
    C("record: -o x.avi", "record", V(out="x.avi"), 2, r"'\.avi'", r"\.mp4 \(H\.264\), \.webm"),
    C("record: -o /dev/full", "record", lambda d, x: ["record", good_file(d, x["good"]), "-o", "/dev/full", *RECORD], 2,
      r"/dev/full", r"it is a file|not a regular file"),
    C("record: -o in a read-only folder", "record",
      lambda d, x: ["record", good_file(d, x["good"]), "-o", unwritable_folder(d) / "x.mp4", *RECORD], 2,
      r"cannot write to folder", r"choose another --out"),
    C("record: -o under a file", "record", lambda d, x: V(out="points.csv/x.mp4")(d, x) if csv(d, "x") else None, 2,
      r"points\.csv is a file, not a folder"),
    C("record: -o on a full disk", "record", lambda d, x: V()(d, x)[:3] + [x["full"] / "x.mp4", *RECORD], 1,
      r"could not write .*x\.mp4", needs=("full",)),
    C("record: camera file not TOML", "record", VC("[[keyframe]]\nt = 0 azimuth = 1\n"), 2, r"camera\.toml is not valid TOML",
      r"\[\[keyframe\]\]"),
    C("record: camera file binary", "record", VC(b"\xff\xfe\x00\x01"), 2, r"camera\.toml", r"TOML|UTF-8"),
    C("record: camera keyframe lacks distance", "record", VC(KEY3 + KEY3.replace("t = 0", "t = 1").replace("distance = 3\n", "")),
      2, r"keyframe 2 lacks 'distance'", r"t, azimuth, elevation and distance"),
    C("record: camera one keyframe", "record", VC(KEY3), 2, r"1 keyframe", r"at least two"),
    C("record: camera NaN azimuth", "record", VC(KEY3 + KEY3.replace("t = 0", "t = 1").replace("-50", "nan")), 2,
      r"keyframe 2 azimuth must be a finite number", r"nan"),
    C("record: camera elevation 200", "record", VC(KEY3 + KEY3.replace("t = 0", "t = 1").replace("24", "200")), 2,
      r"keyframe 2 elevation must be in -90\.\.90", r"200"),
    C("record: camera negative t", "record", VC(KEY3.replace("t = 0", "t = -1") + KEY3.replace("t = 0", "t = 1")), 2,
      r"keyframe 1 t must be >= 0", r"-1"),
    C("record: camera file missing", "record", lambda d, x: V("--camera", d / "none.toml")(d, x), 2,
      r"none\.toml does not exist"),
    C("record: abbreviated --dur 3", "record", V("--dur", "3"), 2, r"unrecognized option --dur", r"did you mean --duration"),
    # ---- the Python API: one line, raised from the entry point (no internal frames)
    C("api: train(lr=nan)", "api", api(lambda m, a, d: m.train(lr=float("nan"))), "ConfigError", r"lr", r"nan",
      r"finite number > 0"),
    C("api: train(hidden='3')", "api", api(lambda m, a, d: m.train(hidden="3")), "ConfigError", r"hidden", r"'3'",
      r"2, 3 or 4"),
    C("api: train(dataset=CSV with NaN)", "api", api(lambda m, a, d: m.train(dataset=str(a)),
                                                     lambda d, x: csv(d, GOOD_CSV + "nan,1,0\n")),
      "UsageError", r"line 6", r"NaN or infinite"),
    C("api: train(progress='yes')", "api", api(lambda m, a, d: m.train(progress="yes")), "TypeError",
      r"progress must be True, False or a callable", r"'yes'"),
    C("api: load(pickled)", "api", api(lambda m, a, d: m.load(a), lambda d, x: run_with(d, x["good"], pickled=True)),
      "TrajectoryError", r"Python objects", r"never loads"),
    C("api: load(zip bomb)", "api", api(lambda m, a, d: m.load(a), bomb), "TrajectoryError", r"zip bomb", max_mb=16),
    C("api: render(size=(20000, 20000))", "api", api(lambda m, a, d: m.render(a, size=(20000, 20000)), good),
      "ConfigError", r"size", r"20000x20000", r"16\.\.8192", max_mb=16),
    C("api: render(step=nan)", "api", api(lambda m, a, d: m.render(a, step=float("nan"), size=(96, 64)), good),
      "UsageError", r"--step", r"nan", r"between 0 and 70"),
    C("api: record(fps=0)", "api", api(lambda m, a, d: m.record(a, d / "x.mp4", fps=0), good),
      "ConfigError", r"fps", r"got 0", r"> 0"),
    C("api: record(duration=-1)", "api", api(lambda m, a, d: m.record(a, d / "x.mp4", duration=-1), good),
      "ConfigError", r"duration", r"-1", r"> 0"),
    C("api: record with no ffmpeg", "api", api(lambda m, a, d: m.record(a, d / "x.mp4"), good),
      "RuntimeFault", r"IMAGEIO_FFMPEG_EXE=/nonexistent", needs=("no-ffmpeg",)),
]


def cli(argv) -> tuple[int, str]:
    """Run the command line in this process; (exit status, stderr) with stdout checked empty or a summary."""
    from deform3d.cli import main

    try:
        return main([str(a) for a in argv]), ""
    except SystemExit as e:  # argparse's usage errors
        return int(e.code), ""


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (hidden ones too) and its hash."""
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def message_lines(err: str) -> list[str]:
    """stderr without an unknown option's usage block (argparse's "usage:" and its indented lines)."""
    lines = err.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = lines[1:]
        while lines and lines[0].startswith(" "):
            lines = lines[1:]
    return lines


@pytest.fixture
def ctx(good_run, zip_bomb, request, monkeypatch):
    case = request.node.callspec.params["case"]
    x = {"good": good_run, "bomb": zip_bomb}
    if "full" in case.needs:
        folder = request.getfixturevalue("full_disk")
        for p in folder.iterdir():
            p.unlink()
        (folder / "run.npz").write_bytes(b"the previous run")
        (folder / "x.png").write_bytes(b"the previous png")
        (folder / "x.mp4").write_bytes(b"the previous video")
        fill(folder)
        x["full"] = folder
    if "no-ffmpeg" in case.needs:
        monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/nonexistent")
    return x


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, ctx, tmp_path, capsys):
    d = tmp_path / "case"
    d.mkdir()
    made = case.make(d, ctx)
    folders = [d] + ([ctx["full"]] if "full" in ctx else [])
    before = [snapshot(f) for f in folders]
    capsys.readouterr()
    if case.max_mb is not None:
        tracemalloc.start()  # only where a bound is claimed: it slows every allocation
    peak = 0
    try:
        if case.surface == "api":
            with pytest.raises(Exception) as raised:
                made()
            status, err = type(raised.value).__name__, str(raised.value)
            # Raised from the entry point: no frame inside the package but the API's own wrapper.
            frames = [f.filename for f in traceback.extract_tb(raised.value.__traceback__)]
            inner = [f for f in frames if "deform3d" in f and not f.endswith(("api.py", "test_bad_input.py"))]
            assert not inner or status == "TypeError", frames
        else:
            status, _ = cli(made)
            out, err = capsys.readouterr()
    finally:
        if case.max_mb is not None:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    lines = message_lines(err)
    message = lines[-1] if lines else ""
    OUTCOMES.append((case.id, case.surface, str(status), message))
    assert status == case.status, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    if case.surface != "api":
        assert message.startswith("deform3d"), message
    for word in case.words:
        assert re.search(word, message), f"{word!r} not in {message!r}"
    if case.max_mb is not None:
        assert peak < case.max_mb * 1024**2, f"peak Python memory {peak / 1024**2:.0f} MB"
    # Inputs unchanged; nothing new but what a successful case writes; no temporary files.
    after = [snapshot(f) for f in folders]
    for b, a in zip(before, after):
        for path, digest in b.items():
            assert a.get(path) == digest, f"{path} changed or vanished"
        new = sorted(set(a) - set(b))
        if case.status == 0:
            assert new == [Path("run.npz")], new  # a diverged but finite run is kept (see api.check_training)
        else:
            assert new == [], f"left behind: {new}"
    assert not (d / "UNPICKLED").exists(), "a pickled object was unpickled"


# ---------------------------------------------------------------- real processes: signals, two writers


def start(*args, cwd: Path, env=None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "deform3d", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"deform3d ended (exit {proc.returncode}) before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.02)


def mapped(proc: subprocess.Popen, library: str) -> bool:
    try:
        return library in Path(f"/proc/{proc.pid}/maps").read_text()
    except OSError:
        return False


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


SIGNALS = [
    # (id, command after the run file, output name, what to wait for, signal, status)
    ("train: SIGTERM", ["train", "--epochs", "100000", "-q"], "run.npz", "libtorch_cpu", signal.SIGTERM, 143),
    ("train: SIGINT", ["train", "--epochs", "100000", "-q"], "run.npz", "libtorch_cpu", signal.SIGINT, 130),
    ("render: SIGTERM", ["render", "good.npz", "-s", "1920x1080", "--ssaa", "4", "--mesh", "1024"], "x.png", "EGL",
     signal.SIGTERM, 143),
    ("render: SIGINT", ["render", "good.npz", "-s", "1920x1080", "--ssaa", "4", "--mesh", "1024"], "x.png", "EGL",
     signal.SIGINT, 130),
    ("record: SIGTERM", ["record", "good.npz", *RECORD, "--duration", "60"], "x.mp4", ".tmp", signal.SIGTERM, 143),
    ("record: SIGINT", ["record", "good.npz", *RECORD, "--duration", "60"], "x.mp4", ".tmp", signal.SIGINT, 130),
]


@pytest.mark.parametrize("case", SIGNALS, ids=[s[0] for s in SIGNALS])
def test_signal(case, good_run, tmp_path):
    """SIGTERM (a kill) leaves no partial output and the previous file intact; SIGINT stops training
    and rendering with nothing written, and ends a recording as a valid, shorter video; 130/143."""
    name, args, out, ready, sig, status = case
    (tmp_path / "good.npz").write_bytes(good_run)
    previous = b"the previous " + out.encode()
    (tmp_path / out).write_bytes(previous)
    before = snapshot(tmp_path)
    proc = start(*args, "-o", out, cwd=tmp_path)
    try:
        if ready == ".tmp":  # ffmpeg's temporary output beside the target: frames are being encoded
            wait_for(lambda: any(n.endswith(".tmp") for n in hidden(tmp_path)), proc, "temporary video")
        else:
            wait_for(lambda: mapped(proc, ready), proc, f"{ready} loaded")
        proc.send_signal(sig)
        stdout, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    lines = err.splitlines()
    OUTCOMES.append((name, name.split(":")[0], str(proc.returncode), lines[-1] if lines else ""))
    assert proc.returncode == status, err
    assert "Traceback" not in err, err
    assert hidden(tmp_path) == [], "temporary files left"
    after = snapshot(tmp_path)
    assert after[Path("good.npz")] == before[Path("good.npz")]
    if sig == signal.SIGINT and out == "x.mp4":
        m = re.search(r"interrupted by SIGINT: (\d+) of 600 frames, kept in x\.mp4", err)
        assert m and lines[-1] == "deform3d: interrupted", err
        frames = _count_frames(tmp_path / out)
        assert frames == int(m[1]) >= 1
    else:
        assert (tmp_path / out).read_bytes() == previous, "the previous file did not survive"
        assert sorted(after) == sorted(before)
        last = "deform3d: terminated by SIGTERM" if sig == signal.SIGTERM else "deform3d: interrupted"
        assert lines[-1].startswith(last), err


def _count_frames(path: Path) -> int:
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def test_two_records_writing_one_file_at_once(good_run, tmp_path):
    """Each writes its own temporary file and renames it whole: the file is one complete video."""
    (tmp_path / "good.npz").write_bytes(good_run)
    procs = [start("record", "good.npz", *RECORD, "--theme", theme, "-o", "x.mp4", cwd=tmp_path)
             for theme in ("light", "dark")]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    OUTCOMES.append(("record: two at once to one file", "record", ",".join(str(r[0]) for r in results),
                     " / ".join(r[1].strip() for r in results)))
    assert [r[0] for r in results] == [0, 0], results
    assert all("Traceback" not in r[2] for r in results)
    assert _count_frames(tmp_path / "x.mp4") == 10
    assert hidden(tmp_path) == []


# ---------------------------------------------------------------- the outcomes, as docs/bad-input.md


@pytest.fixture(scope="module", autouse=True)
def write_table():
    yield
    target = os.environ.get("DEFORM3D_BAD_INPUT_TABLE")
    if not target or not OUTCOMES:
        return
    rows = ["| case | surface | exit status | message |", "|---|---|---|---|"]
    for case, surface, status, message in OUTCOMES:
        text = message.replace("|", "\\|").replace(str(Path.home()), "~")
        text = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/ ]+/case/", "", text)
        text = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/ ]+?/", "", text)
        rows.append(f"| {case} | {surface} | {status} | `{text}` |")
    Path(target).write_text(
        "# Bad input: what deform3d does with it\n\n"
        "Written by `DEFORM3D_BAD_INPUT_TABLE=docs/bad-input.md .venv/bin/python -m pytest tests/test_bad_input.py` "
        f"({len(OUTCOMES)} cases). Exit status: 2 usage, 1 runtime fault, 130 SIGINT, 143 SIGTERM; for the API, "
        "the exception raised. Temporary paths are shortened.\n\n" + "\n".join(rows) + "\n")
