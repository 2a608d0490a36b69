"""The modeller-to-pods channel of a federated session (docs/protocols/federated.md, "The modeller-to-pods channel").

1. Each pod publishes a member key ``M_i`` (X25519), signed with its Ed25519 identity key over
   ``"smpc/member-key/v1" ‖ u16(tenant) ‖ u16(session) ‖ u16(pod) ‖ M_i``.
2. The modeller draws a 32-byte content key ``K`` and seals it to every ``M_i`` (sealed box: X25519 + HKDF-SHA-256 +
   AES-256-GCM, AD ``"smpc/content-key/v1" ‖ u16(tenant) ‖ u16(session) ‖ u16(pod)``).
3. A release named ``N`` is AES-256-GCM under ``K`` with a random 96-bit nonce and AD
   ``"smpc/release/v1" ‖ u16(tenant) ‖ u16(session) ‖ u16(N)``: ``nonce ‖ ciphertext ‖ tag``.
4. Sealed content keys and releases travel modeller-signed: ``0x01 ‖ box ‖ Ed25519(modeller, statement)``, the
   statements of docs/protocols/signatures.md; pods verify them against the verified modeller key before opening.

Every check raises a typed :class:`ChannelError` subclass; nothing is opened before its signature verifies.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..crypto import sealed_box
from ..crypto.errors import BadSignature as BadSignatureError
from ..crypto.errors import DecryptionFailed as DecryptionFailedError
from ..crypto.errors import IdentityMismatch as IdentityMismatchError
from ..crypto.errors import LowOrderPoint as LowOrderPointError
from ..crypto.errors import Malformed as MalformedError
from ..crypto.errors import ProtocolError as ChannelError
from ..identity import fingerprint, fingerprint_matches, verify_signature
from ..statements import content_key_statement, release_statement

# The refusals are the protocol's typed errors (smpc.crypto.errors), as in .NET: Malformed for the format, BadSignature
# for a signature, IdentityMismatch for a pin, DecryptionFailed for a box that does not open, LowOrderPoint for a key.
__all__ = [
    "ChannelError", "MalformedError", "BadSignatureError", "IdentityMismatchError", "DecryptionFailedError",
    "LowOrderPointError", "fingerprint", "content_key_statement", "release_statement", "context", "member_key_message",
    "sign_member_key", "verify_member_key", "new_content_key", "seal_content_key", "open_content_key",
    "sign_content_key_seal", "verify_content_key_seal", "seal_release", "open_release", "sign_release", "verify_release",
    "encode_release", "decode_release",
]

CONTENT_KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
RELEASE_OVERHEAD = NONCE_SIZE + TAG_SIZE
SEALED_BOX_OVERHEAD = 32 + TAG_SIZE
SIGNED_FORMAT_VERSION = 0x01
SIGNATURE_SIZE = 64
SIGNED_OVERHEAD = 1 + SIGNATURE_SIZE
SIGNED_CONTENT_KEY_SIZE = SIGNED_OVERHEAD + SEALED_BOX_OVERHEAD + CONTENT_KEY_SIZE  # 145


def context(label: str, *parts: str) -> bytes:
    """The ASCII label followed by each part as a u16 big-endian length and its UTF-8 bytes."""
    out = bytearray(label.encode("ascii"))
    for part in parts:
        data = part.encode("utf-8")
        if len(data) > 0xFFFF:
            raise ValueError("an id is too long")
        out += struct.pack(">H", len(data)) + data
    return bytes(out)


def _verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    return verify_signature(public_key, message, signature)


# --- member keys --------------------------------------------------------------------------------------------------

def member_key_message(tenant: str, session: str, pod: str, member_public_key: bytes) -> bytes:
    """The bytes a pod's identity key signs to vouch for its member key."""
    if len(member_public_key) != 32:
        raise MalformedError("a member key is a 32-byte X25519 public key")
    return context("smpc/member-key/v1", tenant, session, pod) + member_public_key


def sign_member_key(sign: Callable[[bytes], bytes], tenant: str, session: str, pod: str, member_public_key: bytes) -> bytes:
    """Signs the member key with the pod's identity (``sign`` is ``IdentityKey.sign``)."""
    return sign(member_key_message(tenant, session, pod, member_public_key))


def verify_member_key(pinned_fingerprint: str, identity_public_key: bytes, tenant: str, session: str, pod: str,
                      member_public_key: bytes, signature: bytes) -> None:
    """The modeller's check of a member key: the identity must match the pin, the signature must cover this key."""
    if not fingerprint_matches(pinned_fingerprint, identity_public_key):
        raise IdentityMismatchError(f"pod {pod}'s identity key does not match its pinned fingerprint {pinned_fingerprint}")
    if not _verify_ed25519(identity_public_key, member_key_message(tenant, session, pod, member_public_key), signature):
        raise BadSignatureError(f"pod {pod}'s member key is not signed by its identity key")


# --- content key --------------------------------------------------------------------------------------------------

def new_content_key() -> bytes:
    """A fresh 32-byte content key."""
    return os.urandom(CONTENT_KEY_SIZE)


