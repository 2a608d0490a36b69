#!/usr/bin/python3
"""ECDH PSI (ecdh-oprf-v1): the Python modeller vs the .NET modeller against the same .NET pod, plus crypto kernels.

End to end (``--pod 100000 --modeller 10000 --overlap 1000`` by default): one embedded silo (the .NET build of
``$SMPC_DOTNET_BUILD`` or this repository), one .NET pod agent (``smpc pod run``) serving a CSV of ``--pod`` e-mail
addresses, and a modeller CSV of ``--modeller`` rows of which ``--overlap`` are pod addresses spelt differently
(case, ``+tag``). Each run creates a fresh session for each client, the order alternating between runs: the .NET client
(``smpc psi --protocol ecdh``, a new process each time: its start-up is included and measured separately) and the
Python client (``smpc.modeller.Modeller.psi``, in this process, with a breakdown of where its time goes). Both must find exactly the planted matches. The ratio is the
median Python time over the median .NET time (target ≤ 1.5).

Kernels: elements/s of the Python SDK's batched OPRF calls (blind, blind_evaluate, finalize, evaluate) on one
thread and on all threads, of the .NET parties' own calls (``ecdh_kernels_dotnet.fsx`` through ``dotnet fsi``, on the
.NET build's ``Smpc.Protocols.dll``, all cores), and the bare libsodium bound measured the same way (a tight ctypes loop of the
same libsodium calls, no Python work per element), and, if present, NuGet's libsodium 1.0.22 (the .NET parties')
loaded through the same binding, so the note can say whether time goes to Python, to threads or to the library.

Run from the repository root::

    SMPC_DOTNET_BUILD=/work/main /usr/bin/python3 clients/python/bench/ecdh_psi.py --runs 4
    /usr/bin/python3 clients/python/bench/ecdh_psi.py --kernels-only
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYROOT = HERE.parent
sys.path.insert(0, str(PYROOT))
sys.path.insert(0, str(PYROOT / "tests"))

NUGET_SODIUM = Path.home() / ".nuget/packages/libsodium/1.0.22/runtimes/linux-x64/native/libsodium.so"


# --- kernels -------------------------------------------------------------------------------------------------------

def _rate(n: int, fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def kernels(n: int, repeat: int) -> dict:
    """Elements/s of each OPRF step (Python SDK) and of the bare libsodium calls it makes."""
    from smpc.crypto import ristretto
    from smpc.psi import oprf

    xs = [f"person{i}@example.org".encode() for i in range(n)]
    sk = oprf.generate_key()
    blinds, blinded = oprf.blind(xs)
    evaluated = oprf.blind_evaluate(sk, blinded)
    threads = ristretto.default_threads()
    out: dict = {"elements": n, "threads": threads, "python": {}, "bare": {}}
    for t in sorted({1, threads}):
        out["python"][f"{t}t"] = {
            "blind": _rate(n, lambda: oprf.blind(xs, threads=t), repeat),
            "blind_evaluate": _rate(n, lambda: oprf.blind_evaluate(sk, blinded, threads=t), repeat),
            "finalize": _rate(n, lambda: oprf.finalize(xs, blinds, evaluated, threads=t), repeat),
            "evaluate": _rate(n, lambda: oprf.evaluate(sk, xs, threads=t), repeat),
        }
    out["dotnet"] = dotnet_kernels(n, repeat)
    libs = [("libsodium.so.23 (Debian 1.0.18, the SDK's)", "libsodium.so.23")]
    if NUGET_SODIUM.exists():
        libs.append(("NuGet libsodium 1.0.22 (the .NET parties')", str(NUGET_SODIUM)))
    for name, path in libs:
        out["bare"][name] = _bare(path, n, repeat)
    return out


def dotnet_kernels(n: int, repeat: int) -> dict | None:
    """The .NET parties' kernels (Smpc.Protocols of the .NET build through ``dotnet fsi``), or None without a build.

    Its boundaries differ slightly: .NET's blind also inverts each blind (Python's finalize does that, batched)."""
    from service import build_root  # tests/service.py: $SMPC_DOTNET_BUILD or this repository

    root = build_root()
    if not (root / "Protocols" / "bin" / "Debug" / "net10.0" / "Smpc.Protocols.dll").exists():
        return None
    done = subprocess.run(["dotnet", "fsi", str(HERE / "ecdh_kernels_dotnet.fsx"), str(root), str(n), str(repeat)],
                          capture_output=True, text=True, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        print(f"  (.NET kernels failed: {done.stderr[-500:] or done.stdout[-500:]})")
        return None
    return json.loads(lines[-1])


def _bare(path: str, n: int, repeat: int) -> dict:
    """One thread, tight ctypes loops over preallocated buffers: from_hash, scalarmult, invert per element."""
    lib = ctypes.CDLL(path)
    lib.sodium_init()
    vp = ctypes.c_void_p
    from_hash = lib.crypto_core_ristretto255_from_hash
    from_hash.argtypes = [vp, vp]
    smult = lib.crypto_scalarmult_ristretto255
    smult.argtypes = [vp, vp, vp]
    inv = lib.crypto_core_ristretto255_scalar_invert
    inv.argtypes = [vp, vp]
    hashes = ctypes.create_string_buffer(os.urandom(64 * n), 64 * n)
    points = ctypes.create_string_buffer(32 * n)
    result = ctypes.create_string_buffer(32 * n)
    key = ctypes.create_string_buffer(32)
    lib.crypto_core_ristretto255_scalar_random(key)
    h, p, o, k = ctypes.addressof(hashes), ctypes.addressof(points), ctypes.addressof(result), ctypes.addressof(key)

    def run_from_hash():
        for i in range(n):
            from_hash(p + 32 * i, h + 64 * i)

    def run_smult():
        for i in range(n):
            smult(o + 32 * i, k, p + 32 * i)

    def run_inv():
        for i in range(n):
            inv(o + 32 * i, h + 64 * i)  # any 32 bytes: only the time matters

    run_from_hash()
    return {"from_hash": _rate(n, run_from_hash, repeat), "scalarmult": _rate(n, run_smult, repeat),
            "scalar_invert": _rate(n, run_inv, repeat)}


# --- end to end ----------------------------------------------------------------------------------------------------

def write_data(directory: Path, pod: int, modeller: int, overlap: int) -> tuple[Path, Path, set[str]]:
    """The pod's and the modeller's CSVs; returns the modeller spellings that must match."""
    pod_csv = directory / "pod.csv"
    with pod_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["email"])
        for i in range(pod):
            w.writerow([f"user{i:07d}@example.org"])
    step = max(1, pod // max(1, overlap))
    expected: set[str] = set()
    mod_csv = directory / "modeller.csv"
    with mod_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["email"])
        for j in range(modeller):
            if j < overlap:
                spelt = f"User{j * step:07d}+crm@Example.ORG"  # the same mailbox after canonicalisation
                expected.add(spelt)
            else:
                spelt = f"other{j:07d}@example.net"
            w.writerow([spelt])
    return pod_csv, mod_csv, expected


class PhaseTimer:
    """Wraps module functions the Python modeller calls and sums their wall time per run ("where time goes")."""

    def __init__(self, targets: list[tuple[object, str, str]]) -> None:
        self.totals: dict[str, float] = {}
        self._saved = []
        for module, attr, phase in targets:
            if not hasattr(module, attr):
                continue
            original = getattr(module, attr)
            self._saved.append((module, attr, original))
            setattr(module, attr, self._wrap(original, phase))

    def _wrap(self, fn, phase: str):
        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.totals[phase] = self.totals.get(phase, 0.0) + time.perf_counter() - t
        return timed

    def take(self) -> dict[str, float]:
        totals, self.totals = self.totals, {}
        return totals

    def restore(self) -> None:
        for module, attr, original in self._saved:
            setattr(module, attr, original)


def end_to_end(args: argparse.Namespace) -> dict:
    from service import EmbeddedService, dotnet_built, new_world  # the lead's fixture (tests/service.py)

    reason = dotnet_built()
    if reason:
        raise SystemExit(f"the end-to-end benchmark needs the .NET build: {reason} (set SMPC_DOTNET_BUILD)")
    import smpc
    from smpc.identity import IdentityKey
    from smpc.modeller import Modeller

    base = Path(tempfile.mkdtemp(prefix="smpc-bench-ecdh-"))
    pod_csv, mod_csv, expected = write_data(base, args.pod, args.modeller, args.overlap)
    svc = EmbeddedService(base / "service").start()
    results: dict = {"pod": args.pod, "modeller": args.modeller, "overlap": args.overlap, "runs": []}
    try:
        world = new_world(svc, base)
        world.add_pod("pod-a")
        alice = world.add_modeller("alice")
        world.start_dotnet_pod("pod-a", sources={"customers": {"kind": "csv", "path": str(pod_csv)}},
                               psi={"modellers": ["alice"], "protocols": ["ecdh"],
                                    "maxModellerRecordsPerDay": 1_000_000_000})
        # .NET CLI start-up alone (the runs below include it once each)
        t = time.perf_counter()
        world.smpc("--help")
        results["dotnet_cli_startup_s"] = time.perf_counter() - t

        modeller = Modeller(smpc.Client(world.url, alice.api_key), world.tenant, "alice",
                            IdentityKey.load(alice.identity.path))
        import smpc.psi.modeller as psi_modeller
        from smpc.client import Client
        from smpc.psi import oprf
        timer = PhaseTimer([(psi_modeller, "encode_rows", "encode records"), (oprf, "blind", "blind"),
                            (oprf, "finalize_packed", "finalize"), (psi_modeller, "_match", "match"),
                            (Client, "upload_psi_set", "upload"), (Client, "download_psi_set", "download")])
        for run in range(args.runs):
            # Alternate who goes first, so neither client always meets a freshly idle pod (or pays its JIT warm-up).
            for side in (("dotnet", "python") if run % 2 == 0 else ("python", "dotnet")):
                sid = f"bench-{side}-{run}"
                t = time.perf_counter()
                if side == "dotnet":
                    out = base / f"{sid}.csv"
                    world.as_modeller(alice, "psi", sid, "--pod", "pod-a", "--csv", str(mod_csv), "--columns",
                                      "email:email", "--pod-source", "customers", "--protocol", "ecdh",
                                      "--out", str(out), timeout=3600).check()
                    elapsed = time.perf_counter() - t
                    with out.open(newline="") as f:
                        found = {row["email"] for row in csv.DictReader(f)}
                else:
                    rows = modeller.psi("pod-a", str(mod_csv), ["email:email"], protocol="ecdh",
                                        mode="intersection", source="customers", session_id=sid)
                    elapsed = time.perf_counter() - t
                    found = {row["email"] for row in rows}
                    phases = timer.take()
                    phases["waiting for the pod and the service"] = elapsed - sum(phases.values())
                    results.setdefault("python_phases", []).append(phases)
                if found != expected:
                    raise AssertionError(f"{side} run {run}: {len(found)} matches, expected {len(expected)}")
                results["runs"].append({"side": side, "run": run, "seconds": elapsed, "matches": len(found)})
                print(f"  {side:7s} run {run}: {elapsed:7.2f} s, {len(found)} matches", flush=True)
                if side == "python":
                    print("    " + ", ".join(f"{k} {v:.2f} s" for k, v in results["python_phases"][-1].items()),
                          flush=True)
        timer.restore()
        world.close()
    finally:
        svc.stop()
    med = {side: statistics.median(r["seconds"] for r in results["runs"] if r["side"] == side)
           for side in ("dotnet", "python")}
    results["median_s"] = med
    results["ratio_python_over_dotnet"] = med["python"] / med["dotnet"]
    results["ratio_without_cli_startup"] = med["python"] / max(1e-9, med["dotnet"] - results["dotnet_cli_startup_s"])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pod", type=int, default=100_000)
    parser.add_argument("--modeller", type=int, default=10_000)
    parser.add_argument("--overlap", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--kernel-elements", type=int, default=1000)
    parser.add_argument("--kernel-repeat", type=int, default=10)
    parser.add_argument("--kernels-only", action="store_true")
    parser.add_argument("--no-kernels", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    report: dict = {"loadavg_start": os.getloadavg()}
    if not args.no_kernels:
        k = kernels(args.kernel_elements, args.kernel_repeat)
        report["kernels"] = k
        print(f"kernels, {k['elements']} elements, best of {args.kernel_repeat} (elements/s):")
        for name, rates in k["python"].items():
            print(f"  python SDK {name}: " + ", ".join(f"{op} {v:,.0f}" for op, v in rates.items()))
        if k.get("dotnet"):
            d = k["dotnet"]
            print(f"  .NET Smpc.Protocols (Debug build), all {d['cores']} cores: " + ", ".join(
                f"{op} {d[op]:,.0f}" for op in ("blind", "blind_evaluate", "finalize", "evaluate")))
        for name, rates in k["bare"].items():
            print(f"  bare 1 thread, {name}: " + ", ".join(f"{op} {v:,.0f}" for op, v in rates.items()))
    if not args.kernels_only:
        print(f"end to end: pod {args.pod:,} x modeller {args.modeller:,}, overlap {args.overlap:,}")
        e = end_to_end(args)
        report["end_to_end"] = e
        print(f"  median: .NET client {e['median_s']['dotnet']:.2f} s (CLI start-up {e['dotnet_cli_startup_s']:.2f} s), "
              f"Python client {e['median_s']['python']:.2f} s; ratio {e['ratio_python_over_dotnet']:.2f} "
              f"({e['ratio_without_cli_startup']:.2f} without the .NET CLI's start-up); target <= 1.5")
    report["loadavg_end"] = os.getloadavg()
    print(f"load average: start {report['loadavg_start'][0]:.1f}, end {report['loadavg_end'][0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
