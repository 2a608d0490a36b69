"""Mixed secure-aggregation sessions on the real embedded service: .NET pod agents and Python pods in one session."""

from __future__ import annotations

import json
import threading

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
