#!/usr/bin/python3
"""RSA blind-signature PSI in Python: kernel rates, and (``--service``) a whole session of the Python modeller against
the .NET pod next to the .NET modeller (`smpc psi`) on the same data, in the same run.

    /usr/bin/python3 clients/python/bench/psi_rsa.py                       # kernels only
    SMPC_DOTNET_BUILD=/work/main /usr/bin/python3 clients/python/bench/psi_rsa.py --service --pod 20000 --modeller 2000

Prints one line per measurement. Numbers on a shared 2-core machine are noisy (±20% or worse under load).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from smpc.psi import rsa  # noqa: E402


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def kernels(bits_list: list[int], count: int) -> None:
    for bits in bits_list:
        start = time.perf_counter()
        key = rsa.RsaPrivateKey.generate(bits)
        keygen = time.perf_counter() - start
        python_key = rsa.RsaPrivateKey(key.n, key.e, key.d, key.p, key.q, use_openssl=False)
        values = [rsa.h1(key.public, b"record-%d" % i) for i in range(count)]
        start = time.perf_counter()
        key.sign_many(values)
        openssl = time.perf_counter() - start
        few = max(10, count // 20)
        start = time.perf_counter()
        for v in values[:few]:
            python_key.raw_sign(v)
        python = time.perf_counter() - start
        server = rsa.RsaPsiServer(key, cardinality=False)
        start = time.perf_counter()
        proof = server.prove("t", "s")
        prove = time.perf_counter() - start
        start = time.perf_counter()
        certified = rsa.certify(server.public_key_bytes(), proof, "t", "s", bits)
        certify = time.perf_counter() - start
        client = rsa.RsaPsiClient(certified, cardinality=False)
        records = [b"record-%d" % i for i in range(count)]
        start = time.perf_counter()
        query = client.blind(records)
        blind = time.perf_counter() - start
        reply = server.answer(query, count)
        start = time.perf_counter()
        client.unblind(reply)
        unblind = time.perf_counter() - start
        print(f"rsa-{bits}: keygen {keygen:.2f}s, sign {rate(count, openssl)} (OpenSSL, {os.cpu_count()} threads) vs "
              f"{rate(few, python)} (Python pow), prove {prove * 1000:.0f} ms, certify {certify * 1000:.0f} ms, "
              f"blind {rate(count, blind)}, unblind+verify {rate(count, unblind)}")


def service(pod_rows: int, modeller_rows: int, bits: int, protocols: list[str]) -> None:
    from service import EmbeddedService, new_world  # the tests' fixture classes

    from smpc.identity import IdentityKey
    from smpc.psi import modeller as psi_modeller

    directory = Path(tempfile.mkdtemp(prefix="smpc-bench-psi-"))
    svc = EmbeddedService(directory).start()
    try:
        world = new_world(svc, directory)
        pod = world.add_pod("pod-a")
        alice = world.add_modeller("alice")
        pod_csv = directory / "pod.csv"
        with open(pod_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["email"])
            w.writerows([f"user{i}@example.org"] for i in range(pod_rows))
        mine = [{"email": f"user{i * 13}@example.org"} for i in range(modeller_rows)]
        mine_csv = directory / "mine.csv"
        with open(mine_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["email"])
            w.writerows([r["email"]] for r in mine)
        world.start_dotnet_pod(pod, sources={"customers": {"kind": "csv", "path": str(pod_csv)}},
                               psi={"maxModellerSetSize": max(modeller_rows, 1)})
        me = SimpleNamespace(client=world.client(alice), tenant=world.tenant, modeller_id=alice.id, id=alice.id,
                             identity=IdentityKey.load(alice.identity.path))
        for protocol in protocols:
            extra = {"key_bits": bits} if protocol == "rsa-blind" else {}
            # Warm-up (not timed): the pod agent's first session of a protocol pays its JIT.
            psi_modeller.psi(me, "pod-a", mine[:10], ["email:email"], protocol=protocol, source="customers", **extra)
            start = time.perf_counter()
            rows = psi_modeller.psi(me, "pod-a", mine, ["email:email"], protocol=protocol, source="customers", **extra)
            python = time.perf_counter() - start
            args = ["psi", f"bench-{protocol}", "--pod", "pod-a", "--csv", str(mine_csv), "--columns", "email:email",
                    "--pod-source", "customers", "--protocol", protocol, "--out", str(directory / f"{protocol}.csv")]
            if protocol == "rsa-blind":
                args += ["--key-bits", str(bits)]
            start = time.perf_counter()
            world.as_modeller(alice, *args, timeout=3600).check()
            dotnet = time.perf_counter() - start
            print(f"session {protocol}{'-' + str(bits) if extra else ''}, pod {pod_rows:,} x modeller {modeller_rows:,}: "
                  f"Python modeller {python:.1f}s ({len(rows):,} matches), .NET modeller (smpc psi, incl. ~1-2 s CLI "
                  f"start) {dotnet:.1f}s, ratio {python / dotnet:.2f}")
        world.close()
    finally:
        svc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="elements per kernel measurement")
    parser.add_argument("--bits", type=int, nargs="*", default=[2048, 3072])
    parser.add_argument("--service", action="store_true", help="also run whole sessions against the embedded service")
    parser.add_argument("--pod", type=int, default=20000, help="pod rows (--service)")
    parser.add_argument("--modeller", type=int, default=2000, help="modeller rows (--service)")
    parser.add_argument("--protocols", nargs="*", default=["rsa-blind", "ecdh"])
    args = parser.parse_args()
    kernels(args.bits, args.count)
    if args.service:
        service(args.pod, args.modeller, args.bits[0], args.protocols)


if __name__ == "__main__":
    main()
