"""RSA blind-signature PSI against docs/protocols/vectors/rsa-psi.json, plus the refusals of the key certification."""

import json
import pathlib

import pytest

from smpc.psi import rsa
from smpc.psi.errors import ProtocolViolation, RsaKeyRefused
from smpc.psi.rsa import RsaPrivateKey, RsaPsiClient, RsaPsiServer, RsaPublicKey, certify, h1, h2

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[3] / "docs/protocols/vectors/rsa-psi.json").read_text())
KEYS = {k["name"]: k for k in VECTORS["keys"]}
CERT = VECTORS["certification"]


def _int(h):
    return int(h, 16)


def _private(name):
    k = KEYS[name]
    return RsaPrivateKey(_int(k["n"]), 65537, _int(k["d"]), _int(k["p"]), _int(k["q"]))


def _framed(n_hex, e=b"\x01\x00\x01"):
    nb = bytes.fromhex(n_hex)
    return len(nb).to_bytes(2, "big") + nb + len(e).to_bytes(2, "big") + e


def test_constants_match_the_vector_file():
    assert (VECTORS["exponent"], VECTORS["rounds"], VECTORS["small_prime_bound"], VECTORS["max_attempts"]) == (
        rsa.E, rsa.ROUNDS, rsa.SMALL_PRIME_BOUND, rsa.MAX_ATTEMPTS)
    assert len(rsa.SMALL_ODD_PRIMES) == 6541 and rsa.SMALL_ODD_PRIMES[-1] == 65521


def test_crt_parameters_match():
    for name in ("kat-2048", "kat-3072"):
        key, k = _private(name), KEYS[name]
        half = len(k["p"]) // 2
        assert key.dp.to_bytes(half, "big").hex() == k["dp"]
        assert key.dq.to_bytes(half, "big").hex() == k["dq"]
        assert key.qinv.to_bytes(half, "big").hex() == k["qinv"]


def test_h1_signature_h2_known_answers():
    case_key = _private(VECTORS["h1_h2"]["key"])
    pub = case_key.public
    for case in VECTORS["h1_h2"]["cases"]:
        x = h1(pub, bytes.fromhex(case["record"]))
        assert x.to_bytes(pub.k, "big").hex() == case["h1"]
        s = case_key.raw_sign(x)
        assert s.to_bytes(pub.k, "big").hex() == case["signature"]
        assert s == pow(x, case_key.d, pub.n)  # textbook m^d mod n
        assert h2(s, pub.k).hex() == case["h2"]


def test_challenges_roots_and_proof_known_answers():
    key = _private(CERT["key"])
    got = rsa.challenges(key.public, CERT["tenant"], CERT["session_id"])
    for (j, rho), case in zip(got, CERT["challenges"]):
        assert case["attempt"] == j
        assert rho.to_bytes(key.public.k, "big").hex() == case["rho"]
        assert key.raw_sign(rho).to_bytes(key.public.k, "big").hex() == case["sigma"]
    proof = rsa.prove_key(key, CERT["tenant"], CERT["session_id"])
    assert proof.hex() == CERT["proof"]
    certified = certify(_framed(KEYS[CERT["key"]]["n"]), proof, CERT["tenant"], CERT["session_id"], 2048)
    assert certified.key.n == key.n


def _refusal(public, proof, tenant=CERT["tenant"], session=CERT["session_id"], bits=2048):
    with pytest.raises(RsaKeyRefused) as e:
        certify(public, proof, tenant, session, bits)
    return e.value.reason


