"""Frames per second of the notebook Viewer while dragged, in a real JupyterLab and headless Chromium.

Run on demand (not a test): ``python benchmarks/viewer_drag.py [--baseline DIR] [--drags N]``.

A notebook trains the default run (k = 3 on the circles) and shows ``Viewer(run)`` at its default
size; the browser drags across it (tests/browser.py: JupyterLab's default settings, a mouse drag
over the DevTools protocol) and counts the frames the widget shows from the press to the release.
Each row is the median of ``--drags`` drags. ``--baseline DIR``: also measure the deform3d source
tree in DIR (e.g. ``git archive <commit> | tar -x -C DIR``) first, in the same run, and print the
ratio; with ``--baseline-subshells off`` (the default) it runs with JupyterLab's comms over
subshells disabled, since a Viewer from before the GL thread fails with them on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402  (tests/browser.py: the JupyterLab and Chromium harness)

IMG = ".renderview-wrapper img"
CELLS = ["import deform3d\nfrom deform3d.notebook import Viewer\nrun = deform3d.train(hidden=3, progress=False)",
         "viewer = Viewer(run)\nviewer"]
SUBSHELLS_OFF = {"@jupyterlab/apputils-extension:kernels-settings": {"commsOverSubshells": "disabled"}}


def notebook(folder: Path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in CELLS]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (folder / "drag.ipynb").write_text(json.dumps(nb))


def measure(source: Path | None, subshells: bool, drags: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="deform3d-drag-") as tmp:
        folder = Path(tmp)
        notebook(folder)
        env = {"PYTHONPATH": str(source)} if source else {}
        with browser.jupyterlab(folder, env=env, settings=None if subshells else SUBSHELLS_OFF) as (base, token), \
                browser.headless_chromium() as page:
            browser.open_notebook(page, base, token, "drag.ipynb")
            browser.run_all(page, timeout=180)
            box = browser.rect(page, IMG)
            browser.wait_for(lambda: page.eval(f"(i => i.naturalWidth >= i.clientWidth)(document.querySelector('{IMG}'))"),
                             60, "the Viewer's first frame")
            browser.count_frames(page, IMG)
            rates = []
            for i in range(drags):
                time.sleep(1.5)  # at rest: the full frame has been sent
                sign = 1 if i % 2 == 0 else -1
                took, frames = browser.drag(page, box, dx=sign * 300, dy=sign * 60, seconds=seconds)
                rates.append(frames / took)
            errors = page.eval("""[...document.querySelectorAll('.jp-OutputArea-output')]
                .map(e => e.textContent).filter(t => t.includes('Error'))""")
    return {"size": f"{box['width']:.0f}x{box['height']:.0f}", "fps": statistics.median(rates), "all": rates,
            "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, metavar="DIR", help="a deform3d source tree to measure first")
    parser.add_argument("--baseline-subshells", choices=("on", "off"), default="off")
    parser.add_argument("--drags", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each drag")
    args = parser.parse_args()
    reason = browser.missing()
    if reason:
        print(f"cannot run: {reason}")
        return 1
    rows = []
    if args.baseline:
        subshells = args.baseline_subshells == "on"
        rows.append((f"baseline ({args.baseline}), subshells {args.baseline_subshells}",
                     measure(args.baseline.resolve(), subshells, args.drags, args.seconds)))
    rows.append(("this tree, JupyterLab defaults (subshells on)", measure(None, True, args.drags, args.seconds)))
    print(f"{'':52s} {'size':>9s} {'frames/s':>9s}  each drag")
    for name, r in rows:
        each = ", ".join(f"{x:.1f}" for x in r["all"])
        print(f"{name:52s} {r['size']:>9s} {r['fps']:9.1f}  {each}" + (f"  ERRORS: {len(r['errors'])}" if r["errors"] else ""))
    if len(rows) == 2:
        base = rows[0][1]["fps"]
        print(f"ratio (this tree / baseline): {rows[1][1]['fps'] / base:.2f}x" if base else
              "ratio: the baseline drew no frame while dragged (see its ERRORS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
