"""VACUUM of the PostgreSQL queue's units table, run by the relays themselves.

Units are inserted at the table's end and deleted within seconds, once Amplitude took them. A
deleted row's space is reused only after a VACUUM has recorded it (in the free space map); until
then every insert extends the table. autovacuum looks at a database at most once a
``autovacuum_naptime`` (a minute by default, a server setting): under load the table then grows
by a minute of traffic between its visits (about 450 B a unit: 18,000 units/s, ~490 MB), past
PostgreSQL's shared buffers, whose backends then write out pages themselves (one relay on this
project's machine: 18,500 events/s in the first 13 s of a run, ~13,000 from then on).

So each queue counts the units it deleted and, every ``queue.vacuum_units`` of them (20,000; 0:
never, autovacuum only), at most once per :data:`MIN_SECONDS`, runs ``VACUUM (SKIP_LOCKED)`` of the table on a connection of its own,
in a thread of its own: no enqueue, lease or settlement waits for it, and while another relay's
VACUUM runs this one is skipped. A failure (a role that does not own the table may not vacuum
it: PostgreSQL then warns and skips it) never fails the queue: autovacuum remains.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

__all__ = ["MIN_SECONDS", "UnitsVacuum"]

log = logging.getLogger("amprelay.store")

MIN_SECONDS = 2.0  # at least this long between two VACUUMs of one queue


class UnitsVacuum:
    """Counts a queue's deleted units and vacuums the units table in the background."""

    def __init__(self, dsn: str, connect_timeout: float, every_units: int, min_seconds: float = MIN_SECONDS):
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self.every_units = every_units
        self.min_seconds = min_seconds
        self.deleted = 0  # since the last VACUUM was asked for
        self.runs = 0  # VACUUMs completed
        self.error: str | None = None  # why the last one failed, until one succeeds
        self._due = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._logged_at = -float("inf")

    def deleted_units(self, n: int) -> None:
        """``n`` more units were deleted; asks for a VACUUM every ``every_units``."""
        self.deleted += n
        if self.every_units <= 0 or self.deleted < self.every_units or self._closed:
            return
        self.deleted = 0
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="amprelay-pg-vacuum", daemon=True)
            self._thread.start()
        self._due.set()

    def close(self, timeout: float = 10.0) -> None:
        self._closed = True
        self._due.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        last = -float("inf")
        try:
            while True:
                self._due.wait()
                if self._closed:
                    return
                pause = last + self.min_seconds - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                    if self._closed:
                        return
                self._due.clear()
                last = time.monotonic()
                try:
                    if conn is None or conn.closed or conn.broken:
                        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=int(self._connect_timeout))
                    conn.execute("VACUUM (SKIP_LOCKED) amprelay_units")
                    self.runs += 1
                    self.error = None
                except psycopg.Error as exc:
                    self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    if last - self._logged_at >= 60.0:  # at most once a minute
                        self._logged_at = last
                        log.warning("VACUUM of amprelay_units failed (autovacuum remains): %s", self.error)
                    if conn is not None:
                        conn.close()
                        conn = None
        finally:
            if conn is not None:
                conn.close()
