"""Every script in demos/ runs, at a tiny size, as a user would run it: ``python demos/NAME.py``.

Each demo is a short script a user would copy: a docstring that says what it does and how to run
it, a ``__main__`` guard, ``--out DIR`` for where it writes, and ``--small`` (or DEFORM3D_SMALL=1)
for a quick run. The run happens in a child process from another folder, so the demo cannot lean on
the test's imports or working directory.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMOS = sorted((ROOT / "demos").glob("*.py"))
PNG = b"\x89PNG\r\n\x1a\n"


def test_there_are_demos():
    assert len(DEMOS) >= 2 and (ROOT / "demos" / "notebook.ipynb").is_file()


@pytest.mark.parametrize("demo", DEMOS, ids=lambda p: p.name)
def test_demo_reads_like_a_script_to_copy(demo):
    tree = ast.parse(demo.read_text())
    doc = ast.get_docstring(tree)
    assert doc and f"python demos/{demo.name}" in doc, "the docstring says what it does and how to run it"
    guards = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    assert guards, "importing a demo must not run it"
    assert "--small" in demo.read_text() and "--out" in demo.read_text()


@pytest.mark.gl
@pytest.mark.timeout(300)
@pytest.mark.parametrize("demo", DEMOS, ids=lambda p: p.name)
def test_demo_runs_small(demo, tmp_path):
    from deform3d.core.errors import UsageError
    from deform3d.graphics.offscreen import egl_app

    try:
        egl_app()
    except UsageError as e:
        pytest.skip(f"no OpenGL here: {e}")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, str(demo), "--out", str(out), "--small"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert written, f"{demo.name} wrote nothing into --out"
    assert all(p.stat().st_size > 0 for p in written)
    for png in (p for p in written if p.suffix == ".png"):
        assert png.read_bytes()[:8] == PNG
    for mp4 in (p for p in written if p.suffix == ".mp4"):
        assert mp4.read_bytes()[4:8] == b"ftyp"
    assert str(out) in done.stdout, "a demo says where it wrote"
    assert list(tmp_path.iterdir()) == [out], "a demo writes only into --out"
