"""Long-term Ed25519 identity keys (RFC 8032, pure Ed25519) of pods and modellers, and their fingerprints.

The key file is the one `smpc identity new` writes (`Agent/Identity/IdentityKeyFile.cs`): a JSON object

    {
      "privateKey": "<base64 of the 32-byte seed>",
      "publicKey": "<base64 of the 32-byte public key>",
      "fingerprint": "sha256:<64 lower-case hex digits of SHA-256(public key)>"
    }

owner-only (0600), written to a temporary file, fsynced and renamed into place, never overwriting an existing key. The
same file works for the .NET CLI and agent and for this SDK.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import pathlib
import re
from typing import Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import SmpcError
from ._durable import sync_directory

__all__ = [
    "IdentityKey",
    "IdentityFileError",
    "fingerprint",
    "is_fingerprint",
    "fingerprint_matches",
    "verify_signature",
    "KEY_SIZE",
    "SIGNATURE_SIZE",
]

KEY_SIZE = 32
SIGNATURE_SIZE = 64
_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")

PathLike = Union[str, os.PathLike]


class IdentityFileError(SmpcError):
    """An identity key file is missing, damaged, or its public key does not belong to its private key."""


def fingerprint(public_key: bytes) -> str:
    """The fingerprint peers pin: ``sha256:`` and the lower-case hex of SHA-256 of the 32-byte public key."""
    return "sha256:" + hashlib.sha256(bytes(public_key)).hexdigest()


def is_fingerprint(value: str) -> bool:
    """True for ``sha256:`` followed by exactly 64 lower-case hex digits."""
    return isinstance(value, str) and _FINGERPRINT.match(value) is not None


def fingerprint_matches(expected: str, public_key: bytes) -> bool:
    """Whether ``public_key`` has the fingerprint ``expected`` (trimmed, case-insensitive; fixed-time compare)."""
    actual = fingerprint(public_key).encode("ascii")
    wanted = expected.strip().lower().encode("utf-8")
    return hmac.compare_digest(actual, wanted)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Verifies a pure Ed25519 signature; False for any malformed key or signature, never an exception."""
    if len(public_key) != KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(signature), bytes(message))
        return True
    except (InvalidSignature, ValueError):
        return False


class IdentityKey:
    """A party's private Ed25519 identity: signs session statements (modellers) and key bundles (pods)."""

    __slots__ = ("_key", "_seed", "public_key")

    def __init__(self, seed: bytes) -> None:
        """Rebuilds an identity from its 32-byte private seed (RFC 8032)."""
        seed = bytes(seed)
        if len(seed) != KEY_SIZE:
            raise ValueError("an Ed25519 private key is 32 bytes")
        self._seed = seed
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key: bytes = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @classmethod
    def generate(cls) -> "IdentityKey":
        """A fresh identity from the operating system's random source."""
        return cls(os.urandom(KEY_SIZE))

    @property
    def fingerprint(self) -> str:
        """The public key's fingerprint (``sha256:<hex>``), for pinning by peers."""
        return fingerprint(self.public_key)

    @property
    def public_key_base64(self) -> str:
        """The public key as the registry takes it (``identityPublicKey``: base64 of 32 bytes)."""
        return base64.b64encode(self.public_key).decode("ascii")

    def private_seed(self) -> bytes:
        """The 32-byte private seed (for the key file; keep it secret)."""
        return self._seed

    def sign(self, data: bytes) -> bytes:
        """Signs ``data`` (pure Ed25519, no context); 64 bytes."""
        return self._key.sign(bytes(data))

    def sign_base64(self, data: bytes) -> str:
        """Signs ``data`` and returns the signature as it travels (base64 of its 64 bytes)."""
        return base64.b64encode(self.sign(data)).decode("ascii")

    def __repr__(self) -> str:  # never the seed
        return f"IdentityKey({self.fingerprint})"

    # ---- the key file ----

    @classmethod
    def load(cls, path: PathLike) -> "IdentityKey":
        """Loads an identity key file and checks that its public key belongs to its private key."""
        p = pathlib.Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise IdentityFileError(f"{p}: no such identity key file (create one with `smpc identity new` or IdentityKey.generate().save(path))") from None
        try:
            stored = json.loads(text)
        except json.JSONDecodeError as e:
            raise IdentityFileError(f"{p} is not an identity key file ({e})") from None
        if not isinstance(stored, dict):
            raise IdentityFileError(f"{p} is not an identity key file.")
        # System.Text.Json's web defaults read property names case-insensitively; so does this.
        fields = {str(k).lower(): v for k, v in stored.items()}
        private, public = fields.get("privatekey"), fields.get("publickey")
        if not isinstance(private, str) or not isinstance(public, str):
            raise IdentityFileError(f"{p} is not an identity key file (privateKey and publicKey are required).")
        try:
            seed = base64.b64decode(private, validate=True)
        except (binascii.Error, ValueError):
            raise IdentityFileError(f"{p}: privateKey is not base64.") from None
        try:
            key = cls(seed)
        except ValueError as e:
            raise IdentityFileError(f"{p}: {e}.") from None
        if key.public_key_base64 != public:
            raise IdentityFileError(f"{p}: the public key does not belong to the private key.")
        return key

    def save(self, path: PathLike) -> None:
        """
        Writes the key file like ``smpc identity new``: refuses to overwrite an existing file; owner-only (0600), written to
        a temporary file, fsynced and linked into place, then the directory is fsynced. A missing directory is created
        owner-only (0700); an existing one keeps its mode.
        """
        p = pathlib.Path(path)
        if p.exists():
            raise FileExistsError(f"{p} exists; refusing to overwrite an identity key.")
        directory = p.resolve().parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True)
        stored = {"privateKey": base64.b64encode(self._seed).decode("ascii"), "publicKey": self.public_key_base64, "fingerprint": self.fingerprint}
        data = json.dumps(stored, indent=2).encode("utf-8")
        temp = p.with_name(p.name + ".tmp")
        try:
            temp.unlink()
        except FileNotFoundError:
            pass
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.link(temp, p)  # fails if a key appeared meanwhile: never replaced
        finally:
            try:
                temp.unlink()
            except FileNotFoundError:
                pass
        sync_directory(directory)
