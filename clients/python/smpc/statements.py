"""The byte-exact statements a modeller signs and pods verify (docs/protocols/signatures.md).

A statement is a concatenation of fields (no separators, no padding):

* ``lp(x)``: BE32 length of the byte string x, then x; ``text(s)``: ``lp(UTF-8 of s)``;
* ``opt(s)``: 0x00 when absent, else 0x01 ‖ text(s); ``has(b)``: one byte 0x01/0x00 before an optional group;
* ``i32``/``i64``: two's-complement big-endian; ``dbl(v)``: the 8 big-endian bytes of IEEE 754 binary64, −0 as +0;
* ``count(n)``: i32(n) followed by n items.

Every statement starts with ``text(label)``, so a signature of one kind never verifies as another. Specs are the wire's
JSON objects (camelCase keys, as ``CreateSessionRequest`` and ``SessionResponse`` carry them); an absent or null key takes
the contract's default (the table "Defaults" in signatures.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from typing import Any, Iterable, Mapping, Optional, Sequence

from .errors import SmpcError

__all__ = [
    "SESSION_LABEL",
    "CANCEL_LABEL",
    "CONTENT_KEY_LABEL",
    "RELEASE_LABEL",
    "StatementError",
    "session_statement",
    "secagg_parameters",
    "psi_parameters",
    "query_parameters",
    "training_parameters",
    "cancel_statement",
    "content_key_statement",
    "release_statement",
    "protocol_session_id",
    "request_statement",
    "served_statement",
    "aggregation_canonical_parameters",
    "RSA_DEFAULT_KEY_BITS",
]

SESSION_LABEL = "smpc/modeller-statement/session/v1"
CANCEL_LABEL = "smpc/modeller-statement/cancel/v1"
CONTENT_KEY_LABEL = "smpc/modeller-statement/content-key/v1"
RELEASE_LABEL = "smpc/modeller-statement/release/v1"

RSA_DEFAULT_KEY_BITS = 3072

_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
_DBL = struct.Struct(">d")


class StatementError(SmpcError, ValueError):
    """The request or session cannot be turned into a statement (a missing spec, a malformed key, an unknown kind)."""


# ---- the fields ----

def lp(value: bytes) -> bytes:
    """``lp(x)``: BE32 length, then the bytes."""
    value = bytes(value)
    return _U32.pack(len(value)) + value


def text(value: str) -> bytes:
    """``text(s)``: ``lp`` of the UTF-8 bytes of s."""
    if not isinstance(value, str):
        raise StatementError(f"a statement text field is missing or not a string ({value!r})")
    return lp(value.encode("utf-8"))


def opt(value: Optional[str]) -> bytes:
    """``opt(s)``: 0x00 when absent (None), else 0x01 ‖ text(s)."""
    return b"\x00" if value is None else b"\x01" + text(value)


def has(present: bool) -> bytes:
    """``has(b)``: one byte, 0x01 if the optional group that follows is present."""
    return b"\x01" if present else b"\x00"


def i32(value: int) -> bytes:
    """Two's-complement big-endian, 4 bytes."""
    try:
        return _I32.pack(_int(value))
    except struct.error:
        raise StatementError(f"{value!r} does not fit a 32-bit field") from None


def i64(value: int) -> bytes:
    """Two's-complement big-endian, 8 bytes."""
    try:
        return _I64.pack(_int(value))
    except struct.error:
        raise StatementError(f"{value!r} does not fit a 64-bit field") from None


def dbl(value: float) -> bytes:
    """The big-endian IEEE 754 binary64 bytes; −0 is written as +0."""
    v = _float(value)
    return _DBL.pack(0.0 if v == 0 else v)


def count(n: int) -> bytes:
    """``count(n)``: ``i32(n)``; the n items follow."""
    return i32(n)


