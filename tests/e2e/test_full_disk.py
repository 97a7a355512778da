"""A full disk, on a real small filesystem (a tmpfs; needs root): ingest answers 503 with
Retry-After *before* the disk is full; when the disk does fill (another process takes the rest)
while Amplitude accepts again, delivery records nothing it cannot write and resends nothing
(at most one batch's worth of duplicates), /ready says why; once the filesystem grows, everything
acknowledged arrives and the relay is ready again, by itself."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import httpx

from amprelay.delivery.settings import DeliverySettings
from amprelay.fakeamp import run_in_thread
from tests.e2e.processes import write_serve_config
from tests.helpers.relay import AMPRELAY, WRITE_KEY, free_port, wait_for
from tests.requirements import require

MIN_FREE = 4 * 1024 * 1024
PAD = "x" * 700  # about 1 KB per message


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)], check=True)


def fill(directory: Path) -> Path:
    """Take every free byte of the filesystem (as another program would)."""
    ballast = directory / "ballast"
    chunk = b"\0" * (256 * 1024)
    with open(ballast, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
    return ballast


def test_full_disk_neither_loses_nor_resends(tmp_path):
    require(os.geteuid() == 0, "mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "24m")
    fake = run_in_thread()
    proc = None
    try:
        fake.configure(error_rate=1.0, error_statuses=[503])
        port = free_port()
        config = write_serve_config(tmp_path / "amprelay.yaml", disk / "data", port, fake.url,
                                    "disk-api-key-000000000000000001", extra=f"queue: {{min_free_disk_bytes: {MIN_FREE}}}",
                                    destination_extra="stable_insert_id: true")

        log = open(tmp_path / "serve.log", "wb")
        proc = subprocess.Popen([*AMPRELAY, "serve", "--config", str(config), "--log-level", "info"],
                                stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get(base + "/health") == 200, timeout=30)

        # 1. Amplitude answers 503 while the queue fills: ingest refuses before the disk is full.
        acked: set[str] = set()
        refused = None
        with httpx.Client(timeout=10, auth=(WRITE_KEY, "")) as client:
            n = 0
            while refused is None and n < 200_000:
                batch = [{"type": "track", "event": "Disk", "userId": f"user-{(n + i) % 50:05d}",
                          "messageId": f"disk-{n + i:06d}", "properties": {"pad": PAD}} for i in range(50)]
                r = client.post(base + "/v1/batch", json={"batch": batch})
                if r.status_code == 200:
                    acked.update(m["messageId"] for m in batch)
                    n += 50
                else:
                    refused = r
        assert refused is not None and refused.status_code == 503, "ingest never refused"
        assert int(refused.headers["Retry-After"]) > 0
        st = os.statvfs(disk)
        assert st.f_bavail * st.f_frsize >= MIN_FREE, "the disk filled before ingest refused"
        assert len(acked) >= 2000

        # 2. Something else takes the rest of the disk; Amplitude accepts again.
        ballast = fill(disk)
        fake.configure(error_rate=0.0)
        wait_for(lambda: _get(base + "/ready") == 503, timeout=60)
        time.sleep(3)  # delivery against a full disk for a while
        while_full = fake.stats().get("duplicates", 0)
        assert while_full <= DeliverySettings().lease_units, f"{while_full} duplicates while the disk was full"

        # 3. The filesystem grows: everything acknowledged arrives, once; ready again.
        subprocess.run(["mount", "-o", "remount,size=96m", str(disk)], check=True)

        def delivered() -> set[str]:
            return {e["data"]["insert_id"].rsplit("-", 1)[0] for e in fake.events(path="/2/httpapi")}

        try:
            wait_for(lambda: acked <= delivered(), timeout=120, interval=0.5)
        except AssertionError:
            missing = acked - delivered()
            raise AssertionError(f"{len(missing)} of {len(acked)} acknowledged messages never arrived") from None
        wait_for(lambda: _get(base + "/ready") == 200, timeout=30)
        duplicates = fake.stats().get("duplicates", 0)
        assert duplicates <= DeliverySettings().lease_units
        print(f"acked {len(acked)}; duplicates while full {while_full}, in all {duplicates}")
        ballast.unlink()
        lines = (tmp_path / "serve.log").read_text(errors="replace").splitlines()
        store_errors = [line for line in lines if "cannot record delivery outcomes" in line]
        assert len(store_errors) <= 3, store_errors  # at most once a minute
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        fake.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0
