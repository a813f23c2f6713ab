"""Writing output files safely: a probe that the target can be written, and atomic replacement.

Owns: the temporary-file-beside-the-target-then-rename pattern every writer uses, so a crash or
Ctrl-C never leaves a half-written file at the user's path, and outputs get normal permissions.
Imports nothing heavy.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import UsageError


def check_writable(path: str | Path) -> None:
    """Raise UsageError unless a file can be created at ``path`` (checked by creating one).

    A real probe rather than os.access: it also catches read-only file systems, and works as root.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; give a file name")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise UsageError(f"cannot write to folder {folder}: {e.strerror or e}; choose another --out") from None
    os.close(fd)
    os.unlink(probe)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, else it is removed.

    The result gets the permissions a plain ``open(path, "w")`` would give (mkstemp's are 0600).
    """
    path = Path(path)
    check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
