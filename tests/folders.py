"""Folders the tests need that are hard to make by hand."""

import os
from pathlib import Path


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder no file can be created in: chmod stops anyone but root; /proc/self stops root too."""
    if os.geteuid() == 0:
        return Path("/proc/self")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder
