"""Known answers of docs/protocols/vectors/secagg.json and party-state.json, every case."""

from __future__ import annotations


import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from smpc.crypto import pairwise_box, prg, sealed_box, shamir, x25519
from smpc.crypto.encoding import text
from smpc.crypto.errors import (BadSignature, IdentityMismatch, InconsistentShares, LowOrderPoint, Malformed,
                                SenderNotAuthenticated, UnknownParty)
from smpc.crypto.fixedpoint import FieldSpec, VectorLayout
from smpc.secagg.messages import (KeyBundle, ShareEnvelope, UnmaskRequest, UnmaskResponse, encode_share_pair,
                                  envelope_key, open_unmask_response, pair_seed, share_associated_data,
                                  unmask_associated_data, unmask_body, unmask_signed_bytes)
from smpc.secagg.params import SessionParameters
from smpc.secagg.party import Party, Step, state_mac_key

from secagg_helpers import DrawRandom, TestIdentity, vectors

V = vectors("secagg.json")
PS = vectors("party-state.json")
H = bytes.fromhex


def params_of(d: dict) -> SessionParameters:
    fields = VectorLayout(FieldSpec(f["name"], f["length"], f["precision"], f["min"], f["max"]) for f in d["fields"])
    return SessionParameters(d.get("session") or d["sessionId"], d["n"], fields,
                             H(d.get("modellerPublic") or d["modellerPublicKey"]), d["t"], d["q"], d["round"],
                             d.get("chunk") or d["chunkElements"])


P = params_of(V["parameters"])


def test_canonical_parameters_and_digest():
    assert P.canonical_bytes().hex() == V["parameters"]["canonical"]
    assert P.digest().hex() == V["parameters"]["digest"]
    assert x25519.public_key(H(V["parameters"]["modellerPrivate"])).hex() == V["parameters"]["modellerPublic"]


def test_minus_zero_is_written_as_plus_zero():
    # The first field's min is −0.0: its bits must be all zero in the encoding.
    assert bytes(8) + bytes.fromhex("4004000000000000") in P.canonical_bytes()


@pytest.mark.parametrize("point", V["lowOrderPoints"])
def test_every_low_order_point_is_refused(point):
    assert x25519.is_low_order(H(point))
    with pytest.raises(LowOrderPoint):
        x25519.check_peer_key(H(point))
    with pytest.raises(LowOrderPoint):
        x25519.exchange(x25519.clamp(bytes(range(32))), H(point))
    with pytest.raises(LowOrderPoint):
        sealed_box.seal(H(point), b"x", b"")


def test_ordinary_key_is_not_low_order():
    assert not x25519.is_low_order(H(V["parameters"]["modellerPublic"]))


def test_sealed_box_known_answer_and_refusals():
    b = V["sealedBox"]
    box = sealed_box.seal(H(b["recipientPublic"]), H(b["plaintext"]), H(b["associatedData"]), DrawRandom(H(b["ephemeralRandom"])))
    assert box.hex() == b["box"]
    assert sealed_box.open_box(H(b["recipientPrivate"]), box, H(b["associatedData"])).hex() == b["plaintext"]
    eph = x25519.clamp(H(b["ephemeralRandom"]))
    z = x25519.exchange(eph, H(b["recipientPublic"]))
    assert sealed_box.seal_key(z, box[:32], H(b["recipientPublic"])).hex() == b["key"]
    with pytest.raises(Exception) as e:
        sealed_box.open_box(H(b["recipientPrivate"]), box, b"other ad")
    assert e.type.__name__ == "DecryptionFailed"
    with pytest.raises(LowOrderPoint):
        sealed_box.open_box(H(b["recipientPrivate"]), H(V["lowOrderPoints"][3]) + box[32:], H(b["associatedData"]))


def test_shamir_known_answer_and_any_t_of_n():
    s = V["shamir"]
    shares = shamir.split(H(s["secret"]), s["threshold"], s["holders"], DrawRandom(H(s["coefficients"])))
    assert [x.hex() for x in shares] == [e["value"] for e in s["shares"]]
    import itertools
    by_x = {e["x"]: H(e["value"]) for e in s["shares"]}
    for k in range(s["threshold"], len(by_x) + 1):
        for subset in itertools.combinations(sorted(by_x), k):
            assert shamir.combine({x: by_x[x] for x in subset}, s["threshold"]).hex() == s["secret"]
    with pytest.raises(Exception) as e:
        shamir.combine({x: by_x[x] for x in list(by_x)[:2]}, s["threshold"])
    assert e.type.__name__ == "InsufficientParties"
    bad = dict(by_x)
    bad[5] = bytes([by_x[5][0] ^ 1]) + by_x[5][1:]
    with pytest.raises(InconsistentShares):
        shamir.combine(bad, s["threshold"])


