"""Mixed secure-aggregation sessions on the real embedded service: .NET pod agents and Python pods in one session."""

from __future__ import annotations

import json

import numpy as np
import pytest

from service import World

from secagg_world import PythonPods

pytestmark = pytest.mark.service

DOTNET = {"d1": [1.5, -2.25, 3.0], "d2": [0.125, 10.0, -7.5]}
PYTHON = {"py1": [2.0, 0.5, -1.25], "py2": [-0.625, 4.0, 100.0]}


def add_pods(world: World) -> dict:
    members = {p: world.add_pod(p) for p in [*DOTNET, *PYTHON]}
    world.add_modeller("alice")
    for pod, v in DOTNET.items():
        world.start_dotnet_pod(pod, inputs={"x": {"values": v}}, policy={"modellers": ["alice"]})
    return members


def test_dotnet_modeller_with_two_dotnet_and_two_python_pods_sum_is_exact(world: World, tmp_path) -> None:
    members = add_pods(world)
    pods = PythonPods(world, tmp_path)
    for pod, v in PYTHON.items():
        pods.start(members[pod], "mixed-sum", v)
    out = world.directory / "result.json"
    world.as_modeller("alice", "aggregate", "mixed-sum", *sum((["--pod", p] for p in members), []),
                      "--field", "x:3:-100:100:1000", "--operation", "sum", "--input", "x", "--out", str(out)).check()
    finals = pods.results()
    result = json.loads(out.read_text())
    assert result["includedPods"] == list(members)
    expected = np.sum([*DOTNET.values(), *PYTHON.values()], axis=0)
    assert result["values"]["x"] == expected.tolist()
    for pod, session in finals.items():
        party = session["podIds"].index(pod) + 1
        assert party in session["aggregation"]["unmaskResponses"], (pod, session["aggregation"])
        assert not (tmp_path / pod / "mixed-sum.party").exists()  # the state is wiped when the pod's part ends


def python_pod(world: World, pod: str, inputs: dict) -> "Pod":
    """A Python pod served by the SDK's own pod runner (smpc.Pod), with its policy, pins and state directory."""
    from smpc.pod import InputSpec, Pod, PodConfig, SecureAggregationPolicy

    member = world.pods[pod]
    config = PodConfig(tenant=world.tenant, pod=pod, identity_key_file=member.identity.path, url=world.url,
                       api_key=member.api_key, state_directory=world.directory / "py-pods" / pod / "state",
                       inputs={name: InputSpec(**spec) for name, spec in inputs.items()},
                       policy=SecureAggregationPolicy(modellers=["alice"]))
    return Pod(config, long_poll_seconds=2).start()


def test_python_modeller_sum_mean_and_weighted_mean_with_dotnet_agents_and_python_pod_runners(world: World) -> None:
    from smpc import IdentityKey, Modeller

    members = {p: world.add_pod(p) for p in [*DOTNET, *PYTHON]}
    alice = world.add_modeller("alice")
    weights = {"d1": 3, "d2": 1, "py1": 2, "py2": 4}
    for pod, v in DOTNET.items():
        world.start_dotnet_pod(pod, inputs={"x": {"values": v}, "xw": {"values": v, "weight": weights[pod]}},
                               policy={"modellers": ["alice"]})
    runners = [python_pod(world, pod, {"x": {"values": v}, "xw": {"values": v, "weight": weights[pod]}})
               for pod, v in PYTHON.items()]
    try:
        modeller = Modeller(world.client(alice), world.tenant, "alice", IdentityKey.load(alice.identity.path))
        everyone = {**DOTNET, **PYTHON}
        total = np.sum(list(everyone.values()), axis=0)
        for operation, expected in (("sum", total), ("mean", total / 4)):
            result = modeller.aggregate(list(members), "x", operation, [("x", 3, -100, 100, 1000)], session_id=f"py-{operation}")
            assert result.values["x"].tolist() == expected.tolist(), operation
            assert result.included_pods == list(members) and result.left_out == []
        result = modeller.aggregate(list(members), "xw", "weighted-mean", [("xw", 3, -100, 100, 1000)], weight=(1, 10),
                                    session_id="py-weighted")
        from fractions import Fraction
        want = [float(sum(Fraction(everyone[p][k]) * weights[p] for p in everyone) / sum(weights.values())) for k in range(3)]
        assert result.values["xw"].tolist() == want
        assert result.weight_sum == 10.0
        # the Python pods' state files are gone once their part ended
        for pod in PYTHON:
            assert not list((world.directory / "py-pods" / pod / "state").glob("*.party"))
    finally:
        for r in runners:
            r.stop()


