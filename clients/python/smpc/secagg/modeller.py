"""The modeller's side of secure aggregation: ``aggregate(modeller, pods, input, operation, fields, …) -> AggregateResult``.

1. A fresh X25519 session key ``M``; the request (fields, operation, input, threshold, weight) is signed by the modeller's
   identity (its statement binds the canonical parameters ``P``, ``M`` included) and the service's copy must give the
   same statement (``smpc.Modeller.create_session``).
2. The pods' identities are resolved through the modeller's pin store right after creating the session (a mismatch
   cancels the session before any pod works) and again before unmasking.
3. Once the survivors have answered (all, or at least ``t`` after the deadline), the session is checked again, the key
   bundles, the unmask request and the signed responses are verified with the parameters computed from the modeller's
   own request (never the service's echo), the masks removed from the masked sum, and the sums decoded here.
4. The service is told only which parties were included. A pod that is left out is reported with its reason.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .._progress import Progress
from ..crypto.fixedpoint import FieldSpec
from ..crypto.x25519 import KeyPair
from ..errors import SmpcError
from .messages import KeyBundle, UnmaskRequest, UnmaskResponse
from .params import SessionParameters, WeightedMeanLayout, WeightSpec, protocol_session_id
from .pod import resolve_pins
from .unmasker import Unmasker

OPERATIONS = ("sum", "mean", "weighted-mean")


@dataclass(frozen=True)
class LeftOutPod:
    """A pod the result does not include, and why (its decline category, or that it dropped out or never answered)."""

    pod: str
    party: int
    reason: str

    def __str__(self) -> str:
        return f"{self.pod} (party {self.party}): {self.reason}"


def left_out_pods(session: Mapping[str, Any]) -> list[LeftOutPod]:
    """The session's left-out pods in party order (for a session that did not complete, every pod not included)."""
    ended = session.get("phase") != "completed" and session.get("phase") in ("failed", "cancelled")
    out = []
    for p in (session.get("aggregation") or {}).get("pods") or []:
        status = p.get("status")
        if status == "included" or (status == "active" and not ended):
            continue
        reason = {"declined": f"declined: {p.get('declineCategory')}",
                  "dropped": "dropped out (no answer before a phase closed)"}.get(
            status, f"no answer before the session {session.get('phase')}")
        out.append(LeftOutPod(p["pod"], int(p["party"]), reason))
    return out


class AggregationFailedError(SmpcError):
    """The session ended without a result; ``left_out`` names the pods that did not take part to the end, and why."""

    def __init__(self, session: Mapping[str, Any], reason: str) -> None:
        self.session = dict(session)
        self.reason = reason
        self.left_out = left_out_pods(session)
        detail = "; ".join(str(x) for x in self.left_out)
        super().__init__(f"secure aggregation {session.get('id')} failed: {reason}" + (f" (left out: {detail})" if detail else ""))


@dataclass
class AggregateResult:
    """Per field, the sum, mean or weighted mean over the included pods (numpy arrays), who is in it and who is not."""

    session_id: str
    operation: str
    values: dict[str, np.ndarray]
    included_parties: list[int]
    included_pods: list[str]
    left_out: list[LeftOutPod]
    session: dict
    #: Exact signed integer sums per wire field, in fixed-point units (Σ X, or for weighted means Σ X·W and the weight).
    integer_sums: dict[str, np.ndarray] = field(default_factory=dict)
    #: Σw over the included pods (weighted means only).
    weight_sum: float | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]


def _field(f: Any) -> FieldSpec:
    if isinstance(f, FieldSpec):
        return f
    if isinstance(f, Mapping):
        return FieldSpec.from_wire(f)
    if isinstance(f, (tuple, list)) and len(f) in (4, 5):
        return FieldSpec(str(f[0]), int(f[1]), int(f[4]) if len(f) == 5 else FieldSpec.__dataclass_fields__["precision"].default,
                         float(f[2]), float(f[3]))
    raise TypeError("a field is a FieldSpec, a dict (name, length, min, max, precision) or a tuple (name, length, min, max[, precision])")


def _weight(w: Any) -> WeightSpec | None:
    if w is None or isinstance(w, WeightSpec):
        return w
    if isinstance(w, Mapping):
        return WeightSpec.from_wire(w)
    if isinstance(w, (tuple, list)) and len(w) in (2, 3):
        return WeightSpec(float(w[0]), float(w[1]), int(w[2]) if len(w) == 3 else 1)
    raise TypeError("weight is a WeightSpec, a dict (min, max, precision) or a tuple (min, max[, precision])")


