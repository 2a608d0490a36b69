"""Session parameters of secure aggregation: layout, weighted-mean wire layout, canonical encoding ``P`` and its digest.

(docs/protocols/secure-aggregation.md, "Parameters", "Canonical parameter encoding", "Weighted means".) Every pod and the
modeller derive the same parameters: a pod from the session as the service serves it, the modeller from its own request.
"""

from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..crypto.encoding import be32, be64, bits, text
from ..crypto.errors import (BoundsExceedFieldRange, InvalidParameters, Malformed, NonFiniteValue, ValueOutOfBounds)
from ..crypto.field import DEFAULT_Q, check_modulus, from_signed
from ..crypto.fixedpoint import FieldSpec, FixedPointCodec, VectorLayout

MAGIC = b"smpc/secagg/params/v1"
#: Default chunk size C of masked uploads, in elements (1 MiB).
DEFAULT_CHUNK_ELEMENTS = 1 << 17
#: The reserved name of the weight's wire field in a weighted mean.
WEIGHT_FIELD = "weight"


def default_threshold(n: int) -> int:
    """``⌈2n/3⌉`` (3→2, 4→3, 10→7, 20→14)."""
    return (2 * n + 2) // 3


def protocol_session_id(tenant: str, session_id: str) -> str:
    """The protocol session id the service derives and the modeller signs: ``"{tenant}/{session id}"``."""
    return f"{tenant}/{session_id}"


@dataclass(frozen=True)
class WeightSpec:
    """A weighted mean's weight: each pod's ``w`` in ``[min, max]`` (``min > 0``), a multiple of ``1/precision``."""

    min: float
    max: float
    precision: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "min", float(self.min))
        object.__setattr__(self, "max", float(self.max))
        object.__setattr__(self, "precision", int(self.precision))

    @classmethod
    def from_wire(cls, d: dict | None) -> "WeightSpec | None":
        """From a REST ``AggregationWeightRequest`` dict (``None`` stays ``None``)."""
        if d is None:
            return None
        p = d.get("precision")
        return cls(float(d["min"]), float(d["max"]), 1 if p is None else int(p))

    def to_wire(self) -> dict:
        """As a REST ``AggregationWeightRequest`` dict."""
        return {"min": self.min, "max": self.max, "precision": self.precision}


def _outward(exact: int, precision: int, down: bool) -> float:
    """The double nearest ``exact/precision``, moved outward by ulps until ``round(bound · precision)`` covers ``exact``."""
    bound = exact / precision
    while (round(bound * precision) > exact) if down else (round(bound * precision) < exact):
        bound = math.nextafter(bound, -math.inf if down else math.inf)
    return bound


