"""The package installs with no package index (Debian's packages only), as the README's Python section says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def test_pip_installs_the_package_without_an_index(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    build = tmp_path / "source"
    # A copy of the package, so the build leaves nothing behind in the checkout.
    subprocess.run(["cp", "-r", str(PACKAGE), str(build)], check=True)
    for leftover in ("build", "smpc.egg-info"):
        subprocess.run(["rm", "-rf", str(build / leftover)], check=True)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-index", "--no-build-isolation", str(build)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = subprocess.run([str(venv / "bin" / "python"), "-c", "import smpc; print(smpc.__file__, smpc.__version__)"],
                           capture_output=True, text=True, cwd=str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert str(venv) in shown.stdout, f"imported from elsewhere: {shown.stdout}"
