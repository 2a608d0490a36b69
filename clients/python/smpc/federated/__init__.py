"""Federated SQL and federated training (docs/protocols/federated.md), pod and modeller, and FedAvg of your own model.

Modeller: ``smpc.federated.modeller.query`` / ``train`` / ``fedavg`` (also ``Modeller.query`` and ``Modeller.train``).
Pod: ``smpc.federated.pod.serve`` (the pod runner's handler for query and training sessions), with FitClients named in
``PodConfig.fit_clients``.
"""

from .fit import FitClient, FitClientError, ParameterLayout, SklearnLinearClient, TorchModelClient, fedavg_mean

__all__ = ["FitClient", "FitClientError", "ParameterLayout", "SklearnLinearClient", "TorchModelClient", "fedavg_mean",
           "query", "train", "fedavg"]


def query(modeller, pods, spec, **kwargs):  # type: ignore[no-untyped-def]
    """A federated SQL query (see :func:`smpc.federated.modeller.query`)."""
    from .modeller import query as run

    return run(modeller, pods, spec, **kwargs)


def train(modeller, pods, spec, **kwargs):  # type: ignore[no-untyped-def]
    """Federated training with a built-in trainer (see :func:`smpc.federated.modeller.train`)."""
    from .modeller import train as run

    return run(modeller, pods, spec, **kwargs)


def fedavg(modeller, pods, initial_parameters, rounds, **kwargs):  # type: ignore[no-untyped-def]
    """FedAvg of your own model (see :func:`smpc.federated.modeller.fedavg`)."""
    from .modeller import fedavg as run

    return run(modeller, pods, initial_parameters, rounds, **kwargs)