class WeightedMeanLayout:
    """The wire layout of a weighted mean: each x field as ``w·x`` at precision ``p_f·p_w``, then the field ``weight``."""

    def __init__(self, fields: Iterable[FieldSpec], weight: WeightSpec, party_count: int, q: int = DEFAULT_Q) -> None:
        self.value_fields: tuple[FieldSpec, ...] = tuple(fields)
        self.weight, self.q, self.party_count = weight, q, party_count
        values = VectorLayout(self.value_fields)
        self.value_length = values.length
        if any(f.name == WEIGHT_FIELD for f in self.value_fields):
            raise InvalidParameters(
                f"field name '{WEIGHT_FIELD}' is reserved in a weighted mean: declare x in the fields and the weight's "
                "bounds separately; the pod agent appends w", WEIGHT_FIELD)
        w = weight
        if (w.precision < 1 or not math.isfinite(w.min) or not math.isfinite(w.max) or w.min > w.max or not w.min > 0
                or round(w.min * w.precision) < 1):
            raise InvalidParameters(
                f"weight bounds [{w.min!r}, {w.max!r}] at precision {w.precision} must be finite with 0 < min ≤ max and "
                "min ≥ 1/precision", WEIGHT_FIELD)
        if not w.max * w.precision < 9.2e18:
            raise BoundsExceedFieldRange(f"weight maximum {w.max!r} at precision {w.precision} is beyond 64 bits", WEIGHT_FIELD)
        self.weight_min = math.ceil(w.min * w.precision - 1e-9)
        self.weight_max = math.floor(w.max * w.precision + 1e-9)
        limit = (q - 1) // 2
        if self.weight_max * party_count > limit:
            raise BoundsExceedFieldRange(
                f"the weight's maximum summed over {party_count} pods exceeds the field's signed range (q − 1)/2 = {limit}",
                WEIGHT_FIELD)
        wire = []
        self._x_bounds: list[tuple[int, int]] = []
        for f in self.value_fields:
            bound = max(abs(f.min), abs(f.max))
            precision = f.precision * w.precision
            scaled_x = math.ceil(bound * f.precision)
            if not scaled_x < 9.2e18 or precision > 2**63 - 1 or scaled_x * self.weight_max * party_count > limit:
                raise BoundsExceedFieldRange(
                    f"field '{f.name}': w·x reaches {bound!r} × {w.max!r} at precision {f.precision} × {w.precision}, "
                    f"which summed over {party_count} pods exceeds the field's signed range (q − 1)/2 = {limit}; lower the "
                    "field's precision or bounds, or the weight's maximum or precision", f.name)
            x_min, x_max = round(f.min * f.precision), round(f.max * f.precision)
            self._x_bounds.append((x_min, x_max))
            lo = x_min * self.weight_min if x_min >= 0 else x_min * self.weight_max
            hi = x_max * self.weight_max if x_max >= 0 else x_max * self.weight_min
            wire.append(FieldSpec(f.name, f.length, precision, _outward(lo, precision, True), _outward(hi, precision, False)))
        wire.append(FieldSpec(WEIGHT_FIELD, 1, w.precision, w.min, w.max))
        self.wire_layout = VectorLayout(wire)

    def scaled_weight(self, weight: float) -> int:
        """``W = w · p_w`` after the checks: finite, within bounds, a multiple of ``1/p_w`` (never rounded)."""
        if not math.isfinite(weight):
            raise NonFiniteValue("the weight is not a finite number", WEIGHT_FIELD)
        scaled = weight * self.weight.precision
        w = round(scaled)
        if not (self.weight.min <= weight <= self.weight.max) or w < self.weight_min or w > self.weight_max:
            raise ValueOutOfBounds(f"the weight is outside its declared bounds [{self.weight.min!r}, {self.weight.max!r}]",
                                   WEIGHT_FIELD)
        if abs(scaled - w) > 1e-9 * max(1, abs(w)):
            raise ValueOutOfBounds(f"the weight is not a multiple of 1/{self.weight.precision} (its declared precision); "
                                   "weights are never rounded", WEIGHT_FIELD)
        return int(w)

    def encode(self, values: Sequence[float] | np.ndarray, weight: float) -> np.ndarray:
        """The wire vector: ``X·W mod q`` per x element in layout order, then ``W``; x and w checked separately."""
        codec = FixedPointCodec(VectorLayout(self.value_fields), self.party_count, self.q)
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size != self.value_length:
            raise Malformed(f"expected {self.value_length} values of x (the weight is supplied separately), got {v.size}", "*")
        v = codec.check_values(v)
        w = self.scaled_weight(float(weight))
        out = np.empty(self.value_length + 1, dtype=np.uint64)
        off = 0
        for f in self.value_fields:
            x = np.rint(v[off:off + f.length] * float(f.precision)).astype(np.int64)
            out[off:off + f.length] = from_signed(x * np.int64(w), self.q)
            off += f.length
        out[-1] = w % self.q
        return out

    def decode(self, signed_sum: Sequence[int]) -> tuple[float, dict[str, np.ndarray], int, list[int]]:
        """From the exact signed sums: ``(Σw, {field: mean}, S_w, S_f…)``; means are ``S_f / (S_w · p_f)`` rounded once."""
        from fractions import Fraction

        s = [int(x) for x in signed_sum]
        if len(s) != self.value_length + 1:
            raise Malformed(f"expected {self.value_length + 1} summed elements, got {len(s)}")
        s_w = s[-1]
        means: dict[str, np.ndarray] = {}
        off = 0
        for f in self.value_fields:
            means[f.name] = np.array([float(Fraction(s[off + k], s_w * f.precision)) for k in range(f.length)])
            off += f.length
        return float(Fraction(s_w, self.weight.precision)), means, s_w, s[:-1]


