"""The anonymous sealed box of secure-aggregation.md ("Sealed box"): X25519 ephemeral, HKDF, AES-256-GCM, nonce 0^96."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionFailed, Malformed
from .hkdf import hkdf_sha256
from .x25519 import KeyPair, Random, check_peer_key, exchange, public_key

SALT = b"smpc/seal/v1"
_NONCE = bytes(12)


def seal_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    """``K = HKDF-SHA-256(Z, "smpc/seal/v1", E ‖ R, 32)``."""
    return hkdf_sha256(shared, SALT, ephemeral_public + recipient_public, 32)


def seal(recipient_public: bytes, plaintext: bytes, associated_data: bytes, random: Random = os.urandom) -> bytes:
    """``E ‖ AES-256-GCM_K(0^96, plaintext, AD) ‖ tag``; a low-order ``R`` is refused (``LowOrderPoint``)."""
    check_peer_key(recipient_public, "sealed-box recipient key")
    ephemeral = KeyPair.generate(random)
    z = exchange(ephemeral.private, recipient_public, "sealed-box recipient key")
    key = seal_key(z, ephemeral.public, recipient_public)
    return ephemeral.public + AESGCM(key).encrypt(_NONCE, plaintext, associated_data)


def open_box(recipient_private: bytes, box: bytes, associated_data: bytes) -> bytes:
    """Opens a sealed box; refuses a low-order ephemeral key (``LowOrderPoint``) and a wrong tag (``DecryptionFailed``)."""
    if len(box) < 32 + 16:
        raise Malformed("sealed box is shorter than its key and tag")
    eph = box[:32]
    z = exchange(recipient_private, eph, "sealed-box ephemeral key")
    key = seal_key(z, eph, public_key(recipient_private))
    try:
        return AESGCM(key).decrypt(_NONCE, box[32:], associated_data)
    except InvalidTag:
        raise DecryptionFailed("sealed box does not open") from None
