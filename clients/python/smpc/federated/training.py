"""Federated training, FedAvg (docs/protocols/federated.md, "Federated training"): the request's rules, the rounds'
fields, standardisation, the built-in ``linear`` and ``logistic`` trainers and the FedAvg arithmetic — the .NET
semantics, so Python and .NET pods produce updates of the same format in one session.

1. ``standardise``: each pod sends ``[n, Σx_j, Σx_j²]`` (``standardisation_input``); the modeller computes the pooled
   mean and population standard deviation (``stats_from_sums``; σ ≈ 0 becomes 1).
2. ``round-r``: the modeller releases ``{"round": r, "theta": θ_r, "mean": μ, "std": σ}``; each pod standardises, computes
   its mean loss at θ_r, trains ``localEpochs`` from θ_r and sends ``[n·θ_i, n, n·loss_i(θ_r)]`` (``pod_update``); the
   modeller computes θ_{r+1} = Σ n_i θ_i / Σ n_i and the pooled loss (``average``); it stops after R rounds or when
   ‖θ_{r+1} − θ_r‖ / max(1, ‖θ_r‖) < tolerance (``converged``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .query import FIELD_MAX_SIGNED, MAX_FEDERATED_PODS, _get

MAX_PRECISION = 10_000_000_000
WEIGHTED_FIELD, SAMPLES_FIELD, LOSS_FIELD = "weighted", "samples", "loss"
SUM_FIELD, SUM_SQUARES_FIELD = "sum", "sumsq"
STANDARDISE_ROUND = "standardise"
_MASK64 = (1 << 64) - 1

DEFAULTS: dict[str, Any] = {
    "rounds": 20, "learningRate": 0.1, "localEpochs": 5, "batchSize": 0, "tolerance": 1e-4, "roundTimeoutSeconds": 300,
    "parameterBound": 100.0, "featureBound": 1000.0, "maxSamplesPerPod": 1_000_000,
}


class TrainingRefused(Exception):
    """A pod will not train on this request or its data; the message is the reason it sends (never a data value)."""


@dataclass(frozen=True)
class TrainingSpec:
    """A ``TrainingRequest`` (wire dict, camelCase) with its defaults filled in."""

    trainer: str
    source: str
    features: tuple[str, ...]
    label: str
    rounds: int = 20
    learning_rate: float = 0.1
    local_epochs: int = 5
    batch_size: int = 0
    tolerance: float = 1e-4
    round_timeout_seconds: int = 300
    parameter_bound: float = 100.0
    feature_bound: float = 1000.0
    max_samples_per_pod: int = 1_000_000

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> "TrainingSpec":
        """From a ``TrainingRequest`` dict (as sent or as the session serves it)."""
        g = lambda k: _get(d, k, DEFAULTS.get(k))  # noqa: E731
        return cls(str(_get(d, "trainer") or ""), str(_get(d, "source") or ""), tuple(_get(d, "features") or ()),
                   str(_get(d, "label") or ""), int(g("rounds")), float(g("learningRate")), int(g("localEpochs")),
                   int(g("batchSize")), float(g("tolerance")), int(g("roundTimeoutSeconds")), float(g("parameterBound")),
                   float(g("featureBound")), int(g("maxSamplesPerPod")))

    def to_wire(self) -> dict[str, Any]:
        """The ``TrainingRequest`` dict to send (every field explicit)."""
        return {"trainer": self.trainer, "source": self.source, "features": list(self.features), "label": self.label,
                "rounds": self.rounds, "learningRate": self.learning_rate, "localEpochs": self.local_epochs,
                "batchSize": self.batch_size, "tolerance": self.tolerance, "roundTimeoutSeconds": self.round_timeout_seconds,
                "parameterBound": self.parameter_bound, "featureBound": self.feature_bound,
                "maxSamplesPerPod": self.max_samples_per_pod}


def problem(spec: TrainingSpec) -> str | None:
    """Why the request is not well formed (checked by modeller and pods alike), or None."""
    if not spec.trainer.strip():
        return "the request names no trainer"
    if not spec.source.strip():
        return "the request names no source"
    if not spec.features:
        return "the request names no feature columns"
    if any(not str(f).strip() for f in spec.features):
        return "a feature column name is empty"
    if not spec.label.strip():
        return "the request names no label column"
    names = [n.lower() for n in (*spec.features, spec.label)]
    if len(set(names)) != len(names):
        return "the feature and label columns must be distinct (ignoring case)"
    if spec.rounds < 1:
        return "Rounds must be at least 1"
    if not (spec.learning_rate > 0 and math.isfinite(spec.learning_rate)):
        return "LearningRate must be a positive number"
    if spec.local_epochs < 1:
        return "LocalEpochs must be at least 1"
    if spec.batch_size < 0:
        return "BatchSize must be 0 (full batch) or positive"
    if not (spec.tolerance >= 0 and math.isfinite(spec.tolerance)):
        return "Tolerance must be zero or a positive number"
    if not (spec.parameter_bound > 0 and math.isfinite(spec.parameter_bound)):
        return "ParameterBound must be a positive number"
    if not (spec.feature_bound > 0 and math.isfinite(spec.feature_bound)):
        return "FeatureBound must be a positive number"
    if spec.max_samples_per_pod < 1:
        return "MaxSamplesPerPod must be at least 1"
    return None


def validate(spec: TrainingSpec) -> None:
    """Raises ValueError unless the request is well formed."""
    p = problem(spec)
    if p is not None:
        raise ValueError(f"Training request: {p}.")


# --- field sizing (FixedPointCodec's rule: n · ⌈B · p⌉ ≤ (q − 1)/2 over 50 pods) ------------------------------------

def _fits(bound: float, precision: int) -> bool:
    scaled = math.ceil(bound * precision)
    return scaled < 9.2e18 and int(scaled) * MAX_FEDERATED_PODS <= FIELD_MAX_SIGNED


def real_field(name: str, length: int, lo: float, hi: float, min_precision: int, remedy: str) -> dict[str, Any]:
    """A real-valued field at the finest power-of-ten precision (at most 10^10, at least ``min_precision``) that fits."""
    bound = max(abs(lo), abs(hi))
    precision = MAX_PRECISION
    while precision >= min_precision:
        if _fits(bound, precision):
            return {"name": name, "length": int(length), "min": float(lo), "max": float(hi), "precision": int(precision)}
        precision //= 10
    raise ValueError(f"Training request: field '{name}' would need values up to {bound:.6g} at a precision of at least "
                     f"{min_precision}, which cannot be summed over {MAX_FEDERATED_PODS} pods without overflowing the field "
                     f"(2^61 − 1); {remedy}.")


def integer_field(name: str, length: int, lo: int, hi: int, remedy: str) -> dict[str, Any]:
    """An exact integer field (precision 1)."""
    if not _fits(float(max(abs(lo), abs(hi))), 1):
        raise ValueError(f"Training request: field '{name}' would need integers up to {max(abs(lo), abs(hi))}, which cannot be "
                         f"summed over {MAX_FEDERATED_PODS} pods without overflowing the field (2^61 − 1); {remedy}.")
    return {"name": name, "length": int(length), "min": float(lo), "max": float(hi), "precision": 1}


def standardisation_fields(spec: TrainingSpec) -> list[dict[str, Any]]:
    """The ``standardise`` round: ``samples`` [1], ``sum`` [d], ``sumsq`` [d]."""
    validate(spec)
    d, n = len(spec.features), float(spec.max_samples_per_pod)
    remedy = "lower FeatureBound or MaxSamplesPerPod"
    return [integer_field(SAMPLES_FIELD, 1, 0, spec.max_samples_per_pod, "lower MaxSamplesPerPod"),
            real_field(SUM_FIELD, d, -spec.feature_bound * n, spec.feature_bound * n, 10_000, remedy),
            real_field(SUM_SQUARES_FIELD, d, 0.0, spec.feature_bound * spec.feature_bound * n, 100, remedy)]


def sample_loss_bound(spec: TrainingSpec) -> float:
    """The largest mean loss a pod reports: max(2·FeatureBound², 28)."""
    return max(2 * spec.feature_bound * spec.feature_bound, 28.0)


def fedavg_fields(spec: TrainingSpec, parameter_count: int) -> list[dict[str, Any]]:
    """A training round: ``weighted`` [p], ``samples`` [1], ``loss`` [1]."""
    validate(spec)
    if parameter_count < 1:
        raise ValueError("a model has at least one parameter")
    n = float(spec.max_samples_per_pod)
    w = spec.parameter_bound * n
    return [real_field(WEIGHTED_FIELD, parameter_count, -w, w, 1_000_000, "lower ParameterBound or MaxSamplesPerPod"),
            integer_field(SAMPLES_FIELD, 1, 0, spec.max_samples_per_pod, "lower MaxSamplesPerPod"),
            real_field(LOSS_FIELD, 1, 0.0, sample_loss_bound(spec) * n, 100,
                       "lower MaxSamplesPerPod or FeatureBound (which bounds the loss)")]


def session_problem(spec: TrainingSpec, parameter_count: int | None = None) -> str | None:
    """Why the service refuses this request as a session's spec, or None (the modeller checks before sending)."""
    if not spec.trainer.strip() or len(spec.trainer) > 64:
        return "training.trainer names a trainer (e.g. linear, logistic)."
    if not 1 <= len(spec.features) <= 10_000 or any(not str(f).strip() for f in spec.features) or len(set(spec.features)) != len(spec.features):
        return "training.features names 1 to 10000 distinct columns."
    if not spec.label.strip() or spec.label in spec.features:
        return "training.label names a column that is not a feature."
    if not 1 <= spec.rounds <= 1000:
        return "training.rounds must be between 1 and 1000."
    if not 1 <= spec.local_epochs <= 10_000:
        return "training.localEpochs must be between 1 and 10000."
    if not 5 <= spec.round_timeout_seconds <= 86_400:
        return "training.roundTimeoutSeconds must be between 5 and 86400."
    try:
        standardisation_fields(spec)
        fedavg_fields(spec, parameter_count or len(spec.features) + 1)
    except ValueError as e:
        return f"training: {e}"
    return None


