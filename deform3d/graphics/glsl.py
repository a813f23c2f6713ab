"""The one GLSL loader: shader files by name, with ``#include "file.glsl"`` resolved, cached.

Owns: finding the shipped ``shaders/`` folder (inside the installed package first, then the
repository's top level for an editable install), splicing includes, and compile-time features
(``#define``s, see ``load``). VisPy fills the ``$hooks`` (``$transform``) later; an include we
cannot find is an error, never silence. Imports no GL.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_INCLUDE = re.compile(r'^[ \t]*#include[ \t]+"([^"]+)"[ \t]*$', re.M)


def shader_dir() -> Path:
    """Where the .glsl files are: the package's copy (wheel) or the repository's (editable)."""
    package = Path(__file__).resolve().parents[1]  # deform3d/, where the wheel's force-include puts them
    for candidate in (package / "shaders", package.parent / "shaders"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"deform3d's shaders are missing (looked in {package / 'shaders'} and {package.parent / 'shaders'})"
    )


@lru_cache(maxsize=None)
def load(name: str, defines: tuple[str, ...] = ()) -> str:
    """Source of shader ``name`` with its includes spliced in (each file at most once), after a
    ``#define NAME`` line for each of ``defines``.

    Features a shader needs in some panels only are compiled in or out with these, not switched by
    uniforms: Mesa's llvmpipe runs both sides of a branch on a uniform, so a feature a panel does
    not draw still costs its fragments (docs/design.md, GL facts).
    """
    for d in defines:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", d):
            raise ValueError(f"not a preprocessor name: {d!r}")
    head = "".join(f"#define {d}\n" for d in defines)
    return head + _expand(name, shader_dir(), set())


def _expand(name: str, folder: Path, seen: set) -> str:
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"shader {name!r} not found in {folder}")
    if name in seen:
        return f"// {name}: already included\n"
    seen.add(name)
    return _INCLUDE.sub(lambda m: _expand(m.group(1), folder, seen), path.read_text())
