"""The federated channel against the committed known answers (secagg.json "federated", signatures.json) and its refusals."""

import json
import pathlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from smpc.federated import channel as ch

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "docs" / "protocols" / "vectors"


def _load(name):
    return json.loads((VECTORS / name).read_text())


@pytest.fixture(scope="module")
def fed():
    return {k: (bytes.fromhex(v) if k not in ("tenant", "session", "pod", "releaseName") else v)
            for k, v in _load("secagg.json")["federated"].items()}


@pytest.fixture(scope="module")
def sig():
    return _load("signatures.json")


def _ed(seed_hex):
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, pub


def test_content_key_seal_is_the_known_answer_and_opens(fed):
    assert ch.context("smpc/content-key/v1", fed["tenant"], fed["session"], fed["pod"]) == fed["contentKeyAssociatedData"]
    box = ch.seal_content_key(fed["contentKey"], fed["memberPublic"], fed["tenant"], fed["session"], fed["pod"],
                              ephemeral_private=fed["ephemeralRandom"])
    assert box == fed["sealedContentKey"]
    assert ch.open_content_key(fed["memberPrivate"], box, fed["tenant"], fed["session"], fed["pod"]) == fed["contentKey"]
    with pytest.raises(ch.DecryptionFailedError):
        ch.open_content_key(fed["memberPrivate"], box, fed["tenant"], fed["session"], "pod-b")


def test_release_is_the_known_answer_and_is_bound_to_its_name(fed):
    assert ch.context("smpc/release/v1", fed["tenant"], fed["session"], fed["releaseName"]) == fed["releaseAssociatedData"]
    box = ch.seal_release(fed["contentKey"], fed["tenant"], fed["session"], fed["releaseName"], fed["releasePlaintext"],
                          nonce=fed["releaseNonceRandom"])
    assert box == fed["release"]
    assert ch.open_release(fed["contentKey"], fed["tenant"], fed["session"], fed["releaseName"], box) == fed["releasePlaintext"]
    with pytest.raises(ch.DecryptionFailedError):
        ch.open_release(fed["contentKey"], fed["tenant"], fed["session"], "round-4/global", box)
    tampered = bytearray(box)
    tampered[20] ^= 1
    with pytest.raises(ch.DecryptionFailedError):
        ch.open_release(fed["contentKey"], fed["tenant"], fed["session"], fed["releaseName"], bytes(tampered))


def test_signed_channel_payloads_are_the_known_answers(sig):
    key, pub = _ed(sig["seed"])
    assert pub.hex() == sig["publicKey"]
    cases = {c["kind"]: c for c in sig["cases"] if c["kind"] in ("content-key", "release")}
    c = cases["content-key"]
    box, member = bytes.fromhex(c["box"]), bytes.fromhex(c["memberPublicKey"])
    assert ch.content_key_statement(c["tenant"], c["session"], c["pod"], member, box).hex() == c["statement"]
    signed = ch.sign_content_key_seal(key.sign, c["tenant"], c["session"], c["pod"], member, box)
    assert signed.hex() == c["signed"] and len(signed) == ch.SIGNED_CONTENT_KEY_SIZE
    assert ch.verify_content_key_seal(pub, signed, c["tenant"], c["session"], c["pod"], member) == box
    r = cases["release"]
    rbox = bytes.fromhex(r["box"])
    assert ch.release_statement(r["tenant"], r["session"], r["releaseName"], rbox).hex() == r["statement"]
    rsigned = ch.sign_release(key.sign, r["tenant"], r["session"], r["releaseName"], rbox)
    assert rsigned.hex() == r["signed"]
    assert ch.verify_release(pub, rsigned, r["tenant"], r["session"], r["releaseName"]) == rbox


def test_pods_refuse_unsigned_foreign_and_rebound_payloads(sig):
    key, pub = _ed(sig["seed"])
    other, _ = _ed("11" * 32)
    c = next(c for c in sig["cases"] if c["kind"] == "content-key")
    box, member = bytes.fromhex(c["box"]), bytes.fromhex(c["memberPublicKey"])
    signed = ch.sign_content_key_seal(key.sign, c["tenant"], c["session"], c["pod"], member, box)
    with pytest.raises(ch.MalformedError):  # the old unsigned format: a bare box
        ch.verify_content_key_seal(pub, box, c["tenant"], c["session"], c["pod"], member)
    with pytest.raises(ch.MalformedError):  # another version byte
        ch.verify_content_key_seal(pub, b"\x02" + signed[1:], c["tenant"], c["session"], c["pod"], member)
    with pytest.raises(ch.MalformedError):  # a cut signature
        ch.verify_content_key_seal(pub, signed[:-1], c["tenant"], c["session"], c["pod"], member)
    forged = ch.sign_content_key_seal(other.sign, c["tenant"], c["session"], c["pod"], member, box)
    with pytest.raises(ch.BadSignatureError):  # signed by another key (a service sealing its own content key)
        ch.verify_content_key_seal(pub, forged, c["tenant"], c["session"], c["pod"], member)
    with pytest.raises(ch.BadSignatureError):  # for another pod
        ch.verify_content_key_seal(pub, signed, c["tenant"], c["session"], "p3", member)
    with pytest.raises(ch.BadSignatureError):  # for another member key
        ch.verify_content_key_seal(pub, signed, c["tenant"], c["session"], c["pod"], bytes(32))
    rsigned = ch.sign_release(key.sign, "acme", "q", "counts", b"x" * 40)
    with pytest.raises(ch.BadSignatureError):  # a release replayed under another name
        ch.verify_release(pub, rsigned, "acme", "q", "round-1")
    with pytest.raises(ch.BadSignatureError):  # for another session
        ch.verify_release(pub, rsigned, "acme", "q2", "counts")


def test_member_keys_are_checked_against_the_pin():
    key, pub = _ed("22" * 32)
    member = bytes(range(1, 33))
    sig = ch.sign_member_key(key.sign, "acme", "s", "p1", member)
    ch.verify_member_key(ch.fingerprint(pub), pub, "acme", "s", "p1", member, sig)
    with pytest.raises(ch.IdentityMismatchError):
        ch.verify_member_key("sha256:" + "00" * 32, pub, "acme", "s", "p1", member, sig)
    with pytest.raises(ch.BadSignatureError):
        ch.verify_member_key(ch.fingerprint(pub), pub, "acme", "s", "p2", member, sig)


def test_sealing_to_a_low_order_member_key_is_refused():
    with pytest.raises(ch.LowOrderPointError):
        ch.seal_content_key(bytes(32), bytes(32), "acme", "s", "p1")
