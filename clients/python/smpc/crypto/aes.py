"""AES-128 over many blocks, the kkrt PRG (AES-128-CTR with little-endian 128-bit counters) and the bit-matrix
transpose of OT extension (docs/protocols/psi.md, "OT extension: KKRT16 batched OPRF", version ``kkrt-v1``).

AES runs in ``cryptography`` (OpenSSL, AES-NI where the CPU has it) as ECB over a whole batch of blocks; the rest is
numpy. Bits of a byte string are numbered LSB-first (bit ``i`` is bit ``i & 7`` of byte ``i >> 3``), which is numpy's
``bitorder="little"``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["BLOCK", "aes_ecb", "aes_ecb_blocks", "prg", "prg_columns", "transpose_columns"]

BLOCK = 16
"""AES block size in bytes."""

# Bins (matrix rows) transposed per step: 32,768 rows × 512 columns unpack to 16 MiB of bytes.
_TRANSPOSE_CHUNK = 1 << 15


def aes_ecb(key: bytes, data: bytes | bytearray | memoryview | np.ndarray) -> bytes:
    """AES-128 (FIPS 197) of every 16-byte block of ``data`` under ``key`` (ECB: each block on its own)."""
    if len(key) != 16:
        raise ValueError("an AES-128 key is 16 bytes")
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    raw = memoryview(data).cast("B")
    if len(raw) % BLOCK:
        raise ValueError(f"AES input of {len(raw)} bytes is not a whole number of blocks")
    if not len(raw):
        return b""
    enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
    return enc.update(raw) + enc.finalize()


def aes_ecb_blocks(key: bytes, blocks: np.ndarray) -> np.ndarray:
    """:func:`aes_ecb` over a ``(…, 16)`` uint8 array, returning an array of the same shape."""
    if blocks.dtype != np.uint8 or blocks.shape[-1] != BLOCK:
        raise ValueError("blocks must be a uint8 array whose last axis is 16")
    return np.frombuffer(aes_ecb(key, blocks), dtype=np.uint8).reshape(blocks.shape)


_counters_cache: tuple[int, bytes] = (0, b"")


def _counters(count: int) -> bytes:
    """The plaintexts ``LE128(0) ‖ LE128(1) ‖ … ‖ LE128(count − 1)`` (cached: every column of a session uses them)."""
    global _counters_cache
    cached, data = _counters_cache
    if cached >= count:
        return data[: count * BLOCK]
    blocks = np.zeros((count, 2), dtype="<u8")
    blocks[:, 0] = np.arange(count, dtype=np.uint64)
    data = blocks.tobytes()
    _counters_cache = (count, data)
    return data


def prg(key: bytes, nbytes: int) -> bytes:
    """The first ``nbytes`` of the kkrt PRG: AES-128-CTR whose stream block ``t`` is ``AES_key(LE128(t))``, t = 0, 1, …"""
    if nbytes < 0:
        raise ValueError("nbytes must not be negative")
    blocks = -(-nbytes // BLOCK)
    return aes_ecb(key, _counters(blocks))[:nbytes]


def prg_columns(keys: Sequence[bytes], bits: int) -> np.ndarray:
    """One row per key: the first ``bits`` bits of ``prg(key)``, as a ``(len(keys), ⌈bits/8⌉)`` uint8 array (bits past
    ``bits`` in the last byte are whatever the stream holds; the transpose ignores them)."""
    nbytes = -(-bits // 8)
    out = np.empty((len(keys), nbytes), dtype=np.uint8)
    if nbytes == 0:
        return out
    plain = _counters(-(-nbytes // BLOCK))
    for j, key in enumerate(keys):
        if len(key) != 16:
            raise ValueError("an AES-128 key is 16 bytes")
        enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
        out[j] = np.frombuffer(enc.update(plain), dtype=np.uint8, count=nbytes)
    return out


def _transpose8(x: np.ndarray) -> None:
    """In place, every uint64 as an 8×8 bit matrix (bit 8k + r = row k, column r) transposed (bit 8r + k)."""
    t = (x ^ (x >> np.uint64(7))) & np.uint64(0x00AA00AA00AA00AA)
    x ^= t ^ (t << np.uint64(7))
    t = (x ^ (x >> np.uint64(14))) & np.uint64(0x0000CCCC0000CCCC)
    x ^= t ^ (t << np.uint64(14))
    t = (x ^ (x >> np.uint64(28))) & np.uint64(0x00000000F0F0F0F0)
    x ^= t ^ (t << np.uint64(28))


def transpose_columns(columns: np.ndarray, rows: int) -> np.ndarray:
    """The bit matrix whose column ``j`` is row ``j`` of ``columns`` (a ``(w, ≥⌈rows/8⌉)`` uint8 array, w a multiple of
    8), transposed: a ``(rows, w/8)`` uint8 array whose row ``b`` holds bit ``b`` of every column (bit ``j`` of the row
    = bit ``b`` of column ``j``; LSB-first throughout).

    Works on 8×8 bit blocks: byte p of the 8 columns 8g…8g+7 form one uint64, whose bit transpose is byte g of the
    rows 8p…8p+7."""
    width = columns.shape[0]
    nbytes = -(-rows // 8)
    if width % 8 or columns.dtype != np.uint8 or columns.ndim != 2 or columns.shape[1] < nbytes:
        raise ValueError("columns must be a (w, ⌈rows/8⌉) uint8 array with w a multiple of 8")
    groups = width // 8
    out = np.empty((nbytes * 8, groups), dtype=np.uint8)
    step = max(1, _TRANSPOSE_CHUNK // 8)
    for lo in range(0, nbytes, step):
        hi = min(nbytes, lo + step)
        # (g, k, p) -> (p, g, k): one uint64 per (p, g) holding byte p of columns 8g + k, k = 0..7.
        blocks = np.ascontiguousarray(columns[:, lo:hi].reshape(groups, 8, hi - lo).transpose(2, 0, 1))
        words = blocks.view("<u8").reshape(hi - lo, groups)
        _transpose8(words)
        # byte r of word (p, g) is byte g of row 8p + r: (p, g, r) -> (p, r, g).
        out[lo * 8:hi * 8] = words.view(np.uint8).reshape(hi - lo, groups, 8).transpose(0, 2, 1).reshape(-1, groups)
    return out[:rows]
