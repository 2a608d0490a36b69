"""Python pods for the secagg service tests: ``run_party`` driven by a small loop (one thread per pod)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cryptography.hazmat.primitives import serialization

from smpc.errors import NotFoundError
from smpc.secagg.pod import run_party

from secagg_helpers import TestIdentity


class MemoryPins:
    """Trust on first use in memory (the agreed ``PinStore.resolve`` shape) for pods in tests."""

    def __init__(self) -> None:
        self.pins: dict[tuple[str, str, str], str] = {}
        self.lock = threading.Lock()

    def resolve(self, tenant: str, kind: str, id: str, presented: str | None) -> str:
        with self.lock:
            key = (tenant, kind, id)
            if key in self.pins:
                if presented is not None and presented.strip().lower() != self.pins[key]:
                    raise AssertionError(f"{kind} {id} presents another identity")
                return self.pins[key]
            if presented is None:
                raise AssertionError(f"{kind} {id} has no identity")
            self.pins[key] = presented.strip().lower()
            return self.pins[key]


def identity_of(member: Any) -> TestIdentity:
    seed = member.identity.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                     serialization.NoEncryption())
    return TestIdentity(seed)


def pod_context(world: Any, member: Any, state_dir: Path) -> SimpleNamespace:
    return SimpleNamespace(client=world.client(member), tenant=world.tenant, pod=member.id, identity=identity_of(member),
                           pins=MemoryPins(), state_dir=state_dir, log=logging.getLogger(f"pod.{member.id}"),
                           input_sent=False, config=None)


def wait_for_session(client: Any, tenant: str, session_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.get_session(tenant, session_id)
        except NotFoundError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"session {session_id} was never created")
            time.sleep(0.1)  # polling for a resource another process creates (not synchronisation between our threads)


class PythonPods:
    """Runs Python pods for one session in threads; ``results()`` re-raises any pod's error."""

    def __init__(self, world: Any, tmp: Path) -> None:
        self.world, self.tmp = world, tmp
        self.pool = ThreadPoolExecutor(max_workers=8)
        self.futures: dict[str, Future] = {}
        self.contexts: dict[str, SimpleNamespace] = {}

    def start(self, member: Any, session_id: str, values: Any, weight: float | None = None, **kwargs: Any) -> None:
        ctx = pod_context(self.world, member, self.tmp / member.id)
        self.contexts[member.id] = ctx

        def go() -> dict:
            session = wait_for_session(ctx.client, ctx.tenant, session_id)
            return run_party(ctx, session, None, values, weight, **kwargs)

        self.futures[member.id] = self.pool.submit(go)

    def results(self, timeout: float = 300.0) -> dict[str, dict]:
        try:
            return {pod: f.result(timeout=timeout) for pod, f in self.futures.items()}
        finally:
            self.pool.shutdown(wait=False)


def python_modeller(world: Any, member: Any) -> Any:
    """The modeller as ``smpc.Modeller`` when the core module is present, else an object with the agreed attributes."""
    client = world.client(member)
    try:
        from smpc.modeller import Modeller
        from smpc.identity import IdentityKey

        return Modeller(client, world.tenant, member.id, IdentityKey.load(member.identity.path))
    except ImportError:
        return SimpleNamespace(client=client, tenant=world.tenant, id=member.id, modeller_id=member.id,
                               identity=identity_of(member), pins=None)
