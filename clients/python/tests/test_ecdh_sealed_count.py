"""The pod-counted cardinality sealed to the count key (psi.md "Cardinality mode", step 6)."""

from __future__ import annotations

import json
import pathlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from smpc.psi import sealed_count

SECAGG = json.loads(
    (pathlib.Path(__file__).resolve().parents[3] / "docs" / "protocols" / "vectors" / "secagg.json").read_text("utf-8")
)


def test_sealed_box_reproduces_the_secagg_known_answer():
    v = {k: bytes.fromhex(x) for k, x in SECAGG["sealedBox"].items()}
    box = sealed_count._seal_box(v["recipientPublic"], v["plaintext"], v["associatedData"], v["ephemeralRandom"])
    assert box == v["box"]
    recipient = X25519PrivateKey.from_private_bytes(v["recipientPrivate"])
    assert sealed_count._open_box(recipient, v["box"], v["associatedData"]) == v["plaintext"]


@pytest.mark.parametrize("encoding", SECAGG["lowOrderPoints"])
def test_low_order_count_keys_are_refused(encoding):
    key = bytes.fromhex(encoding)
    assert sealed_count.is_low_order(key)
    with pytest.raises(sealed_count.SealedCountError) as err:
        sealed_count.seal(key, 5, "s-1")
    assert err.value.reason == "low-order-point"


def test_seal_and_open_a_released_count():
    key = sealed_count.generate_count_key()
    assert not sealed_count.is_low_order(key.public)
    box = sealed_count.seal(key.public, 1234, "psi-session-1")
    assert len(box) == sealed_count.SEALED_BYTES == 74
    assert sealed_count.open(key.private, "psi-session-1", box) == (False, 1234)
    assert sealed_count.open_count(key.private, "psi-session-1", box).value == 1234


def test_below_the_minimum_the_count_is_withheld_with_the_minimum_as_value_and_the_same_length():
    key = sealed_count.generate_count_key()
    withheld = sealed_count.seal(key.public, 3, "s", min_count=10)
    released = sealed_count.seal(key.public, 10, "s", min_count=10)
    assert len(withheld) == len(released) == 74
    assert sealed_count.open(key.private, "s", withheld) == sealed_count.SealedCount(True, 10)
    assert sealed_count.open(key.private, "s", released) == sealed_count.SealedCount(False, 10)


def test_the_plaintext_and_associated_data_are_as_the_doc_says():
    key = sealed_count.generate_count_key()
    ephemeral = bytes(range(32))
    box = sealed_count.seal(key.public, 0x0102030405, "sess-\u00e9", min_count=0, _ephemeral_random=ephemeral)
    # Recompute independently: E ‖ AES-256-GCM(HKDF(X25519(e, R), "smpc/seal/v1", E ‖ R), 0^96, pt, AD)
    e = X25519PrivateKey.from_private_bytes(ephemeral)
    e_pub = box[:32]
    shared = e.exchange(key.private.public_key())
    k = HKDF(hashes.SHA256(), 32, b"smpc/seal/v1", e_pub + key.public).derive(shared)
    plaintext = b"smpc/psi/count/v1" + b"\x00" + (0x0102030405).to_bytes(8, "big")
    ad = b"smpc/psi/count/v1" + "sess-\u00e9".encode("utf-8")
    assert box[32:] == AESGCM(k).encrypt(bytes(12), plaintext, ad)


def _raw_private(private: X25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())


def test_open_accepts_raw_private_key_bytes():
    key = sealed_count.generate_count_key()
    box = sealed_count.seal(key.public, 7, "s")
    assert sealed_count.open(_raw_private(key.private), "s", box) == (False, 7)


def test_another_session_another_key_or_a_flipped_bit_is_refused():
    key = sealed_count.generate_count_key()
    box = sealed_count.seal(key.public, 7, "s-1")
    with pytest.raises(sealed_count.SealedCountError) as err:
        sealed_count.open(key.private, "s-2", box)
    assert err.value.reason == "decryption-failed"
    with pytest.raises(sealed_count.SealedCountError):
        sealed_count.open(sealed_count.generate_count_key().private, "s-1", box)
    for i in (0, 40, 73):
        tampered = bytearray(box)
        tampered[i] ^= 1
        with pytest.raises(sealed_count.SealedCountError):
            sealed_count.open(key.private, "s-1", bytes(tampered))


def test_wrong_size_and_low_order_ephemeral_are_refused():
    key = sealed_count.generate_count_key()
    box = sealed_count.seal(key.public, 7, "s")
    with pytest.raises(sealed_count.SealedCountError) as err:
        sealed_count.open(key.private, "s", box[:-1])
    assert err.value.reason == "malformed"
    low = bytes.fromhex(SECAGG["lowOrderPoints"][4]) + box[32:]
    with pytest.raises(sealed_count.SealedCountError) as err:
        sealed_count.open(key.private, "s", low)
    assert err.value.reason == "low-order-point"


def test_a_box_with_another_plaintext_is_refused_as_malformed():
    key = sealed_count.generate_count_key()
    ad = b"smpc/psi/count/v1" + b"s"
    for plaintext in [b"smpc/psi/count/v2" + bytes(9),                       # other label
                      b"smpc/psi/count/v1" + b"\x02" + bytes(8),             # unknown status
                      b"smpc/psi/count/v1" + b"\x00" + b"\xff" * 8]:          # negative as BE64
        box = sealed_count._seal_box(key.public, plaintext, ad)
        with pytest.raises(sealed_count.SealedCountError) as err:
            sealed_count.open(key.private, "s", box)
        assert err.value.reason == "malformed"


@pytest.mark.parametrize("count", [-1, 2**63, True, 1.0])
def test_counts_outside_the_be64_range_are_refused(count):
    with pytest.raises(ValueError):
        sealed_count.seal(sealed_count.generate_count_key().public, count, "s")
