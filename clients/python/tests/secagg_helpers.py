"""Helpers for the secagg tests: an Ed25519 identity with the agreed interface, and the vector files."""

from __future__ import annotations

import hashlib
import json
import pathlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "docs" / "protocols" / "vectors"


def vectors(name: str) -> dict:
    """A committed known-answer file."""
    return json.loads((VECTORS / name).read_text())


class TestIdentity:
    """``public_key``, ``fingerprint``, ``sign`` and ``private_seed``, like ``smpc.identity.IdentityKey``."""

    __test__ = False

    def __init__(self, seed: bytes) -> None:
        self.private_seed = seed
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.fingerprint = "sha256:" + hashlib.sha256(self.public_key).hexdigest()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class DrawRandom:
    """A random source that returns prescribed bytes, in order (for known answers)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def __call__(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        if len(out) != n:
            raise AssertionError("known-answer randomness exhausted")
        self.pos += n
        return out
