"""End to end: a training video the way the original blog made it, against ``deform3d record``.

Run on demand (not a test): ``python benchmarks/video.py [--repeat N] [--keep DIR]``; needs the
``bench`` extra (matplotlib). ``make bench`` installs it and runs this. About 3 to 5 minutes on
two cores, most of it the matplotlib reference: that is the point.

The job, both ways: train k = 3 on the circles (2 x 1000 points, Adam lr 0.03, batch 32,
100 epochs) and write a 100-frame 1280x720 H.264 video of it training, at 30 fps.

(a) reference, written as the blog did: a Keras-style ``fit(model, X, y, epochs=1, batch_size=32)``
    (torch autograd + torch.optim.Adam over a DataLoader) called once per frame, so one epoch per
    frame; after each, the figure is cleared and redrawn with matplotlib: a 3-D ``plot_surface`` of
    the lifted grid with the lifted data scattered on it, beside the plane (the data through both
    hidden layers) with the decision line, every vertex recomputed on the CPU; each frame goes to
    ``matplotlib.animation.FFMpegWriter`` (the bundled ffmpeg). It runs in a child process, timed
    from launch to exit, imports included, as a user would run the script.
(b) ``deform3d record --out FILE --quality medium --frames 100`` (which trains first, the same
    network and data), in a child process, launch to exit.

Then, in this process, on a run trained the same way, this machine's ceilings for the two halves
of (b)'s recording loop: render + readback alone (``deform3d.pipeline.frames``, record's own generator, over the
same video at a third of the frame rate, nothing encoded) and ffmpeg alone (those frames, rendered
beforehand, piped through ``Recorder``), beside ``deform3d.record`` itself (render and encode
together, training excluded). These are rates, and frame cost depends on the training step shown,
so they cover the whole run with fewer frames.

The machine is shared and two cores are few, so each deform3d measure is repeated (``--repeat``;
the end-to-end runs placed before and after the reference, so a burst of load hits both sides)
and the median is printed; the reference runs once (it is long). Both sides train on one torch
thread, as deform3d's trainer does: with two, the tiny network's ops stall on a busy two-core
machine, and the reference would lose time to that rather than to its design.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAMES, EPOCHS, SIZE, FPS, K = 100, 100, (1280, 720), 30, 3
# The ceilings are rates: measured on every third frame of the same video (same length, fps / 3,
# the same span of training) to keep the whole benchmark within a few minutes.
CEILING_FRAMES = 34
LR, BATCH = 0.03, 32


# ---------------------------------------------------------------- (a) the reference, blog style


def reference(out: Path) -> dict:
    """The blog's pipeline; returns its time split (seconds) into fit, draw and grab (encode)."""
    import imageio_ffmpeg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from matplotlib.animation import FFMpegWriter
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from deform3d.core.data import circles

    torch.set_num_threads(1)  # see the module docstring: the same footing as deform3d's trainer
    torch.manual_seed(0)
    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()

    data = circles(1000, 0.005, seed=0)
    X, y = torch.from_numpy(data.X), torch.from_numpy(data.y.astype(np.float32))[:, None]

    model = nn.Sequential(nn.Linear(2, K), nn.Tanh(), nn.Linear(K, 2), nn.Tanh(), nn.Linear(2, 1), nn.Sigmoid())
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # "compile": made once, kept across fits
    loss_fn = nn.BCELoss()

    def fit(model, X, y, epochs=1, batch_size=32):
        """Keras' model.fit: shuffled mini-batches from a DataLoader; returns per-epoch history."""
        loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
        history = {"loss": [], "accuracy": []}
        for _ in range(epochs):
            total, correct, seen = 0.0, 0, 0
            for xb, yb in loader:
                optimizer.zero_grad()
                p = model(xb)
                loss = loss_fn(p, yb)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(xb)
                correct += int(((p > 0.5) == (yb > 0.5)).sum())
                seen += len(xb)
            history["loss"].append(total / seen)
            history["accuracy"].append(correct / seen)
        return history

    lin1, lin2, lin3 = model[0], model[2], model[4]
    g = np.linspace(-1.2, 1.2, 40, dtype=np.float32)
    gx, gy = np.meshgrid(g, g)
    grid = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1))
    colours = np.where(data.y == 1, "tab:orange", "tab:blue")

    fig = plt.figure(figsize=(SIZE[0] / 100, SIZE[1] / 100), dpi=100)
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax2 = fig.add_subplot(1, 2, 2)
    writer = FFMpegWriter(fps=FPS)
    t_fit = t_draw = t_grab = 0.0
    with writer.saving(fig, str(out), dpi=100):
        for frame in range(FRAMES):
            t0 = time.perf_counter()
            history = fit(model, X, y, epochs=1, batch_size=BATCH)
            t1 = time.perf_counter()
            with torch.no_grad():  # every vertex of both panels, recomputed on the CPU
                h1_grid = torch.tanh(lin1(grid)).numpy()
                h1 = torch.tanh(lin1(X))
                h2 = torch.tanh(lin2(h1)).numpy()
                h1 = h1.numpy()
                w, b = lin3.weight[0].numpy(), float(lin3.bias[0])
            ax3.cla()
            ax3.plot_surface(h1_grid[:, 0].reshape(gx.shape), h1_grid[:, 1].reshape(gx.shape),
                             h1_grid[:, 2].reshape(gx.shape), cmap="viridis", alpha=0.5, linewidth=0)
            ax3.scatter(h1[:, 0], h1[:, 1], h1[:, 2], c=colours, s=2)
            ax3.set(xlim=(-1, 1), ylim=(-1, 1), zlim=(-1, 1), title="lift: tanh(W1 x + b1)")
            ax2.cla()
            ax2.scatter(h2[:, 0], h2[:, 1], c=colours, s=2)
            xs = np.linspace(-1, 1, 2)
            if abs(w[1]) > 1e-6:  # the decision line w . h2 + b = 0
                ax2.plot(xs, -(w[0] * xs + b) / w[1], "k-")
            else:
                ax2.axvline(-b / w[0], color="k")
            ax2.set(xlim=(-1, 1), ylim=(-1, 1), aspect="equal",
                    title=f"plane: epoch {frame + 1}, loss {history['loss'][-1]:.3f}, "
                          f"accuracy {100 * history['accuracy'][-1]:.1f}%")
            t2 = time.perf_counter()
            writer.grab_frame()  # draws the canvas and pipes its pixels to ffmpeg
            t3 = time.perf_counter()
            t_fit, t_draw, t_grab = t_fit + t1 - t0, t_draw + t2 - t1, t_grab + t3 - t2
    return {"fit": t_fit, "draw": t_draw, "grab": t_grab, "accuracy": history["accuracy"][-1]}


