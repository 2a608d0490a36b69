#!/usr/bin/python3
"""FedAvg of your own PyTorch model over three pods, through secure aggregation.

Each pod holds private rows of a small regression task (y = 1.5·x1 − 2·x2 + 0.25 + noise) and serves a
``TorchModelClient`` around the same ``nn.Module``; the modeller only ever sees the sample-weighted average of the pods'
local models (and the pooled loss), never a pod's own model or rows.

    /usr/bin/python3 examples/pytorch_fedavg.py --embedded                 # starts the embedded service (a .NET build)
    /usr/bin/python3 examples/pytorch_fedavg.py --url http://127.0.0.1:5080 --operator-key KEY

With ``--url`` the example creates a fresh tenant with the operator key, registers three pods and a modeller with new
identity keys (in a temporary directory), runs the pods in this process and the FedAvg session against them.
``--embedded`` needs the repository's .NET build (``dotnet build Smpc.Orleans.sln``, or ``SMPC_DOTNET_BUILD``).
"""

from __future__ import annotations

import logging
import sys

import torch

from _example import arguments, world
from smpc.federated import TorchModelClient
from smpc.federated.modeller import fedavg


def make_model() -> torch.nn.Module:
    """The shared architecture: every pod and the modeller agree on it (its layout is bound into the signed request)."""
    return torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def pod_client(seed: int, rows: int) -> TorchModelClient:
    """A pod's private data and its local training: 5 epochs of SGD per round."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, 2, generator=g)
    y = X @ torch.tensor([[1.5], [-2.0]]) + 0.25 + 0.05 * torch.randn(rows, 1, generator=g)

    def train(model: torch.nn.Module) -> int:
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(5):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(X), y).backward()
            opt.step()
        return rows

    def evaluate(model: torch.nn.Module) -> float:
        return torch.nn.functional.mse_loss(model(X), y).item()

    return TorchModelClient(make_model(), train, evaluate)


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    names = ["clinic-a", "clinic-b", "clinic-c"]
    w = world(args, parser, "fedavg", names)
    try:
        # Every party pins the others' identity keys up front (here we made them; in real life: compared out of band).
        for i, name in enumerate(names):
            w.pod(name, fit_clients={"regressor": pod_client(i, 80 + 60 * i)})
        modeller = w.modeller()

        layout = TorchModelClient(make_model(), lambda m: 0).layout
        torch.manual_seed(0)
        start = TorchModelClient(make_model(), lambda m: 0).get_parameters()  # a random start everyone could agree on
        print(f"FedAvg of a {layout.size}-parameter model over {len(names)} pods, {args.rounds} rounds")
        result = fedavg(modeller, names, start, args.rounds, name="regressor", layout=layout,
                        parameter_bound=50, on_round=lambda r: print(f"  round {r.round:2d}: pooled loss {r.loss:.5f} "
                                                                     f"over {r.samples} examples ({r.seconds:.1f} s)"))
        model = make_model()
        client = TorchModelClient(model, lambda m: 0)
        client.set_parameters(result.parameters)
        probe = torch.tensor([[1.0, 1.0], [0.0, 0.0], [-1.0, 2.0]])
        print("predictions at", probe.tolist(), "→", [round(v, 3) for v in model(probe).detach().ravel().tolist()],
              "(truth:", [round(v, 3) for v in (probe @ torch.tensor([[1.5], [-2.0]]) + 0.25).ravel().tolist()], ")")
        return 0
    finally:
        w.close()


if __name__ == "__main__":
    sys.exit(main())
