"""Fixed point, weighted means and whole sessions of parties and the unmasker in memory (no service)."""

from __future__ import annotations

import random as pyrandom

import numpy as np
import pytest

from smpc.crypto.errors import (BoundsExceedFieldRange, Contradictory, InsufficientParties, InvalidParameters,
                                LowOrderPoint, Malformed, NonFiniteValue, OutOfOrder, SenderNotAuthenticated,
                                ValueOutOfBounds)
from smpc.crypto.field import DEFAULT_Q, add_into, from_signed, sub_into, to_signed
from smpc.crypto.fixedpoint import FieldSpec, FixedPointCodec, VectorLayout
from smpc.crypto.x25519 import KeyPair
from smpc.secagg.messages import ShareEnvelope, UnmaskRequest
from smpc.secagg.params import SessionParameters, WeightedMeanLayout, WeightSpec, default_threshold
from smpc.secagg.party import Party, Step
from smpc.secagg.unmasker import Unmasker

from secagg_helpers import TestIdentity, vectors

Q = 1009


# --- field and fixed point -------------------------------------------------------------------------------------------

def test_field_add_sub_wrap_at_q():
    q = DEFAULT_Q
    a = np.array([q - 1, 0, 5, q - 2], dtype=np.uint64)
    b = np.array([1, q - 1, q - 5, q - 1], dtype=np.uint64)
    assert add_into(a.copy(), b, q).tolist() == [0, q - 1, 0, q - 3]
    assert sub_into(a.copy(), b, q).tolist() == [q - 2, 1, 10, q - 1]
    v = np.array([-3, 0, 3, -(q - 1) // 2, (q - 1) // 2], dtype=np.int64)
    assert to_signed(from_signed(v, q), q).tolist() == v.tolist()


def codec(fields, n=2, q=Q):
    return FixedPointCodec(VectorLayout(fields), n, q)


def test_reference_vectors_of_the_encoding():
    c = codec([FieldSpec("x", 3, 10, -1, 1)])
    assert c.encode([0.6, 0.7, 0.8]).tolist() == [6, 7, 8]
    assert codec([FieldSpec("x", 1, 10, -1, 1)]).encode([-0.1]).tolist() == [1008]
    a, b = c.encode([-0.9, 0.1, 1.1 - 0.2]), c.encode([-0.1, 0.9, 1.0])
    # the two-party average of [−0.9, 0.1, 1.1] and [−0.1, 0.9, 1.9] at q = 1009, p = 10 (bounds wide enough)
    c2 = codec([FieldSpec("x", 3, 10, -2, 2)])
    total = add_into(c2.encode([-0.9, 0.1, 1.1]), c2.encode([-0.1, 0.9, 1.9]), Q)
    assert (c2.decode(total) / 2).tolist() == [-0.5, 0.5, 1.5]


def test_rounding_is_half_even():
    c = codec([FieldSpec("x", 4, 1, -10, 10)])
    assert to_signed(c.encode([0.5, 1.5, 2.5, -0.5]), Q).tolist() == [0, 2, 2, 0]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_refused_naming_the_field_not_the_value(bad):
    with pytest.raises(NonFiniteValue, match="field 'x'") as e:
        codec([FieldSpec("x", 2, 10, -1, 1)]).encode([0.0, bad])
    assert e.value.field == "x"


def test_out_of_bounds_refused_without_echoing_the_value():
    with pytest.raises(ValueOutOfBounds) as e:
        codec([FieldSpec("x", 1, 10, -1, 1)]).encode([1.2345])
    assert "1.2345" not in str(e.value) and "[-1.0, 1.0]" in str(e.value)


def test_bounds_at_the_edge_are_accepted_and_wrap_is_refused_at_creation():
    assert to_signed(codec([FieldSpec("x", 2, 10, -1, 1)]).encode([-1, 1]), Q).tolist() == [-10, 10]
    # n · ⌈bound · p⌉ ≤ (q − 1)/2 = 504: 50 · 10 = 500 fits, 51 · 10 = 510 does not
    FixedPointCodec(VectorLayout([FieldSpec("x", 1, 10, -1, 1)]), 50, Q)
    with pytest.raises(BoundsExceedFieldRange, match="field 'x'"):
        FixedPointCodec(VectorLayout([FieldSpec("x", 1, 10, -1, 1)]), 51, Q)


def test_length_mismatch_is_malformed():
    with pytest.raises(Malformed):
        codec([FieldSpec("x", 2, 10, -1, 1)]).encode([0.0])


def test_encode_integer_compares_integers_above_2_53():
    big = 384307168202282325  # stored as the double 384307168202282304
    c = FixedPointCodec(VectorLayout([FieldSpec("n", 1, 1, -float(big), float(big))]), 3, DEFAULT_Q)
    assert c.encode_integer(0, 384307168202282304) == 384307168202282304
    with pytest.raises(ValueOutOfBounds):
        c.encode_integer(0, 384307168202282304 + 10)


def test_check_encoded_refuses_non_canonical_and_out_of_range():
    c = codec([FieldSpec("x", 2, 10, -1, 1)])
    c.check_encoded(np.array([10, Q - 10], dtype=np.uint64))
    with pytest.raises(ValueOutOfBounds):
        c.check_encoded(np.array([11, 0], dtype=np.uint64))
    with pytest.raises(Malformed):
        c.check_encoded(np.array([Q, 0], dtype=np.uint64))


def test_layout_refusals():
    with pytest.raises(InvalidParameters):
        VectorLayout([])
    with pytest.raises(InvalidParameters):
        VectorLayout([FieldSpec("x", 1, 1, 0, 1), FieldSpec("x", 1, 1, 0, 1)])
    with pytest.raises(InvalidParameters):
        VectorLayout([FieldSpec("x", 1, 1, 2, 1)])


def test_threshold_defaults_and_limits():
    assert [default_threshold(n) for n in (3, 4, 10, 20)] == [2, 3, 7, 14]
    layout = VectorLayout([FieldSpec("x", 1, 1, 0, 1)])
    with pytest.raises(InvalidParameters):
        SessionParameters("s", 4, layout, KeyPair(bytes(32)).public, threshold=2)
    with pytest.raises(InvalidParameters):
        SessionParameters("s", 2, layout, KeyPair(bytes(32)).public)


# --- weighted means ----------------------------------------------------------------------------------------------------

def test_weighted_mean_reference_vector():
    w = WeightedMeanLayout([FieldSpec("x", 2, 10, -1, 1)], WeightSpec(1, 10, 1), 3, q=Q)
    assert w.encode([0.5, -0.25], 3).tolist() == [15, 1003, 3]
    x = w.wire_layout.fields[0]
    assert (x.precision, x.min, x.max) == (10, -10.0, 10.0)
    assert w.wire_layout.fields[1].name == "weight"


def test_weighted_mean_refusals():
    w = WeightedMeanLayout([FieldSpec("x", 1, 10, -1, 1)], WeightSpec(0.5, 10, 2), 3, q=DEFAULT_Q)
    with pytest.raises(ValueOutOfBounds, match="multiple of 1/2"):
        w.encode([0.1], 1.25)
    with pytest.raises(ValueOutOfBounds):
        w.encode([0.1], 11)
    with pytest.raises(NonFiniteValue):
        w.encode([0.1], float("nan"))
    with pytest.raises(ValueOutOfBounds):
        w.encode([1.5], 1)
    with pytest.raises(InvalidParameters, match="reserved"):
        WeightedMeanLayout([FieldSpec("weight", 1, 10, -1, 1)], WeightSpec(1, 10), 3)
    with pytest.raises(BoundsExceedFieldRange, match="field 'x'"):
        WeightedMeanLayout([FieldSpec("x", 1, 10**10, -100, 100)], WeightSpec(1, 10**6), 3)


def test_weighted_layout_example_of_the_document_fits():
    WeightedMeanLayout([FieldSpec("x", 1, 10**6, -1000, 1000)], WeightSpec(0.01, 10**6, 100), 5)


def test_weighted_wire_bounds_cover_the_exact_products():
    w = WeightedMeanLayout([FieldSpec("x", 1, 3, -0.7, 0.3)], WeightSpec(0.1, 3.3, 10), 3)
    f = w.wire_layout.fields[0]
    assert f.precision == 30
    lo, hi = round(-0.7 * 3) * 33, round(0.3 * 3) * 33
    assert round(f.min * 30) <= lo and round(f.max * 30) >= hi


# --- whole sessions in memory ------------------------------------------------------------------------------------------

def make_session(n, fields, t=None, q=DEFAULT_Q, seed=1, round_=0):
    rnd = pyrandom.Random(seed)
    randbytes = lambda k: rnd.randbytes(k)  # noqa: E731 (deterministic tests)
    modeller = KeyPair(randbytes(32))
    params = SessionParameters("acme/s-1", n, VectorLayout(fields), modeller.public, t, q, round_)
    ids = {i: TestIdentity(randbytes(32)) for i in range(1, n + 1)}
    pins = {i: ids[i].fingerprint for i in ids}
    parties = {i: Party(params, i, ids[i], pins, randbytes) for i in ids}
    return params, modeller, pins, parties


def run(params, modeller, pins, parties, inputs, drop_before_shares=(), drop_before_upload=(), drop_before_answer=(),
        export_each_step=False):
    def roundtrip(i, p):
        if not export_each_step:
            return p
        return Party.import_state(params, i, p.identity, pins, p.export_state(), p.random)

    bundles = {i: p.create_key_bundle() for i, p in parties.items()}
    parties = {i: roundtrip(i, p) for i, p in parties.items()}
    u1 = list(bundles.values())
    envelopes = {}
    for i, p in parties.items():
        if i in drop_before_shares:
            continue
        envelopes[i] = p.create_share_envelopes(u1)
    parties = {i: roundtrip(i, p) for i, p in parties.items()}
    u2 = sorted(envelopes)
    masked = {}
    for i in u2:
        if i in drop_before_upload:
            continue
        received = [e for s in u2 for e in envelopes[s] if e.recipient == i]
        masked[i] = parties[i].create_masked_input(received, inputs[i])
        parties[i].confirm_masked_input_accepted()
    parties = {i: roundtrip(i, p) for i, p in parties.items()}
    u3 = sorted(masked)
    z = np.zeros(params.length, dtype=np.uint64)
    for v in masked.values():
        add_into(z, v, params.q)
    request = UnmaskRequest(params.session_id, tuple(u2), tuple(u3))
    un = Unmasker(params, modeller.private, pins)
    un.accept_key_bundles(u1)
    un.accept_unmask_request(request)
    for i in u3:
        if i in drop_before_answer:
            continue
        un.accept_response(parties[i].create_unmask_response(request))
    return un.finish(z), parties, request


@pytest.mark.parametrize("export_each_step", [False, True])
def test_sum_of_all_parties_is_exact(export_each_step):
    fields = [FieldSpec("w", 3, 1000, -10, 10), FieldSpec("n", 1, 1, 0, 100)]
    params, modeller, pins, parties = make_session(4, fields)
    inputs = {1: [1.5, -2.25, 0.001, 7], 2: [0.5, 2.25, 0.0, 3], 3: [-1, -1, -1, 0], 4: [10, 10, 10, 100]}
    result, _, _ = run(params, modeller, pins, parties, inputs, export_each_step=export_each_step)
    assert result.included_parties == [1, 2, 3, 4]
    assert result.sum("w").tolist() == [11.0, 9.0, 9.001]
    assert result.sum_integer("n").tolist() == [110]
    assert result.mean("n").tolist() == [27.5]


def test_dropouts_at_every_step_give_the_exact_sum_of_the_survivors():
    fields = [FieldSpec("x", 5, 10**6, -100, 100)]
    params, modeller, pins, parties = make_session(7, fields, t=4)
    rng = np.random.default_rng(3)
    inputs = {i: np.round(rng.uniform(-100, 100, 5), 6) for i in range(1, 8)}
    result, _, request = run(params, modeller, pins, parties, inputs, drop_before_shares=(2,), drop_before_upload=(5,),
                             drop_before_answer=(7,))
    assert request.share_senders == (1, 3, 4, 5, 6, 7) and request.survivors == (1, 3, 4, 6, 7)
    want = sum(np.rint(inputs[i] * 10**6).astype(np.int64) for i in (1, 3, 4, 6, 7))
    assert result.sum_integer("x").tolist() == want.tolist()


def test_property_random_sessions_with_random_dropouts():
    rnd = pyrandom.Random(7)
    for trial in range(6):
        n = rnd.randint(3, 20)
        t = rnd.randint(n // 2 + 1, n)
        params, modeller, pins, parties = make_session(n, [FieldSpec("v", 3, 1, -1000, 1000)], t=t, seed=trial)
        inputs = {i: [rnd.randint(-1000, 1000) for _ in range(3)] for i in range(1, n + 1)}
        spare = list(range(1, n + 1))
        rnd.shuffle(spare)
        k = rnd.randint(0, n - t)
        drops = spare[:k]
        stage = {d: rnd.choice(["shares", "upload", "answer"]) for d in drops}
        result, _, req = run(params, modeller, pins, parties, inputs,
                             drop_before_shares=[d for d in drops if stage[d] == "shares"],
                             drop_before_upload=[d for d in drops if stage[d] == "upload"],
                             drop_before_answer=[d for d in drops if stage[d] == "answer"])
        want = np.sum([inputs[i] for i in req.survivors], axis=0)
        assert result.sum_integer("v").tolist() == want.tolist(), (n, t, stage)


def test_party_refuses_a_second_contradictory_request_and_repeats_the_same_answer():
    params, modeller, pins, parties = make_session(3, [FieldSpec("x", 1, 1, 0, 10)])
    _, parties, request = run(params, modeller, pins, parties, {1: [1], 2: [2], 3: [3]})
    p1 = parties[1]
    assert p1.state == Step.RESPONDED
    first = p1._answered[1]
    assert p1.create_unmask_response(request) == first
    state = p1.export_state()
    again = Party.import_state(params, 1, p1.identity, pins, state)
    assert again.create_unmask_response(request) == first
    with pytest.raises(Contradictory):
        again.create_unmask_response(UnmaskRequest(params.session_id, (1, 2, 3), (1, 2)))


def test_masked_input_recomputed_identically_and_other_input_refused():
    params, modeller, pins, parties = make_session(3, [FieldSpec("x", 2, 10, -1, 1)])
    bundles = [p.create_key_bundle() for p in parties.values()]
    env = {i: p.create_share_envelopes(bundles) for i, p in parties.items()}
    received = [e for s in (2, 3) for e in env[s] if e.recipient == 1]
    y = parties[1].create_masked_input(received, [0.5, -0.5])
    restored = Party.import_state(params, 1, parties[1].identity, pins, parties[1].export_state())
    assert restored.create_masked_input(received, [0.5, -0.5]).tolist() == y.tolist()
    with pytest.raises(Contradictory):
        restored.create_masked_input(received, [0.5, -0.4])
    with pytest.raises(Contradictory):
        restored.create_masked_input(received[:1], [0.5, -0.5])
    restored.confirm_masked_input_accepted()
    with pytest.raises(OutOfOrder):
        restored.create_masked_input(received, [0.5, -0.5])


def test_forged_envelope_stops_the_party_before_upload():
    params, modeller, pins, parties = make_session(3, [FieldSpec("x", 1, 10, -1, 1)])
    bundles = [p.create_key_bundle() for p in parties.values()]
    env = {i: p.create_share_envelopes(bundles) for i, p in parties.items()}
    received = [e for s in (2, 3) for e in env[s] if e.recipient == 1]
    forged = ShareEnvelope(received[0].session_id, received[0].sender, 1, received[0].box[:-1] + bytes([received[0].box[-1] ^ 1]))
    with pytest.raises(SenderNotAuthenticated, match="party 2 to party 1"):
        parties[1].create_masked_input([forged, received[1]], [0.1])
    assert parties[1].state == Step.SHARES_SENT


def test_modeller_key_of_low_order_is_refused_before_step_1():
    lo = bytes.fromhex(vectors("secagg.json")["lowOrderPoints"][2])
    params = SessionParameters("s", 3, VectorLayout([FieldSpec("x", 1, 1, 0, 1)]), lo)
    with pytest.raises(LowOrderPoint):
        Party(params, 1, TestIdentity(bytes(32)), {})


def test_too_few_survivors_is_insufficient():
    params, modeller, pins, parties = make_session(4, [FieldSpec("x", 1, 1, 0, 10)])
    with pytest.raises(InsufficientParties):
        run(params, modeller, pins, parties, {i: [i] for i in range(1, 5)}, drop_before_upload=(1, 2))


# --- the pod's input checks before any message, and the unmasker's refusals ------------------------------------------

def served_session(fields, weight=None, n=3):
    import base64
    a = {"protocolSessionId": "acme/s", "threshold": 2, "fields": fields, "operation": "sum", "input": "x",
         "modellerPublicKey": base64.b64encode(KeyPair(bytes(range(32))).public).decode()}
    if weight:
        a["weight"] = weight
        a["operation"] = "weighted-mean"
    return {"id": "s", "tenant": "acme", "podIds": [f"p{i}" for i in range(n)], "aggregation": a}


@pytest.mark.parametrize("values,weight,category", [
    ([0.5, float("nan")], None, "input-not-finite"),
    ([0.5, 2.0], None, "input-out-of-bounds"),
    ([0.5], None, "shape-mismatch"),
    ([[0.5, 0.1], [0.2, 0.3]], None, "shape-mismatch"),
])
def test_pod_input_problems_are_declines_with_their_category(values, weight, category):
    from smpc.secagg.pod import encode_input
    s = served_session([{"name": "x", "length": 2, "min": -1, "max": 1, "precision": 100}])
    with pytest.raises(Exception) as e:
        encode_input(SessionParameters.from_session(s), s, values, weight)
    assert getattr(e.value, "category", None) == category
    assert "2.0" not in str(e.value) and "nan" not in str(e.value).lower()


def test_pod_weighted_mean_without_weight_or_with_premultiplied_input_is_declined():
    from smpc.secagg.pod import encode_input
    s = served_session([{"name": "x", "length": 2, "min": -1, "max": 1, "precision": 100}], {"min": 1, "max": 10})
    p = SessionParameters.from_session(s)
    with pytest.raises(Exception) as e:
        encode_input(p, s, [0.1, 0.2], None)
    assert e.value.category == "input-missing"
    with pytest.raises(Exception) as e:
        encode_input(p, s, [0.1, 0.2, 3], 3)
    assert e.value.category == "shape-mismatch" and "never w·x" in str(e.value)
    assert encode_input(p, s, [0.1, 0.2], 3).tolist() == [30, 60, 3]


def test_unmasker_refuses_forged_wrong_kind_and_inconsistent_responses():
    from smpc.crypto.errors import InconsistentShares as IS
    from smpc.secagg.messages import UnmaskResponse, unmask_associated_data, unmask_body, unmask_signed_bytes
    from smpc.crypto import sealed_box
    params, modeller, pins, parties = make_session(4, [FieldSpec("x", 1, 1, 0, 10)], t=3)
    bundles = [p.create_key_bundle() for p in parties.values()]
    env = {i: p.create_share_envelopes(bundles) for i, p in parties.items()}
    masked = {}
    for i, p in parties.items():
        masked[i] = p.create_masked_input([e for s in env for e in env[s] if e.recipient == i], [i])
    request = UnmaskRequest(params.session_id, (1, 2, 3, 4), (1, 2, 3, 4))
    un = Unmasker(params, modeller.private, pins)
    un.accept_key_bundles(bundles)
    un.accept_unmask_request(request)
    # a response "from" party 1 sealed by someone else (signed by another key)
    other = TestIdentity(bytes(32))
    body = unmask_body(1, [(j, 1, bytes(32)) for j in (1, 2, 3, 4)])
    box = sealed_box.seal(params.modeller_public_key, body + other.sign(unmask_signed_bytes(params, request, body)),
                          unmask_associated_data(params, 1, request))
    with pytest.raises(SenderNotAuthenticated):
        un.accept_response(UnmaskResponse(params.session_id, 1, box))
    # party 1 signs a response with a mask-key share for a survivor: wrong kind
    body = unmask_body(1, [(j, 2 if j == 4 else 1, bytes(32)) for j in (1, 2, 3, 4)])
    box = sealed_box.seal(params.modeller_public_key, body + parties[1].identity.sign(unmask_signed_bytes(params, request, body)),
                          unmask_associated_data(params, 1, request))
    with pytest.raises(Contradictory):
        un.accept_response(UnmaskResponse(params.session_id, 1, box))
    for i in (1, 2, 3):
        un.accept_response(parties[i].create_unmask_response(request))
    # party 4 signs a fourth response whose share of b_2 is off: the shares beyond t are checked against the polynomial
    held = dict(parties[4]._held)
    entries = [(j, 1, bytes([held[j][0][0] ^ 1]) + held[j][0][1:] if j == 2 else held[j][0]) for j in (1, 2, 3, 4)]
    body = unmask_body(4, entries)
    box = sealed_box.seal(params.modeller_public_key, body + parties[4].identity.sign(unmask_signed_bytes(params, request, body)),
                          unmask_associated_data(params, 4, request))
    un.accept_response(UnmaskResponse(params.session_id, 4, box))
    z = np.zeros(1, dtype=np.uint64)
    for v in masked.values():
        add_into(z, v, params.q)
    with pytest.raises(IS, match="x = 4"):
        un.finish(z)


def test_unmasker_checks_shares_beyond_t():
    params, modeller, pins, parties = make_session(4, [FieldSpec("x", 1, 1, 0, 10)], t=2 + 1)
    result, parties, request = run(params, modeller, pins, parties, {i: [i] for i in range(1, 5)})
    assert result.sum_integer("x").tolist() == [10]
    import smpc.crypto.shamir as sh
    shares = {1: bytes(32), 2: bytes(32), 3: bytes(32), 4: bytes([1]) + bytes(31)}
    with pytest.raises(Exception) as e:
        sh.combine(shares, 3)
    assert type(e.value).__name__ == "InconsistentShares"
