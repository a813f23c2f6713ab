"""The package's layers (docs/design.md, "Layers"): imports only point down, and nothing circles.

``lint-imports`` checks pyproject.toml's contracts on this checkout; the same check on a copy of
the package with one upward import added must fail, so the check itself is shown to bite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(package_parent: Path, cwd: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH first: grimp finds `deform3d` there before the editable install's path entry.
    env = dict(os.environ, PYTHONPATH=str(package_parent))
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_imports_only_point_down():
    result = _lint(ROOT, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    shutil.copytree(ROOT / "deform3d", tmp_path / "deform3d", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "deform3d" / "core" / "geometry.py", "a") as f:
        f.write("\nfrom ..graphics import scene  # upward: the core reaching for GL\n")
    result = _lint(tmp_path, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deform3d.core.geometry -> deform3d.graphics.scene" in result.stdout
    assert "deform3d.core is not allowed to import vispy" in result.stdout


def test_the_import_graph_has_no_cycle():
    import grimp

    graph = grimp.build_graph("deform3d", cache_dir=None)
    modules = sorted(graph.modules)
    cycles = [(a, b) for a in modules for b in modules
              if a < b and graph.chain_exists(a, b) and graph.chain_exists(b, a)]
    assert cycles == []


def test_the_import_picture_in_docs_is_the_code_s():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "imports.py"), "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