def aggregate(modeller: Any, pods: Sequence[str], input: str, operation: str = "sum", fields: Iterable[Any] | None = None, *,
              layout: Iterable[Any] | None = None, threshold: int | None = None, weight: Any = None,
              session_id: str | None = None, parent: str | None = None, phase_timeout_seconds: int | None = None,
              phase_timeouts: Mapping[str, int] | None = None, timeout: float | None = 900.0,
              long_poll_seconds: int = 20, progress: Any = None) -> AggregateResult:
    """Runs one secure aggregation over ``pods`` (party order = list order) of their input ``input``; returns the result.

    ``fields`` (or ``layout``): the vector's fields, each a :class:`FieldSpec`, a REST field dict or a tuple
    ``(name, length, min, max[, precision])``. ``operation``: ``sum``, ``mean`` or ``weighted-mean`` (then ``weight`` gives
    the bounds of each pod's weight: ``(min, max[, precision])``). ``progress``: ``True`` for tqdm bars (python3-tqdm) of
    the pods through each phase, or a callable ``(step, done, total)``. Raises :class:`AggregationFailedError` when the session
    ends without a result, naming the left-out pods; a run that fails or is interrupted cancels its session (signed).
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}")
    specs = [_field(f) for f in (fields if fields is not None else layout or [])]
    if not specs:
        raise ValueError("give the vector's fields")
    w = _weight(weight)
    if (operation == "weighted-mean") != (w is not None):
        raise ValueError("a weighted mean needs weight=(min, max[, precision]); sum and mean take none")
    pods = list(pods)
    client, tenant = modeller.client, modeller.tenant
    sid = session_id or f"agg-{secrets.token_hex(6)}"
    key = KeyPair.generate()
    aggregation: dict[str, Any] = {"fields": [f.to_wire() for f in specs], "operation": operation, "input": input,
                                   "modellerPublicKey": base64.b64encode(key.public).decode()}
    if threshold is not None:
        aggregation["threshold"] = int(threshold)
    if w is not None:
        aggregation["weight"] = w.to_wire()
    if phase_timeout_seconds is not None:
        aggregation["phaseTimeoutSeconds"] = int(phase_timeout_seconds)
    if phase_timeouts is not None:
        aggregation["phaseTimeouts"] = dict(phase_timeouts)
    modeller_id = getattr(modeller, "id", None) or modeller.modeller_id
    request: dict[str, Any] = {"id": sid, "modellerId": modeller_id, "kind": "secure-aggregation", "podIds": pods,
                               "aggregation": aggregation}
    if parent is not None:
        request["parent"] = parent
    # The parameters the modeller unmasks with come from its own request, never from the service's echo.
    parameters = SessionParameters.from_aggregation(protocol_session_id(tenant, sid), len(pods), aggregation)
    statement = _statement(tenant, sid, parent, modeller_id, pods, parameters.canonical_bytes(), aggregation)
    request["modellerSignature"] = base64.b64encode(modeller.identity.sign(statement)).decode()
    session = client.create_session(tenant, request)
    try:
        _require_same(statement, session)
        pins_store = modeller.pins if modeller.pins is not None else _memory_pins()
        resolve_pins(client, tenant, pods, pins_store)  # a pod presenting another identity stops the run here
        deadline = None if timeout is None else time.monotonic() + timeout
        bars = Progress(progress, unit="pod")
        try:
            session = _wait_for_responses(client, tenant, sid, session, deadline, long_poll_seconds, bars)
        finally:
            bars.close()
        _require_same(statement, session)
        pins = resolve_pins(client, tenant, pods, pins_store)
        material = client.get_unmask_material(tenant, sid)
        masked_sum = client.get_masked_sum(tenant, sid)
        unmasker = Unmasker(parameters, key.private, pins)
        unmasker.accept_key_bundles([KeyBundle.parse(base64.b64decode(b)) for b in material["keyBundles"]])
        unmasker.accept_unmask_request(UnmaskRequest.parse(base64.b64decode(material["unmaskRequest"])))
        for r in material["responses"]:
            unmasker.accept_response(UnmaskResponse.parse(base64.b64decode(r)))
        unmasked = unmasker.finish(masked_sum)
    except AggregationFailedError:
        raise
    except BaseException as e:
        try:
            _cancel(modeller, sid, f"the modeller's run stopped: {type(e).__name__}")
        except Exception:  # the original error matters more than a failed cancel
            pass
        raise
    finally:
        key.private = bytes(32)
    included = list(unmasked.included_parties)
    integer_sums = {f.name: unmasked.sum_integer(f.name) for f in parameters.layout.fields}
    weight_sum = None
    if w is not None:
        wl = WeightedMeanLayout(specs, w, len(pods), parameters.q)
        signed = np.concatenate([integer_sums[f.name] for f in parameters.layout.fields])
        weight_sum, values, _, _ = wl.decode(signed.tolist())
    elif operation == "mean":
        values = {f.name: unmasked.mean(f.name) for f in specs}
    else:
        values = {f.name: unmasked.sum(f.name) for f in specs}
    completed = client.complete_aggregation(tenant, sid, included)
    return AggregateResult(sid, operation, values, included, [pods[p - 1] for p in included], left_out_pods(completed),
                           completed, integer_sums, weight_sum)


class SessionMismatchError(SmpcError):
    """The service stores (or serves) other session content than the modeller asked for and signed."""


def _statement(tenant: str, sid: str, parent: str | None, modeller_id: str, pods: Sequence[str], canonical_p: bytes,
               aggregation: Mapping[str, Any]) -> bytes:
    """The session statement (docs/protocols/signatures.md) of a secure aggregation with canonical parameters ``P``."""
    from ..statements import secagg_parameters, session_statement

    parameters = secagg_parameters(canonical_p, aggregation["operation"], aggregation["input"], aggregation.get("weight"))
    return session_statement(tenant, sid, "secure-aggregation", parent, modeller_id, list(pods), parameters)


def _require_same(statement: bytes, session: Mapping[str, Any]) -> None:
    """The served session must give the very statement the modeller signed (parameters recomputed from the copy)."""
    a = session.get("aggregation") or {}
    try:
        served_p = SessionParameters.from_session(session).canonical_bytes()
        served = _statement(session["tenant"], session["id"], session.get("parent"), session["modellerId"],
                            session["podIds"], served_p, a)
    except (KeyError, ValueError, SmpcError) as e:
        raise SessionMismatchError(f"the service's copy of session {session.get('id')} cannot be read as signed ({e})") from None
    if served != statement:
        raise SessionMismatchError(f"the service stores other parameters for session {session.get('id')} than the modeller "
                                   "asked for and signed")


def _memory_pins() -> Any:
    from ..pins import PinStore

    return PinStore(None)


def _cancel(modeller: Any, sid: str, reason: str) -> None:
    cancel = getattr(modeller, "cancel", None)
    if callable(cancel):
        cancel(sid, reason)
        return
    from ..statements import cancel_statement

    signature = modeller.identity.sign(cancel_statement(modeller.tenant, sid, reason))
    modeller.client.cancel_session(modeller.tenant, sid, reason, signature)


#: The steps a progress display follows: (label, the status list of the pods that did it).
_STEPS = (("key bundles", "keyBundles"), ("share envelopes", "shareSenders"), ("masked inputs", "maskedInputs"),
          ("unmask responses", "unmaskResponses"))


def _wait_for_responses(client: Any, tenant: str, sid: str, session: Mapping[str, Any], deadline: float | None,
                        long_poll_seconds: int, progress: Progress | None = None) -> dict:
    session = client.get_session(tenant, sid)
    while True:
        a = session.get("aggregation") or {}
        if progress is not None:
            n = len(session.get("podIds") or [])
            for label, key in _STEPS:
                progress(label, len(a.get(key) or []), n)
        phase = session.get("phase")
        if phase == "failed":
            raise AggregationFailedError(session, a.get("failureReason") or "the session failed")
        if phase == "cancelled":
            c = session.get("cancellation") or {}
            raise AggregationFailedError(session, "the session was cancelled" + (f": {c.get('reason')}" if c.get("reason") else ""))
        responses, masked = a.get("unmaskResponses") or [], a.get("maskedInputs") or []
        enough = len(responses) >= int(a["threshold"]) and (len(responses) == len(masked) or a.get("phaseDeadline") is None)
        if phase in ("unmasking", "completed") and enough:
            return session
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"secure aggregation {sid} did not reach its result in time (phase {phase})")
        session = client.get_session(tenant, sid, wait_for_version=session["version"], wait_seconds=long_poll_seconds)
