#!/usr/bin/python3
"""Customer overlap by private set intersection: which of my customers (a CSV file) are also a pod's customers?

The pod never sees my records, and I learn only which of mine it has (or, with --mode cardinality, how many). The
matching rows are written to a CSV file, every column as it was — the same rows `smpc psi` writes.

    export SMPC_URL=http://127.0.0.1:5080 SMPC_KEY=<modeller API key> SMPC_IDENTITY=alice.identity.json
    /usr/bin/python3 psi_customer_overlap.py --tenant acme --modeller alice --pod shop-b \\
        --csv my-customers.csv --columns email:email,phone:phone:44 --pod-source customers --out overlap.csv

Column kinds: text, case-sensitive-text, email, phone (with a country code for national numbers), integer; the pod's
columns have the same kinds in the same order (--pod-columns when its names differ).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the SDK from this checkout, installed or not

from smpc.modeller import Modeller  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("SMPC_URL", "http://127.0.0.1:5080"))
    parser.add_argument("--key", default=os.environ.get("SMPC_KEY"), help="the modeller's API key (SMPC_KEY)")
    parser.add_argument("--identity", default=os.environ.get("SMPC_IDENTITY"), help="identity key file (SMPC_IDENTITY)")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--modeller", required=True)
    parser.add_argument("--pod", required=True)
    parser.add_argument("--csv", required=True, help="my records: a CSV file with a header row")
    parser.add_argument("--columns", required=True, help="name:kind[:country],… e.g. email:email,phone:phone:44")
    parser.add_argument("--pod-columns", help="the pod's names for the same kinds (default: the same)")
    parser.add_argument("--pod-source", required=True, help="the pod's named data source")
    parser.add_argument("--protocol", default="ecdh", choices=["ecdh", "rsa-blind", "kkrt"])
    parser.add_argument("--mode", default="intersection", choices=["intersection", "cardinality"])
    parser.add_argument("--key-bits", type=int, help="rsa-blind: 2048, 3072 (default) or 4096")
    parser.add_argument("--session", help="session id (default: a fresh one)")
    parser.add_argument("--out", default="overlap.csv", help="intersection: where to write my matching rows")
    parser.add_argument("--progress", action="store_true", help="progress bars (python3-tqdm)")
    args = parser.parse_args()
    if not args.key or not args.identity:
        parser.error("the modeller's API key (--key/SMPC_KEY) and identity file (--identity/SMPC_IDENTITY) are needed")
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    with open(args.csv, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    modeller = Modeller.connect(args.url, args.key, args.tenant, args.modeller, args.identity)
    result = modeller.psi(args.pod, rows, args.columns.split(","), protocol=args.protocol, mode=args.mode,
                          source=args.pod_source, pod_columns=args.pod_columns.split(",") if args.pod_columns else None,
                          key_bits=args.key_bits, session_id=args.session, progress=args.progress or None)
    if args.mode == "cardinality":
        print(f"{result} of my {len(rows)} rows are in the pod's set")
        return 0
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")  # as smpc psi writes
        writer.writeheader()
        writer.writerows(result)
    print(f"{len(result)} of my {len(rows)} rows are in the pod's set; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
