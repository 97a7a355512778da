"""Packaging check (CI runs it from .ci/run): build the wheel and the sdist with `python -m build`
into a temporary directory, check that the wheel carries every file of the package (static JS,
templates, data), install each in a fresh venv (not the checkout) and run `amprelay demo` there.

    python dev/check_dist.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path | None = None) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}\n{res.stderr}")
    return res.stdout


def package_files() -> set[str]:
    """Every file of src/amprelay that git tracks, as a path inside the wheel."""
    out = run(["git", "ls-files", "src/amprelay"], cwd=ROOT)
    return {line.removeprefix("src/") for line in out.splitlines() if line and "__pycache__" not in line}


def install_and_demo(label: str, artifact: Path, work: Path) -> None:
    env_dir = work / f"venv-{label}"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    run([str(bin_dir / "pip"), "install", "-q", "--disable-pip-version-check", str(artifact)])
    where = run([str(bin_dir / "python"), "-c", "import amprelay; print(amprelay.__file__)"], cwd=work).strip()
    if not where.startswith(str(env_dir)):
        sys.exit(f"{label}: amprelay imported from {where}, not from the fresh venv")
    demo = run([str(bin_dir / "amprelay"), "demo"], cwd=work)
    summary = [line for line in demo.splitlines() if "sent" in line or "received" in line or "queue depth" in line]
    print(f"{label}: installed {artifact.name} in a fresh venv; amprelay demo:")
    for line in summary:
        print("   ", line.strip())


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="amprelay-dist-") as tmp:
        work = Path(tmp)
        run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(ROOT)])
        [wheel] = (work / "dist").glob("*.whl")
        [sdist] = (work / "dist").glob("*.tar.gz")
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
        missing = sorted(package_files() - names)
        if missing:
            sys.exit(f"the wheel lacks {len(missing)} package file(s): {', '.join(missing[:20])}")
        license_ok = any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)
        if not license_ok:
            sys.exit("the wheel carries no LICENSE")
        print(f"built {wheel.name} ({len(names)} files, every tracked package file and the LICENSE in it) "
              f"and {sdist.name}")
        install_and_demo("wheel", wheel, work)
        install_and_demo("sdist", sdist, work)
    print(f"packaging check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
