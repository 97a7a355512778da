"""The free-space guard reads the disk (statvfs) at most every REFRESH_SECONDS while it is far
from the limit, and on every write near it, counting what the writes it allowed since may take."""

from __future__ import annotations

from amprelay.store.space import DiskGuard

MB = 1024 * 1024


class Disk:
    def __init__(self, free: int):
        self.free = free
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.free


def guard(disk: Disk, clock: list[float], min_free: int = 10 * MB) -> DiskGuard:
    g = DiskGuard("/nonexistent-never-read", min_free, refresh=0.05, clock=lambda: clock[0])
    g.free_bytes = disk  # type: ignore[method-assign]
    return g


def test_far_from_the_limit_the_disk_is_read_once_per_interval():
    disk, clock = Disk(1000 * MB), [0.0]
    g = guard(disk, clock)
    for _ in range(100):
        assert g.check(1000) is None
    assert disk.reads == 1
    clock[0] = 0.06
    assert g.check(1000) is None
    assert disk.reads == 2


def test_near_the_limit_every_write_reads_the_disk():
    disk, clock = Disk(15 * MB), [0.0]  # less than twice the 10 MB a write needs
    g = guard(disk, clock)
    assert g.check(1000) is None
    disk.free = 9 * MB  # another program took space: seen by the very next write
    assert g.check(1000) is not None
    assert disk.reads == 2


def test_writes_allowed_since_the_last_reading_count_against_it():
    disk, clock = Disk(40 * MB), [0.0]
    g = guard(disk, clock)
    assert g.check(1 * MB) is None
    assert disk.reads == 1
    for _ in range(25):  # the estimate falls under twice the need: the disk is read again
        disk.free -= 1 * MB
        assert g.check(1 * MB) is None
    assert disk.reads > 1
    disk.free = 10 * MB
    assert "only" in (g.check(1 * MB) or "")  # refused at once, within the interval