def test_certification_refusals_are_named():
    n = KEYS["kat-2048"]["n"]
    proof = bytes.fromhex(CERT["proof"])
    good = _framed(n)
    assert _refusal(_framed(n, b"\x03"), proof) == "exponent-not-65537"
    assert _refusal(_framed(n, b"\x00\x01\x00\x01"), proof) == "exponent-not-65537"
    assert _refusal(good, proof, bits=3072) == "wrong-modulus-size"
    assert _refusal(_framed("00" + n), proof) == "wrong-modulus-size"
    even = (_int(n) - 1).to_bytes(256, "big").hex()
    assert _refusal(_framed(even), proof) == "even-modulus"
    small = (_int(n) // 65521 * 65521)
    if small % 2 == 0:
        small -= 65521
    assert _refusal(_framed(small.to_bytes(256, "big").hex()), proof) == "small-factor"
    assert _refusal(good, None) == "proof-missing"
    assert _refusal(good, b"") == "proof-missing"
    assert _refusal(good, proof[:-1]) == "proof-malformed"
    assert _refusal(good, b"\x02" + proof[1:]) == "proof-malformed"
    assert _refusal(good, proof[:2] + b"\xff" * 256 + proof[258:]) == "proof-malformed"
    tampered = bytearray(proof)
    tampered[-1] ^= 1
    assert _refusal(good, bytes(tampered)) == "proof-invalid"
    assert _refusal(good, proof, session="psi-kat-2") == "proof-invalid"   # another session
    assert _refusal(good, proof, tenant="t-other") == "proof-invalid"      # another tenant


def test_malicious_key_cannot_be_certified():
    bad = KEYS["malicious-2048"]
    p, q = _int(bad["p"]), _int(bad["q"])
    assert (p - 1) % 65537 == 0
    n = p * q
    # The pod's best effort: an "e-th root" by any exponent d it can compute (e is not invertible mod phi).
    lam = (p - 1) * (q - 1) // 65537
    d = pow(65537, -1, lam) if __import__("math").gcd(65537, lam) == 1 else 1
    proof = bytes([1, 8]) + b"".join(pow(rho, d, n).to_bytes(256, "big")
                                     for _, rho in rsa.challenges(RsaPublicKey(n), CERT["tenant"], CERT["session_id"]))
    assert _refusal(_framed(bad["n"]), proof) == "proof-invalid"


@pytest.mark.parametrize("cardinality", [False, True])
def test_blind_sign_unblind_round_trip(cardinality):
    key = _private("kat-2048")
    server = RsaPsiServer(key, cardinality=cardinality, max_query_size=10)
    pod_records = [b"alice", b"bob", b"carol", b"bob"]
    modeller = [b"dave", b"bob", b"alice", b"alice", b"erin"]
    tags = set(server.encode_set(pod_records))
    assert len(tags) == 3
    certified = certify(server.public_key_bytes(), server.prove("t", "s"), "t", "s", 2048)
    client = RsaPsiClient(certified, cardinality=cardinality)
    query = client.blind(modeller)
    reply = server.answer(query, len(modeller))
    if cardinality:
        assert reply == b"".join(sorted(reply[i:i + 256] for i in range(0, len(reply), 256)))
    mine = client.unblind(reply)
    assert [t in tags for t in mine] == [False, True, True, True, False]
    with pytest.raises(ProtocolViolation) as e:
        server.answer(query, len(modeller))
    assert e.value.code == "out-of-order"


def test_server_guards_the_query():
    key = _private("kat-2048")
    n = key.n
    def fresh():
        return RsaPsiServer(key, cardinality=False, max_query_size=2)
    v = (12345).to_bytes(256, "big")
    w = (67890).to_bytes(256, "big")
    with pytest.raises(ProtocolViolation) as e:
        fresh().answer(v + w + v, 3)
    assert e.value.code == "policy-refused"
    with pytest.raises(ProtocolViolation) as e:
        fresh().answer(v + v, 2)
    assert e.value.code == "duplicate"
    with pytest.raises(ProtocolViolation) as e:
        fresh().answer(v, 2)
    assert e.value.code == "malformed"
    for bad in (0, 1, n - 1, n):
        with pytest.raises(ProtocolViolation) as e:
            fresh().answer(bad.to_bytes(256, "big") + v, 2)
        assert e.value.code == "invalid-element"
    # a refused query does not use the session up
    s = fresh()
    with pytest.raises(ProtocolViolation):
        s.answer(v + v, 2)
    assert len(s.answer(v + w, 2)) == 512


def test_client_refuses_a_forged_reply():
    key = _private("kat-2048")
    server = RsaPsiServer(key, cardinality=False)
    client = RsaPsiClient(certify(server.public_key_bytes(), server.prove("t", "s"), "t", "s", 2048), cardinality=False)
    query = client.blind([b"x", b"y"])
    reply = bytearray(server.answer(query, 2))
    reply[10] ^= 1
    with pytest.raises(ProtocolViolation) as e:
        client.unblind(bytes(reply))
    assert e.value.code == "bad-signature"


def test_client_needs_a_certified_key():
    with pytest.raises(TypeError):
        RsaPsiClient(RsaPublicKey(_int(KEYS["kat-2048"]["n"])), cardinality=False)


def test_openssl_and_python_signers_agree_with_the_textbook_value():
    from smpc.psi import _openssl
    if not _openssl.available():
        pytest.skip("libcrypto.so.3 is not available")
    key = _private("kat-2048")
    assert key._signer() is not None  # the vectors above ran through OpenSSL
    python_only = RsaPrivateKey(key.n, key.e, key.d, key.p, key.q, use_openssl=False)
    values = [h1(key.public, bytes([i])) for i in range(20)] + [2, key.n - 2]
    assert key.sign_many(values) == [python_only.raw_sign(v) for v in values] == [pow(v, key.d, key.n) for v in values]