def test_share_envelope_known_answer():
    e = V["shareEnvelope"]
    assert x25519.public_key(H(e["sealPrivateFrom"])).hex() == e["sealPublicFrom"]
    plain = encode_share_pair(e["from"], e["to"], H(e["selfMaskShare"]), H(e["maskKeyShare"]))
    assert plain.hex() == e["plaintext"]
    ad = share_associated_data(P, e["from"], e["to"])
    assert ad.hex() == e["associatedData"]
    key = envelope_key(P, H(e["sealPrivateFrom"]), e["from"], e["to"], H(e["sealPublicFrom"]), H(e["sealPublicTo"]), True)
    assert key.hex() == e["key"]
    key_r = envelope_key(P, H(e["sealPrivateTo"]), e["from"], e["to"], H(e["sealPublicFrom"]), H(e["sealPublicTo"]), False)
    assert key_r == key
    box = pairwise_box.seal(key, plain, ad, DrawRandom(H(e["nonceRandom"])))
    assert box.hex() == e["box"]
    msg = ShareEnvelope(P.session_id, e["from"], e["to"], box)
    assert msg.to_bytes().hex() == e["message"]
    assert ShareEnvelope.parse(H(e["message"])) == msg
    assert pairwise_box.open_box(key_r, box, ad, e["from"], e["to"]) == plain
    # relabelled to another sender: does not open
    with pytest.raises(SenderNotAuthenticated):
        pairwise_box.open_box(key_r, box, share_associated_data(P, 3, e["to"]), 3, e["to"])
    with pytest.raises(Malformed):
        ShareEnvelope.parse(H(e["message"]) + b"\x00")
    with pytest.raises(Malformed):
        ShareEnvelope.parse(H(e["message"])[:-1])


def test_unmask_response_known_answer():
    u = V["unmask"]
    req = UnmaskRequest(P.session_id, tuple(u["shareSenders"]), tuple(u["survivors"]))
    assert req.to_bytes().hex() == u["request"]
    assert UnmaskRequest.parse(H(u["request"])) == req
    assert req.digest().hex() == u["requestDigest"]
    ident = TestIdentity(H(u["identitySeed"]))
    assert ident.public_key.hex() == u["identityPublic"]
    entries = [(x["owner"], x["kind"], H(x["share"])) for x in u["entries"]]
    body = unmask_body(u["party"], entries)
    assert body.hex() == u["body"]
    signed = unmask_signed_bytes(P, req, body)
    assert signed.hex() == u["signedBytes"]
    sig = ident.sign(signed)
    assert sig.hex() == u["signature"]
    assert (body + sig).hex() == u["plaintext"]
    ad = unmask_associated_data(P, u["party"], req)
    assert ad.hex() == u["associatedData"]
    box = sealed_box.seal(P.modeller_public_key, body + sig, ad, DrawRandom(H(u["ephemeralRandom"])))
    assert box.hex() == u["box"]
    resp = UnmaskResponse(P.session_id, u["party"], box)
    assert resp.to_bytes().hex() == u["message"]
    assert UnmaskResponse.parse(H(u["message"])) == resp
    modeller = H(V["parameters"]["modellerPrivate"])
    assert open_unmask_response(P, modeller, req, resp, ident.public_key) == entries
    other = TestIdentity(bytes(32))
    with pytest.raises(SenderNotAuthenticated):
        open_unmask_response(P, modeller, req, resp, other.public_key)
    other_req = UnmaskRequest(P.session_id, (1, 2, 3, 4), (1, 2, 3))
    with pytest.raises(SenderNotAuthenticated):
        open_unmask_response(P, modeller, other_req, resp, ident.public_key)


def test_unmask_request_refuses_unordered_lists():
    bad = UnmaskRequest(P.session_id, (2, 1), (1,)).to_bytes()
    with pytest.raises(Malformed):
        UnmaskRequest.parse(bad)


def test_pair_seed_known_answer_is_symmetric():
    s = V["pairSeed"]
    lo_pub, hi_pub = x25519.public_key(H(s["maskPrivateLo"])), x25519.public_key(H(s["maskPrivateHi"]))
    a = pair_seed(P, H(s["maskPrivateLo"]), s["lo"], s["hi"], lo_pub, hi_pub)
    b = pair_seed(P, H(s["maskPrivateHi"]), s["hi"], s["lo"], hi_pub, lo_pub)
    assert a.hex() == s["seed"] == b.hex()


@pytest.mark.parametrize("stream", V["maskPrg"]["streams"], ids=lambda s: f"q={s['q']}")
def test_mask_prg_streams_and_any_slice(stream):
    m = V["maskPrg"]
    seed, ctx, q, want = H(m["seed"]), H(m["context"]), stream["q"], stream["elements"]
    got = prg.mask_prg(seed, ctx, q, len(want))
    assert got.dtype == np.uint64 and got.tolist() == want
    for off in (1, 2, 3, 7, len(want) - 1):
        assert prg.mask_prg(seed, ctx, q, len(want) - off, off).tolist() == want[off:]
    assert ctx == prg.self_mask_context("kat", 7, 3)


