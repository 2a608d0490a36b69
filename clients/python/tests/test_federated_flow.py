"""The federated pod and modeller drivers end to end over an in-memory service and a plain-sum stand-in for secure
aggregation (tests/federated_fakes.py): rounds, channel, releases, refusals. No .NET build needed."""

import sqlite3

import numpy as np
import pandas as pd
import pytest

from federated_fakes import FakeModeller, FakeService, pod_context, serve_in_thread
from smpc.federated import fit as ff
from smpc.federated import modeller as fm
from smpc.federated import training as tr
from test_federated_query import SPEC, _pod_frame

POLICY = {"tables": {"admissions": ["ward", "age_band", "stay"]}}


def _pods(service, tmp_path, sources, modeller, session_id, **config):
    errors, threads, ctxs = [], [], []
    for i, source in enumerate(sources):
        ctx = pod_context(service, f"p{i + 1}", tmp_path / f"state-p{i + 1}", sources={"admissions": source}, **config)
        ctxs.append(ctx)
        threads.append(serve_in_thread(service, ctx, session_id, modeller, errors))
    return ctxs, threads, errors


def _join(threads, errors):
    for t in threads:
        t.join(20)
        assert not t.is_alive()
    assert not errors, errors


def test_query_over_sqlite_csv_and_pandas_pods_equals_the_pooled_sql(tmp_path):
    frames = [_pod_frame(s, 150) for s in range(3)]
    db = tmp_path / "p1.db"
    with sqlite3.connect(db) as c:
        frames[0].to_sql("admissions", c, index=False)
    frames[1].to_csv(tmp_path / "p2.csv", index=False)
    service = FakeService()
    modeller = FakeModeller(service)
    sources = [{"kind": "sqlite", "path": str(db)}, {"kind": "csv", "path": str(tmp_path / "p2.csv")}, frames[2]]
    ctxs, threads, errors = _pods(service, tmp_path, sources, modeller, "q1", query=POLICY)
    table = fm.query(modeller, ["p1", "p2", "p3"], SPEC, session_id="q1", round_runner=service.round_runner)
    _join(threads, errors)
    conn = sqlite3.connect(":memory:")
    pd.concat(frames).to_sql("admissions", conn, index=False)
    expected = {(w, f"[{b}, {b + 25})"): (n, s) for w, b, n, s in conn.execute(
        "SELECT ward, (age_band / 25) * 25, COUNT(*), SUM(stay) FROM admissions GROUP BY 1, 2")}
    for row in table.itertuples(index=False):
        n, s = expected[(row.ward, row.age_band)]
        assert row.n == n and not row.withheld and row.total_stay == pytest.approx(s, rel=1e-12)
        assert row.mean_stay == pytest.approx(s / n, rel=1e-12)
    assert service.sessions["q1"]["phase"] == "completed"
    assert [r["round"] for r in service.sessions["q1"]["federated"]["rounds"]] == ["counts", "values"]
    assert not any((c.state_dir / "q1.member").exists() or (c.state_dir / "q1.rounds").exists() for c in ctxs)


def test_a_pod_refusing_by_policy_fails_the_query_with_its_reason(tmp_path):
    service = FakeService()
    modeller = FakeModeller(service)
    frames = [_pod_frame(s, 50) for s in range(3)]
    errors, threads = [], []
    for i, df in enumerate(frames):
        policy = POLICY if i else {"tables": {"admissions": ["ward", "age_band"]}}  # p1 does not open 'stay'
        ctx = pod_context(service, f"p{i + 1}", tmp_path / f"s{i}", sources={"admissions": df}, query=policy)
        threads.append(serve_in_thread(service, ctx, "q2", modeller, errors))
    with pytest.raises(fm.FederatedSessionFailed, match="column admissions.stay"):
        fm.query(modeller, ["p1", "p2", "p3"], SPEC, session_id="q2", round_runner=service.round_runner)
    _join(threads, errors)
    assert service.sessions["q2"]["phase"] == "failed"
    assert "counts" not in [r["round"] for r in service.sessions["q2"]["federated"]["rounds"]]


