"""The RFC 9497 OPRF, ciphersuite ristretto255-SHA512, mode 0x00 (modeOPRF): ECDH PSI version ``ecdh-oprf-v1``.

Written from ``docs/protocols/psi.md``, "EC Diffie-Hellman on ristretto255: the RFC 9497 OPRF". Intersection mode
*is* this OPRF, so any implementation of the RFC can be either party:

1. **Pod** draws ``k = generate_key()`` and publishes the tags ``T = { evaluate(k, [y])[0][:32] : y ∈ Y }`` sorted.
2. **Modeller** ``blinds, B = blind(X)``: ``B_i = r_i·HashToGroup(x_i)`` with a fresh ``r_i`` per record.
3. **Pod** ``Z = blind_evaluate(k, B)``: ``Z_i = k·B_i``, in query order (every ``B_i`` must be a canonical
   non-identity element).
4. **Modeller** ``out = finalize(X, blinds, Z)``:
   ``out_i = SHA-512(I2OSP(len(x_i), 2) ‖ x_i ‖ I2OSP(32, 2) ‖ r_i^-1·Z_i ‖ "Finalize")``; ``x_i`` matched iff
   ``out_i[:32] ∈ T``.

``HashToGroup(x)`` is RFC 9380 ``hash_to_ristretto255``: ``expand_message_xmd(x, DST, 64)`` with SHA-512 and
``DST = "HashToGroup-" ‖ contextString``, then the ristretto255 one-way map; an identity result refuses the record.
Inputs are at most 65,535 bytes (Finalize encodes the length in two bytes).

Every function is batched over lists of ``bytes`` (one record, element or scalar each) and keeps Python's per-element
work to two or three SHA-512 calls; the group operations run in :mod:`smpc.crypto.ristretto` over packed buffers on
all cores. ``*_packed`` variants take and return ``n × 32``-byte strings (psi.md's element lists without the header).
"""

from __future__ import annotations

import hashlib
from typing import Sequence

from ..crypto import ristretto
from ..crypto.ristretto import ELEMENT_BYTES, InvalidElementError

__all__ = [
    "VERSION",
    "MODE_OPRF",
    "CONTEXT_STRING",
    "HASH_TO_GROUP_DST",
    "HASH_TO_SCALAR_DST",
    "DERIVE_KEY_PAIR_DST",
    "MAX_INPUT_BYTES",
    "OUTPUT_BYTES",
    "TAG_BYTES",
    "InvalidInputError",
    "InvalidElementError",
    "DeriveKeyPairError",
    "expand_message_xmd",
    "context_string",
    "hash_to_group",
    "hash_to_group_packed",
    "hash_to_group_dst_packed",
    "hash_to_scalar",
    "derive_key_pair",
    "generate_key",
    "public_key",
    "blind",
    "blind_evaluate",
    "blind_evaluate_packed",
    "finalize",
    "finalize_packed",
    "evaluate",
    "hash_and_multiply_packed",
]

VERSION = "ecdh-oprf-v1"
"""The protocol version carried by the ecdh PSI spec and the pod's acceptance."""
MODE_OPRF = 0x00
"""RFC 9497 modeOPRF."""
MAX_INPUT_BYTES = 65535
"""Largest OPRF input (an encoded record)."""
OUTPUT_BYTES = 64
"""Size of an OPRF output (SHA-512)."""
TAG_BYTES = 32
"""Bytes of an output that the PSI compares (psi.md "Why the first 32 bytes suffice")."""

_SUITE = b"ristretto255-SHA512"


def context_string(mode: int = MODE_OPRF) -> bytes:
    """``"OPRFV1-" ‖ I2OSP(mode, 1) ‖ "-" ‖ "ristretto255-SHA512"`` (RFC 9497 §3.1)."""
    return b"OPRFV1-" + bytes([mode]) + b"-" + _SUITE


