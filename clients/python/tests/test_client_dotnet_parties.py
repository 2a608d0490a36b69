"""The test world itself: .NET pod agents and the .NET modeller CLI run a real session on the shared service (so a
mixed-session failure elsewhere is about the Python parties, not the fixture)."""

from __future__ import annotations

import json

from service import World


def test_dotnet_pods_and_dotnet_modeller_aggregate(world: World) -> None:
    values = {"p1": [1.5, 2.0], "p2": [3.25, -1.0], "p3": [10.0, 0.5]}
    for pod in values:
        world.add_pod(pod)
    world.add_modeller("alice")
    for pod, vector in values.items():
        world.start_dotnet_pod(pod, inputs={"x": {"values": vector}}, policy={"modellers": ["alice"]})
    out = world.directory / "result.json"
    world.as_modeller("alice", "aggregate", "dotnet-only", *sum((["--pod", p] for p in values), []),
                      "--field", "x:2:-100:100", "--operation", "sum", "--input", "x", "--out", str(out)).check()
    result = json.loads(out.read_text())
    assert result["operation"] == "sum" and result["includedPods"] == ["p1", "p2", "p3"]
    expected = [sum(v[i] for v in values.values()) for i in range(2)]
    assert all(abs(a - b) < 1e-9 for a, b in zip(result["values"]["x"], expected, strict=True)), result
