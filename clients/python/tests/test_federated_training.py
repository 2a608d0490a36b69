"""Federated training semantics: field sizing, standardisation, the built-in trainers (as the .NET loop computes them),
FedAvg arithmetic, rounds and the pod's refusals."""

import numpy as np
import pandas as pd
import pytest

from smpc.federated import training as t

SPEC = t.TrainingSpec("logistic", "hospital", ("age", "bmi"), "readmitted", rounds=5, learning_rate=0.5, local_epochs=3,
                      batch_size=16, parameter_bound=100, feature_bound=1000, max_samples_per_pod=100_000)


def _data(seed, n, d=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(50, 10, (n, d))
    y = (X @ np.array([0.08, -0.05][:d]) + rng.normal(0, 0.5, n) > 1.5).astype(float)
    return X, y


def _reference_fit(trainer, theta, X, y, lr, epochs, batch, seed):
    """The .NET LinearModelTrainer.Fit, row by row (an independent loop, not the vectorised one)."""
    w = list(theta)
    n, d = X.shape
    b = n if batch <= 0 or batch >= n else batch
    order = list(range(n)) if b < n else None
    rng = t.SplitMix64(seed)
    for _ in range(epochs):
        if order is not None:
            for i in range(n - 1, 0, -1):
                j = rng.next_int(i + 1)
                order[i], order[j] = order[j], order[i]
        for start in range(0, n, b):
            end = min(n, start + b)
            g = [0.0] * (d + 1)
            for k in range(start, end):
                i = order[k] if order is not None else k
                z = w[d] + sum(w[j] * X[i, j] for j in range(d))
                s = float(trainer.loss_slope(np.array(z), np.array(y[i])))
                for j in range(d):
                    g[j] += s * X[i, j]
                g[d] += s
            step = lr / (end - start)
            w = [w[j] - step * g[j] for j in range(d + 1)]
    return np.array(w)


def test_splitmix64_is_the_reference_sequence():
    g = t.SplitMix64(0)
    assert [g.next() for _ in range(2)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


@pytest.mark.parametrize("name, batch", [("logistic", 16), ("logistic", 0), ("linear", 7)])
def test_trainers_compute_what_the_dotnet_loop_computes(name, batch):
    trainer = t.BUILTIN_TRAINERS[name]
    X, y = _data(4, 61)
    Z = (X - X.mean(0)) / X.std(0)
    if name == "linear":
        y = Z @ np.array([1.5, -0.5]) + 0.25
    theta0 = np.array([0.1, -0.2, 0.05])
    got = trainer.fit(theta0, Z, y, 0.3, 3, batch, seed=2)
    np.testing.assert_allclose(got, _reference_fit(trainer, theta0, Z, y, 0.3, 3, batch, 2), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(theta0, [0.1, -0.2, 0.05])  # θ itself is not changed


def test_logistic_loss_is_clamped_and_sigmoid_does_not_overflow():
    lg = t.LogisticRegressionTrainer()
    assert lg.loss(np.array([0.0, 800.0]), np.zeros((1, 1)), np.array([0.0])) == pytest.approx(-np.log(1e-12))
    assert np.all(np.isfinite(t.sigmoid(np.array([-1000.0, 1000.0]))))


def test_standardisation_from_sums_is_the_pooled_mean_and_population_std():
    parts = [_data(s, 30 + s)[0] for s in range(3)]
    total = sum(t.standardisation_input(X) for X in parts)
    stats = t.stats_from_sums({"samples": total[:1], "sum": total[1:3], "sumsq": total[3:]})
    pooled = np.vstack(parts)
    assert stats.samples == pooled.shape[0]
    np.testing.assert_allclose(stats.mean, pooled.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.std, pooled.std(0), rtol=1e-9)
    constant = t.stats_from_sums({"samples": [4.0], "sum": [8.0], "sumsq": [16.0]})
    assert constant.std.tolist() == [1.0]


def test_fields_are_sized_as_the_service_and_dotnet_pods_expect():
    assert t.standardisation_fields(SPEC) == [
        {"name": "samples", "length": 1, "min": 0.0, "max": 100000.0, "precision": 1},
        {"name": "sum", "length": 2, "min": -1e8, "max": 1e8, "precision": 100000000},
        {"name": "sumsq", "length": 2, "min": 0.0, "max": 1e11, "precision": 100000},
    ]
    assert t.fedavg_fields(SPEC, 3) == [
        {"name": "weighted", "length": 3, "min": -1e7, "max": 1e7, "precision": 1000000000},
        {"name": "samples", "length": 1, "min": 0.0, "max": 100000.0, "precision": 1},
        {"name": "loss", "length": 1, "min": 0.0, "max": 2e6 * 100000, "precision": 100000},
    ]
    with pytest.raises(ValueError, match="lower ParameterBound"):
        t.fedavg_fields(t.TrainingSpec("linear", "s", ("a",), "b", parameter_bound=1e12), 2)


def test_fedavg_average_is_the_sample_weighted_mean_of_local_models():
    trainer = t.BUILTIN_TRAINERS["logistic"]
    pods = [_data(s, 40 + 25 * s) for s in range(3)]
    total = sum(t.standardisation_input(X) for X, _ in pods)
    stats = t.stats_from_sums({"samples": total[:1], "sum": total[1:3], "sumsq": total[3:]})
    theta = np.zeros(3)
    updates = [t.pod_update(trainer, theta, t.standardise(X, stats.mean, stats.std), y, SPEC, 1) for X, y in pods]
    summed = sum(u.input for u in updates)
    avg = t.average({"weighted": summed[:3], "samples": summed[3:4], "loss": summed[4:5]})
    ns = np.array([X.shape[0] for X, _ in pods], dtype=float)
    np.testing.assert_allclose(avg.theta, sum(n * u.local_theta for n, u in zip(ns, updates)) / ns.sum(), rtol=1e-12)
    assert avg.samples == ns.sum() and avg.mean_loss == pytest.approx(np.log(2))  # every pod's loss at θ = 0 is ln 2
    assert not t.converged(theta, avg.theta, 1e-4) and t.converged(avg.theta, avg.theta + 1e-9, 1e-4)


def test_pod_refuses_rather_than_clips():
    trainer = t.BUILTIN_TRAINERS["linear"]
    X, y = np.ones((5, 2)), np.ones(5)
    spec = t.TrainingSpec("linear", "s", ("a", "b"), "c", learning_rate=0.1, local_epochs=1, parameter_bound=1.0)
    with pytest.raises(t.TrainingRefused, match="broadcast has 2 parameters"):
        t.pod_update(trainer, [0.0, 0.0], X, y, spec, 1)
    with pytest.raises(t.TrainingRefused, match="broadcast parameters exceed ParameterBound"):
        t.pod_update(trainer, [2.0, 0.0, 0.0], X, y, spec, 1)
    with pytest.raises(t.TrainingRefused, match="locally trained parameters exceed"):
        t.pod_update(trainer, [0.0, 0.0, 0.0], X * 100, y * 100, t.TrainingSpec("linear", "s", ("a", "b"), "c", parameter_bound=1.0, learning_rate=1e-3), 1)


def test_round_labels():
    assert t.round_number("round-3", 5) == 3
    for bad in ("round-0", "round-6", "round-03", "round-x", "values"):
        with pytest.raises(t.TrainingRefused):
            t.round_number(bad, 5)


def test_loader_applies_policy_and_bounds_without_quoting_values(tmp_path):
    df = pd.DataFrame({"age": [50.0, 60.0], "bmi": [20.0, 5000.0], "readmitted": ["true", "0"]})
    policy = t.TrainingPolicy(columns={"hospital": ["*"]})
    with pytest.raises(t.TrainingRefused) as e:
        t.load_training_data(SPEC, df, policy, t.BUILTIN_TRAINERS["logistic"])
    assert str(e.value) == "row 2, column 'bmi': the value is outside ±FeatureBound = 1000" and "5000" not in str(e.value)
    df.loc[1, "bmi"] = 25.0
    df.to_csv(tmp_path / "h.csv", index=False)
    X, y = t.load_training_data(SPEC, tmp_path / "h.csv", policy, t.BUILTIN_TRAINERS["logistic"])
    assert X.tolist() == [[50.0, 20.0], [60.0, 25.0]] and y.tolist() == [1.0, 0.0]
    with pytest.raises(t.TrainingRefused, match="does not allow training on column 'bmi'"):
        t.load_training_data(SPEC, df, t.TrainingPolicy(columns={"hospital": ["age", "readmitted"]}), t.BUILTIN_TRAINERS["logistic"])
    with pytest.raises(t.TrainingRefused, match="not allowed"):
        t.load_training_data(SPEC, df, t.TrainingPolicy(trainers=["linear"], columns={"hospital": ["*"]}), t.BUILTIN_TRAINERS["logistic"])
    df.loc[0, "readmitted"] = "2"
    with pytest.raises(t.TrainingRefused, match="needs labels 0 or 1"):
        t.load_training_data(SPEC, df, policy, t.BUILTIN_TRAINERS["logistic"])
