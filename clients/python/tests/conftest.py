"""Fixtures of the Python SDK's tests: the real embedded service (`service`) and a fresh tenant on it (`world`)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the SDK from this checkout, installed or not
sys.path.insert(0, str(HERE))

from service import EmbeddedService, World, dotnet_built, new_world  # noqa: E402

REPO = HERE.parents[2]
VECTORS = REPO / "docs" / "protocols" / "vectors"


@pytest.fixture(scope="session")
def service() -> Iterator[EmbeddedService]:
    """One embedded silo for the whole run (tests isolate themselves by tenant)."""
    reason = dotnet_built()
    if reason:
        pytest.fail(f"the service tests need the .NET build: {reason}")
    directory = Path(tempfile.mkdtemp(prefix="smpc-pytest-service-"))
    svc = EmbeddedService(directory).start()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture()
def world(service: EmbeddedService, tmp_path: Path) -> Iterator[World]:
    """A fresh tenant on the shared service, its files under the test's tmp_path; .NET agents stopped at the end."""
    w = new_world(service, tmp_path)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The committed known-answer and conformance files (docs/protocols/vectors)."""
    return VECTORS
