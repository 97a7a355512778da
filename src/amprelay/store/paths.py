"""Private files: the data dir is 0700 and every file amprelay writes in it 0600, whatever
the umask (the store holds users' events; the console's record holds their recent ones)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and its parents) if missing, the directory itself 0700 whatever the
    umask. An existing directory is left as it is (it may be ``.`` or shared)."""
    p = Path(path)
    if not p.exists():
        p.mkdir(parents=True, exist_ok=True)
        p.chmod(DIR_MODE)
    return p


def private_file(path: str | os.PathLike[str], create: bool = True) -> None:
    """Make ``path`` 0600, creating it empty first when ``create`` and it is missing."""
    p = Path(path)
    if create:
        fd = os.open(p, os.O_CREAT | os.O_WRONLY, FILE_MODE)
        os.close(fd)
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if p.stat().st_mode & 0o777 != FILE_MODE:
            p.chmod(FILE_MODE)


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (a 0600 temporary file renamed over it)."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, p)
