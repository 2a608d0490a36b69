"""Shamir secret sharing over GF(2^8) (AES polynomial ``0x11b``), byte by byte (secure-aggregation.md, "Shamir shares").

``split`` draws ``(t − 1) · L`` random bytes once: coefficient ``a_c = draw[(c−1)L, cL)``; holder ``x`` gets
``f_k(x) = secret[k] ⊕ Σ_c a_c[k] · x^c``. ``combine`` interpolates at 0 from the first ``t`` shares and checks every
further share against the same polynomials (``InconsistentShares``).
"""

from __future__ import annotations

import os
from typing import Callable, Mapping, Sequence

import numpy as np

from .errors import Duplicate, InconsistentShares, InsufficientParties, InvalidParameters, Malformed


def _tables() -> tuple[np.ndarray, np.ndarray]:
    exp = np.zeros(512, dtype=np.uint8)
    log = np.zeros(256, dtype=np.int32)
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        # multiply by the generator 3 = x + 1
        x2 = x << 1
        if x2 & 0x100:
            x2 ^= 0x11B
        x = x2 ^ x
    exp[255:510] = exp[0:255]
    return exp, log


_EXP, _LOG = _tables()
# Full multiplication table: MUL[a, b] = a · b in GF(2^8).
_MUL = np.zeros((256, 256), dtype=np.uint8)
_a, _b = np.meshgrid(np.arange(1, 256), np.arange(1, 256), indexing="ij")
_MUL[1:, 1:] = _EXP[_LOG[_a] + _LOG[_b]]
del _a, _b


def gf_mul(a: int, b: int) -> int:
    """``a · b`` in GF(2^8)."""
    return int(_MUL[a, b])


def gf_inv(a: int) -> int:
    """``a^{-1}`` in GF(2^8), ``a ≠ 0``."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^8)")
    return int(_EXP[255 - _LOG[a]])


def _pow(x: int, c: int) -> int:
    return 1 if c == 0 else int(_EXP[(_LOG[x] * c) % 255])


def split(secret: bytes, t: int, holders: Sequence[int], random: Callable[[int], bytes] = os.urandom) -> list[bytes]:
    """One share per holder (evaluation point = holder number, 1..255), in ``holders`` order; any ``t`` rebuild the secret."""
    if not 1 <= t <= len(holders):
        raise InvalidParameters(f"threshold {t} must lie in [1, {len(holders)}]")
    if len(set(holders)) != len(holders) or any(not 1 <= h <= 255 for h in holders):
        raise InvalidParameters("holders must be distinct numbers in 1..255")
    length = len(secret)
    draw = random((t - 1) * length)
    coeffs = np.frombuffer(draw, dtype=np.uint8).reshape(t - 1, length) if t > 1 else np.zeros((0, length), np.uint8)
    base = np.frombuffer(bytes(secret), dtype=np.uint8)
    out = []
    for h in holders:
        acc = base.copy()
        for c in range(1, t):
            acc ^= _MUL[_pow(h, c)][coeffs[c - 1]]
        out.append(acc.tobytes())
    return out


def _lagrange_at(x: int, xs: Sequence[int]) -> list[int]:
    """Lagrange basis coefficients at ``x`` for points ``xs`` (subtraction is XOR)."""
    out = []
    for j, xj in enumerate(xs):
        num, den = 1, 1
        for m, xm in enumerate(xs):
            if m != j:
                num = gf_mul(num, x ^ xm)
                den = gf_mul(den, xj ^ xm)
        out.append(gf_mul(num, gf_inv(den)))
    return out


def combine(shares: Mapping[int, bytes] | Sequence[tuple[int, bytes]], t: int) -> bytes:
    """The secret from ``x → share``: interpolation at 0 over the first ``t`` shares (ascending ``x``), every further share checked."""
    items = list(shares.items()) if isinstance(shares, Mapping) else list(shares)
    xs = [x for x, _ in items]
    if len(set(xs)) != len(xs):
        raise Duplicate("two shares with the same evaluation point")
    if any(not 1 <= x <= 255 for x in xs):
        raise Malformed("a share's evaluation point is outside 1..255")
    if len(items) < t:
        raise InsufficientParties(f"{len(items)} shares, threshold is {t}")
    items.sort(key=lambda kv: kv[0])
    lengths = {len(v) for _, v in items}
    if len(lengths) != 1:
        raise Malformed("shares of different lengths")
    basis_x = [x for x, _ in items[:t]]
    ys = np.stack([np.frombuffer(v, dtype=np.uint8) for _, v in items[:t]])

    def evaluate(at: int) -> np.ndarray:
        acc = np.zeros(ys.shape[1], dtype=np.uint8)
        for coef, row in zip(_lagrange_at(at, basis_x), ys):
            acc ^= _MUL[coef][row]
        return acc

    for x, v in items[t:]:
        if evaluate(x).tobytes() != v:
            raise InconsistentShares(f"the share at x = {x} does not lie on the polynomial of the first {t} shares")
    return evaluate(0).tobytes()
