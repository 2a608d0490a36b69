"""The Python pod's PSI policy and query guard refuse what the .NET agent refuses (Agent/Psi/PsiPodDriver.Refusal,
Protocols/PrivateSetIntersection/PsiQueryGuard), with the same reasons."""

from types import SimpleNamespace

import pytest

from smpc.psi.errors import ProtocolViolation
from smpc.psi.pod import PsiPolicy, QueryGuard, refusal, reserve_daily

SOURCES = {"customers": {"kind": "csv", "path": "x.csv"}}


def session(**psi):
    spec = {"protocol": "ecdh", "mode": "intersection", "modellerSetSize": 10, "version": "ecdh-oprf-v1",
            "source": "customers", "countKey": None}
    spec.update(psi)
    return {"id": "s1", "modellerId": "alice", "psi": spec}


ALICE = SimpleNamespace(id="alice", fingerprint="sha256:" + "ab" * 32)


def test_default_policy_accepts_a_plain_session():
    assert refusal(PsiPolicy(), session(), ALICE, SOURCES) is None
    assert refusal(PsiPolicy(), session(protocol="rsa-blind", version=None, mode="cardinality"), ALICE, SOURCES) is None


@pytest.mark.parametrize("policy,spec,reason", [
    ({"modellers": ["bob"]}, {}, "modeller alice may not run PSI against this pod"),
    ({"modellers": ["sha256:" + "cd" * 32]}, {}, "modeller alice may not run PSI against this pod"),
    ({"protocols": ["rsa-blind"]}, {}, "protocol ecdh is not allowed (allowed: rsa-blind)"),
    ({"modes": ["cardinality"]}, {}, "mode intersection is not allowed (allowed: cardinality)"),
    ({"maxModellerSetSize": 9}, {}, "the modeller's set of 10 records exceeds the pod's maximum of 9 per session"),
    ({"minCount": 3}, {"protocol": "rsa-blind", "version": None, "mode": "cardinality"},
     "this pod withholds counts below a minimum, which only ecdh cardinality can do (rsa-blind and kkrt cardinality "
     "are counted by the modeller)"),
    ({}, {"version": None}, "unsupported-protocol-version: the session speaks ecdh '(unversioned)', this pod only 'ecdh-oprf-v1'"),
    ({}, {"version": "ecdh-v0"}, "unsupported-protocol-version: the session speaks ecdh 'ecdh-v0', this pod only 'ecdh-oprf-v1'"),
    ({}, {"mode": "cardinality"}, "an ecdh cardinality session needs the modeller's count key"),
    ({}, {"source": "patients"}, "no data source named 'patients'"),
])
def test_policy_refusals_name_their_reason(policy, spec, reason):
    assert refusal(PsiPolicy.from_config(policy), session(**spec), ALICE, SOURCES) == reason


def test_allow_list_matches_the_verified_fingerprint_or_id():
    assert refusal(PsiPolicy(modellers=[ALICE.fingerprint]), session(), ALICE, SOURCES) is None
    assert refusal(PsiPolicy(modellers=["alice"]), session(), ALICE, SOURCES) is None


def test_daily_limit_is_kept_in_the_state_directory(tmp_path):
    assert reserve_daily(tmp_path, 6, 10, today="2026-12-06")
    assert not reserve_daily(tmp_path, 5, 10, today="2026-12-06")
    assert reserve_daily(tmp_path, 4, 10, today="2026-12-06")
    assert reserve_daily(tmp_path, 10, 10, today="2026-12-07")  # a new UTC day
    assert (tmp_path / "psi-usage.json").stat().st_mode & 0o077 == 0


def _codes(guard, query):
    with pytest.raises(ProtocolViolation) as e:
        guard.check(query)
    return e.value.code


def test_query_guard():
    a, b, c = bytes([1]) * 32, bytes([2]) * 32, bytes([3]) * 32
    guard = QueryGuard(declared=2, maximum=2, element_bytes=32)
    assert guard.check(a + b) == [a, b]
    assert _codes(guard, a + b + c) == "policy-refused"
    assert _codes(QueryGuard(declared=3, maximum=2, element_bytes=32), a + b + c) == "policy-refused"
    assert _codes(guard, a) == "malformed"
    assert _codes(guard, a + b[:31]) == "malformed"
    assert _codes(guard, a + a) == "duplicate"