def test_a_release_the_service_rewrote_is_refused_as_unverified_modeller(tmp_path, caplog):
    service = FakeService()
    modeller = FakeModeller(service)
    service.tamper_release = lambda data: data[:-64] + bytes(64)  # a signature that is not the modeller's
    ctxs, threads, errors = _pods(service, tmp_path, [_pod_frame(s, 80) for s in range(3)], modeller, "q3", query=POLICY)
    with pytest.raises(fm.FederatedSessionFailed, match="unverified-modeller: release 'counts' is not signed"):
        fm.query(modeller, ["p1", "p2", "p3"], SPEC, session_id="q3", round_runner=service.round_runner)
    _join(threads, errors)
    assert "REFUSED session q3: round values: unverified-modeller" in caplog.text
    assert "values" not in service.inputs.get("q3-values", {}) and not service.inputs.get("q3-values")


def _training_frames():
    rng = np.random.default_rng(7)
    frames = []
    for n in (120, 200, 80):
        X = rng.normal([50, 25], [12, 4], (n, 2))
        y = (0.08 * (X[:, 0] - 50) - 0.3 * (X[:, 1] - 25) + rng.normal(0, 0.5, n) > 0).astype(int)
        frames.append(pd.DataFrame({"age": X[:, 0], "bmi": X[:, 1], "readmitted": y}))
    return frames


def test_logistic_training_is_fedavg_of_the_pods_local_models(tmp_path):
    frames = _training_frames()
    service = FakeService()
    modeller = FakeModeller(service)
    spec = tr.TrainingSpec("logistic", "admissions", ("age", "bmi"), "readmitted", rounds=6, learning_rate=0.5,
                           local_epochs=3, batch_size=32, tolerance=0, max_samples_per_pod=10_000)
    ctxs, threads, errors = _pods(service, tmp_path, frames, modeller, "t1", training={"columns": {"admissions": ["*"]}})
    result = fm.train(modeller, ["p1", "p2", "p3"], spec, session_id="t1", round_runner=service.round_runner)
    _join(threads, errors)
    # The same rounds computed directly from the pods' rows: the modeller's θ is exactly FedAvg's.
    trainer = tr.BUILTIN_TRAINERS["logistic"]
    data = [(f[["age", "bmi"]].to_numpy(float), f["readmitted"].to_numpy(float)) for f in frames]
    pooled = np.vstack([X for X, _ in data])
    stats = tr.stats_from_sums(dict(zip(("samples", "sum", "sumsq"), np.split(tr.standardisation_input(pooled), [1, 3]))))
    theta = np.zeros(3)
    for r in range(1, 7):
        ups = [tr.pod_update(trainer, theta, tr.standardise(X, stats.mean, stats.std), y, spec, r) for X, y in data]
        theta = sum(u.input[:3] for u in ups) / sum(u.input[3] for u in ups)
    np.testing.assert_allclose(result.theta, theta, rtol=1e-12)
    losses = [r.loss for r in result.rounds]
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert [m["round"] for m in service.sessions["t1"]["federated"]["metrics"]] == [f"round-{i}" for i in range(1, 7)]


def test_fedavg_of_your_own_torch_model_converges(tmp_path):
    torch = pytest.importorskip("torch")
    service = FakeService()
    modeller = FakeModeller(service)
    clients = {}
    for i, n in enumerate((50, 80, 120)):
        g = torch.Generator().manual_seed(i)
        X = torch.randn(n, 2, generator=g)
        y = X @ torch.tensor([[1.5], [-2.0]]) + 0.25

        def train(m, X=X, y=y):
            opt = torch.optim.SGD(m.parameters(), lr=0.2)
            for _ in range(5):
                opt.zero_grad()
                torch.nn.functional.mse_loss(m(X), y).backward()
                opt.step()
            return X.shape[0]

        clients[f"p{i + 1}"] = ff.TorchModelClient(torch.nn.Linear(2, 1), train,
                                                   lambda m, X=X, y=y: torch.nn.functional.mse_loss(m(X), y).item())
    errors, threads = [], []
    for pod, client in clients.items():
        ctx = pod_context(service, pod, tmp_path / pod, fit_clients={"toy": client})
        threads.append(serve_in_thread(service, ctx, "f1", modeller, errors))
    layout = clients["p1"].layout
    result = fm.fedavg(modeller, list(clients), np.zeros(layout.size), 12, name="toy", layout=layout, session_id="f1",
                       round_runner=service.round_runner)
    _join(threads, errors)
    assert result.rounds[-1].loss < 1e-3 < result.rounds[0].loss
    np.testing.assert_allclose(result.tensors()["weight"], [[1.5, -2.0]], atol=0.02)
    assert service.sessions["f1"]["federated"]["training"]["features"] == ["weight[1,2]", "bias[1]"]


