"""RFC 9497 OPRF (ristretto255-SHA512) known answers: docs/protocols/vectors/ecdh-oprf.json and the RFC's own text."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re

import pytest

from smpc.crypto import ristretto
from smpc.psi import oprf

VECTORS = json.loads(
    (pathlib.Path(__file__).resolve().parents[3] / "docs" / "protocols" / "vectors" / "ecdh-oprf.json").read_text("utf-8")
)

# RFC 9497, Appendix A.1.1 (ristretto255-SHA512), typed in as the RFC prints it (hex wrapped at 68 columns; batched
# values separated by commas). OPRF Mode is this protocol; VOPRF Mode shares BlindEvaluate (k·B) and Finalize, and
# its Blind differs only in the mode byte of the context string, so its vectors (one with batch size 2) exercise the
# batched calls too.
RFC9497_RISTRETTO255_SHA512 = """
### OPRF Mode

Seed = a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a
3a3
KeyInfo = 74657374206b6579
skSm = 5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063
b0e

#### Test Vector 1, Batch Size 1

Input = 00
Blind = 64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f
6706
BlindedElement = 609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa
2dc99e412803c
EvaluationElement = 7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2
d8cc917ea0869c7e
Output = 527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb770826
4e2f3ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf
6

#### Test Vector 2, Batch Size 1

Input = 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
Blind = 64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f
6706
BlindedElement = da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff0
43f76b3c06418
EvaluationElement = b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e
17cecb5c90d02c25
Output = f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e7
50cb4f2a6413a6bf6fa5e19ba6348eb673934a722a7ede2e7621306d18951e7cf2c7
3

### VOPRF Mode

Seed = a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a
3a3
KeyInfo = 74657374206b6579
skSm = e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd
909
pkSm = c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476a
d4e

#### Test Vector 1, Batch Size 1

Input = 00
Blind = 64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f
6706
BlindedElement = 863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b
642ddc439b945
EvaluationElement = aa8fa048764d5623868679402ff6108d2521884fa138cd7f
9c7669a9a014267e
Output = b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402d
a1a7da4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3
c

#### Test Vector 2, Batch Size 1

Input = 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
Blind = 64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f
6706
BlindedElement = cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f9
1443c2bf9ef0c
EvaluationElement = 60a59a57208d48aca71e9e850d22674b611f752bed48b36f
7a91b372bd7ad468
Output = 8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a
6df60356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b
6

#### Test Vector 3, Batch Size 2

Input = 00,5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
Blind = 64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f
6706,222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0
e
BlindedElement = 863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b
642ddc439b945,90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbba
dac751e654
EvaluationElement = aa8fa048764d5623868679402ff6108d2521884fa138cd7f
9c7669a9a014267e,cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db
920b7eee36a2a
Output = b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402d
a1a7da4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3
c,8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df6035
6f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6
"""


def _parse_rfc(text: str) -> dict[str, dict]:
    """{mode: {"key": {...}, "vectors": [{field: [bytes, ...]}]}} from the RFC's wrapped hex blocks."""
    modes: dict[str, dict] = {}
    current: dict | None = None
    target: dict | None = None
    field = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^### (\w+) Mode$", line)
        if m:
            current = {"key": {}, "vectors": []}
            modes[m.group(1)] = current
            target, field = current["key"], None
            continue
        if line.startswith("#### Test Vector"):
            target = {}
            current["vectors"].append(target)
            field = None
            continue
        m = re.match(r"^(\w+) = (.*)$", line)
        if m:
            field = m.group(1)
            target[field] = m.group(2)
        else:  # continuation of a wrapped value
            target[field] += line
    for mode in modes.values():
        for vector in mode["vectors"]:
            for k, v in vector.items():
                vector[k] = [bytes.fromhex(x) for x in v.split(",")]
        mode["key"] = {k: bytes.fromhex(v) for k, v in mode["key"].items()}
    return modes


RFC = _parse_rfc(RFC9497_RISTRETTO255_SHA512)


def test_rfc_text_parses_to_the_expected_vectors():
    assert len(RFC["OPRF"]["vectors"]) == 2 and len(RFC["VOPRF"]["vectors"]) == 3
    assert all(len(x) == 64 for v in RFC["OPRF"]["vectors"] for x in v["Output"])
    assert [len(v["Input"]) for v in RFC["VOPRF"]["vectors"]] == [1, 1, 2]


# --- expand_message_xmd and the DSTs ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", VECTORS["xmd"]["cases"], ids=lambda c: f"{c['msg'][:8] or 'empty'}-{c['lenInBytes']}")
def test_expand_message_xmd_matches_rfc9380_k3(case):
    dst = VECTORS["xmd"]["dst"].encode()
    got = oprf.expand_message_xmd(case["msg"].encode(), dst, case["lenInBytes"])
    assert got.hex() == case["uniformBytes"]


