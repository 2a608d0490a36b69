"""Federated query and training in mixed sessions on the real embedded service: .NET pod agents (`smpc pod run`) and
Python pods (smpc.pod.Pod serving smpc.federated.pod.serve) in one session, with the Python modeller or the .NET CLI
(`smpc query`, `smpc train`) as the modeller."""

from __future__ import annotations

import importlib.util
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest


pytestmark = pytest.mark.service

_MISSING = [m for m in ("smpc.pod.runner", "smpc.secagg.pod", "smpc.secagg.modeller", "smpc.modeller")
            if importlib.util.find_spec(m) is None]
if _MISSING:
    pytest.skip(f"the mixed federated sessions need {', '.join(_MISSING)} (helpers core and secagg)", allow_module_level=True)

from smpc import Client  # noqa: E402
from smpc.federated import fit as ff  # noqa: E402
from smpc.federated import modeller as fm  # noqa: E402
from smpc.federated import training as tr  # noqa: E402
from smpc.identity import IdentityKey  # noqa: E402
from smpc.modeller import Modeller  # noqa: E402
from smpc.pins import PinStore  # noqa: E402
from smpc.pod import Pod, PodConfig  # noqa: E402
from smpc.pod.config import QueryPolicy, SourceSpec, TrainingPolicy  # noqa: E402

SPEC = {
    "sql": "SELECT ward, age AS age_band, COUNT(*) AS n, SUM(stay) AS total_stay, AVG(stay) AS mean_stay "
           "FROM admissions GROUP BY ward, age",
    "source": "hospital",
    "groupBy": [{"column": "ward", "values": ["a", "b", "c"]}, {"column": "age_band", "bins": {"from": 0, "to": 100, "width": 25}}],
    "aggregates": [{"name": "n", "kind": "count"}, {"name": "total_stay", "kind": "sum", "min": 0, "max": 100000},
                   {"name": "mean_stay", "kind": "mean", "min": 0, "max": 60}],
    "minPooledCount": 3, "maxRowsPerCell": 1000, "roundTimeoutSeconds": 60,
}


def _frame(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"ward": rng.choice(["a", "b", "c"], rows), "age": rng.integers(0, 100, rows),
                         "stay": np.round(rng.uniform(0, 30, rows), 2)})