def seal_content_key(content_key: bytes, member_public_key: bytes, tenant: str, session: str, pod: str,
                     ephemeral_private: bytes | None = None) -> bytes:
    """Seals the content key to one pod's member key (80 bytes)."""
    if len(content_key) != CONTENT_KEY_SIZE:
        raise ValueError("the content key is 32 bytes")
    random = os.urandom if ephemeral_private is None else (lambda n: bytes(ephemeral_private[:n]))
    return sealed_box.seal(member_public_key, content_key, context("smpc/content-key/v1", tenant, session, pod), random)


def open_content_key(member_private_key: bytes, box: bytes, tenant: str, session: str, pod: str) -> bytes:
    """Opens the content key sealed to this pod."""
    key = sealed_box.open_box(member_private_key, box, context("smpc/content-key/v1", tenant, session, pod))
    if len(key) != CONTENT_KEY_SIZE:
        raise MalformedError("a content key is 32 bytes")
    return key


def _envelope(box: bytes, signature: bytes) -> bytes:
    return bytes([SIGNED_FORMAT_VERSION]) + box + signature


def _unwrap(signed: bytes, what: str) -> tuple[bytes, bytes]:
    if len(signed) < SIGNED_OVERHEAD or signed[0] != SIGNED_FORMAT_VERSION:
        raise MalformedError(f"{what} is not in the modeller-signed format v1 (0x01 ‖ box ‖ signature): "
                             "an unsigned or unknown format is refused")
    return signed[1:-SIGNATURE_SIZE], signed[-SIGNATURE_SIZE:]


def sign_content_key_seal(sign: Callable[[bytes], bytes], tenant: str, session: str, pod: str,
                          member_public_key: bytes, box: bytes) -> bytes:
    """``0x01 ‖ box ‖ sig`` (145 bytes) with the modeller's signature of the content-key statement."""
    return _envelope(box, sign(content_key_statement(tenant, session, pod, member_public_key, box)))


def verify_content_key_seal(modeller_key: bytes, signed: bytes, tenant: str, session: str, pod: str,
                            member_public_key: bytes) -> bytes:
    """The pod's check of a signed seal; returns the inner sealed box."""
    box, signature = _unwrap(signed, "the sealed content key")
    if len(box) != SEALED_BOX_OVERHEAD + CONTENT_KEY_SIZE:
        raise MalformedError(f"a signed sealed content key is {SIGNED_CONTENT_KEY_SIZE} bytes")
    if not _verify_ed25519(modeller_key, content_key_statement(tenant, session, pod, member_public_key, box), signature):
        raise BadSignatureError(f"the content key sealed to pod '{pod}' is not signed by the session's verified modeller "
                                "(a key the service substituted, or one sealed for another pod, member key or session)")
    return box


# --- releases -----------------------------------------------------------------------------------------------------

def seal_release(content_key: bytes, tenant: str, session: str, name: str, plaintext: bytes, nonce: bytes | None = None) -> bytes:
    """``nonce ‖ AES-256-GCM_K(plaintext, AD) ‖ tag`` with a random nonce."""
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    return nonce + AESGCM(content_key).encrypt(nonce, plaintext, context("smpc/release/v1", tenant, session, name))


def open_release(content_key: bytes, tenant: str, session: str, name: str, box: bytes) -> bytes:
    """Decrypts release ``name``; refuses tampering and another name, session or tenant."""
    if len(box) < RELEASE_OVERHEAD:
        raise MalformedError("a release is shorter than its nonce and tag")
    try:
        return AESGCM(content_key).decrypt(box[:NONCE_SIZE], box[NONCE_SIZE:], context("smpc/release/v1", tenant, session, name))
    except InvalidTag:
        raise DecryptionFailedError(f"release '{name}' failed to open (tampered, or not the release of this name and session)") from None


def sign_release(sign: Callable[[bytes], bytes], tenant: str, session: str, name: str, box: bytes) -> bytes:
    """``0x01 ‖ box ‖ sig`` with the modeller's signature of the release statement."""
    return _envelope(box, sign(release_statement(tenant, session, name, box)))


def verify_release(modeller_key: bytes, signed: bytes, tenant: str, session: str, name: str) -> bytes:
    """The pod's check of a signed release; returns the inner release box."""
    box, signature = _unwrap(signed, f"release '{name}'")
    if not _verify_ed25519(modeller_key, release_statement(tenant, session, name, box), signature):
        raise BadSignatureError(f"release '{name}' is not signed by the session's verified modeller "
                                "(forged or replaced by the service, or signed for another name or session)")
    return box


def encode_release(value: Any) -> bytes:
    """A release's plaintext: compact UTF-8 JSON with camelCase keys, as the .NET modeller writes (web defaults)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8")


def decode_release(plaintext: bytes) -> Any:
    """Parses a release's JSON plaintext (property names matched ignoring case by the readers)."""
    value = json.loads(plaintext.decode("utf-8"))
    if value is None:
        raise MalformedError("the release is empty")
    return value