def test_fast_64_byte_expander_equals_the_general_one():
    xmd = oprf._Xmd64(b"QUUX-V01-CS02-with-expander-SHA512-256")
    for msg in [b"", b"abc", os.urandom(1000)]:
        assert xmd(msg) == oprf.expand_message_xmd(msg, b"QUUX-V01-CS02-with-expander-SHA512-256", 64)
        assert xmd.many([msg, msg]) == xmd(msg) * 2


def test_context_string_and_dsts_match_the_doc():
    assert oprf.CONTEXT_STRING.hex() == "4f50524656312d002d72697374726574746f3235352d534841353132"
    dsts = VECTORS["oprf"]["dsts"]
    assert oprf.HASH_TO_GROUP_DST.hex() == dsts["hashToGroup"]
    assert oprf.HASH_TO_SCALAR_DST.hex() == dsts["hashToScalar"]
    assert oprf.DERIVE_KEY_PAIR_DST.hex() == dsts["deriveKeyPair"]
    assert oprf.VERSION == "ecdh-oprf-v1"


# --- the repository's vectors (ecdh-oprf.json) ---------------------------------------------------------------------

def test_repository_vectors_derive_key_pair():
    o = VECTORS["oprf"]
    sk, _ = oprf.derive_key_pair(bytes.fromhex(o["seed"]), bytes.fromhex(o["keyInfo"]))
    assert sk.hex() == o["skSm"]


@pytest.mark.parametrize("vector", VECTORS["oprf"]["vectors"], ids=lambda v: v["input"][:8])
def test_repository_vectors_blind_evaluate_finalize(vector):
    sk = bytes.fromhex(VECTORS["oprf"]["skSm"])
    x = bytes.fromhex(vector["input"])
    r = bytes.fromhex(vector["blind"])
    blinds, blinded = oprf.blind([x], blinds=[r])
    assert blinds == [r]
    assert blinded[0].hex() == vector["blindedElement"]
    evaluated = oprf.blind_evaluate(sk, blinded)
    assert evaluated[0].hex() == vector["evaluationElement"]
    assert oprf.finalize([x], [r], evaluated)[0].hex() == vector["output"]
    assert oprf.evaluate(sk, [x])[0].hex() == vector["output"]


def test_repository_vectors_as_one_batch():
    o = VECTORS["oprf"]
    sk = bytes.fromhex(o["skSm"])
    xs = [bytes.fromhex(v["input"]) for v in o["vectors"]]
    rs = [bytes.fromhex(v["blind"]) for v in o["vectors"]]
    _, blinded = oprf.blind(xs, blinds=rs)
    evaluated = oprf.blind_evaluate(sk, blinded)
    assert [e.hex() for e in evaluated] == [v["evaluationElement"] for v in o["vectors"]]
    assert [y.hex() for y in oprf.finalize(xs, rs, evaluated)] == [v["output"] for v in o["vectors"]]


# --- RFC 9497 text ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode_name,mode", [("OPRF", 0x00), ("VOPRF", 0x01)])
def test_rfc9497_derive_key_pair(mode_name, mode):
    key = RFC[mode_name]["key"]
    sk, pk = oprf.derive_key_pair(key["Seed"], key["KeyInfo"], mode=mode)
    assert sk == key["skSm"]
    if "pkSm" in key:
        assert pk == key["pkSm"]


@pytest.mark.parametrize("index", range(2))
def test_rfc9497_oprf_mode(index):
    vector = RFC["OPRF"]["vectors"][index]
    sk = RFC["OPRF"]["key"]["skSm"]
    blinds, blinded = oprf.blind(vector["Input"], blinds=vector["Blind"])
    assert blinded == vector["BlindedElement"]
    evaluated = oprf.blind_evaluate(sk, blinded)
    assert evaluated == vector["EvaluationElement"]
    assert oprf.finalize(vector["Input"], blinds, evaluated) == vector["Output"]
    assert oprf.evaluate(sk, vector["Input"]) == vector["Output"]


@pytest.mark.parametrize("index", range(3))
def test_rfc9497_voprf_mode_shares_blind_evaluate_and_finalize(index):
    vector = RFC["VOPRF"]["vectors"][index]
    sk = RFC["VOPRF"]["key"]["skSm"]
    # Blind under the VOPRF context string (mode 0x01): the same construction with another DST.
    xmd = oprf._Xmd64(b"HashToGroup-" + oprf.context_string(0x01))
    _, blinded = oprf._blind(vector["Input"], vector["Blind"], xmd, None)
    assert blinded == vector["BlindedElement"]
    assert oprf.blind_evaluate(sk, vector["BlindedElement"]) == vector["EvaluationElement"]
    assert oprf.finalize(vector["Input"], vector["Blind"], vector["EvaluationElement"]) == vector["Output"]


# --- properties and refusals ---------------------------------------------------------------------------------------

