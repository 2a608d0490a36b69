"""The modeller's side of federated SQL and training (docs/protocols/federated.md), from a :class:`smpc.modeller.Modeller`.

* :func:`query` — counts round, release ``counts``, values round over the released cells → a pandas DataFrame.
* :func:`train` — ``standardise``, then ``round-r`` (release θ_r, FedAvg through secure aggregation) → the model.
* :func:`fedavg` — your own model: FedAvg over pods serving a :class:`smpc.federated.fit.FitClient`, run as a training
  session whose trainer is ``fit:<name>`` (rounds ``round-1`` … only; no standardisation) → the averaged parameters.

Each run creates the parent session (signed by the modeller), waits for every pod's member key, checks each against
the pod's pin and signature, seals a fresh content key to all of them (signed), and runs every round as a
secure-aggregation session naming the parent; results are computed in this process only.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import channel as ch
from . import query as q
from . import training as tr
from .fit import FitClient, ParameterLayout
from .pod import FIT_TRAINER_PREFIX

log = logging.getLogger("smpc.federated")


class FederatedSessionFailed(Exception):
    """A federated session ended without its result; the message says why (often a pod's reason to decline)."""


def round_session_id(parent: str, label: str) -> str:
    """The id of a round's secure-aggregation session: ``{parent}-{label}``, shortened with a hash when too long."""
    sid = f"{parent}-{label}"
    if len(sid) <= 63:
        return sid
    digest = hashlib.sha256(parent.encode()).hexdigest()[:8]
    return f"{parent[:max(1, 63 - len(label) - 10)].rstrip('-')}-{digest}-{label}"


@dataclass
class RoundOutcome:
    """What a round's secure aggregation gave: the summed fields (name → array) and the pods in the sum."""

    sums: dict[str, np.ndarray]
    included: list[str]


def _aggregate_round(modeller: Any, session_id: str, parent: str, label: str, pods: Sequence[str],
                     fields: list[dict[str, Any]], timeout_seconds: int) -> RoundOutcome:
    """A round through the SDK's secure aggregation (``smpc.secagg.modeller.aggregate``) as a plain sum."""
    from ..secagg.modeller import aggregate

    result = aggregate(modeller, list(pods), label, operation="sum", fields=fields, session_id=session_id,
                       parent=parent, phase_timeout_seconds=timeout_seconds)
    sums = getattr(result, "values", None)
    if sums is None:
        sums = getattr(result, "fields", None)
    included = getattr(result, "included_pods", None)
    if included is None:
        included = getattr(result, "included", None)
    return RoundOutcome({k: np.asarray(v, dtype=np.float64) for k, v in dict(sums).items()}, list(included))


class FederatedRun:
    """One parent session, the modeller's end: channel, releases, rounds, metrics, finish."""

    def __init__(self, modeller: Any, session: Mapping[str, Any],
                 round_runner: Callable[..., RoundOutcome] | None = None) -> None:
        self.modeller = modeller
        self.session = dict(session)
        self.id: str = session["id"]
        self.tenant: str = modeller.tenant
        self._content_key = ch.new_content_key()
        self._round_runner = round_runner or _aggregate_round

    @classmethod
    def create(cls, modeller: Any, kind: str, pods: Sequence[str], spec: Mapping[str, Any], session_id: str | None = None,
               round_runner: Callable[..., RoundOutcome] | None = None) -> "FederatedRun":
        """Creates the parent session (signed; the service's copy checked against the request)."""
        request = {"id": session_id or f"{kind}-{secrets.token_hex(5)}", "modellerId": modeller.id, "kind": kind,
                   "podIds": list(pods), kind: dict(spec)}
        return cls(modeller, modeller.create_session(request), round_runner)

    @property
    def client(self) -> Any:
        return self.modeller.client

    def _refresh(self) -> dict[str, Any]:
        self.session = self.client.get_session(self.tenant, self.id)
        return self.session

    def _raise_if_ended(self, s: Mapping[str, Any]) -> None:
        phase = s.get("phase")
        if phase == "failed":
            raise FederatedSessionFailed((s.get("federated") or {}).get("failureReason") or "the session failed")
        if phase == "completed":
            raise FederatedSessionFailed("the session is already completed")
        if phase == "cancelled":
            raise FederatedSessionFailed(f"the session was cancelled: {(s.get('cancellation') or {}).get('reason')}")

    def open_channel(self, timeout_seconds: float) -> None:
        """Waits for every member key, checks each against the pod's pin and signature, then seals the content key."""
        deadline = time.monotonic() + timeout_seconds
        s = self._refresh()
        pods = list(s["podIds"])
        while len((s.get("federated") or {}).get("memberKeys") or {}) < len(pods):
            self._raise_if_ended(s)
            left = deadline - time.monotonic()
            if left <= 0:
                missing = [p for p in pods if p not in (s.get("federated") or {}).get("memberKeys", {})]
                reason = f"pods did not join within {timeout_seconds:.0f} s: {', '.join(missing)}"
                self.finish(reason)
                raise FederatedSessionFailed(reason)
            s = self.client.get_session(self.tenant, self.id, wait_for_version=s["version"], wait_seconds=int(min(20, max(1, left))))
        self.session = s
        members = []
        for pod in pods:  # every key is checked before the content key is sealed to any pod
            key = s["federated"]["memberKeys"][pod]
            presented = self.client.get_pod(self.tenant, pod).get("identityPublicKey")
            if not presented:
                raise FederatedSessionFailed(f"the service presents no identity key for pod '{pod}'")
            identity = base64.b64decode(presented)
            pinned = self.modeller.pins.resolve(self.tenant, "pod", pod, ch.fingerprint(identity))
            member = base64.b64decode(key["publicKey"])
            ch.verify_member_key(pinned, identity, self.tenant, self.id, pod, member, base64.b64decode(key["signature"]))
            members.append((pod, member))
        boxes = {pod: ch.sign_content_key_seal(self.modeller.identity.sign, self.tenant, self.id, pod, member,
                                               ch.seal_content_key(self._content_key, member, self.tenant, self.id, pod))
                 for pod, member in members}
        self.session = self.client.put_sealed_keys(self.tenant, self.id, boxes)

    def release(self, name: str, value: Any) -> None:
        """Encrypts ``value`` (JSON) under the content key, signs it and stores it as release ``name``."""
        box = ch.seal_release(self._content_key, self.tenant, self.id, name, ch.encode_release(value))
        self.client.upload_release(self.tenant, self.id, name, ch.sign_release(self.modeller.identity.sign, self.tenant, self.id, name, box))

    def run_round(self, label: str, pods: Sequence[str], fields: list[dict[str, Any]], timeout_seconds: int) -> RoundOutcome:
        """Round ``label``: a secure-aggregation sum over ``pods``; a pod declining the parent ends it with its reason."""
        self._raise_if_ended(self._refresh())
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def work() -> None:
            try:
                outcome["value"] = self._round_runner(self.modeller, round_session_id(self.id, label), self.id, label,
                                                      pods, fields, timeout_seconds)
            except BaseException as e:  # handed to the caller's thread
                outcome["error"] = e
            finally:
                finished.set()

        def watch() -> None:
            s = self.session
            while not finished.is_set():
                if s.get("phase") != "running":
                    outcome["ended"] = s
                    finished.set()
                    return
                try:
                    s = self.client.get_session(self.tenant, self.id, wait_for_version=s["version"], wait_seconds=10)
                except Exception:  # transient: the round itself reports lasting failures
                    finished.wait(1)

        threading.Thread(target=work, name=f"federated-round-{label}", daemon=True).start()
        threading.Thread(target=watch, name=f"federated-watch-{label}", daemon=True).start()
        finished.wait()
        if "value" in outcome:
            return outcome["value"]
        if "error" in outcome:
            self._raise_if_ended(self._refresh())
            raise FederatedSessionFailed(f"round {label} failed: {outcome['error']}") from outcome["error"]
        ended = outcome["ended"]
        reason = (ended.get("federated") or {}).get("failureReason") or f"the session is {ended.get('phase')}"
        try:  # stop the round: its pods and its secure aggregation end at once
            self.modeller.cancel(round_session_id(self.id, label), f"session {self.id} ended: {reason}"[:480])
        except Exception:
            pass
        raise FederatedSessionFailed(reason)

    def report(self, label: str, values: Mapping[str, float]) -> None:
        """Publishes a round's metrics (the pooled loss, pods, seconds; never the model)."""
        self.client.report_round_metrics(self.tenant, self.id, label, dict(values))

    def finish(self, failure_reason: str | None = None) -> dict[str, Any]:
        """Ends the session: completed, or failed with the reason."""
        self.session = self.client.finish_federated(self.tenant, self.id, failure_reason)
        return self.session

    def fail_quietly(self, reason: str) -> None:
        """Ends a running session as failed, ignoring that it already ended."""
        try:
            if self._refresh().get("phase") == "running":
                self.finish(reason[:480])
        except Exception:
            pass

    def close(self) -> None:
        """Forgets the content key."""
        self._content_key = b""


# --- federated SQL ------------------------------------------------------------------------------------------------

def query(modeller: Any, pods: Sequence[str], spec: Mapping[str, Any], *, session_id: str | None = None,
          round_runner: Callable[..., RoundOutcome] | None = None) -> Any:
    """Runs a federated SQL query over ``pods``; returns the result as a pandas DataFrame.

    ``spec`` is a ``QueryRequest`` dict (``sql``, ``source``, ``groupBy``, ``aggregates``, ``minPooledCount``,
    ``maxRowsPerCell``, ``roundTimeoutSeconds``). The DataFrame has the group-by columns (labels), the aggregates, then
    ``withheld`` and ``suppressed_on``; ``df.attrs`` holds ``session`` (the parent id), ``included_pods`` and ``release``.
    """
    problem = q.session_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    shape = q.QueryShape.create(spec)
    run = FederatedRun.create(modeller, "query", pods, spec, session_id, round_runner)
    try:
        log.info("session %s: waiting for %d pods to run the query and join", run.id, len(pods))
        run.open_channel(shape.round_timeout_seconds)
        log.info("session %s: counts round over %d cells", run.id, shape.cell_count)
        counts = run.run_round("counts", pods, shape.count_round_fields(), shape.round_timeout_seconds)
        release = q.decide_release(shape, counts.sums, shape.min_pooled_count)
        run.release("counts", release)
        values = None
        if release["releasedCells"] and shape.value_aggregates:
            k = len(release["releasedCells"])
            log.info("session %s: values round over %d released cells (%d withheld)", run.id, k, shape.cell_count - k)
            included = [p for p in pods if p in counts.included]
            vr = run.run_round("values", included, shape.value_round_fields(k), shape.round_timeout_seconds)
            if len(vr.included) != len(included):
                dropped = [p for p in included if p not in vr.included]
                raise FederatedSessionFailed(f"pods dropped out between the counts and the values round ({', '.join(dropped)}); "
                                             "counts and sums would not match")
            values = vr.sums
        table = q.result_table(shape, release, counts.sums, values)
        run.finish()
        table.attrs.update({"session": run.id, "included_pods": list(counts.included), "release": release})
        return table
    except Exception as e:
        run.fail_quietly(str(e))
        raise
    finally:
        run.close()


# --- federated training -------------------------------------------------------------------------------------------

@dataclass
class TrainingRound:
    """One finished round as the modeller saw it (the loss is that of θ_r, the model the round started from)."""

    round: int
    loss: float
    samples: int
    pods: int
    update_norm: float
    seconds: float


@dataclass
class TrainingResult:
    """θ over standardised features, the standardisation it expects, the rounds' metrics and whether it converged."""

    session: str
    theta: np.ndarray
    standardisation: tr.StandardisationStats | None
    rounds: list[TrainingRound] = field(default_factory=list)
    converged: bool = False

    def raw_theta(self) -> np.ndarray:
        """θ rewritten for raw (unstandardised) features: [w…, b]."""
        if self.standardisation is None:
            raise ValueError("no standardisation: the model's parameters are already as trained")
        return tr.to_raw_scale(self.theta, self.standardisation)


def _fedavg_rounds(run: FederatedRun, spec: tr.TrainingSpec, pods: Sequence[str], theta: np.ndarray, p: int,
                   mean: Sequence[float], std: Sequence[float], on_round: Callable[[TrainingRound], None] | None) -> tuple[np.ndarray, list[TrainingRound], bool]:
    rounds: list[TrainingRound] = []
    converged = False
    r = 0
    while r < spec.rounds and not converged:
        r += 1
        started = time.monotonic()
        label = f"round-{r}"
        run.release(label, tr.broadcast(r, theta, mean, std))
        result = run.run_round(label, pods, tr.fedavg_fields(spec, p), spec.round_timeout_seconds)
        avg = tr.average(result.sums)
        norm = float(np.linalg.norm(avg.theta - theta))
        converged = tr.converged(theta, avg.theta, spec.tolerance)
        theta = avg.theta
        outcome = TrainingRound(r, avg.mean_loss, avg.samples, len(result.included), norm, time.monotonic() - started)
        rounds.append(outcome)
        run.report(label, {"loss": avg.mean_loss, "pods": float(len(result.included)), "seconds": round(outcome.seconds, 3)})
        log.info("session %s: round %d: loss %.6g over %d samples from %d pods", run.id, r, avg.mean_loss, avg.samples, len(result.included))
        if on_round:
            on_round(outcome)
    return theta, rounds, converged


def train(modeller: Any, pods: Sequence[str], spec: Mapping[str, Any] | tr.TrainingSpec, *, rounds: int | None = None,
          session_id: str | None = None, on_round: Callable[[TrainingRound], None] | None = None,
          round_runner: Callable[..., RoundOutcome] | None = None) -> TrainingResult:
    """Federated training with a built-in trainer (``linear`` or ``logistic``) over ``pods`` (FedAvg, θ_1 = 0)."""
    spec = spec if isinstance(spec, tr.TrainingSpec) else tr.TrainingSpec.from_wire(spec)
    if rounds is not None:
        spec = dataclasses.replace(spec, rounds=int(rounds))
    trainer = tr.BUILTIN_TRAINERS.get(spec.trainer)
    if trainer is None:
        raise ValueError(f"unknown trainer '{spec.trainer}' (built in: linear, logistic; your own model: fedavg())")
    problem = tr.problem(spec) or tr.session_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    p = trainer.parameter_count(len(spec.features))
    run = FederatedRun.create(modeller, "training", pods, spec.to_wire(), session_id, round_runner)
    try:
        log.info("session %s: waiting for %d pods to load their data and join", run.id, len(pods))
        run.open_channel(spec.round_timeout_seconds)
        standardise = run.run_round(tr.STANDARDISE_ROUND, pods, tr.standardisation_fields(spec), spec.round_timeout_seconds)
        stats = tr.stats_from_sums(standardise.sums)
        theta, done, converged = _fedavg_rounds(run, spec, pods, np.zeros(p), p, stats.mean, stats.std, on_round)
        run.finish()
        return TrainingResult(run.id, theta, stats, done, converged)
    except Exception as e:
        run.fail_quietly(str(e))
        raise
    finally:
        run.close()


@dataclass
class FedAvgResult:
    """Your own model's averaged parameters (flat, of ``layout``) and the rounds' metrics."""

    session: str
    parameters: np.ndarray
    layout: ParameterLayout
    rounds: list[TrainingRound] = field(default_factory=list)
    converged: bool = False

    def tensors(self) -> dict[str, np.ndarray]:
        """The parameters as named arrays of the layout's shapes."""
        return self.layout.unflatten(self.parameters)


def fedavg(modeller: Any, pods: Sequence[str], initial_parameters: Sequence[float] | FitClient, rounds: int, *,
           name: str = "model", layout: ParameterLayout | None = None, parameter_bound: float = 100.0,
           max_samples_per_pod: int = 100_000, loss_bound: float = 1000.0, tolerance: float = 0.0,
           round_timeout_seconds: int = 300, session_id: str | None = None,
           on_round: Callable[[TrainingRound], None] | None = None,
           round_runner: Callable[..., RoundOutcome] | None = None) -> FedAvgResult:
    """FedAvg of your own model over pods that serve a FitClient named ``name`` (``PodConfig.fit_clients``).

    ``initial_parameters``: θ_1 (a flat vector of ``layout``), or a FitClient whose current parameters and layout are
    taken. Runs as a training session with trainer ``fit:<name>``, the layout's tensors as its "features" (so the
    signed request binds the model's shape and a pod with another model refuses) and rounds ``round-1`` … ``round-R``,
    each the sample-weighted mean Σ n_i θ_i / Σ n_i through secure aggregation. Every parameter must stay within
    ±``parameter_bound`` and each pod's examples within ``max_samples_per_pod`` (they size the encoding; a pod that
    breaks them refuses, nothing is clipped); a pod's mean loss must stay within ``loss_bound`` (at least 28).
    """
    if isinstance(initial_parameters, FitClient):
        layout = layout or initial_parameters.layout
        theta = np.asarray(initial_parameters.get_parameters(), dtype=np.float64)
    else:
        theta = np.asarray(initial_parameters, dtype=np.float64).ravel()
    if layout is None:
        raise ValueError("fedavg needs the model's layout (layout=…, or pass a FitClient as initial_parameters)")
    if theta.shape != (layout.size,):
        raise ValueError(f"the initial parameters have {theta.size} values; the layout has {layout.size}")
    if not np.all(np.isfinite(theta)) or np.any(np.abs(theta) > parameter_bound):
        raise ValueError(f"the initial parameters must be finite and within ±{parameter_bound}")
    feature_bound = float(np.sqrt(max(loss_bound, 28.0) / 2))  # sample_loss_bound = max(2·featureBound², 28)
    spec = tr.TrainingSpec(f"{FIT_TRAINER_PREFIX}{name}", name, tuple(layout.describe()), "num_examples", int(rounds),
                           learning_rate=1.0, local_epochs=1, batch_size=0, tolerance=float(tolerance),
                           round_timeout_seconds=int(round_timeout_seconds), parameter_bound=float(parameter_bound),
                           feature_bound=feature_bound, max_samples_per_pod=int(max_samples_per_pod))
    problem = tr.problem(spec) or tr.session_problem(spec, layout.size)
    if problem is not None:
        raise ValueError(problem)
    run = FederatedRun.create(modeller, "training", pods, spec.to_wire(), session_id, round_runner)
    try:
        log.info("session %s: waiting for %d pods serving FitClient '%s' to join", run.id, len(pods), name)
        run.open_channel(spec.round_timeout_seconds)
        theta, done, converged = _fedavg_rounds(run, spec, pods, theta, layout.size, [], [], on_round)
        run.finish()
        return FedAvgResult(run.id, theta, layout, done, converged)
    except Exception as e:
        run.fail_quietly(str(e))
        raise
    finally:
        run.close()