# --- standardisation ----------------------------------------------------------------------------------------------

@dataclass
class StandardisationStats:
    """Pooled per-feature mean and population standard deviation (a constant feature gets std 1)."""

    samples: int
    mean: np.ndarray
    std: np.ndarray


def standardisation_input(X: np.ndarray) -> np.ndarray:
    """A pod's ``standardise`` vector ``[n, Σx_1 … Σx_d, Σx_1² … Σx_d²]``."""
    X = np.asarray(X, dtype=np.float64)
    return np.concatenate([[float(X.shape[0])], X.sum(axis=0), (X * X).sum(axis=0)])


def stats_from_sums(sums: Mapping[str, Any]) -> StandardisationStats:
    """The pooled statistics from the round's summed fields."""
    n = int(round(float(np.asarray(sums[SAMPLES_FIELD]).reshape(-1)[0])))
    s = np.asarray(sums[SUM_FIELD], dtype=np.float64)
    sq = np.asarray(sums[SUM_SQUARES_FIELD], dtype=np.float64)
    if s.shape != sq.shape:
        raise ValueError(f"'sum' has {s.size} elements but 'sumsq' has {sq.size}")
    if n < 1:
        raise ValueError("The pooled sample count is zero: no pod contributed rows.")
    mean = s / n
    sd = np.sqrt(np.maximum(0.0, sq / n - mean * mean))
    std = np.where(sd > 1e-6 * np.maximum(1.0, np.abs(mean)), sd, 1.0)
    return StandardisationStats(n, mean, std)