def test_finalize_equals_evaluate_for_random_inputs_and_keys_in_large_batches():
    sk = oprf.generate_key()
    xs = [os.urandom(i % 50) for i in range(600)]  # over the parallel threshold, with the empty input
    blinds, blinded = oprf.blind(xs)
    assert len(set(blinds)) == len(xs)
    outputs = oprf.finalize(xs, blinds, oprf.blind_evaluate(sk, blinded))
    assert outputs == oprf.evaluate(sk, xs)
    assert oprf.evaluate(sk, xs, length=oprf.TAG_BYTES) == [o[:32] for o in outputs]
    # another key gives other outputs
    assert oprf.evaluate(oprf.generate_key(), xs[:5]) != outputs[:5]


def test_a_repeated_input_gets_unrelated_blinded_elements_but_one_output():
    sk = oprf.generate_key()
    blinds, blinded = oprf.blind([b"same", b"same"])
    assert blinded[0] != blinded[1]
    out = oprf.finalize([b"same", b"same"], blinds, oprf.blind_evaluate(sk, blinded))
    assert out[0] == out[1]


def test_hash_to_group_is_from_hash_of_the_expanded_message():
    x = b"smpc/psi/record/v2\x00\x01"
    uniform = oprf.expand_message_xmd(x, oprf.HASH_TO_GROUP_DST, 64)
    assert oprf.hash_to_group([x]) == [ristretto.from_hash(uniform)]


def test_evaluate_is_the_rfc_final_hash_over_k_times_hash_to_group():
    sk = oprf.generate_key()
    x = b"record"
    issued = ristretto.scalarmult(sk, oprf.hash_to_group([x])[0])
    expected = hashlib.sha512(b"\x00\x06" + x + b"\x00\x20" + issued + b"Finalize").digest()
    assert oprf.evaluate(sk, [x]) == [expected]


def test_input_over_65535_bytes_is_refused_naming_it():
    with pytest.raises(oprf.InvalidInputError) as err:
        oprf.blind([b"ok", bytes(65536)])
    assert err.value.index == 1
    assert oprf.evaluate(oprf.generate_key(), [bytes(65535)])  # the limit itself is fine


def test_non_bytes_input_is_refused():
    with pytest.raises(oprf.InvalidInputError):
        oprf.evaluate(oprf.generate_key(), ["text"])
    with pytest.raises(TypeError):
        oprf.evaluate(oprf.generate_key(), b"one record, not a list")


@pytest.mark.parametrize("bad", [ristretto.IDENTITY, bytes.fromhex("ff" * 31 + "7f"), b"\x01" * 31])
def test_blind_evaluate_refuses_identity_non_canonical_and_short_elements(bad):
    sk = oprf.generate_key()
    _, good = oprf.blind([b"a", b"b"])
    with pytest.raises(ristretto.InvalidElementError) as err:
        oprf.blind_evaluate(sk, [good[0], bad, good[1]])
    assert err.value.index == 1


def test_finalize_refuses_an_invalid_evaluated_element_naming_it():
    blinds, blinded = oprf.blind([b"a", b"b", b"c"])
    evaluated = oprf.blind_evaluate(oprf.generate_key(), blinded)
    evaluated[2] = ristretto.IDENTITY
    with pytest.raises(ristretto.InvalidElementError) as err:
        oprf.finalize([b"a", b"b", b"c"], blinds, evaluated)
    assert err.value.index == 2


def test_finalize_refuses_mismatched_lengths():
    blinds, blinded = oprf.blind([b"a", b"b"])
    with pytest.raises(ValueError):
        oprf.finalize([b"a"], blinds, blinded)


def test_given_blinds_must_be_non_zero_reduced_scalars():
    with pytest.raises(ristretto.InvalidScalarError):
        oprf.blind([b"a"], blinds=[bytes(32)])
    with pytest.raises(ristretto.InvalidScalarError):
        oprf.blind([b"a"], blinds=[ristretto.L.to_bytes(32, "little")])


def test_generate_key_is_a_fresh_non_zero_reduced_scalar():
    keys = {oprf.generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(0 < int.from_bytes(k, "little") < ristretto.L for k in keys)


def test_hash_and_multiply_is_the_cardinality_encoding():
    k = oprf.generate_key()
    a = oprf.generate_key()
    ys = [b"x", b"y", b"z"]
    s = oprf.hash_and_multiply_packed(k, ys)
    # a·(k·H(y)) = k·(a·H(y)): the double-blinded set matches the pod's answers to the query a·H(x)
    d = ristretto.scalarmult_packed(a, s)
    answers = ristretto.scalarmult_packed(k, oprf.hash_and_multiply_packed(a, ys))
    assert d == answers
    assert s == ristretto.scalarmult_packed(k, oprf.hash_to_group_packed(ys))


def test_empty_batches():
    sk = oprf.generate_key()
    assert oprf.blind([]) == ([], [])
    assert oprf.blind_evaluate(sk, []) == []
    assert oprf.finalize([], [], []) == []
    assert oprf.evaluate(sk, []) == []
