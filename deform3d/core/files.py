"""Writing output files safely: a probe that the target can be written, and atomic replacement.

Owns: the temporary-file-beside-the-target-then-rename pattern every writer uses, so a crash or
Ctrl-C never leaves a half-written file at the user's path, and outputs get normal permissions. A
write that fails (a full disk) is a RuntimeFault naming the file, which keeps what it held.
Imports nothing heavy.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import RuntimeFault, UsageError


def check_writable(path: str | Path) -> None:
    """Raise UsageError unless a file can be created at ``path`` (checked by creating one).

    A real probe rather than os.access: it also catches read-only file systems, and works as root.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        if folder.exists() or any(p.is_file() for p in folder.parents):
            file = folder if folder.exists() else next(p for p in folder.parents if p.is_file())
            raise UsageError(f"cannot write {path}: {file} is a file, not a folder; choose another --out")
        raise UsageError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; give a file name")
    if path.exists() and not path.is_file():
        # A device (/dev/full), pipe or socket: the rename that publishes an output would replace it.
        raise UsageError(f"cannot write {path}: it is not a regular file (a device, pipe or socket); give a file name")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise RuntimeFault(
                f"cannot write to folder {folder}: {e.strerror}; free some space or choose another --out"
            ) from None
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
    except OSError as e:  # a full disk, a quota, a vanished folder: one line, and the target untouched
        Path(tmp).unlink(missing_ok=True)
        raise RuntimeFault(f"cannot write {path}: {e.strerror or e}; {path.name} is unchanged") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