# ---------------------------------------------------------------- measures


def timed_child(args: list[str], what: str) -> tuple[float, str]:
    """Run a child process; (wall seconds from launch to exit, its stdout). Fails loudly."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{what} failed (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
    return wall, p.stdout


def frame_count(path: Path) -> int:
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def ours_end_to_end(out: Path) -> float:
    wall, _ = timed_child(["-m", "deform3d", "record", "--out", str(out), "--quality", "medium",
                           "--size", f"{SIZE[0]}x{SIZE[1]}", "--fps", str(FPS), "--frames", str(FRAMES),
                           "--hidden", str(K), "--epochs", str(EPOCHS), "--quiet"], "deform3d record")
    assert frame_count(out) == FRAMES, out
    return wall


def ceilings(run, folder: Path, repeat: int) -> dict[str, list[float]]:
    """Frames/s of render+readback alone, ffmpeg alone, and deform3d.record (both), per repeat."""
    from deform3d import api
    from deform3d.core.config import MESH_VIDEO, RecordConfig, RenderConfig
    from deform3d.video.pipeline import frames as pipeline_frames
    from deform3d.video.pipeline import renderer
    from deform3d.media.recorder import Recorder
    from deform3d.media.timeline import Timeline, camera_from_config

    n, fps = CEILING_FRAMES, FPS * CEILING_FRAMES / FRAMES
    rec = RecordConfig(quality="medium", size=SIZE, fps=fps, frames=n)
    view = RenderConfig(size=SIZE, mesh=MESH_VIDEO)  # what deform3d.record draws video frames with
    timeline = Timeline.for_runs(run, rec, camera_from_config(rec, view))
    out = {"render": [], "encode": [], "record": []}
    r = renderer(run, view)  # deform3d.record's own pipeline, with a renderer kept across repeats
    try:
        r.frame((0.0,))  # shaders compiled, buffers uploaded: a one-off cost, not a per-frame one
        for _ in range(repeat):
            t0 = time.perf_counter()
            frames = [f.image for f in pipeline_frames(run, timeline, view, r)]
            out["render"].append(n / (time.perf_counter() - t0))

            t0 = time.perf_counter()
            with Recorder(folder / "encode.mp4", SIZE, fps, total=n, progress=False) as video:
                for f in frames:
                    video.write(f)
            out["encode"].append(n / (time.perf_counter() - t0))
            del frames

            t0 = time.perf_counter()
            api.record(run, folder / "record.mp4", quality="medium", size=SIZE, fps=fps, frames=n, progress=False)
            out["record"].append(n / (time.perf_counter() - t0))
    finally:
        r.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repeats of each deform3d measure (median shown)")
    parser.add_argument("--keep", metavar="DIR", help="keep the videos in DIR (default: a temporary folder)")
    parser.add_argument("--reference-child", metavar="OUT.mp4", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.reference_child:  # (a), in its own process
        print(json.dumps(reference(Path(args.reference_child))))
        return 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SystemExit("benchmarks/video.py needs matplotlib: pip install -e '.[bench]'") from None

    with tempfile.TemporaryDirectory(prefix="deform3d-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"job: k={K} circles, {EPOCHS} epochs, {FRAMES} frames {SIZE[0]}x{SIZE[1]} @ {FPS} fps; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)

        ours = [ours_end_to_end(folder / "deform3d.mp4")]
        print(f"  deform3d record: {ours[-1]:.1f} s", flush=True)
        print("  reference (matplotlib), one run: ...", flush=True)
        ref_wall, text = timed_child([__file__, "--reference-child", str(folder / "reference.mp4")], "reference")
        split = json.loads(text.strip().splitlines()[-1])
        assert frame_count(folder / "reference.mp4") == FRAMES
        print(f"  reference: {ref_wall:.1f} s", flush=True)
        for _ in range(args.repeat - 1):
            ours.append(ours_end_to_end(folder / "deform3d.mp4"))
            print(f"  deform3d record: {ours[-1]:.1f} s", flush=True)

        from deform3d import api

        run = api.train(hidden=K, epochs=EPOCHS)
        fps = ceilings(run, folder, args.repeat)
        load = os.getloadavg()[0]

    med = statistics.median
    ours_s = med(ours)
    rows = [
        ("(a) reference: Keras-style fit + matplotlib + FFMpegWriter", f"{ref_wall:7.1f}", f"{FRAMES / ref_wall:7.2f}", "1 run"),
        ("      of which fit (1 epoch/frame)", f"{split['fit']:7.1f}", "", ""),
        ("      of which redraw (clear, plot_surface, scatter, line)", f"{split['draw']:7.1f}", "", ""),
        ("      of which grab_frame (render canvas + encode)", f"{split['grab']:7.1f}", "", ""),
        ("(b) deform3d record (train + render + encode, CLI)", f"{ours_s:7.1f}", f"{FRAMES / ours_s:7.2f}",
         "median of " + ", ".join(f"{t:.1f}" for t in ours)),
    ]
    print()
    print(f"{'end to end (launch to exit)':60s} {'s':>7s} {'frames/s':>8s}  note")
    for row in rows:
        print(f"{row[0]:60s} {row[1]:>7s} {row[2]:>8s}  {row[3]}")
    print(f"ratio (a) / (b): {ref_wall / ours_s:.1f}x faster (goal of issue 13: >= 5x); "
          f"final accuracy: reference {100 * split['accuracy']:.1f}%, deform3d {100 * float(run.accuracy[-1]):.1f}%")
    print()
    print(f"{'recording loop, 1280x720, training excluded':60s} {'frames/s':>8s}  runs ({CEILING_FRAMES} frames each)")
    for key, label in [("render", "ceiling: render + readback alone (pipeline.frames)"),
                       ("encode", "ceiling: ffmpeg alone (pre-rendered frames via Recorder)"),
                       ("record", "deform3d.record (render and encode overlapped)")]:
        print(f"{label:60s} {med(fps[key]):8.1f}  " + ", ".join(f"{v:.1f}" for v in fps[key]))
    r, e = med(fps["render"]), med(fps["encode"])
    serial = 1 / (1 / r + 1 / e)
    print(f"{'(no overlap at all would give 1/(1/render + 1/encode))':60s} {serial:8.1f}")
    print(f"record reaches {100 * med(fps['record']) / min(r, e):.0f}% of the slower ceiling; "
          f"load average {load:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
