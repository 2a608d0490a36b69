"""The pod-counted cardinality of ecdh PSI, sealed to the modeller's count key (psi.md "Cardinality mode", step 6).

The modeller puts a fresh X25519 public key, the *count key*, in the session spec (``countKey``, base64). The pod
counts ``c = |{k·A_i} ∩ D|`` and posts (``POST …/psi/count``, ``sealedCount``)::

    SealedBox(countKey, plaintext, AD)
    plaintext = "smpc/psi/count/v1" ‖ status ‖ BE64 value   (status 0x00: value = c;
                                                             status 0x01: withheld, value = the pod's minimum > c)
    AD        = "smpc/psi/count/v1" ‖ UTF-8(session id)

SealedBox (secure-aggregation.md "Sealed box", :mod:`smpc.crypto.sealed_box`): the recipient key is refused if of
low order; an ephemeral X25519 key ``(e, E)``; ``Z = X25519(e, R)`` (all-zero refused);
``K = HKDF-SHA-256(Z, salt "smpc/seal/v1", info E ‖ R, 32)``; ``box = E ‖ AES-256-GCM_K(nonce 0^96, plaintext, AD) ‖ tag``. A sealed count is 74 bytes for both outcomes, so the
service that stores it cannot tell a withheld count from a released one.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ..crypto import sealed_box, x25519
from ..crypto.errors import DecryptionFailed, LowOrderPoint, Malformed

__all__ = [
    "LABEL",
    "SEALED_BYTES",
    "SealedCount",
    "SealedCountError",
    "CountKey",
    "generate_count_key",
    "seal",
    "open",
    "open_count",
    "is_low_order",
]

LABEL = b"smpc/psi/count/v1"
"""Prefix of the plaintext and of the associated data."""
_KEY_BYTES = 32
_TAG_BYTES = 16
_PLAINTEXT_BYTES = len(LABEL) + 1 + 8
SEALED_BYTES = _KEY_BYTES + _PLAINTEXT_BYTES + _TAG_BYTES
"""Length of every sealed count (74)."""
_MAX_VALUE = 2**63 - 1


class SealedCountError(ValueError):
    """A sealed count refused; ``reason`` is one of ``low-order-point`` (an unusable count key or ephemeral key),
    ``decryption-failed`` (wrong key, another session, tampered), ``malformed`` (size, label, status, value)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class SealedCount(NamedTuple):
    """An opened count: ``withheld`` False and ``value`` the count, or True and ``value`` the pod's minimum."""

    withheld: bool
    value: int


class CountKey(NamedTuple):
    """A modeller's count key pair: the X25519 private key and its 32-byte public key (``countKey`` in the spec)."""

    private: X25519PrivateKey
    public: bytes


def generate_count_key() -> CountKey:
    """A fresh X25519 count key for one session."""
    private = X25519PrivateKey.generate()
    return CountKey(private, _raw_public(private))


def is_low_order(key: bytes) -> bool:
    """True when a 32-byte X25519 public key is one of the 14 low-order encodings (bit 255 ignored, as RFC 7748)."""
    if len(key) != _KEY_BYTES:
        raise SealedCountError("malformed", f"an X25519 key is {_KEY_BYTES} bytes")
    return x25519.is_low_order(bytes(key))


def _raw_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(private: X25519PrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())


def _refusal(ex: Exception, what: str) -> SealedCountError:
    if isinstance(ex, LowOrderPoint):
        return SealedCountError("low-order-point", f"{what}: {ex}")
    if isinstance(ex, DecryptionFailed):
        return SealedCountError(
            "decryption-failed", "sealed box failed to open (wrong recipient, tampered, or different associated data)")
    return SealedCountError("malformed", f"{what}: {ex}")


def _seal_box(recipient: bytes, plaintext: bytes, associated_data: bytes, ephemeral_random: bytes | None = None) -> bytes:
    """The sealed box of :mod:`smpc.crypto.sealed_box`; ``ephemeral_random`` (32 bytes) fixes the ephemeral key, for
    known answers only. A low-order recipient key is ``low-order-point`` ("count key is unusable")."""
    random = (lambda n: ephemeral_random) if ephemeral_random is not None else os.urandom
    try:
        return sealed_box.seal(recipient, plaintext, associated_data, random)
    except (LowOrderPoint, Malformed) as ex:
        raise _refusal(ex, "the count key is unusable") from ex


def _open_box(recipient: X25519PrivateKey, box: bytes, associated_data: bytes) -> bytes:
    """Opens a sealed box: refuses a short box, a low-order ephemeral key and a wrong tag, as :class:`SealedCountError`."""
    try:
        return sealed_box.open_box(_raw_private(recipient), bytes(box), associated_data)
    except (LowOrderPoint, DecryptionFailed, Malformed) as ex:
        raise _refusal(ex, "the sealed count") from ex


def _associated_data(session_id: str) -> bytes:
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("session_id is a non-empty string")
    return LABEL + session_id.encode("utf-8")


def seal(count_key: bytes, count: int, session_id: str, *, min_count: int = 0,
         _ephemeral_random: bytes | None = None) -> bytes:
    """The pod's sealed answer (74 bytes): ``count`` released, or, when it is below ``min_count``, withheld with the
    minimum as value. Refuses a low-order count key (``SealedCountError`` ``low-order-point``: the pod declines,
    "count key is unusable")."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= _MAX_VALUE:
        raise ValueError("count is an integer in 0 … 2^63 − 1")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or not 0 <= min_count <= _MAX_VALUE:
        raise ValueError("min_count is an integer in 0 … 2^63 − 1")
    count_key = bytes(count_key)
    if len(count_key) != _KEY_BYTES:
        raise SealedCountError("malformed", f"the count key is {_KEY_BYTES} bytes")
    withheld = count < min_count
    plaintext = LABEL + (b"\x01" if withheld else b"\x00") + (min_count if withheld else count).to_bytes(8, "big")
    return _seal_box(count_key, plaintext, _associated_data(session_id), _ephemeral_random)


def open(count_key: X25519PrivateKey | bytes, session_id: str, sealed: bytes) -> SealedCount:  # noqa: A001 - agreed name
    """Opens a sealed count with the count key's private half (an ``X25519PrivateKey`` or its 32 raw bytes).

    Refuses (``SealedCountError``) a box of another size, for another session or key, tampered, or whose plaintext is
    not ``smpc/psi/count/v1`` with status 0 or 1 and a non-negative value.
    """
    if isinstance(count_key, (bytes, bytearray)):
        count_key = X25519PrivateKey.from_private_bytes(bytes(count_key))
    sealed = bytes(sealed)
    if len(sealed) != SEALED_BYTES:
        raise SealedCountError("malformed", f"a sealed count is {SEALED_BYTES} bytes, got {len(sealed)}")
    plaintext = _open_box(count_key, sealed, _associated_data(session_id))
    if len(plaintext) != _PLAINTEXT_BYTES or plaintext[: len(LABEL)] != LABEL or plaintext[len(LABEL)] > 1:
        raise SealedCountError("malformed", "the sealed count's plaintext is not smpc/psi/count/v1")
    value = int.from_bytes(plaintext[len(LABEL) + 1:], "big")
    if value > _MAX_VALUE:
        raise SealedCountError("malformed", "the sealed count is negative")
    return SealedCount(plaintext[len(LABEL)] == 1, value)


open_count = open
"""Alias of :func:`open` for callers that keep the builtin ``open`` in scope."""
