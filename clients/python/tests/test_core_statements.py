"""The statements a modeller signs, checked against every case of docs/protocols/vectors/signatures.json."""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import struct

import pytest

from smpc import statements as st
from smpc.identity import IdentityKey, fingerprint, verify_signature

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "docs" / "protocols" / "vectors" / "signatures.json"
DATA = json.loads(VECTORS.read_text())
CASES = DATA["cases"]


def _take_lp(buf: bytes, at: int) -> tuple[bytes, int]:
    (n,) = struct.unpack_from(">I", buf, at)
    return buf[at + 4: at + 4 + n], at + 4 + n


def _canonical_p(statement: bytes) -> bytes:
    """P as the vector's statement holds it: the first lp inside the last field, lp(parameters)."""
    at = 0
    for _ in range(4):  # label, tenant, id, kind
        _, at = _take_lp(statement, at)
    if statement[at] == 1:
        _, at = _take_lp(statement, at + 1)
    else:
        at += 1
    _, at = _take_lp(statement, at)  # modeller
    (pods,) = struct.unpack_from(">i", statement, at)
    at += 4
    for _ in range(pods):
        _, at = _take_lp(statement, at)
    parameters, at = _take_lp(statement, at)
    assert at == len(statement)
    p, _ = _take_lp(parameters, 0)
    return p


def _statement(case: dict) -> bytes:
    kind = case["kind"]
    if kind == "session":
        request = case["request"]
        p = _canonical_p(bytes.fromhex(case["statement"])) if request["kind"] == "secure-aggregation" else None
        return st.request_statement(case["tenant"], request, canonical_p=p)
    if kind == "cancel":
        return st.cancel_statement(case["tenant"], case["session"], case["reason"])
    if kind == "content-key":
        return st.content_key_statement(case["tenant"], case["session"], case["pod"], bytes.fromhex(case["memberPublicKey"]), bytes.fromhex(case["box"]))
    if kind == "release":
        return st.release_statement(case["tenant"], case["session"], case["releaseName"], bytes.fromhex(case["box"]))
    raise AssertionError(kind)


def test_vectors_cover_every_statement_kind():
    kinds = {c["kind"] for c in CASES} | {c["request"]["kind"] for c in CASES if c["kind"] == "session"}
    assert kinds >= {"session", "cancel", "content-key", "release", "secure-aggregation", "psi", "query", "training"}
    assert len(CASES) == 14


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_statement_matches_the_vector(case):
    assert _statement(case).hex() == case["statement"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_signature_by_the_test_identity_matches_and_verifies(case):
    key = IdentityKey(bytes.fromhex(DATA["seed"]))
    assert key.public_key.hex() == DATA["publicKey"]
    statement = bytes.fromhex(case["statement"])
    assert key.sign(statement).hex() == case["signature"]  # Ed25519 is deterministic
    assert verify_signature(key.public_key, statement, bytes.fromhex(case["signature"]))
    assert not verify_signature(key.public_key, statement + b"\0", bytes.fromhex(case["signature"]))


def test_the_test_seed_is_the_documented_one():
    assert DATA["seed"] == hashlib.sha256(b"smpc/test-vectors/modeller-identity").hexdigest()
    assert fingerprint(bytes.fromhex(DATA["publicKey"])).startswith("sha256:")


def test_signed_federated_payloads_are_version_signature_box():
    for case in (c for c in CASES if c["kind"] in ("content-key", "release")):
        assert case["signed"] == "01" + case["box"] + case["signature"]


def _served(case: dict) -> dict:
    """The vector's request as a service would serve it (a SessionResponse dict)."""
    r = case["request"]
    served = {"tenant": case["tenant"], "id": r["id"], "modellerId": r["modellerId"], "kind": r["kind"], "podIds": r["podIds"], "parent": r.get("parent")}
    if r["kind"] == "psi":
        served["psi"] = dict(r["psi"])
    elif r["kind"] == "query":
        served["federated"] = {"query": r["query"]}
    elif r["kind"] == "training":
        served["federated"] = {"training": r["training"]}
    return served


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "session" and c["request"]["kind"] != "secure-aggregation"],
                         ids=lambda c: c["name"])
