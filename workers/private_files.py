"""Files holding residents' data or secrets are the owner's alone: folders 0700, files 0600.

The database (and SQLite's WAL and SHM files), the mail sink's messages, logs, keys, the
first admin's secrets and exports are written with these modes whatever the process umask
(modes are set explicitly after creating, not left to the umask), and ``partnerflow up``
makes what an older version left readable private on start, saying so in the log.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

import structlog

log = structlog.get_logger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600
# What a process creating files under var/ should start from: nobody else may read them.
PRIVATE_UMASK = 0o077


def private_folder(path: Path) -> Path:
    """Create ``path`` (and parents) if missing; the folder itself ends up mode 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, FOLDER_MODE)
    return path


def _open_private(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # an existing file keeps its old mode otherwise
    return fd


def write_private(path: Path, data: bytes | str) -> None:
    """Write a whole file, mode 0600."""
    raw = data.encode() if isinstance(data, str) else data
    with os.fdopen(_open_private(path, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
        handle.write(raw)


def append_private(path: Path) -> IO[bytes]:
    """A file opened for appending (a log), mode 0600."""
    return os.fdopen(_open_private(path, os.O_WRONLY | os.O_APPEND), "ab")


def open_private_text(path: Path) -> IO[str]:
    """A text file opened for writing from the start, mode 0600 (exports)."""
    fd = _open_private(path, os.O_WRONLY | os.O_TRUNC)
    return os.fdopen(fd, "w", newline="", encoding="utf-8")


def make_private(folder: Path) -> list[Path]:
    """Make ``folder`` and everything in it private; the paths that were not, relative."""
    fixed: list[Path] = []
    if not folder.exists():
        return fixed
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue  # never follow a link out of the folder
        wanted = FOLDER_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
        if stat.S_IMODE(info.st_mode) != wanted:
            os.chmod(path, wanted)
            fixed.append(path.relative_to(folder))
    if fixed:
        log.warning(
            "made data files private (owner only)",
            folder=str(folder.resolve()),
            count=len(fixed),
            paths=[str(p) for p in fixed[:20]],
        )
    return fixed