def test_python_pod_dropping_out_after_sharing_keys_is_reported_and_the_sum_is_exact(world: World, tmp_path) -> None:
    from smpc.secagg.modeller import aggregate
    from secagg_world import python_modeller

    members = {p: world.add_pod(p) for p in [*DOTNET, *PYTHON]}
    alice = world.add_modeller("alice")
    for pod, v in DOTNET.items():
        world.start_dotnet_pod(pod, inputs={"x": {"values": v}}, policy={"modellers": ["alice"]})
    pods = PythonPods(world, tmp_path)
    pods.start(members["py1"], "py-drop", PYTHON["py1"])
    pods.start(members["py2"], "py-drop", PYTHON["py2"], stop_after="shares")  # keys and shares sent, then gone
    result = aggregate(python_modeller(world, alice), list(members), "x", "sum", [("x", 3, -100, 100, 1000)],
                       session_id="py-drop", phase_timeouts={"masked-input": 15})
    pods.results()
    expected = np.sum([DOTNET["d1"], DOTNET["d2"], PYTHON["py1"]], axis=0)
    assert result.values["x"].tolist() == expected.tolist()
    assert result.included_pods == ["d1", "d2", "py1"]
    assert [(x.pod, x.party) for x in result.left_out] == [("py2", 4)]
    assert "dropped" in result.left_out[0].reason


def test_python_pod_stopped_after_its_shares_resumes_from_its_state_file(world: World, tmp_path) -> None:
    from secagg_world import pod_context, wait_for_session
    from smpc.secagg.pod import run_party

    members = add_pods(world)
    pods = PythonPods(world, tmp_path)
    pods.start(members["py1"], "resume", PYTHON["py1"])
    ctx = pod_context(world, members["py2"], tmp_path / "py2")
    state = tmp_path / "py2" / "resume.party"
    seen: dict = {}

    def stop_then_resume() -> dict:
        session = wait_for_session(ctx.client, ctx.tenant, "resume")
        run_party(ctx, session, None, PYTHON["py2"], stop_after="shares")  # the pod process "stops" here
        seen["state"] = state.exists() and state.stat().st_mode & 0o777
        again = pod_context(world, members["py2"], tmp_path / "py2")  # a fresh process: new client, new party from disk
        return run_party(again, again.client.get_session(again.tenant, "resume"), None, PYTHON["py2"])

    pods.futures["py2"] = pods.pool.submit(stop_then_resume)
    out = world.directory / "resume.json"
    world.as_modeller("alice", "aggregate", "resume", *sum((["--pod", p] for p in members), []),
                      "--field", "x:3:-100:100:1000", "--operation", "sum", "--input", "x", "--out", str(out)).check()
    pods.results()
    assert seen["state"] == 0o600
    assert json.loads(out.read_text())["values"]["x"] == np.sum([*DOTNET.values(), *PYTHON.values()], axis=0).tolist()
    assert not state.exists()


def test_dotnet_modeller_weighted_mean_with_python_pods_forming_w_times_x(world: World, tmp_path) -> None:
    members = {p: world.add_pod(p) for p in [*DOTNET, *PYTHON]}
    world.add_modeller("alice")
    weights = {"d1": 0.5, "d2": 2.5, "py1": 1.5, "py2": 4.0}
    for pod, v in DOTNET.items():
        world.start_dotnet_pod(pod, inputs={"x": {"values": v, "weight": weights[pod]}}, policy={"modellers": ["alice"]})
    pods = PythonPods(world, tmp_path)
    for pod, v in PYTHON.items():
        pods.start(members[pod], "mixed-weighted", v, weights[pod])
    out = world.directory / "weighted.json"
    world.as_modeller("alice", "aggregate", "mixed-weighted", *sum((["--pod", p] for p in members), []),
                      "--field", "x:3:-100:100:1000", "--operation", "weighted-mean", "--weight", "0.5:10:2",
                      "--input", "x", "--out", str(out)).check()
    pods.results()
    from fractions import Fraction
    everyone = {**DOTNET, **PYTHON}
    want = [float(sum(Fraction(everyone[p][k]) * Fraction(weights[p]) for p in everyone) / Fraction(sum(weights.values())))
            for k in range(3)]
    result = json.loads(out.read_text())
    assert result["includedPods"] == list(members)
    assert np.allclose(result["values"]["x"], want, rtol=0, atol=1e-12), (result, want)