def _training_frame(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(100 + seed)
    X = rng.normal([50, 25], [12, 4], (rows, 2))
    y = (0.08 * (X[:, 0] - 50) - 0.3 * (X[:, 1] - 25) + rng.normal(0, 0.5, rows) > 0).astype(int)
    return pd.DataFrame({"age": X[:, 0], "bmi": X[:, 1], "readmitted": y})


def _db(path, table: str, df: pd.DataFrame):
    with sqlite3.connect(path) as c:
        df.to_sql(table, c, index=False)
    return path


def _python_pod(world, member, **settings) -> Pod:
    config = PodConfig(tenant=world.tenant, pod=member.id, identity_key_file=member.identity.path, url=world.url,
                       api_key=member.api_key, state_directory=world.directory / "py" / member.id, **settings)
    pod = Pod(config, long_poll_seconds=5)
    pod.start()
    return pod


def _modeller(world, member) -> Modeller:
    return Modeller(Client(world.url, member.api_key), world.tenant, member.id, IdentityKey.load(member.identity.path),
                    PinStore(world.directory / "pins" / f"py-{member.id}.json"))


def _pooled(frames):
    conn = sqlite3.connect(":memory:")
    pd.concat(frames).to_sql("admissions", conn, index=False)
    return {(w, f"[{b}, {b + 25})"): (n, s) for w, b, n, s in conn.execute(
        "SELECT ward, (age / 25) * 25, COUNT(*), SUM(stay) FROM admissions GROUP BY 1, 2")}


def _check_table(rows, expected, min_pooled):
    seen = 0
    for ward, band, n, total, mean, withheld in rows:
        en, es = expected.get((ward, band), (0, 0.0))
        assert n == en, (ward, band)
        assert withheld == (en < min_pooled)
        if not withheld and en:
            assert total == pytest.approx(es, abs=1e-4) and mean == pytest.approx(es / en, abs=1e-6)
            seen += 1
    assert seen > 0


def test_query_two_dotnet_pods_one_python_pod_python_modeller_equals_the_pooled_sql(world):
    frames = [_frame(s, 120) for s in range(3)]
    pods = [world.add_pod(p) for p in ("h1", "h2", "h3")]
    alice = world.add_modeller("alice")
    policy = {"tables": {"admissions": ["ward", "age", "stay"]}}
    for member, df in zip(pods[:2], frames[:2]):
        db = _db(world.directory / f"{member.id}.db", "admissions", df)
        world.start_dotnet_pod(member, sources={"hospital": {"kind": "sqlite", "path": str(db), "table": "admissions"}}, query=policy)
    db3 = _db(world.directory / "h3.db", "admissions", frames[2])
    py = _python_pod(world, pods[2], sources={"hospital": SourceSpec(kind="sqlite", path=db3, table="admissions")},
                     query=QueryPolicy(tables=policy["tables"]))
    try:
        table = fm.query(_modeller(world, alice), ["h1", "h2", "h3"], SPEC)
    finally:
        py.stop()
    assert table.attrs["included_pods"] == ["h1", "h2", "h3"]
    _check_table(table[["ward", "age_band", "n", "total_stay", "mean_stay", "withheld"]].itertuples(index=False, name=None),
                 _pooled(frames), 3)


def test_query_dotnet_modeller_with_a_python_pod_reads_the_dotnet_release(world):
    frames = [_frame(10 + s, 90) for s in range(3)]
    pods = [world.add_pod(p) for p in ("h1", "h2", "h3")]
    alice = world.add_modeller("alice")
    policy = {"tables": {"admissions": ["*"]}}
    db1 = _db(world.directory / "h1.db", "admissions", frames[0])
    world.start_dotnet_pod(pods[0], sources={"hospital": {"kind": "sqlite", "path": str(db1), "table": "admissions"}}, query=policy)
    pys = [_python_pod(world, m, sources={"hospital": SourceSpec(kind="sqlite", path=_db(world.directory / f"{m.id}.db", "admissions", df),
                                                             table="admissions")}, query=QueryPolicy(tables=policy["tables"]))
           for m, df in zip(pods[1:], frames[1:])]
    spec_path = world.directory / "query.json"
    spec_path.write_text(json.dumps(SPEC))
    out = world.directory / "result.csv"
    try:
        world.as_modeller(alice, "query", "q-dotnet", "--pod", "h1", "--pod", "h2", "--pod", "h3", "--spec", str(spec_path),
                          "--out", str(out), timeout=240).check()
    finally:
        for p in pys:
            p.stop()
    result = pd.read_csv(out, keep_default_na=False)
    rows = [(r.ward, r.age_band, int(r.n), float(r.total_stay or 0), float(r.mean_stay or 0), str(r.withheld).lower() == "true")
            for r in result.itertuples(index=False)]
    _check_table(rows, _pooled(frames), 3)


def test_training_rounds_with_dotnet_and_python_pods_python_modeller(world):
    frames = [_training_frame(s, n) for s, n in ((0, 150), (1, 220), (2, 90))]
    pods = [world.add_pod(p) for p in ("h1", "h2", "h3")]
    alice = world.add_modeller("alice")
    for member, df in zip(pods[:2], frames[:2]):
        db = _db(world.directory / f"{member.id}.db", "patients", df)
        world.start_dotnet_pod(member, sources={"hospital": {"kind": "sqlite", "path": str(db), "table": "patients"}},
                               training={"columns": {"hospital": ["*"]}})
    py = _python_pod(world, pods[2], sources={"hospital": frames[2]}, training=TrainingPolicy(columns={"hospital": ["*"]}))
    spec = tr.TrainingSpec("logistic", "hospital", ("age", "bmi"), "readmitted", rounds=3, learning_rate=0.5, local_epochs=2,
                           batch_size=32, tolerance=0, round_timeout_seconds=60, max_samples_per_pod=10_000)
    try:
        result = fm.train(_modeller(world, alice), ["h1", "h2", "h3"], spec)
    finally:
        py.stop()
    # The same FedAvg computed in the clear from the pods' rows: the mixed session gives the same model.
    trainer = tr.BUILTIN_TRAINERS["logistic"]
    data = [(f[["age", "bmi"]].to_numpy(float), f["readmitted"].to_numpy(float)) for f in frames]
    pooled = np.vstack([X for X, _ in data])
    stats = tr.stats_from_sums(dict(zip(("samples", "sum", "sumsq"), np.split(tr.standardisation_input(pooled), [1, 3]))))
    np.testing.assert_allclose(result.standardisation.mean, stats.mean, rtol=1e-6)
    theta = np.zeros(3)
    for r in range(1, 4):
        ups = [tr.pod_update(trainer, theta, tr.standardise(X, result.standardisation.mean, result.standardisation.std), y, spec, r)
               for X, y in data]
        theta = sum(u.input[:3] for u in ups) / sum(u.input[3] for u in ups)
    np.testing.assert_allclose(result.theta, theta, atol=1e-6)
    assert [r.round for r in result.rounds] == [1, 2, 3] and result.rounds[-1].loss < result.rounds[0].loss


def test_pytorch_fedavg_over_three_python_pods_converges(world):
    torch = pytest.importorskip("torch")
    pods = [world.add_pod(p) for p in ("p1", "p2", "p3")]
    alice = world.add_modeller("alice")
    running = []
    try:
        for i, member in enumerate(pods):
            g = torch.Generator().manual_seed(i)
            X = torch.randn(60 + 30 * i, 2, generator=g)
            y = X @ torch.tensor([[1.5], [-2.0]]) + 0.25

            def train(m, X=X, y=y):
                opt = torch.optim.SGD(m.parameters(), lr=0.2)
                for _ in range(5):
                    opt.zero_grad()
                    torch.nn.functional.mse_loss(m(X), y).backward()
                    opt.step()
                return X.shape[0]

            client = ff.TorchModelClient(torch.nn.Linear(2, 1), train, lambda m, X=X, y=y: torch.nn.functional.mse_loss(m(X), y).item())
            running.append(_python_pod(world, member, fit_clients={"toy": client}))
        layout = ff.ParameterLayout.of([("weight", (1, 2)), ("bias", (1,))])
        result = fm.fedavg(_modeller(world, alice), ["p1", "p2", "p3"], np.zeros(3), 8, name="toy", layout=layout,
                           round_timeout_seconds=60, parameter_bound=10)
    finally:
        for p in running:
            p.stop()
    losses = [r.loss for r in result.rounds]
    assert losses[-1] < 0.01 < losses[0]
    np.testing.assert_allclose(result.tensors()["weight"], [[1.5, -2.0]], atol=0.05)


def test_training_dotnet_modeller_with_a_python_pod_reads_the_dotnet_broadcasts(world):
    frames = [_training_frame(10 + s, n) for s, n in ((0, 120), (1, 160), (2, 100))]
    pods = [world.add_pod(p) for p in ("h1", "h2", "h3")]
    alice = world.add_modeller("alice")
    for member, df in zip(pods[:2], frames[:2]):
        db = _db(world.directory / f"{member.id}.db", "patients", df)
        world.start_dotnet_pod(member, sources={"hospital": {"kind": "sqlite", "path": str(db), "table": "patients"}},
                               training={"columns": {"hospital": ["*"]}})
    py = _python_pod(world, pods[2], sources={"hospital": frames[2]}, training=TrainingPolicy(columns={"hospital": ["*"]}))
    spec = {"trainer": "logistic", "source": "hospital", "features": ["age", "bmi"], "label": "readmitted", "rounds": 3,
            "learningRate": 0.5, "localEpochs": 2, "batchSize": 32, "tolerance": 0, "roundTimeoutSeconds": 60,
            "maxSamplesPerPod": 10000}
    spec_path = world.directory / "train.json"
    spec_path.write_text(json.dumps(spec))
    out = world.directory / "model.json"
    try:
        world.as_modeller(alice, "train", "t-dotnet", "--pod", "h1", "--pod", "h2", "--pod", "h3", "--spec", str(spec_path),
                          "--out", str(out), timeout=240).check()
    finally:
        py.stop()
    data = [(f[["age", "bmi"]].to_numpy(float), f["readmitted"].to_numpy(float)) for f in frames]
    pooled = np.vstack([X for X, _ in data])
    stats = tr.stats_from_sums(dict(zip(("samples", "sum", "sumsq"), np.split(tr.standardisation_input(pooled), [1, 3]))))
    s = tr.TrainingSpec.from_wire(spec)
    theta = np.zeros(3)
    for r in range(1, 4):
        ups = [tr.pod_update(tr.BUILTIN_TRAINERS["logistic"], theta, tr.standardise(X, stats.mean, stats.std), y, s, r) for X, y in data]
        theta = sum(u.input[:3] for u in ups) / sum(u.input[3] for u in ups)
    model = json.loads(out.read_text())
    np.testing.assert_allclose(model["parameters"], theta, atol=1e-5)


def test_a_python_pod_refusing_by_policy_fails_the_mixed_query_with_its_reason(world):
    frames = [_frame(20 + s, 60) for s in range(3)]
    pods = [world.add_pod(p) for p in ("h1", "h2", "h3")]
    alice = world.add_modeller("alice")
    for member, df in zip(pods[:2], frames[:2]):
        db = _db(world.directory / f"{member.id}.db", "admissions", df)
        world.start_dotnet_pod(member, sources={"hospital": {"kind": "sqlite", "path": str(db), "table": "admissions"}},
                               query={"tables": {"admissions": ["*"]}})
    db3 = _db(world.directory / "h3.db", "admissions", frames[2])
    py = _python_pod(world, pods[2], sources={"hospital": SourceSpec(kind="sqlite", path=db3, table="admissions")},
                     query=QueryPolicy(tables={"admissions": ["ward", "age"]}))  # 'stay' is not open on h3
    try:
        with pytest.raises(fm.FederatedSessionFailed, match="Pod h3 declined: the query reads column admissions.stay"):
            fm.query(_modeller(world, alice), ["h1", "h2", "h3"], SPEC, session_id="q-refused")
    finally:
        py.stop()
    session = world.admin.get_session(world.tenant, "q-refused")
    assert session["phase"] == "failed" and not session["federated"]["rounds"]
