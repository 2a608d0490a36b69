"""The mask PRG of secure-aggregation.md ("Mask PRG (exact specification)"), vectorised.

``OKM = HKDF-SHA-256(seed, "smpc/secagg/prg/v1", context, 48)``; ``K, IV, K' = OKM[0:16], [16:32], [32:48]``. Element ``i`` is
the little-endian word at keystream bytes ``[8i, 8i+8)`` of AES-128-CTR(K, IV) (big-endian 128-bit counter), masked to
``m = 2^⌈log2 q⌉ − 1`` and accepted if ``< q``; otherwise the first ``r_{i,a} = LE64(AES-128_{K'}(LE64(i) ‖ LE64(a))[0:8]) & m``
below ``q``. Element ``i`` depends on ``i`` alone, so any slice can be generated on its own.
"""

from __future__ import annotations

import struct
import sys

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .encoding import be32, text
from .hkdf import hkdf_sha256

SALT = b"smpc/secagg/prg/v1"


def self_mask_context(session: str, round_: int, party: int) -> bytes:
    """``0x01 ‖ str(session) ‖ BE32 round ‖ BE32 i ‖ BE32 0``."""
    return b"\x01" + text(session) + be32(round_) + be32(party) + be32(0)


def pair_mask_context(session: str, round_: int, i: int, j: int) -> bytes:
    """``0x02 ‖ str(session) ‖ BE32 round ‖ BE32 min(i,j) ‖ BE32 max(i,j)``."""
    return b"\x02" + text(session) + be32(round_) + be32(min(i, j)) + be32(max(i, j))


_ZEROS = bytes(0)


def _zeros(n: int) -> memoryview:
    """A read-only all-zero buffer of at least ``n`` bytes (kept between calls: the plaintext of CTR keystream)."""
    global _ZEROS
    if len(_ZEROS) < n:
        _ZEROS = bytes(n)
    return memoryview(_ZEROS)[:n]


class MaskPrg:
    """The stream of field elements for one ``(seed, context)``; :meth:`elements` returns any slice."""

    def __init__(self, seed: bytes, context: bytes, q: int) -> None:
        okm = hkdf_sha256(seed, SALT, context, 48)
        self._key, self._iv, self._reject_key = okm[:16], int.from_bytes(okm[16:32], "big"), okm[32:48]
        self.q = q
        self.mask = (1 << (q - 1).bit_length()) - 1

    def elements(self, count: int, offset: int = 0) -> np.ndarray:
        """Elements ``[offset, offset + count)`` as canonical ``uint64`` (a new array)."""
        if count <= 0:
            return np.zeros(0, dtype=np.uint64)
        return self.fill(np.empty(count + 3, dtype=np.uint64), count, offset).copy()

    def fill(self, scratch: np.ndarray, count: int, offset: int = 0) -> np.ndarray:
        """Elements ``[offset, offset + count)`` written into ``scratch`` (``uint64``, at least ``count + 3`` long, reused
        between calls on hot paths); returns the view of ``scratch`` holding them."""
        first_block = offset // 2
        blocks = (offset + count + 1) // 2 - first_block
        if scratch.dtype != np.uint64 or scratch.size < 2 * blocks + 2 or not scratch.flags.c_contiguous:
            raise ValueError("scratch must be a contiguous uint64 array of at least count + 3 elements")
        counter = ((self._iv + first_block) % (1 << 128)).to_bytes(16, "big")
        enc = Cipher(algorithms.AES(self._key), modes.CTR(counter)).encryptor()
        # update_into a preallocated buffer: ~70× faster than update() on megabytes with cryptography 38.
        out = memoryview(scratch).cast("B")
        enc.update_into(_zeros(16 * blocks), out[:16 * blocks + 15])
        words = scratch[offset % 2: offset % 2 + count]
        if sys.byteorder != "little":
            words.byteswap(inplace=True)
        np.bitwise_and(words, np.uint64(self.mask), out=words)
        bad = np.flatnonzero(words >= np.uint64(self.q))
        if bad.size:
            ecb = Cipher(algorithms.AES(self._reject_key), modes.ECB()).encryptor()
            for k in bad.tolist():
                i, a = offset + k, 0
                while True:
                    r = struct.unpack("<Q", ecb.update(struct.pack("<QQ", i, a))[:8])[0] & self.mask
                    if r < self.q:
                        words[k] = r
                        break
                    a += 1
        return words


def mask_prg(seed: bytes, context: bytes, q: int, count: int, offset: int = 0) -> np.ndarray:
    """Elements ``[offset, offset + count)`` of ``MaskPrg(seed, context)`` over ``Z_q``."""
    return MaskPrg(seed, context, q).elements(count, offset)
