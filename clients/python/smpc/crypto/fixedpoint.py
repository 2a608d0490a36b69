"""Fixed-point encoding of real vectors into Z_q (secure-aggregation.md, "Encoding (fixed point)").

``m = round_half_even(v · p)``, element ``m mod q``; decoding lifts ``s ≤ (q−1)/2`` to ``s``, else ``s − q``, and divides by
``p``. NaN and ±∞ are refused (``NonFiniteValue``), values outside ``[min, max]`` too (``ValueOutOfBounds``), naming the
field and its bounds, never the value. A layout whose sum over ``n`` parties could wrap is refused at construction
(``BoundsExceedFieldRange``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .errors import BoundsExceedFieldRange, InvalidParameters, Malformed, NonFiniteValue, ValueOutOfBounds
from .field import DEFAULT_Q, from_signed, to_signed

#: Default precision of a field: 10^10 (1 for exact integer fields).
DEFAULT_PRECISION = 10_000_000_000


@dataclass(frozen=True)
class FieldSpec:
    """One field of a vector layout: ``length`` values in ``[min, max]`` encoded at ``precision``."""

    name: str
    length: int
    precision: int = DEFAULT_PRECISION
    min: float = 0.0
    max: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "min", float(self.min))
        object.__setattr__(self, "max", float(self.max))
        object.__setattr__(self, "length", int(self.length))
        object.__setattr__(self, "precision", int(self.precision))

    @classmethod
    def from_wire(cls, d: dict) -> "FieldSpec":
        """From a REST ``AggregationFieldRequest`` dict (precision ``None`` means the default)."""
        p = d.get("precision")
        return cls(str(d["name"]), int(d["length"]), DEFAULT_PRECISION if p is None else int(p), float(d["min"]), float(d["max"]))

    def to_wire(self) -> dict:
        """As a REST ``AggregationFieldRequest`` dict."""
        return {"name": self.name, "length": self.length, "min": self.min, "max": self.max, "precision": self.precision}

    def _bounds_text(self) -> str:
        return f"[{self.min!r}, {self.max!r}]"


class VectorLayout:
    """Ordered fields; ``length`` is the total number of elements ``L``."""

    def __init__(self, fields: Iterable[FieldSpec]) -> None:
        self.fields: tuple[FieldSpec, ...] = tuple(fields)
        if not self.fields:
            raise InvalidParameters("a vector layout needs at least one field")
        seen: set[str] = set()
        offsets = []
        total = 0
        for f in self.fields:
            if not f.name or f.name in seen:
                raise InvalidParameters(f"field name '{f.name}' is empty or repeated", f.name)
            seen.add(f.name)
            if f.length < 1 or f.precision < 1:
                raise InvalidParameters(f"field '{f.name}' needs a positive length and a precision ≥ 1", f.name)
            if not (math.isfinite(f.min) and math.isfinite(f.max) and f.min <= f.max):
                raise InvalidParameters(f"field '{f.name}' bounds {f._bounds_text()} must be finite with min ≤ max", f.name)
            offsets.append(total)
            total += f.length
        self.offsets: tuple[int, ...] = tuple(offsets)
        self.length = total

    def index_of(self, name: str) -> int:
        """Position of the field named ``name``."""
        for k, f in enumerate(self.fields):
            if f.name == name:
                return k
        raise KeyError(f"no field named '{name}'")

    def slice_of(self, name: str) -> slice:
        """The elements of field ``name``."""
        k = self.index_of(name)
        return slice(self.offsets[k], self.offsets[k] + self.fields[k].length)


def _out_of_bounds(f: FieldSpec) -> ValueOutOfBounds:
    return ValueOutOfBounds(f"field '{f.name}': a value is outside its declared bounds {f._bounds_text()}", f.name)


def _not_finite(f: FieldSpec) -> NonFiniteValue:
    return NonFiniteValue(f"field '{f.name}': a value is not a finite number", f.name)


class FixedPointCodec:
    """Encodes and decodes vectors of a layout over ``Z_q`` for ``party_count`` parties (no-wrap proven here)."""

    def __init__(self, layout: VectorLayout, party_count: int, q: int = DEFAULT_Q) -> None:
        if party_count < 1:
            raise InvalidParameters("party count must be at least 1")
        self.layout, self.party_count, self.q = layout, party_count, q
        limit = (q - 1) // 2
        self._scaled: list[tuple[int, int]] = []
        for f in layout.fields:
            bound = max(abs(f.min), abs(f.max))
            scaled = math.ceil(bound * f.precision)
            if not scaled < 9.2e18 or scaled * party_count > limit:
                raise BoundsExceedFieldRange(
                    f"field '{f.name}': bound {bound!r} at precision {f.precision} summed over {party_count} parties "
                    f"exceeds the field's signed range (q − 1)/2 = {limit}; lower the bound or the precision", f.name)
            self._scaled.append((round(f.min * f.precision), round(f.max * f.precision)))

    def check_values(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """The values as ``float64``, checked: length, finite, within bounds (refusals name the field only)."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size != self.layout.length:
            raise Malformed(f"expected {self.layout.length} values, got {v.size}", "*")
        for f, off in zip(self.layout.fields, self.layout.offsets):
            s = v[off:off + f.length]
            if not np.all(np.isfinite(s)):
                raise _not_finite(f)
            if not (np.all(s >= f.min) and np.all(s <= f.max)):
                raise _out_of_bounds(f)
        return v

    def encode(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Checked values to canonical elements: ``round_half_even(v · p) mod q``."""
        v = self.check_values(values)
        out = np.empty(v.size, dtype=np.uint64)
        for f, off in zip(self.layout.fields, self.layout.offsets):
            m = np.rint(v[off:off + f.length] * float(f.precision)).astype(np.int64)
            out[off:off + f.length] = from_signed(m, self.q)
        return out

    def encode_integer(self, field_index: int, value: int) -> int:
        """An exact integer of an integer field (precision 1), compared as an integer with ``⌈min⌉ ≤ v ≤ ⌊max⌋``."""
        f = self.layout.fields[field_index]
        if f.precision != 1:
            raise InvalidParameters(f"field '{f.name}' is not an integer field", f.name)
        if not math.ceil(f.min) <= int(value) <= math.floor(f.max):
            raise _out_of_bounds(f)
        return int(value) % self.q

    def check_encoded(self, encoded: np.ndarray) -> np.ndarray:
        """An already encoded vector: canonical, each element's signed value in ``[round(min·p), round(max·p)]``."""
        e = np.asarray(encoded)
        if e.dtype != np.uint64 or e.size != self.layout.length or (e.size and int(e.max()) >= self.q):
            raise Malformed(f"encoded vector must have {self.layout.length} canonical elements", "*")
        signed = to_signed(e, self.q)
        for f, off, (lo, hi) in zip(self.layout.fields, self.layout.offsets, self._scaled):
            s = signed[off:off + f.length]
            if bool(np.any((s < lo) | (s > hi))):
                raise _out_of_bounds(f)
        return e

    def decode(self, total: np.ndarray) -> np.ndarray:
        """A summed vector to ``float64`` sums (signed value / precision, per field)."""
        e = np.asarray(total, dtype=np.uint64)
        if e.size != self.layout.length:
            raise Malformed(f"expected {self.layout.length} elements, got {e.size}")
        signed = to_signed(e, self.q)
        out = np.empty(e.size, dtype=np.float64)
        for f, off in zip(self.layout.fields, self.layout.offsets):
            out[off:off + f.length] = signed[off:off + f.length] / float(f.precision)
        return out
