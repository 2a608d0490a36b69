"""The Python pod's policy for kkrt refuses what the .NET agent refuses (Agent/Psi/PsiPodDriver: version, capacity
m(n) against the per-session and per-day limits, modeller-counted cardinality under a minimum count), same reasons."""

from types import SimpleNamespace

import pytest

from smpc.psi import kkrt
from smpc.psi.pod import PsiPolicy, capacity, refusal, reserve_daily

SOURCES = {"customers": {"kind": "csv", "path": "x.csv"}}
ALICE = SimpleNamespace(id="alice", fingerprint="sha256:" + "ab" * 32)
KKRT = ["ecdh", "rsa-blind", "kkrt"]


def session(**psi):
    spec = {"protocol": "kkrt", "mode": "intersection", "modellerSetSize": 1000, "version": "kkrt-v1",
            "source": "customers"}
    spec.update(psi)
    return {"id": "s1", "modellerId": "alice", "psi": spec}


def test_kkrt_is_offered_only_when_listed():
    assert refusal(PsiPolicy(), session(), ALICE, SOURCES) == "protocol kkrt is not allowed (allowed: ecdh, rsa-blind)"
    assert refusal(PsiPolicy(protocols=KKRT), session(), ALICE, SOURCES) is None
    assert refusal(PsiPolicy(protocols=KKRT), session(mode="cardinality"), ALICE, SOURCES) is None
    assert refusal(PsiPolicy(protocols=KKRT), session(modellerSetSize=0), ALICE, SOURCES) is None


def test_capacity_counts_bins_for_kkrt_only():
    assert capacity(session()["psi"]) == kkrt.bins(1000) == 1756
    assert capacity(session(modellerSetSize=0)["psi"]) == 256
    assert capacity({"protocol": "ecdh", "modellerSetSize": 1000}) == 1000


@pytest.mark.parametrize("policy,spec,reason", [
    ({}, {"version": None}, "unsupported-protocol-version: the session speaks kkrt '(unversioned)', this pod only 'kkrt-v1'"),
    ({}, {"version": "ecdh-oprf-v1"},
     "unsupported-protocol-version: the session speaks kkrt 'ecdh-oprf-v1', this pod only 'kkrt-v1'"),
    ({"maxModellerSetSize": 1755}, {},
     "the modeller's set of 1000 records gives 1756 kkrt bins (records it could test), over the pod's maximum of 1755 "
     "per session"),
    ({"maxModellerSetSize": 1000}, {},  # n itself is within the limit; m(n) is not
     "the modeller's set of 1000 records gives 1756 kkrt bins (records it could test), over the pod's maximum of 1000 "
     "per session"),
    ({"minCount": 2}, {"mode": "cardinality"},
     "this pod withholds counts below a minimum, which only ecdh cardinality can do (rsa-blind and kkrt cardinality "
     "are counted by the modeller)"),
    ({"modes": ["cardinality"]}, {}, "mode intersection is not allowed (allowed: cardinality)"),
    ({}, {"source": "patients"}, "no data source named 'patients'"),
])
def test_kkrt_refusals_name_their_reason(policy, spec, reason):
    config = {"protocols": KKRT, **policy}
    assert refusal(PsiPolicy.from_config(config), session(**spec), ALICE, SOURCES) == reason


def test_a_minimum_count_still_allows_kkrt_intersection():
    assert refusal(PsiPolicy(protocols=KKRT, min_count=5), session(), ALICE, SOURCES) is None


def test_the_daily_limit_counts_bins(tmp_path):
    limit = 2 * kkrt.bins(1000)
    assert reserve_daily(tmp_path, capacity(session()["psi"]), limit, today="2026-12-06")
    assert reserve_daily(tmp_path, capacity(session()["psi"]), limit, today="2026-12-06")
    assert not reserve_daily(tmp_path, capacity(session(modellerSetSize=0)["psi"]), limit, today="2026-12-06")
