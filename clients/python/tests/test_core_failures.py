"""A Python pod that fails says so at once: the modeller learns the pod's decline (category internal), it is not left
waiting for a phase deadline; and policies given as plain dicts in Python behave as the agent file's objects."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import smpc
from service import World
from smpc.pins import PinStore
from smpc.pod import Pod, PodConfig, SecureAggregationPolicy
from smpc.secagg.modeller import AggregationFailedError


def _pods(world: World, policy: Any) -> list[Pod]:
    alice = world.add_modeller("alice")
    pods = []
    for name in ("a", "b", "c"):
        member = world.add_pod(name)
        config = PodConfig(tenant=world.tenant, pod=name, identity_key_file=member.identity.path, url=world.url,
                           api_key=member.api_key, state_directory=world.directory / "state" / name,
                           modeller_pins={"alice": alice.identity.fingerprint},
                           inputs={"x": np.array([1.0, 2.0])}, policy=policy)
        pods.append(Pod(config).start())
    return pods


def _modeller(world: World) -> smpc.Modeller:
    alice = world.modellers["alice"]
    pins = PinStore(world.directory / "alice.pins.json")
    for name, member in world.pods.items():
        pins.add(world.tenant, "pod", name, member.identity.fingerprint)
    identity = smpc.IdentityKey.load(alice.identity.path)
    return smpc.Modeller(world.client(alice), world.tenant, "alice", identity, pins)


def test_a_policy_given_as_a_dict_is_the_agent_files_object() -> None:
    config = PodConfig(tenant="t", pod="p", identity=smpc.IdentityKey.generate(),
                       policy={"modellers": ["alice"], "operations": ["mean"], "min_pods": 4})
    assert config.policy == SecureAggregationPolicy(modellers=["alice"], operations=["mean"], min_pods=4)
    with pytest.raises(smpc.SmpcError):
        PodConfig(tenant="t", pod="p", identity=smpc.IdentityKey.generate(), policy=["alice"])


def test_a_dict_policy_is_enforced(world: World) -> None:
    pods = _pods(world, {"operations": ["sum"]})
    try:
        with pytest.raises(AggregationFailedError) as failed:
            _modeller(world).aggregate(["a", "b", "c"], "x", "mean", [("x", 2, 0, 10)], phase_timeout_seconds=600)
        assert "policy" in str(failed.value)
    finally:
        for p in pods:
            p.stop()


def test_a_pod_that_fails_before_its_driver_declines_as_internal(world: World) -> None:
    pods = _pods(world, None)
    for pod in pods:
        pod.config.policy = None  # breaks the policy check: an unexpected failure of the pod itself
    try:
        with pytest.raises(AggregationFailedError) as failed:
            # A long phase timeout: only the pods' own declines can end this session before it.
            _modeller(world).aggregate(["a", "b", "c"], "x", "sum", [("x", 2, 0, 10)], phase_timeout_seconds=600)
        session = world.admin.get_session(world.tenant, failed.value.session_id if hasattr(failed.value, "session_id")
                                          else str(failed.value).split()[2])
        statuses = {p["pod"]: (p["status"], p.get("declineCategory")) for p in session["aggregation"]["pods"]}
        assert sum(1 for s in statuses.values() if s == ("declined", "internal")) >= 2, statuses
    finally:
        for p in pods:
            p.stop()


def test_aggregate_reports_each_phase_to_a_progress_callback(world: World) -> None:
    pods = _pods(world, {"operations": ["sum"]})
    seen: dict[str, tuple[int, int]] = {}
    try:
        result = _modeller(world).aggregate(["a", "b", "c"], "x", "sum", [("x", 2, 0, 10)],
                                            progress=lambda step, done, total: seen.__setitem__(step, (done, total)))
        assert list(result.values["x"]) == [3.0, 6.0]
        # The last report of each phase before unmasking: every pod through key bundles, shares and masked inputs.
        for step in ("key bundles", "share envelopes", "masked inputs"):
            assert seen[step] == (3, 3), seen
        assert seen["unmask responses"][1] == 3
    finally:
        for p in pods:
            p.stop()
