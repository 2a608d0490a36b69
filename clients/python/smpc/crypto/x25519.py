"""X25519 keys (RFC 7748) with the low-order screening of secure-aggregation.md ("Low-order keys")."""

from __future__ import annotations

import os
from typing import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from .errors import LowOrderPoint, Malformed

_P = 2**255 - 19
#: u-coordinates (mod 2^255) of the points of order 1, 2, 4 and 8; each gives an all-zero shared secret.
LOW_ORDER_U = frozenset({
    0, 1, _P - 1, _P, _P + 1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
})

Random = Callable[[int], bytes]


def clamp(k: bytes) -> bytes:
    """RFC 7748 clamping of a 32-byte scalar."""
    if len(k) != 32:
        raise Malformed("an X25519 private key is 32 bytes")
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return bytes(b)


def public_key(private: bytes) -> bytes:
    """The X25519 public key of a 32-byte private key."""
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def is_low_order(key: bytes) -> bool:
    """True for the 14 encodings of low-order points (bit 255 ignored)."""
    if len(key) != 32:
        return True
    return (int.from_bytes(key, "little") % 2**255) in LOW_ORDER_U


def check_peer_key(key: bytes, what: str = "peer key") -> bytes:
    """Returns ``key`` if it is a usable X25519 public key, else ``LowOrderPoint`` (or ``Malformed`` for a bad length)."""
    if len(key) != 32:
        raise Malformed(f"{what} is not 32 bytes")
    if is_low_order(key):
        raise LowOrderPoint(f"{what} is a low-order point")
    return key


def exchange(private: bytes, peer: bytes, what: str = "peer key") -> bytes:
    """X25519(private, peer) after screening ``peer``; an all-zero result is refused (``LowOrderPoint``)."""
    check_peer_key(peer, what)
    try:
        z = X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(peer))
    except ValueError:
        raise LowOrderPoint(f"X25519 with {what} gives the all-zero secret") from None
    if z == bytes(32):
        raise LowOrderPoint(f"X25519 with {what} gives the all-zero secret")
    return z


class KeyPair:
    """An X25519 key pair whose private key is stored clamped (as every implementation of the protocol does)."""

    __slots__ = ("private", "public")

    def __init__(self, private: bytes) -> None:
        self.private = clamp(private)
        self.public = public_key(self.private)

    @classmethod
    def generate(cls, random: Random = os.urandom) -> "KeyPair":
        """A fresh key from 32 bytes of ``random``, clamped."""
        return cls(random(32))
