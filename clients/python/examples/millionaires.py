#!/usr/bin/python3
"""The millionaires' average: three people learn their mean wealth, and nobody learns anyone's own.

Each millionaire runs a pod holding one number; the modeller (alice) runs a secure aggregation of their mean. The
service relays only masked vectors and sealed shares; the mean is computed in alice's process.

    /usr/bin/python3 examples/millionaires.py --embedded        # starts the embedded service (needs the .NET build)
    /usr/bin/python3 examples/millionaires.py --url http://127.0.0.1:5080 --operator-key KEY
"""

from __future__ import annotations

import logging
import sys

import numpy as np

from _example import arguments, world


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    wealth = {"ada": 3_250_000.0, "grace": 1_800_000.0, "alan": 4_100_000.0}
    w = world(args, parser, "millionaires", list(wealth))
    try:
        for name, amount in wealth.items():
            # Each pod serves one input, "wealth", and only to alice, only as a mean.
            w.pod(name, inputs={"wealth": np.array([amount])},
                  policy={"modellers": ["alice"], "operations": ["mean"]})
        result = w.modeller().aggregate(list(wealth), "wealth", "mean", [("wealth", 1, 0, 10_000_000, 100)])
        secure = float(result.values["wealth"][0])
        plain = sum(wealth.values()) / len(wealth)
        print(f"secure mean of {len(result.included_pods)} millionaires: {secure:,.2f}")
        print(f"plain mean (only this demo can compute it):   {plain:,.2f}")
        return 0 if abs(secure - plain) < 0.01 else 1
    finally:
        w.close()


if __name__ == "__main__":
    sys.exit(main())