def test_served_statement_of_psi_and_federated_sessions_matches_the_vector(case):
    assert st.served_statement(_served(case)).hex() == case["statement"]


def test_any_change_of_a_signed_field_changes_the_statement():
    case = next(c for c in CASES if c["name"] == "psi ecdh intersection")
    base = st.served_statement(_served(case))
    for change in (lambda s: s.update(podIds=["other"]), lambda s: s["psi"].update(modellerSetSize=5001),
                   lambda s: s["psi"].update(countKey=base64.b64encode(b"k" * 32).decode()), lambda s: s.update(parent="x"),
                   lambda s: s["psi"].update(mode="cardinality"), lambda s: s.update(modellerId="m2")):
        served = json.loads(json.dumps(_served(case)))
        change(served)
        assert st.served_statement(served) != base


def test_pod_order_is_signed():
    a = st.session_statement("t", "s", "psi", None, "m", ["a", "b"], b"")
    b = st.session_statement("t", "s", "psi", None, "m", ["b", "a"], b"")
    assert a != b


def test_defaults_are_written_as_their_effective_values():
    psi = {"mode": "intersection", "modellerColumns": [], "podColumns": [], "source": "s", "modellerSetSize": 1, "protocol": "rsa-blind"}
    assert st.psi_parameters(psi) == st.psi_parameters(dict(psi, keyBits=3072, timeoutSeconds=3600))
    assert st.psi_parameters(psi) == st.psi_parameters(dict(psi, keyBits=0))
    assert st.psi_parameters(dict(psi, protocol="ecdh")) == st.psi_parameters(dict(psi, protocol="ecdh", keyBits=None))
    training = {"trainer": "linear", "source": "s", "features": ["a"], "label": "y"}
    assert st.training_parameters(training) == st.training_parameters(dict(training, rounds=20, learningRate=0.1, localEpochs=5, batchSize=0,
                                                                          tolerance=1e-4, roundTimeoutSeconds=300, parameterBound=100,
                                                                          featureBound=1000, maxSamplesPerPod=1_000_000))


def test_minus_zero_is_written_as_plus_zero_and_numbers_may_be_strings():
    assert st.dbl(-0.0) == st.dbl(0.0) == bytes(8)
    assert st.i64("12") == st.i64(12)
    assert st.dbl("1.5") == st.dbl(1.5)


@pytest.mark.parametrize("bad", [{"kind": "psi", "id": "s", "modellerId": "m", "podIds": ["p"]},
                                 {"kind": "nope", "id": "s", "modellerId": "m", "podIds": ["p"]},
                                 {"kind": "psi", "id": "s", "modellerId": "m", "podIds": ["p"],
                                  "psi": {"mode": "intersection", "modellerColumns": [], "podColumns": [], "source": "s", "modellerSetSize": 1, "countKey": "%%"}}])
def test_a_request_that_is_no_statement_is_refused_by_name(bad):
    with pytest.raises(st.StatementError):
        st.request_statement("t", bad)


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "session" and c["request"]["kind"] == "secure-aggregation"],
                         ids=lambda c: c["name"])
def test_secure_aggregation_statements_with_p_computed_by_smpc_secagg(case):
    pytest.importorskip("smpc.secagg.params")  # P is helper secagg's (smpc.secagg.params.canonical_parameters)
    assert st.request_statement(case["tenant"], case["request"]).hex() == case["statement"]
    r = case["request"]
    a = dict(r["aggregation"])
    served = {"tenant": case["tenant"], "id": r["id"], "modellerId": r["modellerId"], "kind": r["kind"], "podIds": r["podIds"],
              "parent": r.get("parent"), "aggregation": dict(a, protocolSessionId=f"{case['tenant']}/{r['id']}",
                                                              threshold=a.get("threshold") or (2 * len(r["podIds"]) + 2) // 3)}
    assert st.served_statement(served).hex() == case["statement"]
    served["aggregation"]["protocolSessionId"] = "other/" + r["id"]
    assert st.served_statement(served).hex() != case["statement"]
