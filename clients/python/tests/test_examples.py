"""The examples run as a user runs them (their own process, `--url` and `--operator-key` of a running service) and
print the right answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service import EmbeddedService

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(service: EmbeddedService, name: str, *args: str, timeout: float = 600) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), "--url", service.url,
                           "--operator-key", service.operator_key, *args],
                          capture_output=True, text=True, timeout=timeout, cwd=str(EXAMPLES))
    assert done.returncode == 0, f"{name} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_millionaires_average(service: EmbeddedService) -> None:
    out = run_example(service, "millionaires.py")
    assert "secure mean of 3 millionaires: 3,050,000.00" in out, out


def test_pytorch_fedavg_converges(service: EmbeddedService) -> None:
    pytest.importorskip("torch")
    out = run_example(service, "pytorch_fedavg.py", "--rounds", "6")
    losses = [float(line.split("pooled loss")[1].split()[0]) for line in out.splitlines() if "pooled loss" in line]
    assert len(losses) == 6 and losses[-1] < losses[0] / 5, out


def test_the_quickstart_notebook_runs(service: EmbeddedService, tmp_path: Path) -> None:
    """Executed with Debian's jupyter-nbconvert when it is installed, else its code cells as one script."""
    import json
    import os
    import shutil
    env = dict(os.environ, SMPC_URL=service.url, SMPC_OPERATOR_KEY=service.operator_key)
    notebook = EXAMPLES / "quickstart.ipynb"
    if shutil.which("jupyter-nbconvert"):
        done = subprocess.run(["jupyter-nbconvert", "--to", "notebook", "--execute", "--output-dir", str(tmp_path),
                               "--ExecutePreprocessor.timeout=600", str(notebook)],
                              capture_output=True, text=True, env=env, cwd=str(EXAMPLES), timeout=900)
    else:
        cells = json.loads(notebook.read_text())["cells"]
        script = tmp_path / "quickstart.py"
        script.write_text("\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                              cwd=str(EXAMPLES), timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
