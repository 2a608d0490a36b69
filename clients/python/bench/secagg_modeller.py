#!/usr/bin/python3
"""Benchmark: the Python modeller's secure-aggregation round vs the .NET modeller (`smpc aggregate`), same run, same pods.

10 .NET pod agents (the same pods for both modellers) each hold 1M parameters; rounds alternate between the .NET CLI
modeller (first on even rounds) and `smpc.secagg.modeller.aggregate`. The round time is measured by the service's own clock for both: from the
session's `createdAt` to its `session.completed` audit entry (the modeller unmasks before it completes), so the CLI's
process start-up is not counted against .NET. The Python modeller's wall time of `aggregate()` is printed as well.

Usage (the .NET build of the repository, or SMPC_DOTNET_BUILD=<repo root with built Silo and Cli>):
    cd clients/python && /usr/bin/python3 bench/secagg_modeller.py [--pods 10] [--length 1048576] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from service import EmbeddedService, new_world  # noqa: E402
from secagg_world import python_modeller  # noqa: E402
from smpc.secagg.modeller import aggregate  # noqa: E402


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def server_round_seconds(client, tenant: str, sid: str) -> float:
    session = client.get_session(tenant, sid)
    entries = client.list_audit_entries(tenant, session=sid, type="session.completed")["entries"]
    if not entries:
        raise RuntimeError(f"session {sid} has no session.completed entry (phase {session['phase']})")
    return (_time(entries[-1]["time"]) - _time(session["createdAt"])).total_seconds()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=10)
    ap.add_argument("--length", type=int, default=1 << 20)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="smpc-bench-secagg-"))
    svc = EmbeddedService(base / "service").start()
    world = new_world(svc, base)
    try:
        rng = np.random.default_rng(18)
        pods, inputs = [], {}
        for k in range(args.pods):
            pod = f"p{k + 1:02d}"
            world.add_pod(pod)
            x = np.round(rng.uniform(-10, 10, args.length), 6)
            path = base / f"{pod}.npy"
            np.save(path, x)
            inputs[pod] = x
            pods.append(pod)
        alice = world.add_modeller("alice")
        for pod in pods:
            world.start_dotnet_pod(pod, inputs={"x": {"file": str(base / f'{pod}.npy')}}, policy={"modellers": ["alice"]})
        expected = np.sum([np.rint(v * 1e6).astype(np.int64) for v in inputs.values()], axis=0)
        modeller = python_modeller(world, alice)
        admin = world.admin
        times: dict[str, list[float]] = {"dotnet": [], "python": [], "python-wall": []}
        field = f"x:{args.length}:-10:10:1000000"
        def dotnet_round(r: int) -> None:
            sid = f"bench-dotnet-{r}"
            out = base / f"{sid}.npy"
            world.as_modeller("alice", "aggregate", sid, *sum((["--pod", p] for p in pods), []), "--field", field,
                              "--operation", "sum", "--input", "x", "--out", str(out), timeout=900).check()
            times["dotnet"].append(server_round_seconds(admin, world.tenant, sid))

        def python_round(r: int) -> None:
            sid = f"bench-python-{r}"
            t0 = time.perf_counter()
            result = aggregate(modeller, pods, "x", "sum", [("x", args.length, -10, 10, 10**6)], session_id=sid, timeout=900)
            times["python-wall"].append(time.perf_counter() - t0)
            times["python"].append(server_round_seconds(admin, world.tenant, sid))
            if not np.array_equal(result.integer_sums["x"], expected):
                raise SystemExit("the Python modeller's sum differs from the exact sum")

        for r in range(args.rounds):
            # alternate which modeller goes first, so neither always meets freshly idle agents
            for run in ((dotnet_round, python_round) if r % 2 == 0 else (python_round, dotnet_round)):
                run(r)
            print(f"round {r}: .NET {times['dotnet'][-1]:.2f} s, Python {times['python'][-1]:.2f} s "
                  f"(Python wall {times['python-wall'][-1]:.2f} s)", flush=True)
        d, p = statistics.median(times["dotnet"]), statistics.median(times["python"])
        print(f"{args.pods} pods x {args.length} parameters, median of {args.rounds}: .NET modeller {d:.2f} s, "
              f"Python modeller {p:.2f} s, ratio {p / d:.2f}x (target <= 2x)")
    finally:
        world.close()
        svc.stop()


if __name__ == "__main__":
    main()
