"""Your own model in FedAvg: a Flower-like client interface and adapters for PyTorch and scikit-learn.

A pod serves a :class:`FitClient`; the modeller runs :func:`smpc.federated.modeller.fedavg`. Each round the pod gets the
global parameters θ_r (a flat float64 vector, laid out by the client's :class:`ParameterLayout`), calls
``fit(θ_r) -> (θ_i, n_i, metrics)`` and contributes ``n_i·θ_i``, ``n_i`` and ``n_i·loss_i`` through secure aggregation;
the modeller only learns θ_{r+1} = Σ n_i θ_i / Σ n_i (the sample-weighted FedAvg mean) and the pooled loss.

The loss a pod reports is that of θ_r, the model the round starts from, as for the built-in trainers: ``evaluate(θ_r)``
when the client implements it, else the ``"loss"`` of ``fit``'s metrics. A client with neither is refused by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np


class FitClientError(Exception):
    """A FitClient gave something the protocol cannot use (wrong length, non-finite values, no loss)."""


@dataclass(frozen=True)
class ParameterLayout:
    """The named tensors of a model in order, and their shapes: how a flat float64 vector maps to the model."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, tensors: Iterable[tuple[str, Sequence[int]]]) -> "ParameterLayout":
        """From (name, shape) pairs."""
        items = [(str(n), tuple(int(s) for s in shape)) for n, shape in tensors]
        names = [n for n, _ in items]
        if len(set(names)) != len(names):
            raise ValueError("tensor names must be distinct")
        return cls(tuple(names), tuple(s for _, s in items))

    @property
    def sizes(self) -> list[int]:
        """Elements per tensor."""
        return [int(np.prod(s, dtype=np.int64)) for s in self.shapes]

    @property
    def size(self) -> int:
        """Total elements (the length of the flat vector)."""
        return int(sum(self.sizes))

    def describe(self) -> list[str]:
        """One text per tensor, ``name[d1,d2]``: the training request's feature list, so the signed statement binds the
        layout and a pod with another model refuses by name."""
        return [f"{n}[{','.join(str(d) for d in s)}]" for n, s in zip(self.names, self.shapes)]

    def flatten(self, tensors: Mapping[str, Any]) -> np.ndarray:
        """The tensors (arrays, in layout order) as one float64 vector."""
        parts = []
        for name, shape in zip(self.names, self.shapes):
            a = np.asarray(tensors[name], dtype=np.float64)
            if a.shape != shape:
                raise ValueError(f"tensor {name} has shape {a.shape}, the layout says {shape}")
            parts.append(a.ravel())
        return np.concatenate(parts) if parts else np.zeros(0)

    def unflatten(self, vector: Sequence[float]) -> dict[str, np.ndarray]:
        """The flat vector as named float64 arrays of the layout's shapes."""
        v = np.asarray(vector, dtype=np.float64)
        if v.shape != (self.size,):
            raise ValueError(f"a parameter vector of this layout has {self.size} elements, not {v.size}")
        out, at = {}, 0
        for name, shape, size in zip(self.names, self.shapes, self.sizes):
            out[name] = v[at:at + size].reshape(shape)
            at += size
        return out


class FitClient:
    """A model a pod trains locally in FedAvg (Flower-like). Subclass it, or use an adapter below.

    ``get_parameters()`` returns the current parameters as a flat float64 vector of ``layout``; ``fit(parameters)``
    trains from them on the pod's own data and returns ``(new_parameters, num_examples, metrics)``; ``evaluate``
    (optional) returns ``(loss, num_examples, metrics)`` of the given parameters.
    """

    layout: ParameterLayout

    def get_parameters(self) -> np.ndarray:
        """The current parameters, flat."""
        raise NotImplementedError

    def fit(self, parameters: np.ndarray) -> tuple[np.ndarray, int, dict[str, float]]:
        """Trains locally from ``parameters``; returns (parameters, number of examples, metrics)."""
        raise NotImplementedError

    def evaluate(self, parameters: np.ndarray) -> tuple[float, int, dict[str, float]] | None:
        """The mean loss of ``parameters`` on the pod's data, or None when the client does not evaluate."""
        return None