def test_a_pod_with_another_model_layout_refuses_fedavg(tmp_path):
    torch = pytest.importorskip("torch")
    service = FakeService()
    modeller = FakeModeller(service)
    errors, threads = [], []
    for i, width in enumerate((2, 2, 3)):
        client = ff.TorchModelClient(torch.nn.Linear(width, 1), lambda m: 1, lambda m: 0.0)
        threads.append(serve_in_thread(service, pod_context(service, f"p{i + 1}", tmp_path / str(i), fit_clients={"toy": client}),
                                       "f2", modeller, errors))
    layout = ff.ParameterLayout.of([("weight", (1, 2)), ("bias", (1,))])
    with pytest.raises(fm.FederatedSessionFailed, match="layout is not that of this pod's FitClient 'toy'"):
        fm.fedavg(modeller, ["p1", "p2", "p3"], np.zeros(3), 2, name="toy", layout=layout, session_id="f2",
                  round_runner=service.round_runner)
    _join(threads, errors)


def test_a_round_label_is_answered_once(tmp_path):
    """A second session for the counts round (say, over other dropouts) would let the two sums be subtracted: refused."""
    from smpc.federated import query as q

    service = FakeService()
    modeller = FakeModeller(service)
    ctxs, threads, errors = _pods(service, tmp_path, [_pod_frame(s, 40) for s in range(3)], modeller, "q4", query=POLICY)
    service.create_session("acme", {"id": "q4", "modellerId": "alice", "kind": "query", "podIds": ["p1", "p2", "p3"], "query": SPEC})
    with service.cond:
        assert service.cond.wait_for(lambda: len(service.sessions["q4"]["federated"]["memberKeys"]) == 3, timeout=20)
    fields = q.QueryShape.create(SPEC).count_round_fields()
    first = service.round_runner(modeller, "q4-counts", "q4", "counts", ["p1", "p2", "p3"], fields, 20)
    assert first.sums["n"].sum() == 120
    with pytest.raises(RuntimeError):
        service.round_runner(modeller, "q4-counts-again", "q4", "counts", ["p1", "p2", "p3"], fields, 20)
    _join(threads, errors)
    assert "round 'counts' already ran as session q4-counts" in service.sessions["q4"]["federated"]["failureReason"]
    assert not service.inputs["q4-counts-again"]


def test_fedavg_of_a_sklearn_linear_model_learns_the_pooled_task(tmp_path):
    from sklearn.linear_model import SGDClassifier

    service = FakeService()
    modeller = FakeModeller(service)
    rng = np.random.default_rng(3)
    errors, threads, clients = [], [], []
    for i, n in enumerate((60, 90, 150)):
        X = rng.normal(size=(n, 3))
        y = (X @ np.array([2.0, -1.0, 0.5]) > 0).astype(int)
        client = ff.SklearnLinearClient(SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.05, random_state=i), X, y, epochs=2)
        clients.append(client)
        threads.append(serve_in_thread(service, pod_context(service, f"p{i + 1}", tmp_path / str(i), fit_clients={"lr": client}),
                                       "f3", modeller, errors))
    result = fm.fedavg(modeller, ["p1", "p2", "p3"], clients[0], 8, name="lr", session_id="f3", round_runner=service.round_runner)
    _join(threads, errors)
    assert result.rounds[-1].loss < 0.5 * result.rounds[0].loss
    w = result.tensors()["coef_"].ravel()
    assert w[0] > 0 > w[1] and np.corrcoef(w, [2.0, -1.0, 0.5])[0, 1] > 0.95
