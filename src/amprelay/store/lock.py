"""One writer per data dir: a lock file (``amprelay.lock``) held with ``flock`` for the life of
the process. The kernel releases it when the holder exits or dies (even by SIGKILL), so a stale
file never blocks a restart. Commands that would write the store (``serve``, ``replay``,
``dlq retry|purge``) take it and refuse at once when another process holds it; commands that only
read (``dlq list|show``, ``replay --dry-run``) do not need it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from amprelay.errors import AmprelayError
from amprelay.store.paths import FILE_MODE, private_dir

if TYPE_CHECKING:
    from amprelay.store import StoreLocation

LOCK_NAME = "amprelay.lock"


class DataDirInUse(AmprelayError):
    """Another process writes this data dir."""

    def __init__(self, data_dir: Path, pid: int | None):
        self.data_dir = data_dir
        self.pid = pid
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"the data dir {data_dir} is in use by {holder} (lock {data_dir / LOCK_NAME}); "
                         "stop it first, or use another --data-dir")


class DataDirLock:
    def __init__(self, data_dir: str | os.PathLike[str]):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, exiting_grace: float = 10.0) -> DataDirLock:
        """Take the lock or raise :class:`DataDirInUse` naming the holder's pid.

        The worker processes of a relay (``serve --workers``) inherit its descriptor, so the lock
        is held until the last of them exits. When the pid in the file (the relay's main process)
        is gone but the lock is still held, its workers are exiting (they die with it): wait up to
        ``exiting_grace`` seconds for them rather than refuse."""
        if self._fd is not None:
            return self
        private_dir(self.data_dir)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        deadline = time.monotonic() + exiting_grace
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pid = _read_pid(fd)
                if pid is not None and not _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                os.close(fd)
                raise DataDirInUse(self.data_dir, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    @property
    def fileno(self) -> int | None:
        """The locked descriptor (worker processes inherit it), or None when not held."""
        return self._fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def store_dir(queue_config: StoreLocation | None, data_dir: str | os.PathLike[str]) -> Path:
    """The directory whose lock guards a config's store: the SQLite file's directory (the data dir
    unless ``queue.path`` moves the file), else the data dir."""
    from amprelay.store import sqlite_path

    if queue_config is None or queue_config.backend == "sqlite":
        return sqlite_path(queue_config, data_dir).parent
    return Path(data_dir)