def checked_vector(client: FitClient, values: Any, what: str) -> np.ndarray:
    """A client's parameter vector, refused unless it has the layout's length and finite values."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size != client.layout.size:
        raise FitClientError(f"{what} has {v.size} values; the client's layout has {client.layout.size}")
    if not np.all(np.isfinite(v)):
        raise FitClientError(f"{what} are not all finite numbers")
    return v


def local_round(client: FitClient, parameters: np.ndarray) -> tuple[np.ndarray, int, float, dict[str, float]]:
    """One pod round of a FitClient: (θ_i, n_i, loss at θ_r, metrics); FitClientError on anything unusable."""
    theta = checked_vector(client, parameters, "the global parameters")
    evaluated = client.evaluate(theta.copy())
    new, n, metrics = client.fit(theta.copy())
    new = checked_vector(client, new, "the locally trained parameters")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise FitClientError(f"fit returned {n!r} examples; it must be a positive integer")
    metrics = dict(metrics or {})
    if evaluated is not None:
        loss = float(evaluated[0])
    elif "loss" in metrics:
        loss = float(metrics["loss"])
    else:
        raise FitClientError("the FitClient reports no loss: implement evaluate() or return metrics['loss'] from fit()")
    if not math.isfinite(loss) or loss < 0:
        raise FitClientError("the FitClient's loss is not a finite non-negative number")
    return new, int(n), loss, metrics


def fedavg_mean(results: Sequence[tuple[Sequence[float], int]]) -> np.ndarray:
    """Σ n_i θ_i / Σ n_i: what a FedAvg round computes through secure aggregation (for checks and baselines)."""
    total = sum(n for _, n in results)
    if total < 1:
        raise ValueError("no examples")
    return sum(n * np.asarray(t, dtype=np.float64) for t, n in results) / total


class TorchModelClient(FitClient):
    """A PyTorch ``nn.Module`` as a FitClient: its floating-point ``state_dict`` entries ↔ a flat float64 vector.

    ``train_fn(module) -> num_examples`` (or ``(num_examples, metrics)``) trains the module in place on the pod's data;
    ``eval_fn(module) -> loss`` (or ``(loss, num_examples)``) evaluates it. Integer buffers (e.g. BatchNorm's
    ``num_batches_tracked``) stay local and are not averaged.
    """

    def __init__(self, module: Any, train_fn: Callable[[Any], Any], eval_fn: Callable[[Any], Any] | None = None) -> None:
        import torch

        self._torch = torch
        self.module = module
        self.train_fn = train_fn
        self.eval_fn = eval_fn
        state = module.state_dict()
        self.layout = ParameterLayout.of((k, tuple(v.shape)) for k, v in state.items() if v.is_floating_point())

    def get_parameters(self) -> np.ndarray:
        state = self.module.state_dict()
        return self.layout.flatten({k: state[k].detach().cpu().double().numpy() for k in self.layout.names})

    def set_parameters(self, parameters: Sequence[float]) -> None:
        """Loads a flat vector into the module (each tensor keeps its dtype and device)."""
        state = self.module.state_dict()
        for name, array in self.layout.unflatten(parameters).items():
            target = state[name]
            state[name] = self._torch.as_tensor(array, dtype=target.dtype, device=target.device)
        self.module.load_state_dict(state)

    def fit(self, parameters: np.ndarray) -> tuple[np.ndarray, int, dict[str, float]]:
        self.set_parameters(parameters)
        self.module.train()
        out = self.train_fn(self.module)
        n, metrics = (out if isinstance(out, tuple) else (out, {}))
        return self.get_parameters(), int(n), dict(metrics)

    def evaluate(self, parameters: np.ndarray) -> tuple[float, int, dict[str, float]] | None:
        if self.eval_fn is None:
            return None
        self.set_parameters(parameters)
        self.module.eval()
        with self._torch.no_grad():
            out = self.eval_fn(self.module)
        loss, n = (out if isinstance(out, tuple) else (out, 0))
        return float(loss), int(n), {}


class SklearnLinearClient(FitClient):
    """A scikit-learn linear model (``coef_``, ``intercept_``) as a FitClient on the pod's ``X``, ``y``.

    Parameters are ``coef_`` then ``intercept_``, flattened. ``fit`` sets them and trains ``epochs`` passes with
    ``partial_fit`` (SGDClassifier, SGDRegressor, …) or, for estimators without it, one ``fit`` with ``warm_start``
    (LogisticRegression, …). ``evaluate`` is the log loss of a classifier, ½·mean squared error of a regressor.
    """

    def __init__(self, estimator: Any, X: Any, y: Any, epochs: int = 1, classes: Sequence[Any] | None = None) -> None:
        self.estimator = estimator
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y)
        self.epochs = int(epochs)
        self.is_classifier = getattr(estimator, "_estimator_type", None) == "classifier"
        self.classes = np.asarray(classes) if classes is not None else (np.unique(self.y) if self.is_classifier else None)
        d = self.X.shape[1]
        if self.is_classifier:
            k = 1 if len(self.classes) == 2 else len(self.classes)
            coef_shape, intercept_shape = (k, d), (k,)
        else:
            coef_shape, intercept_shape = (d,), (1,)
        self.layout = ParameterLayout.of([("coef_", coef_shape), ("intercept_", intercept_shape)])
        if not hasattr(estimator, "coef_"):
            self._set(np.zeros(self.layout.size))

    def _set(self, parameters: Sequence[float]) -> None:
        p = self.layout.unflatten(parameters)
        self.estimator.coef_ = p["coef_"].copy()
        self.estimator.intercept_ = p["intercept_"].copy()
        if self.is_classifier:
            self.estimator.classes_ = self.classes

    def get_parameters(self) -> np.ndarray:
        return self.layout.flatten({"coef_": np.asarray(self.estimator.coef_).reshape(self.layout.shapes[0]),
                                    "intercept_": np.asarray(self.estimator.intercept_).reshape(self.layout.shapes[1])})

    def fit(self, parameters: np.ndarray) -> tuple[np.ndarray, int, dict[str, float]]:
        self._set(parameters)
        if hasattr(self.estimator, "partial_fit"):
            for _ in range(self.epochs):
                if self.is_classifier:
                    self.estimator.partial_fit(self.X, self.y, classes=self.classes)
                else:
                    self.estimator.partial_fit(self.X, self.y)
        else:
            self.estimator.set_params(warm_start=True)
            if hasattr(self.estimator, "max_iter"):
                self.estimator.set_params(max_iter=self.epochs)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a few iterations from warm start: convergence warnings are expected
                self.estimator.fit(self.X, self.y)
        return self.get_parameters(), int(self.X.shape[0]), {}

    def evaluate(self, parameters: np.ndarray) -> tuple[float, int, dict[str, float]]:
        self._set(parameters)
        n = int(self.X.shape[0])
        if self.is_classifier:
            scores = self.X @ np.asarray(self.estimator.coef_).T + np.asarray(self.estimator.intercept_)
            if scores.shape[1] == 1:
                z = scores[:, 0]
                y1 = (self.y == self.classes[1]).astype(np.float64)
                loss = np.mean(np.logaddexp(0, z) - y1 * z)  # log loss of σ(z)
            else:
                z = scores - scores.max(axis=1, keepdims=True)
                logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
                idx = np.searchsorted(self.classes, self.y)
                loss = -np.mean(logp[np.arange(n), idx])
        else:
            r = self.X @ np.asarray(self.estimator.coef_) + np.asarray(self.estimator.intercept_)[0] - self.y.astype(np.float64)
            loss = 0.5 * np.mean(r * r)
        return float(loss), n, {}
