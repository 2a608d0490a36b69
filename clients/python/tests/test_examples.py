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