def standardise(X: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(x − mean)/std per feature; refuses a standardisation of the wrong length, non-finite or with std ≤ 0."""
    X = np.asarray(X, dtype=np.float64)
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    d = X.shape[1]
    if mean.shape != (d,) or std.shape != (d,):
        raise TrainingRefused(f"the standardisation has {mean.size} means and {std.size} standard deviations for {d} features")
    bad = ~(np.isfinite(mean) & np.isfinite(std) & (std > 0))
    if bad.any():
        raise TrainingRefused(f"the standardisation of feature {int(np.flatnonzero(bad)[0]) + 1} is not usable (non-finite mean, or std not positive)")
    return (X - mean) / std


def to_raw_scale(theta: Sequence[float], stats: StandardisationStats) -> np.ndarray:
    """A linear-score model [w…, b] over standardised features rewritten for raw features."""
    theta = np.asarray(theta, dtype=np.float64)
    w = theta[:-1] / stats.std
    return np.concatenate([w, [theta[-1] - float(np.sum(theta[:-1] * stats.mean / stats.std))]])


# --- trainers -----------------------------------------------------------------------------------------------------

class SplitMix64:
    """The deterministic generator of the batch shuffle (same sequence as the .NET ``SplitMix64``)."""

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK64

    def next(self) -> int:
        """The next 64-bit value."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def next_int(self, n: int) -> int:
        """Uniform in [0, n) by rejection sampling."""
        limit = _MASK64 - (_MASK64 % n)
        while True:
            x = self.next()
            if x < limit:
                return x % n


def shuffle(order: np.ndarray, rng: SplitMix64) -> None:
    """Fisher–Yates from the end, as the .NET trainer shuffles its batch order."""
    for i in range(len(order) - 1, 0, -1):
        j = rng.next_int(i + 1)
        order[i], order[j] = order[j], order[i]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) without overflow."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class LinearModelTrainer:
    """A linear score z = w·x + b, θ = [w…, b] (bias last), mini-batch gradient descent on mean ℓ′(z, y)·[x, 1]."""

    name = ""
    binary_labels = False

    def parameter_count(self, feature_count: int) -> int:
        """d + 1."""
        return feature_count + 1

    def _scores(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        return X @ theta[:-1] + theta[-1]

    def sample_loss(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def loss_slope(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def output(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def loss(self, theta: Sequence[float], X: np.ndarray, y: np.ndarray) -> float:
        """The mean loss of θ over the (standardised) rows."""
        theta = np.asarray(theta, dtype=np.float64)
        return float(np.mean(self.sample_loss(self._scores(theta, X), y)))

    def fit(self, theta: Sequence[float], X: np.ndarray, y: np.ndarray, learning_rate: float, epochs: int,
            batch_size: int = 0, seed: int = 0) -> np.ndarray:
        """Trains from θ (not changed) and returns the new parameters; batches shuffled by SplitMix64(seed)."""
        w = np.array(theta, dtype=np.float64)
        n = X.shape[0]
        batch = n if batch_size <= 0 or batch_size >= n else batch_size
        order = np.arange(n) if batch < n else None
        rng = SplitMix64(seed)
        for _ in range(epochs):
            if order is not None:
                shuffle(order, rng)
            for start in range(0, n, batch):
                idx = order[start:start + batch] if order is not None else slice(start, start + batch)
                xb, yb = X[idx], y[idx]
                slope = self.loss_slope(self._scores(w, xb), yb)
                step = learning_rate / xb.shape[0]
                gradient = np.concatenate([slope @ xb, [slope.sum()]])
                w -= step * gradient
        return w

    def predict(self, theta: Sequence[float], X: np.ndarray) -> np.ndarray:
        """The model's output per (standardised) row."""
        return self.output(self._scores(np.asarray(theta, dtype=np.float64), np.asarray(X, dtype=np.float64)))


class LinearRegressionTrainer(LinearModelTrainer):
    """``linear``: ŷ = w·x + b, loss ½(ŷ − y)²."""

    name = "linear"
    binary_labels = False

    def sample_loss(self, z, y):
        return 0.5 * (z - y) ** 2

    def loss_slope(self, z, y):
        return z - y

    def output(self, z):
        return z


class LogisticRegressionTrainer(LinearModelTrainer):
    """``logistic``: p = σ(w·x + b), log loss with p clamped to [1e−12, 1 − 1e−12], gradient (p − y)·[x, 1]."""

    name = "logistic"
    binary_labels = True
    _EPS = 1e-12

    def sample_loss(self, z, y):
        p1 = np.clip(sigmoid(z), self._EPS, 1 - self._EPS)
        p0 = np.clip(sigmoid(-z), self._EPS, 1 - self._EPS)
        return -(y * np.log(p1) + (1 - y) * np.log(p0))

    def loss_slope(self, z, y):
        return sigmoid(z) - y

    def output(self, z):
        return sigmoid(z)


BUILTIN_TRAINERS: dict[str, LinearModelTrainer] = {"linear": LinearRegressionTrainer(), "logistic": LogisticRegressionTrainer()}


# --- FedAvg -------------------------------------------------------------------------------------------------------

@dataclass
class PodRoundUpdate:
    """A pod's round: the vector ``[n·θ_i…, n, n·loss]``, its mean loss at θ_r and its local θ_i."""

    input: np.ndarray
    loss: float
    local_theta: np.ndarray


def _check_parameters(theta: np.ndarray, bound: float, what: str) -> None:
    if not np.all(np.isfinite(theta)):
        raise TrainingRefused(f"{what} are not all finite numbers; the model has diverged (lower LearningRate)")
    if np.any(np.abs(theta) > bound):
        raise TrainingRefused(f"{what} exceed ParameterBound = {bound:.6g}; raise ParameterBound or lower LearningRate")


def check_loss(loss: float, spec: TrainingSpec, round_number: int) -> None:
    """Refuses a loss that is not finite and non-negative, or above the loss bound (the model diverged)."""
    if not math.isfinite(loss) or loss < 0:
        raise TrainingRefused(f"round {round_number}: the loss at the broadcast parameters is not a finite non-negative number")
    if loss > sample_loss_bound(spec):
        raise TrainingRefused(f"round {round_number}: the mean loss at the broadcast parameters exceeds the loss bound of "
                              f"{sample_loss_bound(spec):.6g}; the model has diverged (lower LearningRate)")


def pod_update(trainer: LinearModelTrainer, theta: Sequence[float], X: np.ndarray, y: np.ndarray, spec: TrainingSpec,
               round_number: int) -> PodRoundUpdate:
    """A pod's round: loss at the broadcast θ, local training from it (seed = round), the vector; refuses, never clips."""
    p_ = problem(spec)
    if p_ is not None:
        raise TrainingRefused(p_)
    theta = np.asarray(theta, dtype=np.float64)
    p = trainer.parameter_count(X.shape[1])
    n = X.shape[0]
    if n < 1:
        raise TrainingRefused("the pod has no rows to train on")
    if n > spec.max_samples_per_pod:
        raise TrainingRefused(f"the pod has more than MaxSamplesPerPod = {spec.max_samples_per_pod} rows")
    if theta.shape != (p,):
        raise TrainingRefused(f"round {round_number}: the broadcast has {theta.size} parameters; {trainer.name} on {X.shape[1]} features has {p}")
    _check_parameters(theta, spec.parameter_bound, f"round {round_number}: the broadcast parameters")
    loss = trainer.loss(theta, X, y)
    check_loss(loss, spec, round_number)
    local = trainer.fit(theta, X, y, spec.learning_rate, spec.local_epochs, spec.batch_size, round_number)
    _check_parameters(local, spec.parameter_bound, f"round {round_number}: the locally trained parameters")
    return PodRoundUpdate(np.concatenate([n * local, [float(n), n * loss]]), loss, local)


@dataclass
class RoundAverage:
    """θ_{r+1}, the pooled mean loss of θ_r and Σ n_i."""

    theta: np.ndarray
    mean_loss: float
    samples: int


def average(sums: Mapping[str, Any]) -> RoundAverage:
    """θ_{r+1} = Σ n_i θ_i / Σ n_i and the pooled loss Σ n_i L_i / Σ n_i from a round's summed fields."""
    weighted = np.asarray(sums[WEIGHTED_FIELD], dtype=np.float64)
    samples = int(round(float(np.asarray(sums[SAMPLES_FIELD]).reshape(-1)[0])))
    loss = float(np.asarray(sums[LOSS_FIELD]).reshape(-1)[0])
    if samples < 1:
        raise ValueError("The round's sample count is zero: no pod contributed.")
    return RoundAverage(weighted / samples, loss / samples, samples)


def converged(previous: Sequence[float], nxt: Sequence[float], tolerance: float) -> bool:
    """‖next − previous‖ / max(1, ‖previous‖) < tolerance."""
    a, b = np.asarray(previous, dtype=np.float64), np.asarray(nxt, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"θ changed length from {a.size} to {b.size}")
    return float(np.linalg.norm(b - a)) / max(1.0, float(np.linalg.norm(a))) < tolerance


def broadcast(round_number: int, theta: Sequence[float], mean: Sequence[float], std: Sequence[float]) -> dict[str, Any]:
    """The release ``round-r`` (the .NET ``TrainingBroadcast`` in JSON web form)."""
    return {"round": int(round_number), "theta": [float(x) for x in theta], "mean": [float(x) for x in mean],
            "std": [float(x) for x in std]}


ROUND_LABEL = re.compile(r"^round-([1-9][0-9]*)\Z")


def round_number(label: str, rounds: int) -> int:
    """The number of a ``round-r`` label within 1..rounds; TrainingRefused otherwise."""
    m = ROUND_LABEL.match(label)
    n = int(m.group(1)) if m else 0
    if not m or n < 1 or n > rounds:
        raise TrainingRefused(f"training has no round '{label}' (rounds are round-1 to round-{rounds})")
    return n


# --- policy and data ----------------------------------------------------------------------------------------------

@dataclass
class TrainingPolicy:
    """A pod's ``training`` policy (agent-config.md): modellers, trainers, source → columns ("*" = all), maxRounds."""

    modellers: list[str] = field(default_factory=list)
    trainers: list[str] = field(default_factory=lambda: ["linear", "logistic"])
    columns: dict[str, list[str]] = field(default_factory=dict)
    max_rounds: int = 1000

    @classmethod
    def from_config(cls, d: Mapping[str, Any] | None) -> "TrainingPolicy":
        """From the agent configuration's ``training`` section (camelCase keys)."""
        d = d or {}
        trainers = _get(d, "trainers")
        return cls(list(_get(d, "modellers") or []), list(trainers) if trainers is not None else ["linear", "logistic"],
                   {k: list(v or []) for k, v in (_get(d, "columns") or {}).items()}, int(_get(d, "maxRounds", 1000) or 1000))

    def refusal(self, spec: TrainingSpec) -> str | None:
        """Why the policy refuses the request (trainer, rounds, columns), or None."""
        if spec.trainer not in self.trainers:
            return f"trainer '{spec.trainer}' is not allowed (allowed: {', '.join(self.trainers)})"
        if spec.rounds > self.max_rounds:
            return f"{spec.rounds} rounds exceed the pod's maximum of {self.max_rounds}"
        allowed = self.columns.get(spec.source)
        if not allowed:
            return f"the pod's policy allows no columns of source '{spec.source}' for training"
        if "*" in allowed:
            return None
        lowered = {c.lower() for c in allowed}
        refused: list[str] = []
        for c in (*spec.features, spec.label):
            if c.lower() not in lowered and c.lower() not in (r.lower() for r in refused):
                refused.append(c)
        if not refused:
            return None
        quoted = ", ".join("'" + c + "'" for c in refused)
        return (f"the pod's policy does not allow training on column{'' if len(refused) == 1 else 's'} "
                f"{quoted} of source '{spec.source}'")


def _read_table(source: Any, base_dir: str | Path) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a training source: a DataFrame, a CSV path/config, or a SQLite {path, table|query}."""
    import csv
    import sqlite3

    if hasattr(source, "itertuples") and hasattr(source, "columns"):
        return [str(c) for c in source.columns], [list(r) for r in source.itertuples(index=False, name=None)]
    if isinstance(source, (str, Path)):
        source = {"kind": "csv" if str(source).lower().endswith(".csv") else "sqlite", "path": str(source)}
    kind = str(_get(source, "kind", "csv")).strip().lower()
    path = Path(base_dir) / str(_get(source, "path"))
    if kind == "csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=str(_get(source, "delimiter", ",")))
            header = next(reader)
            return header, [r for r in reader if r]
    if kind == "sqlite":
        table, sql = _get(source, "table"), _get(source, "query")
        if not path.is_file():
            raise ValueError(f"sqlite {path}: the database file does not exist.")
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            cur = conn.execute(sql if sql else "SELECT * FROM " + '"' + str(table).replace('"', '""') + '"')
            return [d[0] for d in cur.description], [list(r) for r in cur]
        finally:
            conn.close()
    raise ValueError(f"Unknown record source kind '{kind}' (use csv, sqlite or a pandas DataFrame).")


def _number(value: Any, row: int, column: str) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value) and not isinstance(value, str)):
        if value is None:
            raise TrainingRefused(f"row {row}, column '{column}': the value is NULL")
        raise TrainingRefused(f"row {row}, column '{column}': the value is not a finite number")
    if isinstance(value, str):
        if not value.strip():
            raise TrainingRefused(f"row {row}, column '{column}': the value is empty")
        try:
            x = float(value)
        except ValueError:
            raise TrainingRefused(f"row {row}, column '{column}': the value is not a number") from None
    elif isinstance(value, (bool, np.bool_)):
        raise TrainingRefused(f"row {row}, column '{column}': the value is not a number")
    else:
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise TrainingRefused(f"row {row}, column '{column}': the value is not a number") from None
    if not math.isfinite(x):
        raise TrainingRefused(f"row {row}, column '{column}': the value is not a finite number")
    return x


def load_training_data(spec: TrainingSpec, source: Any, policy: TrainingPolicy, trainer: LinearModelTrainer,
                       base_dir: str | Path = ".") -> tuple[np.ndarray, np.ndarray]:
    """The raw rows (features X, labels y) of the request's columns, under the policy and the request's bounds."""
    p_ = problem(spec)
    if p_ is not None:
        raise TrainingRefused(p_)
    r = policy.refusal(spec)
    if r is not None:
        raise TrainingRefused(r)
    columns, rows = _read_table(source, base_dir)
    wanted = [*spec.features, spec.label]
    index = []
    for name in wanted:
        matches = [i for i, c in enumerate(columns) if c.lower() == name.lower()]
        if not matches:
            raise TrainingRefused(f"source '{spec.source}' has no column '{name}'")
        if len(matches) > 1:
            raise TrainingRefused(f"source '{spec.source}': a requested column name matches several columns (differing only in case)")
        index.append(matches[0])
    if len(rows) > spec.max_samples_per_pod:
        raise TrainingRefused(f"source '{spec.source}' has more than MaxSamplesPerPod = {spec.max_samples_per_pod} rows")
    if not rows:
        raise TrainingRefused(f"source '{spec.source}' has no rows")
    d = len(spec.features)
    X = np.empty((len(rows), d))
    y = np.empty(len(rows))
    for i, row in enumerate(rows, start=1):
        for j in range(d):
            x = _number(row[index[j]], i, wanted[j])
            if abs(x) > spec.feature_bound:
                raise TrainingRefused(f"row {i}, column '{wanted[j]}': the value is outside ±FeatureBound = {spec.feature_bound:.6g}")
            X[i - 1, j] = x
        v = row[index[d]]
        if trainer.binary_labels:
            t = v.strip().lower() if isinstance(v, str) else None
            if t in ("true", "false"):
                y[i - 1] = 1.0 if t == "true" else 0.0
                continue
            if isinstance(v, (bool, np.bool_)):
                y[i - 1] = float(v)
                continue
            x = _number(v, i, spec.label)
            if x not in (0.0, 1.0):
                raise TrainingRefused(f"row {i}, column '{spec.label}': trainer '{trainer.name}' needs labels 0 or 1 (or true/false)")
            y[i - 1] = x
        else:
            x = _number(v, i, spec.label)
            if abs(x) > spec.feature_bound:
                raise TrainingRefused(f"row {i}, column '{spec.label}': the value is outside ±FeatureBound = {spec.feature_bound:.6g}")
            y[i - 1] = x
    return X, y


def central_baseline(trainer: LinearModelTrainer, X: np.ndarray, y: np.ndarray, spec: TrainingSpec) -> tuple[np.ndarray, StandardisationStats]:
    """The non-private baseline: the same trainer on all rows pooled, Rounds × LocalEpochs passes from θ = 0."""
    stats = stats_from_sums(dict(zip((SAMPLES_FIELD, SUM_FIELD, SUM_SQUARES_FIELD),
                                     np.split(standardisation_input(X), [1, 1 + X.shape[1]]))))
    Z = standardise(X, stats.mean, stats.std)
    theta = trainer.fit(np.zeros(trainer.parameter_count(X.shape[1])), Z, y, spec.learning_rate,
                        spec.rounds * spec.local_epochs, spec.batch_size)
    return theta, stats

