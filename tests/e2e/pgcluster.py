"""A throw-away PostgreSQL cluster on a free port in a temp dir, for tests that need the database
to go down and come back (the shared server on 5432 is never touched). PostgreSQL refuses to run
as root: as root the cluster belongs to the ``postgres`` user."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.helpers.relay import free_port


def _tool(name: str) -> str | None:
    """``name`` on PATH, else where Debian's postgresql packages put it."""
    debian = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    for candidate in (shutil.which(name), f"/usr/local/bin/{name}", *debian):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def available() -> str | None:
    """None when a cluster can be made here, else why not."""
    if _tool("initdb") is None or _tool("pg_ctl") is None:
        return "initdb/pg_ctl are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to run PostgreSQL as the postgres user"
    return None


class PgCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="amprelay-pg-", dir="/tmp"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(_tool("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str | None) -> None:
        subprocess.run([*self._as, *[a for a in args if a]], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        subprocess.run([*self._as, _tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