def _int(value: Any) -> int:
    # The wire may carry integers as JSON numbers or as numeric strings (the OpenAPI document allows both).
    if isinstance(value, bool) or value is None:
        raise StatementError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise StatementError(f"expected an integer, got {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise StatementError(f"expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise StatementError(f"expected a number, got {value!r}") from None


def _get(spec: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = spec.get(key)
    return default if value is None else value


def _required(spec: Mapping[str, Any], key: str, what: str) -> Any:
    value = spec.get(key)
    if value is None:
        raise StatementError(f"{what}: '{key}' is missing")
    return value


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise StatementError(f"{what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise StatementError(f"{what} is not base64") from None


# ---- the session statement ----

def session_statement(
    tenant: str, session_id: str, kind: str, parent: Optional[str], modeller: str, pods: Sequence[str], parameters: bytes
) -> bytes:
    """
    ``text(label) ‖ text(tenant) ‖ text(session id) ‖ text(kind) ‖ opt(parent) ‖ text(modeller id) ‖ count(pods) ‖ text(pod_i)…
    ‖ lp(parameters)``; the pods in the session's order (party numbers are positions in it).
    """
    if pods is None or isinstance(pods, (str, bytes)):
        raise StatementError("a session statement needs the list of pods")
    out = [text(SESSION_LABEL), text(tenant), text(session_id), text(kind), opt(parent), text(modeller), count(len(pods))]
    out.extend(text(p) for p in pods)
    out.append(lp(parameters))
    return b"".join(out)


def secagg_parameters(canonical_p: bytes, operation: str, input: str, weight: Optional[Mapping[str, Any]]) -> bytes:
    """
    Secure-aggregation parameters: ``lp(P) ‖ text(operation) ‖ text(input) ‖ has(weight) [‖ dbl(min) ‖ dbl(max) ‖
    i64(precision, default 1)]``, with P the canonical parameter encoding (``smpc.secagg.params``).
    """
    out = lp(canonical_p) + text(operation) + text(input) + has(weight is not None)
    if weight is not None:
        out += dbl(_required(weight, "min", "the weight")) + dbl(_required(weight, "max", "the weight")) + i64(_get(weight, "precision", 1))
    return out


def _columns(columns: Optional[Iterable[Mapping[str, Any]]]) -> bytes:
    if columns is None:
        raise StatementError("PSI columns are missing")
    columns = list(columns)
    out = count(len(columns))
    for c in columns:
        out += text(_required(c, "name", "a PSI column")) + text(_required(c, "kind", "a PSI column")) + opt(c.get("countryCode"))
    return out


def psi_parameters(spec: Mapping[str, Any]) -> bytes:
    """
    PSI parameters: ``text(protocol) ‖ text(mode) ‖ columns(modeller) ‖ columns(pod) ‖ text(source) ‖ i64(modeller set
    size) ‖ i32(key bits) ‖ i32(timeout seconds) ‖ opt(version) ‖ has(count key) [‖ lp(count key)]``. Key bits are the
    effective size: for rsa-blind the request's, or 3072 when it gives none (or 0); for ecdh the request's, or 0.
    """
    if spec is None:
        raise StatementError("a PSI session needs its PSI spec")
    protocol = _get(spec, "protocol", "ecdh")
    key_bits = spec.get("keyBits")
    if protocol == "rsa-blind":
        bits = RSA_DEFAULT_KEY_BITS if key_bits is None or _int(key_bits) == 0 else _int(key_bits)
    else:
        bits = 0 if key_bits is None else _int(key_bits)
    out = (text(protocol) + text(_required(spec, "mode", "the PSI spec")) + _columns(spec.get("modellerColumns")) + _columns(spec.get("podColumns"))
           + text(_required(spec, "source", "the PSI spec")) + i64(_required(spec, "modellerSetSize", "the PSI spec")) + i32(bits)
           + i32(_get(spec, "timeoutSeconds", 3600)) + opt(spec.get("version")))
    count_key = spec.get("countKey")
    out += has(count_key is not None)
    if count_key is not None:
        out += lp(_b64(count_key, "the PSI count key"))
    return out


def query_parameters(spec: Mapping[str, Any]) -> bytes:
    """Federated query parameters (signatures.md, "query"), from the wire's ``QueryRequest`` object."""
    if spec is None:
        raise StatementError("a query session needs its query spec")
    group_by = spec.get("groupBy") or []
    out = text(_required(spec, "sql", "the query spec")) + text(_required(spec, "source", "the query spec")) + count(len(group_by))
    for g in group_by:
        out += text(_required(g, "column", "a group-by"))
        values = g.get("values")
        out += has(values is not None)
        if values is not None:
            out += count(len(values)) + b"".join(text(v) for v in values)
        bins = g.get("bins")
        out += has(bins is not None)
        if bins is not None:
            out += i64(_required(bins, "from", "bins")) + i64(_required(bins, "to", "bins")) + i64(_required(bins, "width", "bins"))
        date_bins = g.get("dateBins")
        out += has(date_bins is not None)
        if date_bins is not None:
            out += text(_required(date_bins, "from", "dateBins")) + text(_required(date_bins, "to", "dateBins")) + text(_required(date_bins, "unit", "dateBins"))
    aggregates = spec.get("aggregates") or []
    out += count(len(aggregates))
    for a in aggregates:
        out += text(_required(a, "name", "an aggregate")) + text(_required(a, "kind", "an aggregate")) + dbl(_get(a, "min", 0)) + dbl(_get(a, "max", 0))
        precision = a.get("precision")
        out += has(precision is not None)
        if precision is not None:
            out += i64(precision)
        out += opt(a.get("countColumn"))
    return out + i64(_get(spec, "minPooledCount", 0)) + i64(_get(spec, "maxRowsPerCell", 10_000_000)) + i32(_get(spec, "roundTimeoutSeconds", 300))


def training_parameters(spec: Mapping[str, Any]) -> bytes:
    """Federated training parameters (signatures.md, "training"), from the wire's ``TrainingRequest`` object."""
    if spec is None:
        raise StatementError("a training session needs its training spec")
    features = spec.get("features") or []
    out = text(_required(spec, "trainer", "the training spec")) + text(_required(spec, "source", "the training spec")) + count(len(features))
    out += b"".join(text(f) for f in features)
    return (out + text(_required(spec, "label", "the training spec")) + i32(_get(spec, "rounds", 20)) + dbl(_get(spec, "learningRate", 0.1))
            + i32(_get(spec, "localEpochs", 5)) + i32(_get(spec, "batchSize", 0)) + dbl(_get(spec, "tolerance", 1e-4))
            + i32(_get(spec, "roundTimeoutSeconds", 300)) + dbl(_get(spec, "parameterBound", 100)) + dbl(_get(spec, "featureBound", 1000))
            + i64(_get(spec, "maxSamplesPerPod", 1_000_000)))


# ---- the other statements ----

def cancel_statement(tenant: str, session_id: str, reason: Optional[str]) -> bytes:
    """``text(cancel label) ‖ text(tenant) ‖ text(session id) ‖ opt(reason)``; the reason exactly as sent (untrimmed)."""
    return text(CANCEL_LABEL) + text(tenant) + text(session_id) + opt(reason)


def content_key_statement(tenant: str, session_id: str, pod: str, member_public_key: bytes, box: bytes) -> bytes:
    """``text(content-key label) ‖ text(tenant) ‖ text(session id) ‖ text(pod) ‖ lp(member key) ‖ lp(SHA-256(sealed box))``."""
    return text(CONTENT_KEY_LABEL) + text(tenant) + text(session_id) + text(pod) + lp(member_public_key) + lp(hashlib.sha256(bytes(box)).digest())


def release_statement(tenant: str, session_id: str, name: str, box: bytes) -> bytes:
    """``text(release label) ‖ text(tenant) ‖ text(session id) ‖ text(release name) ‖ lp(SHA-256(sealed release))``."""
    return text(RELEASE_LABEL) + text(tenant) + text(session_id) + text(name) + lp(hashlib.sha256(bytes(box)).digest())


# ---- whole statements from a request or a served session ----

def protocol_session_id(tenant: str, session_id: str) -> str:
    """The secure-aggregation protocol session id the service derives and the modeller signs: ``{tenant}/{session id}``."""
    return f"{tenant}/{session_id}"


def aggregation_canonical_parameters(
    protocol_session: str, pod_count: int, aggregation: Mapping[str, Any], threshold: Optional[int] = None
) -> bytes:
    """
    The canonical parameter bytes P of a secure-aggregation session (secure-aggregation.md, "Canonical parameter
    encoding"), computed by ``smpc.secagg.params`` from the wire's aggregation object: its fields, weight, modeller key;
    ``threshold`` None takes the default ⌈2n/3⌉.
    """
    try:
        from .secagg import params as secagg_params
    except ImportError as e:  # the secure-aggregation module is missing from this installation
        raise StatementError(f"secure-aggregation statements need smpc.secagg.params ({e})") from e
    if not isinstance(aggregation.get("fields"), list):
        raise StatementError("the aggregation spec has no fields")
    try:
        return bytes(secagg_params.canonical_parameters(
            session_id=protocol_session, pod_count=pod_count, fields=aggregation["fields"], weight=aggregation.get("weight"),
            modeller_public_key=_b64(aggregation.get("modellerPublicKey"), "the modeller's session key"), threshold=threshold))
    except StatementError:
        raise
    except (SmpcError, ValueError, TypeError, KeyError) as e:  # the protocol's own refusals (InvalidParameters, …) included
        raise StatementError(f"the aggregation parameters are not valid ({e})") from e


def _secagg_from(aggregation: Mapping[str, Any], protocol_session: str, pod_count: int, threshold: Optional[int]) -> bytes:
    p = aggregation_canonical_parameters(protocol_session, pod_count, aggregation, threshold)
    return secagg_parameters(p, _required(aggregation, "operation", "the aggregation spec"), _required(aggregation, "input", "the aggregation spec"),
                             aggregation.get("weight"))


def request_statement(tenant: str, request: Mapping[str, Any], canonical_p: Optional[bytes] = None) -> bytes:
    """
    The session statement of the modeller's own ``CreateSessionRequest`` (a dict with the wire's keys). For secure
    aggregation, ``canonical_p`` gives P; None computes it from the request (protocol session id ``{tenant}/{id}``,
    the request's threshold or the default).
    """
    kind = _required(request, "kind", "the request")
    if kind == "secure-aggregation":
        a = request.get("aggregation")
        if a is None:
            raise StatementError("a secure-aggregation session needs its aggregation spec")
        pods = request.get("podIds") or []
        if canonical_p is None:
            canonical_p = aggregation_canonical_parameters(protocol_session_id(tenant, request["id"]), len(pods), a, a.get("threshold"))
        parameters = secagg_parameters(canonical_p, _required(a, "operation", "the aggregation spec"), _required(a, "input", "the aggregation spec"), a.get("weight"))
    elif kind == "psi":
        parameters = psi_parameters(request.get("psi"))
    elif kind == "query":
        parameters = query_parameters(request.get("query"))
    elif kind == "training":
        parameters = training_parameters(request.get("training"))
    else:
        raise StatementError(f"unknown session kind '{kind}'")
    return session_statement(tenant, _required(request, "id", "the request"), kind, request.get("parent"),
                             _required(request, "modellerId", "the request"), request.get("podIds"), parameters)


def served_statement(session: Mapping[str, Any]) -> bytes:
    """
    The session statement recomputed from a session as the service serves it (``SessionResponse``): what a pod
    verifies the modeller's signature over. Secure aggregation uses the served protocol session id and threshold.
    """
    if session is None:
        raise StatementError("no session")
    kind = _required(session, "kind", "the session")
    pods = session.get("podIds")
    if kind == "secure-aggregation":
        a = session.get("aggregation")
        if a is None:
            raise StatementError("the session has no aggregation status")
        parameters = _secagg_from(a, _required(a, "protocolSessionId", "the aggregation status"), len(pods or []), _int(_required(a, "threshold", "the aggregation status")))
    elif kind == "psi":
        psi = session.get("psi")
        if psi is None:
            raise StatementError("the session has no PSI status")
        parameters = psi_parameters(psi)
    elif kind == "query":
        parameters = query_parameters((session.get("federated") or {}).get("query") or _missing("the session has no query spec"))
    elif kind == "training":
        parameters = training_parameters((session.get("federated") or {}).get("training") or _missing("the session has no training spec"))
    else:
        raise StatementError(f"unknown session kind '{kind}'")
    return session_statement(_required(session, "tenant", "the session"), _required(session, "id", "the session"), kind, session.get("parent"),
                             _required(session, "modellerId", "the session"), pods, parameters)


def _missing(message: str) -> Any:
    raise StatementError(message)
