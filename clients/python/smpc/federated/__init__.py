"""Federated SQL and federated training (docs/protocols/federated.md), pod and modeller, and FedAvg of your own model.

Modeller: ``smpc.federated.modeller.query`` / ``train`` / ``fedavg`` (also ``Modeller.query`` and ``Modeller.train``).
Pod: ``smpc.federated.pod.serve`` (the pod runner's handler for query and training sessions), with FitClients named in
``PodConfig.fit_clients``. Submodules: ``channel`` (the signed modeller-to-pods channel), ``query`` (federated SQL
semantics), ``training`` (built-in trainers and FedAvg arithmetic), ``fit`` (your own model).
"""

from .fit import FitClient, FitClientError, ParameterLayout, SklearnLinearClient, TorchModelClient, fedavg_mean

__all__ = ["FitClient", "FitClientError", "ParameterLayout", "SklearnLinearClient", "TorchModelClient", "fedavg_mean"]
