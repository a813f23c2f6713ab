"""Jupyter: demos/notebook.ipynb run headless by a real kernel, the Viewer driven by jupyter_rfb events.

The notebook runs through nbclient in a fresh ipykernel with no display (DISPLAY unset) and
DEFORM3D_SMALL=1; its outputs must hold embedded mp4 videos (decoded here far enough to see an MP4
file), a PNG still and the Viewer, and no error. The Viewer gets events in jupyter_rfb's own dict
format (``type`` plus the 0.x compatibility keys jupyter_rfb 1.x adds), and its frames are compared
with ``deform3d.render`` for the same step, size and camera.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import deform3d
from deform3d.core.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "demos" / "notebook.ipynb"
SIZE = (320, 180)
TOLERANCE = 2  # levels of 255: llvmpipe is deterministic; this allows for rounding only



@pytest.fixture(scope="module")
def run():
    """A small real run: k = 3 on the circles, 100 points per class, 5 epochs (35 steps)."""
    return deform3d.train(hidden=3, points=100, epochs=5)


def rfb_event(kind: str, **fields) -> dict:
    """An event as jupyter_rfb 1.x hands it to handle_event: its keys plus the 0.x names."""
    event = {"type": kind, "timestamp": 0.0, **fields}
    event.update(event_type=kind, time_stamp=0.0)
    if "ratio" in fields:
        event["pixel_ratio"] = fields["ratio"]
    return event


def pointer(kind: str, x: float, y: float, button: int = 1, buttons=(1,)) -> dict:
    return rfb_event(kind, x=x, y=y, button=button, buttons=tuple(buttons), modifiers=(), ntouches=0, touches={})


def resize(width: float, height: float, ratio: float = 1.0) -> dict:
    return rfb_event("resize", width=width, height=height, pwidth=int(width * ratio), pheight=int(height * ratio),
                     ratio=ratio)


def rest(viewer) -> None:
    """Let the view come to rest, as a user pausing does: its next frame is the full one."""
    from deform3d.notebook import SETTLE_S

    time.sleep(max(0.0, SETTLE_S - (time.monotonic() - viewer._last_motion)) + 0.01)
    assert not viewer.moving()


def assert_same_picture(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    diff = np.abs(actual.astype(int) - expected.astype(int))
    assert diff.max() <= TOLERANCE, f"max difference {diff.max()} at {np.argwhere(diff == diff.max())[0]}"


# ---------------------------------------------------------------- the notebook


def test_notebook_is_committed_with_outputs_cleared():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has no code"
    assert all(not c.outputs and c.execution_count is None for c in code), "clear the outputs before committing"


@pytest.mark.gl
@pytest.mark.timeout(600)
@pytest.mark.notebook
def test_notebook_runs_headless_and_shows_videos(egl, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEFORM3D_SMALL", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel starts in tmp_path, so anything the notebook wrote would land there, not here.
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, "\n".join(f"{o.ename}: {o.evalue}" for o in errors)
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "Traceback" not in stderr, stderr

    data = [o.get("data", {}) for o in outputs if o.output_type in ("execute_result", "display_data")]
    videos = [d["text/html"] for d in data if "<video" in d.get("text/html", "")]
    assert len(videos) == 3, f"expected a video for each of k = 2, 3, 4, got {len(videos)}"
    for html in videos:
        payload = re.search(r'src="data:video/mp4;base64,([^"]+)"', html)
        assert payload, "the video must be embedded (base64), so it survives HTML export"
        mp4 = base64.b64decode(payload.group(1))
        assert mp4[4:8] == b"ftyp" and len(mp4) > 1000, "not an MP4 file"

    pngs = [d["image/png"] for d in data if "image/png" in d]
    assert len(pngs) >= 2, "expected the run's own still and still(...)"
    assert all(base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert any(d.get("text/plain", "").startswith("deform3d run: k = 3") for d in data)

    viewer = [d for d in data if "application/vnd.jupyter.widget-view+json" in d and "<img" in d.get("text/html", "")]
    assert len(viewer) == 1, "the Viewer shows a live widget with a PNG snapshot for static exports"
    assert not [d for d in data if "RFBOutputContext" in d.get("text/plain", "")], "a stray widget output"
    # JupyterLab shows only the richest type: the run's own HTML has its summary line and the still.
    run_html = [d["text/html"] for d in data if d.get("text/plain", "").startswith("deform3d run: k = 3")]
    assert run_html and "<div>deform3d run: k = 3" in run_html[0] and 'alt="deform3d run: k = 3' in run_html[0]
    nbconvert = pytest.importorskip("nbconvert")
    exported, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert "RFBOutputContext" not in exported
    assert list(tmp_path.iterdir()) == [], "the notebook left files behind"


# ---------------------------------------------------------------- Trajectory in a notebook


@pytest.mark.gl
def test_video_is_an_embedded_mp4_and_leaves_no_file(egl, run, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where video() records by default
    video = run.video(size=(160, 96), mesh=32, frames=6, fps=6, hold_start=0, hold_end=0.25)
    html = video._repr_html_()
    assert "<video" in html and "controls" in html
    mp4 = base64.b64decode(re.search(r'base64,([^"]+)"', html).group(1))
    assert mp4[4:8] == b"ftyp"
    assert list(tmp_path.iterdir()) == [], "the temporary recording was not removed"

    kept = run.video(tmp_path / "kept.mp4", size=(160, 96), mesh=32, frames=6, fps=6, hold_start=0, hold_end=0.25)
    assert (tmp_path / "kept.mp4").read_bytes()[4:8] == b"ftyp" and "<video" in kept._repr_html_()


def test_video_refuses_a_format_a_browser_cannot_embed(run, tmp_path):
    with pytest.raises(UsageError, match=r"\.mp4 or \.webm"):
        run.video(tmp_path / "run.gif")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.gl
def test_a_run_shows_itself_as_a_summary_and_a_still(egl, run):
    bundle = run._repr_mimebundle_()
    assert bundle["text/plain"].startswith("deform3d run: k = 3 tanh on circles, 35 steps")
    assert bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    # A frontend that will not show PNGs gets no render at all.
    assert set(run._repr_mimebundle_(exclude=["image/png"])) == {"text/plain"}


@pytest.mark.gl
def test_a_run_from_a_users_loop_shows_itself_the_same_way(egl, watched_run):
    bundle = watched_run._repr_mimebundle_()  # deform3d.watch's run (conftest.py)
    assert bundle["text/plain"].startswith("deform3d run: k = 3 tanh on circles, 70 steps")
    assert bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_importing_deform3d_loads_no_notebook_machinery():
    code = "import sys, deform3d; print(sorted(m for m in ('IPython', 'ipywidgets', 'jupyter_rfb', 'torch', 'vispy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- Viewer


@pytest.mark.gl
@pytest.mark.notebook
def test_viewer_resize_and_drag_match_render(egl, run):
    from deform3d.notebook import Viewer

    viewer = Viewer(run, size=(256, 144))
    viewer.handle_event(resize(*SIZE))  # the browser reports the size it gave the widget
    first = viewer.get_frame()
    assert first.shape == (SIZE[1], SIZE[0], 3)
    assert_same_picture(first, deform3d.render(run, size=SIZE, ssaa=1))

    az, el = viewer.azimuth, viewer.elevation
    viewer.handle_event(pointer("pointer_down", 100, 90))
    viewer.handle_event(pointer("pointer_move", 130, 96))
    viewer.handle_event(pointer("pointer_move", 160, 110))
    viewer.handle_event(pointer("pointer_up", 160, 110, buttons=()))
    assert (viewer.azimuth, viewer.elevation) == (az - 30, el + 10)  # VisPy's turntable: 0.5 degree per pixel
    viewer.handle_event(pointer("pointer_move", 200, 150, buttons=()))  # a hover after the drag moves nothing
    assert (viewer.azimuth, viewer.elevation) == (az - 30, el + 10)
    rest(viewer)

    turned = viewer.get_frame()
    assert (turned != first).any(axis=2).mean() > 0.01, "the drag did not change the picture"
    expected = deform3d.render(run, step=run.num_steps, size=SIZE, azimuth=az - 30, elevation=el + 10, ssaa=1)
    assert_same_picture(turned, expected)


@pytest.mark.gl
@pytest.mark.notebook
def test_viewer_wheel_zooms_from_the_fitted_view_and_matches_render(egl, run):
    from deform3d.notebook import Viewer

    viewer = Viewer(run, size=SIZE)
    fitted = viewer.get_frame()
    viewer.handle_event(rfb_event("wheel", x=80, y=90, dx=0, dy=1, buttons=(), modifiers=()))
    # The first notch starts from the distance VisPy fits (1.1 ** 0.01 away): no jump.
    assert viewer.distance is not None
    rest(viewer)
    nudged = viewer.get_frame()
    assert (np.abs(nudged.astype(int) - fitted).max(axis=2) > 40).mean() < 0.01

    viewer.handle_event(rfb_event("wheel", x=80, y=90, dx=0, dy=-400, buttons=(), modifiers=()))
    rest(viewer)
    zoomed = viewer.get_frame()
    assert (zoomed != fitted).any(axis=2).mean() > 0.01
    assert_same_picture(zoomed, deform3d.render(run, **{**viewer.render_options(), "ssaa": 1}))

    viewer.handle_event(pointer("double_click", 80, 90))
    assert viewer.distance is None and viewer.azimuth == deform3d.core.config.RenderConfig.azimuth
    assert_same_picture(viewer.get_frame(), fitted)


@pytest.mark.gl
@pytest.mark.notebook
def test_viewer_slider_sets_the_step_and_shows_the_numbers(egl, run):
    from deform3d.notebook import Viewer

    viewer = Viewer(run, size=SIZE, epoch=1)
    assert viewer.step == run.steps_per_epoch and viewer.slider.value == run.steps_per_epoch
    viewer.slider.value = 3  # as the browser would
    assert viewer.step == 3.0
    rest(viewer)
    assert viewer.info.value == f"epoch {3 / run.steps_per_epoch:.1f} · loss {run.loss[3]:.3g} · accuracy {100 * run.accuracy[3]:.1f}%"
    assert_same_picture(viewer.get_frame(), deform3d.render(run, step=3, size=SIZE, ssaa=1))

    viewer.set_step(10.5)  # a fraction stays a fraction; the slider shows the nearest step
    assert viewer.step == 10.5 and viewer.slider.value in (10, 11)
    box = viewer.widget
    assert box.children[0] is viewer and viewer.slider in box.children[1].children


@pytest.mark.gl
@pytest.mark.notebook
def test_viewer_renders_at_the_device_pixel_ratio(egl, run):
    from deform3d.notebook import Viewer

    viewer = Viewer(run, size=SIZE)
    viewer.handle_event(resize(200, 100, ratio=2.0))
    assert viewer.get_frame().shape == (200, 400, 3)  # a sharp picture on a high-DPI screen
    viewer.handle_event(resize(210.4, 120, ratio=2.0))
    assert viewer.get_frame().shape == (240, 420, 3)
    viewer.handle_event(rfb_event("close"))


def test_viewer_without_the_notebook_extra_says_what_to_install(run, monkeypatch):
    import deform3d.notebook as notebook

    monkeypatch.setattr(notebook, "_MISSING", ImportError("No module named 'jupyter_rfb'"))
    with pytest.raises(UsageError, match=re.escape("pip install 'deform3d[notebook]'")):
        notebook.Viewer(run)


@pytest.mark.notebook
def test_viewer_checks_its_options_before_making_a_widget(run, capsys):
    from deform3d.core.config import ConfigError
    from deform3d.notebook import Viewer

    with pytest.raises(ConfigError, match="theme"):
        Viewer(run, theme="sepia")
    with pytest.raises(UsageError, match="--epoch must be between 0 and 5"):
        Viewer(run, epoch=6)
    # jupyter_rfb displays its output area when the widget is made: nothing was displayed.
    assert "RFBOutputContext" not in capsys.readouterr().out


@pytest.mark.gl
@pytest.mark.notebook
def test_viewer_draws_from_any_thread(egl, run):
    """JupyterLab 4.6 sends widget messages on a kernel subshell thread, not the one that displayed
    the viewer: frames must come from any thread (an EGL context is current on one at a time)."""
    from deform3d.notebook import Viewer

    viewer = Viewer(run, size=SIZE)
    first = viewer.get_frame()  # the main thread, as the display call does
    frames, errors = {}, []

    def on_thread(name, work):
        def body():
            try:
                frames[name] = work()
            except Exception as e:  # reported below, with the thread it happened on
                errors.append(f"{name}: {type(e).__name__}: {e}")

        thread = threading.Thread(target=body, name=name)
        thread.start()
        thread.join(timeout=60)

    def drag():
        viewer.handle_event(pointer("pointer_down", 100, 90))
        viewer.handle_event(pointer("pointer_move", 160, 110))
        return viewer.get_frame()  # mid-drag: the reduced frame

    on_thread("subshell-1", drag)
    viewer.handle_event(pointer("pointer_up", 160, 110, buttons=()))
    rest(viewer)
    on_thread("subshell-2", viewer.get_frame)
    assert not errors, errors
    assert frames["subshell-1"].shape == (SIZE[1] // 2, SIZE[0] // 2, 3), "a moving view draws a reduced frame"
    turned = frames["subshell-2"]
    assert turned.shape == first.shape
    assert (turned != first).any(axis=2).mean() > 0.01, "the drag did not change the picture"
    assert_same_picture(turned, deform3d.render(run, **{**viewer.render_options(), "ssaa": 1}))
    viewer.handle_event(rfb_event("close"))


@pytest.mark.gl
@pytest.mark.notebook
def test_a_moving_view_draws_a_reduced_frame_then_the_full_one(egl, run):
    from deform3d.notebook import Viewer

    viewer, still = Viewer(run, size=SIZE), Viewer(run, size=SIZE)
    full = viewer.get_frame()
    still.get_frame()
    viewer.set_step(3)  # as play does
    assert viewer.moving()
    moving = viewer.get_frame()
    assert moving.shape == (SIZE[1] // 2, SIZE[0] // 2, 3)
    # The whole view in fewer pixels (not a corner of it): close to the full frame shrunk, but
    # for the text and the coarser sheet's edges.
    from deform3d.graphics.offscreen import downsample

    shrunk = downsample(deform3d.render(run, step=3, size=SIZE, ssaa=1), 2)
    near = (np.abs(moving.astype(int) - shrunk).max(axis=2) <= 48).mean()
    assert near > 0.9, f"only {near:.0%} of the reduced frame matches the full one shrunk"
    rest(viewer)
    # The full frame is as if the view had never moved: the same steps, no reduced frame between.
    still.set_step(3)
    rest(still)
    assert_same_picture(viewer.get_frame(), still.get_frame())
    for v in (viewer, still):
        v.handle_event(rfb_event("close"))


def test_deform3d_notebook_is_a_lazy_attribute():
    code = ("import sys, deform3d; assert 'deform3d.notebook' not in sys.modules; "
            "print(deform3d.notebook.Viewer.__name__, 'notebook' in dir(deform3d))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Viewer", "True"]


@pytest.mark.gl
def test_an_interrupted_video_shows_the_part_it_made(egl, run, tmp_path, monkeypatch, capsys):
    import os
    import signal
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    done = []

    def stop_after_four(frames, total):  # the kernel's stop button sends SIGINT, as this does
        done.append((frames, total))
        if frames == 4:
            os.kill(os.getpid(), signal.SIGINT)

    video = run.video(size=(160, 96), mesh=32, frames=12, fps=6, hold_start=0, hold_end=0, progress=stop_after_four)
    mp4 = base64.b64decode(re.search(r'base64,([^"]+)"', video._repr_html_()).group(1))
    assert mp4[4:8] == b"ftyp", "the part made is a playable video"
    assert done[-1] == (4, 12), "the recording stopped at the next frame"
    err = capsys.readouterr().err
    assert "4 of 12 frames, shown below" in err and "Traceback" not in err and str(tmp_path) not in err
    assert list(tmp_path.iterdir()) == []


def test_api_errors_carry_one_clear_line_and_no_internal_frames(run):
    import traceback

    from deform3d.notebook import still

    for call in (lambda: deform3d.render(run, theme="sepia"), lambda: still(run, epoch=99),
                 lambda: deform3d.load("/nonexistent/run.npz")):
        with pytest.raises(UsageError) as info:
            call()
        frames = [f.filename for f in traceback.extract_tb(info.value.__traceback__)]
        # This test's frame, its lambda, then the entry point that re-raised: nothing deeper.
        assert len(frames) <= 3 and frames[-1].endswith("api.py"), frames
        assert info.value.__suppress_context__


@pytest.mark.gl
@pytest.mark.timeout(300)
@pytest.mark.notebook
def test_training_and_recording_show_a_progress_widget_in_a_cell(egl, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import deform3d\nrun = deform3d.train(epochs=300)"),  # seconds: past the delay
                nbformat.v4.new_code_cell("run.video(size=(320, 180), frames=90, fps=15)")]
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell, label in zip(nb.cells, ("training", "recording run.mp4")):
        widgets = [o.data for o in cell.outputs if o.output_type == "display_data"
                   and "application/vnd.jupyter.widget-view+json" in o.data]
        assert any(d["text/plain"].startswith(f"{label}:") for d in widgets), cell.outputs
        assert not [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"], cell.outputs
    # The bars' last state (nbclient keeps the widgets' state): each ran to its end.
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    finished = {m["state"]["max"] for m in state if m["model_name"] == "FloatProgressModel"
                and m["state"]["value"] == m["state"]["max"]}
    assert {18900, 90} <= finished, finished
    assert "<video" in nb.cells[1].outputs[-1].data["text/html"]


@pytest.mark.gl
def test_viewer_stage_slider_shows_the_anatomy_as_render_does(egl, run):
    from deform3d.notebook import Viewer

    viewer = Viewer(run, size=SIZE, step=20)
    assert viewer.stage_box.value is False and viewer.stage_slider.disabled
    viewer.stage_box.value = True  # as the browser would
    viewer.stage_slider.value = 2.5
    assert viewer.config.stage == 2.5 and viewer.render_options()["stage"] == 2.5
    rest(viewer)
    assert_same_picture(viewer.get_frame(), deform3d.render(run, step=20, size=SIZE, ssaa=1, stage=2.5))
    viewer.stage_box.value = False
    rest(viewer)
    assert viewer.config.stage is None
    assert_same_picture(viewer.get_frame(), deform3d.render(run, step=20, size=SIZE, ssaa=1))
    assert viewer.stage_row in viewer.widget.children
    with pytest.raises(deform3d.core.errors.ConfigError, match="stage"):
        viewer.set_stage(9)
    viewer.close()
    opened = Viewer(run, size=SIZE, stage=6)  # the option opens it at a stage
    assert opened.stage_box.value and opened.stage_slider.value == 6
    opened.close()

