"""The pod's configuration (the .NET agent's file), its inputs, its secure-aggregation policy and differencing ledger."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
import sqlite3
import stat

import numpy as np
import pytest

from smpc.identity import IdentityKey
from smpc.pod import ConfigError, InputSpec, PodConfig, PodRefusal, SecureAggregationPolicy, SqliteInput
from smpc.pod.inputs import load_values, load_weight
from smpc.pod.ledger import DifferencingLedger, DifferencingRule
from smpc.pod.policy import assess
from smpc.verify import VerifiedModeller

REPO = pathlib.Path(__file__).resolve().parents[3]
DOC = (REPO / "docs" / "agent-config.md").read_text()


def test_the_packaged_schema_is_the_documented_one():
    packaged = pathlib.Path(__import__("smpc.pod.config").pod.config.__file__).with_name("agent-config.schema.json")
    assert json.loads(packaged.read_text()) == json.loads((REPO / "docs" / "agent-config.schema.json").read_text())


def test_the_complete_example_of_agent_config_md_loads(tmp_path):
    example = re.search(r"## A complete example\s+```json\n(.*?)```", DOC, re.S).group(1)
    (tmp_path / "agent.json").write_text("// a comment\n" + example.replace('"pins": {}', '"pins": {},'))  # a trailing comma too
    config = PodConfig.load(tmp_path / "agent.json")
    assert (config.tenant, config.pod) == ("acme", "hospital-a")
    assert config.policy.modellers == ["alice"] and config.policy.min_pods == 3
    assert config.inputs["los"].values == [4.2, 5.1, 3.3]
    assert config.sources["hospital"].kind == "sqlite"
    assert config.query.min_rows_per_group == 5 and config.training.trainers == ["logistic"]
    assert config.state_path == tmp_path / "state" / "hospital-a"
    assert config.pins_path == tmp_path / "state" / "hospital-a" / "pins.json"
    assert config.resolve(config.identity_key_file) == tmp_path / "hospital-a.identity.json"


@pytest.mark.parametrize("doc, where", [
    ({"tenant": "acme", "pod": "p", "identityKeyFile": "k", "Inputs": {}}, "$"),
    ({"tenant": "Acme", "pod": "p", "identityKeyFile": "k"}, "$.tenant"),
    ({"tenant": "acme", "pod": "p", "identityKeyFile": "k", "inputs": {"los": {"values": [1, "2"]}}}, "$.inputs.los.values[1]"),
    ({"tenant": "acme", "pod": "p"}, "$"),
    ({"tenant": "acme", "pod": "p", "identityKeyFile": "k", "policy": {"minPods": 2}}, "$.policy.minPods"),
])
def test_a_bad_configuration_names_the_json_path(tmp_path, doc, where):
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as e:
        PodConfig.load(tmp_path / "a.json")
    assert f"a.json: {where}" in str(e.value)


def test_python_inputs(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    assert load_values(InputSpec.of(df)).tolist() == [1.0, 3.0, 2.0, 4.0]  # row-major, like a CSV file
    assert load_values(InputSpec.of(pd.Series([5, 6]))).tolist() == [5.0, 6.0]
    assert load_values(InputSpec.of(np.arange(6).reshape(2, 3))).tolist() == [0, 1, 2, 3, 4, 5]
    assert load_values(InputSpec.of(7)).tolist() == [7.0]
    (tmp_path / "x.csv").write_text("a,b\n1,2\n\n3,4.5\n")
    assert load_values(InputSpec.of(tmp_path / "x.csv")).tolist() == [1, 2, 3, 4.5]
    np.save(tmp_path / "x.npy", np.array([[1, 2], [3, 4]], dtype="<i4"))
    assert load_values(InputSpec.of(tmp_path / "x.npy")).tolist() == [1, 2, 3, 4]
    (tmp_path / "x.json").write_text("[[1, 2], [3]]")
    assert load_values(InputSpec.of(tmp_path / "x.json")).tolist() == [1, 2, 3]
    with sqlite3.connect(tmp_path / "d.db") as db:
        db.execute("CREATE TABLE t (v REAL, w INTEGER)")
        db.executemany("INSERT INTO t VALUES (?, ?)", [(1.5, 2), (3.5, 4)])
    assert load_values(InputSpec.of(SqliteInput(tmp_path / "d.db", "SELECT v, w FROM t ORDER BY v"))).tolist() == [1.5, 2, 3.5, 4]
    assert load_weight(InputSpec(values=[1.0], weight_rows_of=tmp_path / "x.csv")) == 2
    assert load_weight(InputSpec(values=[1.0], weight_rows_of=df)) == 2
    assert load_weight(InputSpec(values=[1.0], weight_rows_of=tmp_path / "x.npy")) == 2
    with pytest.raises(ConfigError):
        InputSpec(values=[1.0], file="x.csv")
    spec = InputSpec.of({"values": [1, 2], "weight": 3, "minPods": 5})
    assert (load_values(spec).tolist(), spec.weight, spec.min_pods) == ([1, 2], 3, 5)
    with pytest.raises(ConfigError):
        InputSpec.of({"Values": [1]})


# ---- policy ----

def _session(pods=("p1", "p2", "p3"), operation="sum", input="x", fields=None, weight=None, sid="s1", modeller="alice"):
    return {"tenant": "acme", "id": sid, "modellerId": modeller, "kind": "secure-aggregation", "podIds": list(pods), "phase": "key-exchange",
            "aggregation": {"protocolSessionId": f"acme/{sid}", "threshold": 2, "operation": operation, "input": input, "weight": weight,
                            "fields": fields or [{"name": "x", "length": 3, "min": -10, "max": 10}], "modellerPublicKey": "AA=="}}


def _config(tmp_path, **kw):
    return PodConfig(tenant="acme", pod="p1", identity=IdentityKey(bytes(32)), state_directory=tmp_path / "state", **kw)


ALICE = VerifiedModeller("acme", "alice", "sha256:" + "a" * 64)


def _category(fn):
    with pytest.raises(PodRefusal) as e:
        fn()
    return e.value.category


def test_policy_refusals_have_the_dotnet_categories(tmp_path):
    config = _config(tmp_path, inputs={"x": [1.0, 2.0, 3.0], "nan": [1.0, float("nan"), 2.0], "big": [1.0, 11.0, 2.0], "short": [1.0],
                                       "w": InputSpec(values=[1.0, 2.0, 3.0], weight=2.5)},
                     policy=SecureAggregationPolicy(modellers=["alice"], operations=["sum", "weighted-mean"], min_pods=3))
    ledger = DifferencingLedger(tmp_path / "ledger.json")
    bob = VerifiedModeller("acme", "bob", "sha256:" + "b" * 64)
    assert _category(lambda: assess(_session(modeller="bob"), config, ledger, bob)) == "policy"
    assert _category(lambda: assess(_session(operation="mean"), config, ledger, ALICE)) == "policy"
    assert _category(lambda: assess(_session(input="none"), config, ledger, ALICE)) == "input-missing"
    assert _category(lambda: assess(_session(input="short"), config, ledger, ALICE)) == "shape-mismatch"
    assert _category(lambda: assess(_session(input="nan"), config, ledger, ALICE)) == "input-not-finite"
    assert _category(lambda: assess(_session(input="big"), config, ledger, ALICE)) == "input-out-of-bounds"
    weight = {"min": 1, "max": 10, "precision": 1}
    assert _category(lambda: assess(_session(input="w", operation="weighted-mean", weight=weight), config, ledger, ALICE)) == "input-out-of-bounds"
    assert _category(lambda: assess(_session(pods=("p1", "p2")), config, ledger, ALICE)) == "policy"  # minPods
    admitted = assess(_session(), config, ledger, ALICE)
    assert admitted.values.tolist() == [1, 2, 3] and admitted.weight is None and admitted.ledger_key == "input:x"
    fp_config = _config(tmp_path, inputs={"x": [1.0, 2.0, 3.0]}, policy=SecureAggregationPolicy(modellers=[ALICE.fingerprint]))
    assert assess(_session(sid="s9", pods=("p1", "p2", "p3")), fp_config, DifferencingLedger(tmp_path / "l2.json"), ALICE).values.size == 3
    assert _category(lambda: assess(_session(sid="s8"), fp_config, DifferencingLedger(tmp_path / "l3.json"), bob)) == "policy"


def test_the_differencing_ledger_refuses_nearly_equal_pod_sets_and_keeps_the_dotnet_format(tmp_path):
    now = [dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)]
    ledger = DifferencingLedger(tmp_path / "state" / "differencing-ledger.json", clock=lambda: now[0])
    rule = DifferencingRule.for_input(SecureAggregationPolicy(min_pods=3, differencing_window_days=90), None)
    assert rule.min_difference == 3
    assert ledger.admit("input:x", "s1", ["a", "b", "c"], rule) is None
    assert ledger.admit("input:x", "s2", ["a", "b", "c"], rule) is None  # the same set again tells nothing new
    assert "differs from that of session s1" in ledger.admit("input:x", "s3", ["a", "b", "c", "d"], rule)
    assert ledger.admit("input:y", "s3", ["a", "b", "c", "d"], rule) is None  # another input
    assert ledger.admit("input:x", "s4", ["d", "e", "f"], rule) is None  # differs in 6
    assert "sum would hold 2" in ledger.confirm("input:x", "s4", ["d", "e"], rule)
    assert ledger.confirm("input:x", "s4", ["d", "e", "f"], rule) is None
    ledger.forget("s1")
    ledger.forget("s2")
    assert ledger.admit("input:x", "s3", ["a", "b", "c", "d"], rule) is None  # s1 and s2 forgotten; vs s4 {d, e, f}: 5 apart
    assert "in 1 pod(s)" in ledger.admit("input:x", "s5", ["d", "e", "f", "g"], rule)  # vs s4's sum {d, e, f}
    now[0] += dt.timedelta(days=91)  # past the window
    assert ledger.admit("input:x", "s5", ["d", "e", "f", "g"], rule) is None
    doc = json.loads((tmp_path / "state" / "differencing-ledger.json").read_text())
    assert set(doc[0]) == {"key", "session", "pods", "at", "included"}
    assert stat.S_IMODE((tmp_path / "state" / "differencing-ledger.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_a_weighted_means_weight_is_checked_before_the_values_as_the_dotnet_codec_does(tmp_path):
    config = _config(tmp_path, inputs={"w": InputSpec(values=[1.0, float("nan"), 3.0], weight=0.5)})
    weight = {"min": 1, "max": 10, "precision": 1}
    session = _session(input="w", operation="weighted-mean", weight=weight)
    assert _category(lambda: assess(session, config, DifferencingLedger(tmp_path / "l.json"), ALICE)) == "input-out-of-bounds"
    config = _config(tmp_path, inputs={"w": InputSpec(values=[1.0, float("nan"), 3.0], weight=2)})
    assert _category(lambda: assess(session, config, DifferencingLedger(tmp_path / "l.json"), ALICE)) == "input-not-finite"
