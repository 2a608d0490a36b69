"""Python pods for the secagg service tests: ``run_party`` driven by a small loop (one thread per pod)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from smpc import IdentityKey, Modeller, PinStore
from smpc.errors import NotFoundError
from smpc.secagg.pod import run_party


def pod_context(world: Any, member: Any, state_dir: Path) -> SimpleNamespace:
    """What ``run_party`` needs of a ``PodContext``, for pods driven by a small loop (dropout and resume drills)."""
    return SimpleNamespace(client=world.client(member), tenant=world.tenant, pod=member.id,
                           identity=IdentityKey.load(member.identity.path), pins=PinStore(None, notice=lambda _: None),
                           state_dir=state_dir, log=logging.getLogger(f"pod.{member.id}"), input_sent=False, config=None)


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


def python_modeller(world: Any, member: Any) -> Modeller:
    """``smpc.Modeller`` for a registered modeller of the world."""
    return Modeller(world.client(member), world.tenant, member.id, IdentityKey.load(member.identity.path))