def test_mask_prg_rejection_path_is_exercised_for_small_q():
    # With q = 1009 and m = 1023 about 1.4% of words are rejected: the vector's stream crosses that path.
    m = V["maskPrg"]
    words = prg.MaskPrg(H(m["seed"]), H(m["context"]), 1009)
    assert words.mask == 1023


def test_federated_sealed_content_key_and_release():
    f = V["federated"]
    assert x25519.public_key(H(f["memberPrivate"])).hex() == f["memberPublic"]
    ad = b"smpc/content-key/v1" + text(f["tenant"]) + text(f["session"]) + text(f["pod"])
    assert ad.hex() == f["contentKeyAssociatedData"]
    box = sealed_box.seal(H(f["memberPublic"]), H(f["contentKey"]), ad, DrawRandom(H(f["ephemeralRandom"])))
    assert box.hex() == f["sealedContentKey"]
    assert sealed_box.open_box(H(f["memberPrivate"]), box, ad).hex() == f["contentKey"]
    rad = b"smpc/release/v1" + text(f["tenant"]) + text(f["session"]) + text(f["releaseName"])
    assert rad.hex() == f["releaseAssociatedData"]
    nonce = H(f["releaseNonceRandom"])
    assert (nonce + AESGCM(H(f["contentKey"])).encrypt(nonce, H(f["releasePlaintext"]), rad)).hex() == f["release"]


# --- party-state.json -------------------------------------------------------------------------------------------------

PSP = params_of(PS["parameters"])


@pytest.mark.parametrize("case", PS["cases"], ids=lambda c: c["name"])
def test_party_state_export_and_import(case):
    ident = TestIdentity(H(case["identitySeed"]))
    assert PSP.digest().hex() == case["parameterDigest"]
    assert state_mac_key(PSP, case["party"], ident.private_seed).hex() == case["macKey"]
    pins = {case["party"]: ident.fingerprint}
    party = Party(PSP, case["party"], ident, pins, DrawRandom(H(case["randomness"])))
    if case["step"] == "KeysPublished":
        assert party.create_key_bundle().to_bytes().hex() == case["keyBundle"]
    assert party.export_state().hex() == case["state"]
    again = Party.import_state(PSP, case["party"], ident, pins, H(case["state"]))
    assert again.state == Step[{"Created": "CREATED", "KeysPublished": "KEYS_PUBLISHED"}[case["step"]]]
    assert again.export_state().hex() == case["state"]
    if case["step"] == "KeysPublished":
        assert again.create_key_bundle().to_bytes().hex() == case["keyBundle"]
        assert KeyBundle.parse(H(case["keyBundle"])).verify_signature(PSP)


def test_party_state_refusals_in_order():
    case = PS["cases"][1]
    ident = TestIdentity(H(case["identitySeed"]))
    pins = {case["party"]: ident.fingerprint}
    state = H(case["state"])
    with pytest.raises(Malformed):
        Party.import_state(PSP, 2, ident, pins, state[:20])
    with pytest.raises(Malformed):  # another session's parameters
        Party.import_state(P, 2, ident, pins, state)
    with pytest.raises(UnknownParty):
        Party.import_state(PSP, 3, ident, pins, state)
    with pytest.raises(IdentityMismatch):
        Party.import_state(PSP, 2, TestIdentity(bytes(32)), pins, state)
    for pos in (len(state) // 2, len(state) - 1):
        tampered = bytearray(state)
        tampered[pos] ^= 1
        with pytest.raises(Malformed):
            Party.import_state(PSP, 2, ident, pins, bytes(tampered))
    v1 = bytearray(state)
    v1[len(b"smpc/secagg/party-state")] = 1
    with pytest.raises(Malformed, match="delete the file"):
        Party.import_state(PSP, 2, ident, pins, bytes(v1))


def test_bundle_under_other_parameters_is_bad_signature_and_unpinned_is_identity_mismatch():
    case = PS["cases"][1]
    ident = TestIdentity(H(case["identitySeed"]))
    bundle = KeyBundle.parse(H(case["keyBundle"]))
    other_round = SessionParameters(PSP.session_id, PSP.n, PSP.layout, PSP.modeller_public_key, PSP.t, PSP.q, PSP.round + 1)
    from smpc.secagg.messages import validate_bundles
    with pytest.raises(IdentityMismatch):
        validate_bundles(PSP, [bundle], {})
    with pytest.raises(BadSignature):
        validate_bundles(other_round, [bundle], {2: ident.fingerprint})
