"""The prime field Z_q of secure aggregation (default ``q = 2^61 − 1``), vectorised over numpy ``uint64`` arrays.

Elements are canonical (``0 ≤ e < q``); ``q < 2^63``, so the sum of two elements never overflows 64 bits. The branch-free
reductions use unsigned wrap-around: ``min(s, s − q)`` after an addition, ``min(d, d + q)`` after a subtraction.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidParameters

#: The default field modulus, the Mersenne prime 2^61 − 1.
DEFAULT_Q = (1 << 61) - 1


def check_modulus(q: int) -> int:
    """Returns ``q`` if it can be a field modulus here (odd prime-sized, ``2 < q < 2^63``); primality is the caller's."""
    if not (2 < q < (1 << 63)):
        raise InvalidParameters(f"field modulus {q} must lie in (2, 2^63)")
    return q


def add_into(acc: np.ndarray, other: np.ndarray, q: int, scratch: np.ndarray | None = None) -> np.ndarray:
    """``acc ← acc + other (mod q)`` in place; both canonical ``uint64`` arrays of one length. ``other`` may be used as
    scratch space only if passed again as ``scratch``."""
    qq = np.uint64(q)
    np.add(acc, other, out=acc)
    tmp = np.subtract(acc, qq, out=scratch[:acc.size] if scratch is not None else None)
    np.minimum(acc, tmp, out=acc)
    return acc


def sub_into(acc: np.ndarray, other: np.ndarray, q: int, scratch: np.ndarray | None = None) -> np.ndarray:
    """``acc ← acc − other (mod q)`` in place (``scratch``: an optional buffer of at least ``acc``'s length)."""
    qq = np.uint64(q)
    np.subtract(acc, other, out=acc)
    tmp = np.add(acc, qq, out=scratch[:acc.size] if scratch is not None else None)
    np.minimum(acc, tmp, out=acc)
    return acc


def from_signed(values: np.ndarray, q: int) -> np.ndarray:
    """Signed integers (``int64``, ``|v| < q``) to canonical elements: negative ``m`` ↦ ``q − |m|``."""
    v = np.asarray(values, dtype=np.int64)
    out = v.astype(np.uint64)
    neg = v < 0
    out[neg] = np.uint64(q) - (-v[neg]).astype(np.uint64)
    return out


def to_signed(elements: np.ndarray, q: int) -> np.ndarray:
    """Canonical elements to signed integers: ``s ≤ (q−1)/2`` ↦ ``s``, else ``s − q`` (``int64``)."""
    e = np.asarray(elements, dtype=np.uint64)
    half = np.uint64((q - 1) // 2)
    out = e.astype(np.int64)
    high = e > half
    out[high] = -((np.uint64(q) - e[high]).astype(np.int64))
    return out


def is_canonical(elements: np.ndarray, q: int) -> bool:
    """True when every element is below ``q``."""
    e = np.asarray(elements, dtype=np.uint64)
    return bool(e.size == 0 or int(e.max()) < q)
