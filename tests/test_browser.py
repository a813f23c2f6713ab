"""End to end in a real browser: JupyterLab with its default settings, headless Chromium, Run All.

demos/notebook.ipynb runs in JupyterLab (widget messages over kernel subshells, Lab's default)
as a user's Run All does, with DEFORM3D_SMALL=1. Then, in the page: no cell has an error, the
embedded videos load (readyState 4), the Viewer's numbers fit beside its slider, and a mouse drag
on the Viewer changes the picture it shows. Skips, with the reason, where Chromium, JupyterLab or
EGL is missing; CI installs them (.ci/run). Screenshots go to the test's folder, and to
$DEFORM3D_BROWSER_SHOTS when set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import browser

ROOT = Path(__file__).resolve().parents[1]
VIEWER_IMG = ".renderview-wrapper img"



def keep(shot: Path) -> None:
    folder = os.environ.get("DEFORM3D_BROWSER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


@pytest.mark.gl
@pytest.mark.timeout(300)
@pytest.mark.notebook
def test_demo_notebook_runs_in_jupyterlab_and_the_viewer_turns(egl, tmp_path):
    reason = browser.missing()
    if reason:
        pytest.skip(reason)
    shutil.copy(ROOT / "demos" / "notebook.ipynb", tmp_path / "notebook.ipynb")
    with browser.jupyterlab(tmp_path, env={"DEFORM3D_SMALL": "1"}) as (base, token), \
            browser.headless_chromium() as page:
        browser.open_notebook(page, base, token, "notebook.ipynb")
        took = browser.run_all(page, timeout=180)
        print(f"Run All took {took:.1f} s")

        outputs = [o for cell in browser.outputs(page) for o in cell]
        errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
        assert not errors, errors
        stderr = "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == "stderr")
        assert "Traceback" not in stderr and "Error" not in stderr, stderr
        assert not any("RFBOutputContext" in o.get("data", {}).get("text/plain", "") for o in outputs)

        # Every embedded video loads far enough to play through (HAVE_ENOUGH_DATA).
        n_videos = page.eval("document.querySelectorAll('.jp-OutputArea video').length")
        assert n_videos == 3, f"expected the three runs' videos, found {n_videos}"
        for i in range(n_videos):
            page.eval(f"document.querySelectorAll('.jp-OutputArea video')[{i}].scrollIntoView({{block: 'center'}}); true")
            browser.wait_for(lambda: page.eval(f"document.querySelectorAll('.jp-OutputArea video')[{i}].readyState") == 4,
                             30, f"video {i + 1} to load")
        shot = tmp_path / "notebook-videos.png"
        page.screenshot(shot, clip=browser.rect(page, ".jp-OutputArea video"))
        keep(shot)

        # The Viewer: its numbers beside the slider are whole, and a drag turns the lift.
        box = browser.rect(page, VIEWER_IMG)
        # Until the kernel's first frame arrives the widget shows a 1x1 grey placeholder.
        browser.wait_for(lambda: page.eval(f"(i => i.naturalWidth >= i.clientWidth)(document.querySelector('{VIEWER_IMG}'))"),
                         30, "the Viewer's first frame")
        clipped = page.eval("""[...document.querySelectorAll('.widget-label')]
            .filter(l => l.textContent.startsWith('epoch'))
            .map(l => [l.textContent, l.scrollWidth, l.clientWidth])""")
        assert clipped and all(sw <= cw for _, sw, cw in clipped), f"the info label clips: {clipped}"
        assert clipped[0][0].endswith("%"), clipped

        page.screenshot(tmp_path / "viewer-before.png", clip=box)
        keep(tmp_path / "viewer-before.png")
        before = browser.pixels(page, VIEWER_IMG)
        browser.count_frames(page, VIEWER_IMG)
        seconds, frames = browser.drag(page, box, dx=160, dy=40, seconds=2.0,
                                       midway=lambda: page.screenshot(tmp_path / "viewer-dragging.png", clip=box))
        keep(tmp_path / "viewer-dragging.png")
        print(f"drag: {frames} frames in {seconds:.2f} s = {frames / seconds:.1f} frames/s at "
              f"{box['width']:.0f}x{box['height']:.0f}")

        # While dragged the Viewer sends half-size frames; once the view rests, the full one.
        browser.wait_for(lambda: page.eval(f"(i => i.naturalWidth >= i.clientWidth)(document.querySelector('{VIEWER_IMG}'))"),
                         10, "the full frame once the drag ended")
        after = browser.pixels(page, VIEWER_IMG)
        changed = (np.abs(after.astype(int) - before).max(axis=2) > 24).mean()
        assert changed > 0.02, f"the drag changed only {changed:.1%} of the Viewer's pixels"
        page.screenshot(tmp_path / "viewer-after.png", clip=box)
        keep(tmp_path / "viewer-after.png")
        print(f"the drag changed {100 * changed:.0f}% of the Viewer's pixels")
        assert frames >= 2, "the Viewer showed no new frame while dragged"

        outputs = [o for cell in browser.outputs(page) for o in cell]
        errors = [o for o in outputs if o["output_type"] == "error"]
        assert not errors, errors
        # jupyter_rfb shows errors in its callbacks (get_frame, handle_event) in the Viewer's own
        # output area: nothing may be there (JupyterLab 4.6's subshell thread once put one there).
        widget_errors = page.eval("""[...document.querySelectorAll('.jp-OutputArea-output')]
            .map(e => e.textContent).filter(t => t.includes('Error') || t.includes('Traceback'))""")
        assert not widget_errors, widget_errors
        shot = tmp_path / "notebook-end.png"
        page.screenshot(shot)
        keep(shot)