class SessionParameters:
    """What every party of one secure aggregation must hold identically (n, t, q, C, layout, M, session id, round)."""

    def __init__(self, session_id: str, n: int, layout: VectorLayout, modeller_public_key: bytes, threshold: int | None = None,
                 q: int = DEFAULT_Q, round_: int = 0, chunk_elements: int = DEFAULT_CHUNK_ELEMENTS) -> None:
        if not 1 <= len(session_id.encode("utf-8")) <= 1024:
            raise InvalidParameters("session id must be 1..1024 UTF-8 bytes")
        if not 3 <= n <= 255:
            raise InvalidParameters(f"secure aggregation needs 3..255 parties, got {n}")
        t = default_threshold(n) if threshold is None else int(threshold)
        if not (2 * t > n and t <= n):
            raise InvalidParameters(f"threshold {t} must be more than n/2 = {n / 2} and at most n = {n}")
        if len(modeller_public_key) != 32:
            raise InvalidParameters("the modeller key is a 32-byte X25519 public key")
        if chunk_elements < 1:
            raise InvalidParameters("chunk size must be positive")
        if not 0 <= round_ < 2**32:
            raise InvalidParameters("round must fit 32 bits")
        self.session_id, self.n, self.t, self.q = session_id, n, t, check_modulus(q)
        self.layout, self.modeller_public_key, self.round, self.chunk_elements = layout, bytes(modeller_public_key), round_, chunk_elements
        self.codec = FixedPointCodec(layout, n, q)
        self._canonical: bytes | None = None

    @property
    def length(self) -> int:
        """``L``, the total vector length."""
        return self.layout.length

    def canonical_bytes(self) -> bytes:
        """The canonical encoding ``P`` (the table of "Canonical parameter encoding")."""
        if self._canonical is None:
            out = [MAGIC, text(self.session_id), be32(self.round), be32(self.n), be32(self.t), be64(self.q),
                   be32(self.chunk_elements), be32(len(self.layout.fields))]
            for f in self.layout.fields:
                out += [text(f.name), be32(f.length), be64(f.precision), bits(f.min), bits(f.max)]
            out.append(self.modeller_public_key)
            self._canonical = b"".join(out)
        return self._canonical

    def digest(self) -> bytes:
        """``SHA-256(P)``."""
        return hashlib.sha256(self.canonical_bytes()).digest()

    @classmethod
    def from_aggregation(cls, protocol_session_id: str, pod_count: int, aggregation: dict) -> "SessionParameters":
        """From a REST aggregation dict (the modeller's ``AggregationRequest`` or a session's ``aggregation``)."""
        fields = [FieldSpec.from_wire(f) for f in aggregation["fields"]]
        weight = WeightSpec.from_wire(aggregation.get("weight"))
        layout = WeightedMeanLayout(fields, weight, pod_count).wire_layout if weight is not None else VectorLayout(fields)
        try:
            m = base64.b64decode(aggregation["modellerPublicKey"], validate=True)
        except (ValueError, TypeError):
            raise InvalidParameters("the modeller's session key is not base64") from None
        return cls(protocol_session_id, pod_count, layout, m, aggregation.get("threshold"))

    @classmethod
    def from_session(cls, session: dict) -> "SessionParameters":
        """From a session resource as the service serves it (what a pod computes with)."""
        a = session.get("aggregation") or {}
        if not a:
            raise InvalidParameters(f"session {session.get('id')} is not a secure-aggregation session")
        return cls.from_aggregation(a["protocolSessionId"], len(session["podIds"]), a)


def canonical_parameters(session_id: str, pod_count: int, fields: Sequence[dict | FieldSpec], weight: dict | WeightSpec | None,
                         modeller_public_key: bytes, threshold: int | None = None, round_: int = 0) -> bytes:
    """The canonical parameter bytes ``P`` (for the session statement ``smpc.statements.secagg_parameters``).

    ``session_id`` is the protocol session id ``"{tenant}/{session id}"``; ``fields`` are REST ``AggregationFieldRequest``
    dicts or :class:`FieldSpec`; ``weight`` a REST ``AggregationWeightRequest`` dict, a :class:`WeightSpec` or ``None``;
    ``threshold`` ``None`` takes the default ``⌈2n/3⌉``. A weighted mean encodes its derived wire layout.
    """
    specs = [f if isinstance(f, FieldSpec) else FieldSpec.from_wire(f) for f in fields]
    w = weight if isinstance(weight, WeightSpec) or weight is None else WeightSpec.from_wire(weight)
    layout = WeightedMeanLayout(specs, w, pod_count).wire_layout if w is not None else VectorLayout(specs)
    return SessionParameters(session_id, pod_count, layout, modeller_public_key, threshold, round_=round_).canonical_bytes()


def weighted_layout(pod_count: int, aggregation: dict) -> WeightedMeanLayout | None:
    """A weighted-mean spec's layout, or ``None`` for sum and mean."""
    weight = WeightSpec.from_wire(aggregation.get("weight"))
    if weight is None:
        return None
    return WeightedMeanLayout([FieldSpec.from_wire(f) for f in aggregation["fields"]], weight, pod_count)
