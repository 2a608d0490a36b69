"""Share envelopes authenticated to their sender (secure-aggregation.md, "Share envelopes"): ``PairwiseBox``."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import be32, text
from .errors import SenderNotAuthenticated
from .hkdf import hkdf_sha256
from .x25519 import Random, exchange

SALT = b"smpc/secagg/envelope/v1"


def envelope_key(own_private: bytes, peer_public: bytes, session: str, round_: int, sender: int, recipient: int,
                 sender_public: bytes, recipient_public: bytes) -> bytes:
    """``K_{i→j} = HKDF(X25519(c_own, C_peer), "smpc/secagg/envelope/v1", str(session) ‖ BE32 round ‖ BE32 i ‖ BE32 j ‖ C_i ‖ C_j)``.

    The sender calls it with ``(c_i, C_j)``, the recipient with ``(c_j, C_i)``; both get the same key.
    """
    z = exchange(own_private, peer_public, f"seal key of party {recipient if peer_public == recipient_public else sender}")
    info = text(session) + be32(round_) + be32(sender) + be32(recipient) + sender_public + recipient_public
    return hkdf_sha256(z, SALT, info, 32)


def seal(key: bytes, plaintext: bytes, associated_data: bytes, random: Random = os.urandom) -> bytes:
    """``nonce (12 random bytes) ‖ AES-256-GCM_K(nonce, plaintext, AD) ‖ tag``."""
    nonce = random(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def open_box(key: bytes, box: bytes, associated_data: bytes, sender: int, recipient: int) -> bytes:
    """Opens an envelope; anything that does not open is ``SenderNotAuthenticated`` naming sender and recipient."""
    if len(box) < 12 + 16:
        raise SenderNotAuthenticated(f"envelope from party {sender} to party {recipient} is too short to open")
    try:
        return AESGCM(key).decrypt(box[:12], box[12:], associated_data)
    except InvalidTag:
        raise SenderNotAuthenticated(f"envelope from party {sender} to party {recipient} does not open under their pairwise key") from None