CONTEXT_STRING = context_string(MODE_OPRF)
HASH_TO_GROUP_DST = b"HashToGroup-" + CONTEXT_STRING
HASH_TO_SCALAR_DST = b"HashToScalar-" + CONTEXT_STRING
DERIVE_KEY_PAIR_DST = b"DeriveKeyPair" + CONTEXT_STRING


class InvalidInputError(ValueError):
    """An input the OPRF refuses: over 65,535 bytes, not bytes, or hashing to the identity (psi.md ``InvalidRecord``).

    ``index`` names the first refused input of a batch.
    """

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class DeriveKeyPairError(ValueError):
    """RFC 9497 DeriveKeyPairError: 256 counters all gave the zero scalar, or the info is too long."""


# --- RFC 9380 expand_message_xmd with SHA-512 ------------------------------------------------------------------------

_B_IN_BYTES = 64   # SHA-512 output
_R_IN_BYTES = 128  # SHA-512 block


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 ``expand_message_xmd`` with SHA-512 (b = 64, r = 128)."""
    ell = -(-length // _B_IN_BYTES)
    if ell > 255 or length > 65535 or len(dst) > 255 or length < 0:
        raise ValueError("expand_message_xmd: parameters out of range")
    dst_prime = dst + bytes([len(dst)])
    b0 = hashlib.sha512(bytes(_R_IN_BYTES) + msg + length.to_bytes(2, "big") + b"\x00" + dst_prime).digest()
    blocks = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    for i in range(2, ell + 1):
        prev = blocks[-1]
        mixed = bytes(x ^ y for x, y in zip(b0, prev))
        blocks.append(hashlib.sha512(mixed + bytes([i]) + dst_prime).digest())
    return b"".join(blocks)[:length]


class _Xmd64:
    """``expand_message_xmd(·, dst, 64)`` with the zero block pre-absorbed (one SHA-512 compression saved per call)."""

    def __init__(self, dst: bytes) -> None:
        if len(dst) > 255:
            raise ValueError("expand_message_xmd: DST over 255 bytes")
        dst_prime = dst + bytes([len(dst)])
        self._zpad = hashlib.sha512(bytes(_R_IN_BYTES))
        self._tail0 = (64).to_bytes(2, "big") + b"\x00" + dst_prime
        self._tail1 = b"\x01" + dst_prime

    def __call__(self, msg: bytes) -> bytes:
        h = self._zpad.copy()
        h.update(msg)
        h.update(self._tail0)
        return hashlib.sha512(h.digest() + self._tail1).digest()

    def many(self, msgs: Sequence[bytes]) -> bytes:
        copy, tail0, tail1, sha512 = self._zpad.copy, self._tail0, self._tail1, hashlib.sha512
        out = []
        append = out.append
        for m in msgs:
            h = copy()
            h.update(m)
            h.update(tail0)
            append(sha512(h.digest() + tail1).digest())
        return b"".join(out)


_XMD_HASH_TO_GROUP = _Xmd64(HASH_TO_GROUP_DST)


def _check_inputs(inputs: Sequence[bytes]) -> None:
    if isinstance(inputs, (bytes, bytearray, str)):
        raise TypeError("inputs is a list of records (bytes), not one record")
    for i, x in enumerate(inputs):
        if not isinstance(x, (bytes, bytearray)):
            raise InvalidInputError(f"input {i} is {type(x).__name__}, not bytes", i)
        if len(x) > MAX_INPUT_BYTES:
            raise InvalidInputError(f"input {i} is {len(x)} bytes, over the OPRF's limit of {MAX_INPUT_BYTES}", i)


def _hash_to_group_packed(inputs: Sequence[bytes], xmd: _Xmd64, threads: int | None) -> bytes:
    _check_inputs(inputs)
    points = ristretto.from_hash_packed(xmd.many(inputs), threads)
    if ristretto.IDENTITY in points:
        for i in range(len(inputs)):
            if points[i * ELEMENT_BYTES:(i + 1) * ELEMENT_BYTES] == ristretto.IDENTITY:
                # Probability about 2^-252 for an honest input; the RFC makes it an error (InvalidInputError).
                raise InvalidInputError(f"input {i} hashes to the identity element", i)
    return points


def hash_to_group_packed(inputs: Sequence[bytes], threads: int | None = None) -> bytes:
    """``HashToGroup(x)`` for every input, packed (``n × 32`` bytes); refuses long inputs and identity results."""
    return _hash_to_group_packed(inputs, _XMD_HASH_TO_GROUP, threads)


def hash_to_group_dst_packed(inputs: Sequence[bytes], dst: bytes, threads: int | None = None) -> bytes:
    """RFC 9380 ``hash_to_ristretto255`` of every input under another domain-separation tag ``dst`` (the kkrt base OTs'
    H2G), packed; refuses long inputs and identity results like :func:`hash_to_group_packed`."""
    return _hash_to_group_packed(inputs, _Xmd64(dst), threads)


def hash_to_group(inputs: Sequence[bytes], threads: int | None = None) -> list[bytes]:
    """``HashToGroup(x)`` (RFC 9380 hash_to_ristretto255, DST ``"HashToGroup-" ‖ contextString``) for every input."""
    return ristretto.unpack(hash_to_group_packed(inputs, threads))


def hash_to_scalar(x: bytes, dst: bytes = HASH_TO_SCALAR_DST) -> bytes:
    """``HashToScalar(x, DST)``: ``expand_message_xmd(x, DST, 64)`` read little-endian, mod L."""
    return ristretto.scalar_reduce(expand_message_xmd(x, dst, 64))


def derive_key_pair(seed: bytes, info: bytes, mode: int = MODE_OPRF) -> tuple[bytes, bytes]:
    """RFC 9497 §3.2.1 ``DeriveKeyPair(seed, info)`` -> ``(skS, pkS)``; for known answers (session keys are random)."""
    if len(info) > 65535:
        raise DeriveKeyPairError("DeriveKeyPair: info is at most 65535 bytes")
    derive_input = seed + len(info).to_bytes(2, "big") + info
    dst = b"DeriveKeyPair" + context_string(mode)
    for counter in range(256):
        sk = hash_to_scalar(derive_input + bytes([counter]), dst)
        if sk != bytes(32):
            return sk, ristretto.scalarmult_base(sk)
    raise DeriveKeyPairError("DeriveKeyPairError")  # pragma: no cover - probability 2^-64000


def generate_key() -> bytes:
    """A fresh session key ``skS``: 64 random bytes reduced mod L, redrawn if zero."""
    return ristretto.scalar_random()


def public_key(sk: bytes) -> bytes:
    """``pkS = skS·G`` (not used by modeOPRF; for completeness and the RFC's other modes)."""
    return ristretto.scalarmult_base(sk)


def _blind(inputs: Sequence[bytes], blinds: Sequence[bytes] | None, xmd: _Xmd64,
           threads: int | None) -> tuple[list[bytes], list[bytes]]:
    points = _hash_to_group_packed(inputs, xmd, threads)
    if blinds is None:
        blinds = ristretto.scalar_random_many(len(inputs))
    else:
        blinds = list(blinds)
        if len(blinds) != len(inputs):
            raise ValueError(f"{len(blinds)} blinds for {len(inputs)} inputs")
        for i, r in enumerate(blinds):
            if len(r) != ristretto.SCALAR_BYTES or r == bytes(32) or int.from_bytes(r, "little") >= ristretto.L:
                raise ristretto.InvalidScalarError(f"blind {i} is not a non-zero scalar below L")
    blinded = ristretto.scalarmult_each_packed(ristretto.pack(blinds, ristretto.SCALAR_BYTES), points, threads)
    return blinds, ristretto.unpack(blinded)


def blind(inputs: Sequence[bytes], blinds: Sequence[bytes] | None = None,
          threads: int | None = None) -> tuple[list[bytes], list[bytes]]:
    """RFC 9497 ``Blind`` for every input: ``(blinds, blinded_elements)`` with ``B_i = r_i·HashToGroup(x_i)``.

    A fresh random ``r_i`` is drawn per input unless ``blinds`` is given (known-answer tests only). A repeated input
    therefore gives unrelated blinded elements.
    """
    return _blind(inputs, blinds, _XMD_HASH_TO_GROUP, threads)


def blind_evaluate_packed(sk: bytes, blinded: bytes, threads: int | None = None) -> bytes:
    """``BlindEvaluate`` over packed elements: ``k·B_i`` packed; refuses an invalid or identity ``B_i`` by index."""
    return ristretto.scalarmult_packed(sk, blinded, threads, what="blinded element")


def blind_evaluate(sk: bytes, blinded_elements: Sequence[bytes], threads: int | None = None) -> list[bytes]:
    """RFC 9497 ``BlindEvaluate``: ``Z_i = skS·B_i`` in order; refuses (``InvalidElementError``, with ``index``) any
    ``B_i`` that is not a canonical non-identity ristretto255 element."""
    return ristretto.unpack(blind_evaluate_packed(sk, ristretto.pack(blinded_elements), threads))


def _final_hashes(inputs: Sequence[bytes], elements: bytes, length: int = OUTPUT_BYTES) -> list[bytes]:
    sha512 = hashlib.sha512
    middle = (ELEMENT_BYTES).to_bytes(2, "big")
    out = []
    append = out.append
    for i, x in enumerate(inputs):
        n = elements[i * ELEMENT_BYTES:(i + 1) * ELEMENT_BYTES]
        append(sha512(len(x).to_bytes(2, "big") + x + middle + n + b"Finalize").digest()[:length])
    return out


def finalize_packed(inputs: Sequence[bytes], blinds: Sequence[bytes], evaluated: bytes,
                    threads: int | None = None, length: int = OUTPUT_BYTES) -> list[bytes]:
    """:func:`finalize` with the evaluated elements packed; ``length`` cuts each output (32 for PSI tags)."""
    _check_inputs(inputs)
    count = len(inputs)
    if len(blinds) != count or len(evaluated) != count * ELEMENT_BYTES:
        raise ValueError(f"{len(blinds)} blinds and {len(evaluated) // ELEMENT_BYTES} evaluated elements "
                         f"for {count} inputs")
    inverses = ristretto.scalar_invert_many(blinds, threads)
    unblinded = ristretto.scalarmult_each_packed(inverses, evaluated, threads, what="evaluated element")
    return _final_hashes(inputs, unblinded, length)


def finalize(inputs: Sequence[bytes], blinds: Sequence[bytes], evaluated: Sequence[bytes],
             threads: int | None = None) -> list[bytes]:
    """RFC 9497 ``Finalize`` for every input: ``SHA-512(I2OSP(len(x),2) ‖ x ‖ I2OSP(32,2) ‖ r^-1·Z ‖ "Finalize")``.

    Refuses (``InvalidElementError``, with ``index``) an evaluated element that is not a canonical non-identity
    element. Returns 64-byte outputs; PSI compares their first 32 bytes (:data:`TAG_BYTES`).
    """
    return finalize_packed(inputs, blinds, ristretto.pack(evaluated), threads)


def hash_and_multiply_packed(scalar: bytes, inputs: Sequence[bytes], threads: int | None = None) -> bytes:
    """``scalar·HashToGroup(x)`` for every input, packed: the pod's ``S`` (k) and the modeller's ``A_i`` (a) in
    ecdh cardinality mode (psi.md "Cardinality mode", steps 2 and 3)."""
    return ristretto.scalarmult_packed(scalar, hash_to_group_packed(inputs, threads), threads)


def evaluate(sk: bytes, inputs: Sequence[bytes], threads: int | None = None, length: int = OUTPUT_BYTES) -> list[bytes]:
    """RFC 9497 ``Evaluate(skS, x)`` for every input: what the client's ``finalize`` yields, computed by the key holder.

    ``length`` cuts each output (32 for the pod's published PSI tags).
    """
    issued = hash_and_multiply_packed(sk, inputs, threads)
    return _final_hashes(inputs, issued, length)
