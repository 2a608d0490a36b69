"""Your own model: parameter layouts and flattening round trips (PyTorch, scikit-learn), the FitClient round and the
FedAvg mean."""

import numpy as np
import pytest

from smpc.federated import fit as f


def test_layout_flatten_unflatten_round_trip():
    layout = f.ParameterLayout.of([("w", (2, 3)), ("b", (3,)), ("s", ())])
    assert layout.size == 10 and layout.describe() == ["w[2,3]", "b[3]", "s[]"]
    tensors = {"w": np.arange(6.0).reshape(2, 3), "b": np.array([7.0, 8.0, 9.0]), "s": np.array(-1.5)}
    v = layout.flatten(tensors)
    assert v.tolist() == [0, 1, 2, 3, 4, 5, 7, 8, 9, -1.5]
    back = layout.unflatten(v)
    for k in tensors:
        np.testing.assert_array_equal(back[k], tensors[k])
    with pytest.raises(ValueError, match="10 elements"):
        layout.unflatten(v[:-1])
    with pytest.raises(ValueError, match="shape"):
        layout.flatten({**tensors, "b": np.zeros(2)})


def test_torch_state_dict_round_trip_keeps_dtypes_and_skips_integer_buffers():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    client = f.TorchModelClient(module, lambda m: 1)
    assert "1.num_batches_tracked" not in client.layout.names
    assert client.layout.names[:2] == ("0.weight", "0.bias") and client.layout.size == 3 * 4 + 4 + 4 * 4 + 1 * 4 + 1
    v = client.get_parameters()
    assert v.dtype == np.float64
    target = np.linspace(-1, 1, v.size)
    client.set_parameters(target)
    np.testing.assert_allclose(client.get_parameters(), target, rtol=1e-6)  # float32 tensors: rounded, not reshuffled
    assert module[0].weight.dtype == torch.float32
    np.testing.assert_allclose(module[0].weight.detach().numpy().ravel(), target[:12], rtol=1e-6)


def test_sklearn_linear_round_trip_and_fit():
    from sklearn.linear_model import SGDClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    client = f.SklearnLinearClient(SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.1, random_state=0), X, y, epochs=3)
    assert client.layout.describe() == ["coef_[1,3]", "intercept_[1]"]
    np.testing.assert_array_equal(client.get_parameters(), np.zeros(4))
    loss0, n, _ = client.evaluate(np.zeros(4))
    assert n == 80 and loss0 == pytest.approx(np.log(2))
    theta, n, _ = client.fit(np.zeros(4))
    assert n == 80 and client.evaluate(theta)[0] < loss0
    np.testing.assert_array_equal(client.get_parameters(), theta)


def test_local_round_refuses_unusable_clients():
    class Bad(f.FitClient):
        layout = f.ParameterLayout.of([("w", (2,))])

        def __init__(self, out, n=3, metrics=None):
            self.out, self.n, self.metrics = out, n, metrics or {}

        def fit(self, parameters):
            return self.out, self.n, self.metrics

    with pytest.raises(f.FitClientError, match="no loss"):
        f.local_round(Bad([1.0, 2.0]), np.zeros(2))
    with pytest.raises(f.FitClientError, match="3 values"):
        f.local_round(Bad([1.0, 2.0, 3.0], metrics={"loss": 1}), np.zeros(2))
    with pytest.raises(f.FitClientError, match="finite"):
        f.local_round(Bad([1.0, np.nan], metrics={"loss": 1}), np.zeros(2))
    with pytest.raises(f.FitClientError, match="positive integer"):
        f.local_round(Bad([1.0, 2.0], n=0, metrics={"loss": 1}), np.zeros(2))
    theta, n, loss, _ = f.local_round(Bad([1.0, 2.0], metrics={"loss": 0.5}), np.zeros(2))
    assert theta.tolist() == [1.0, 2.0] and n == 3 and loss == 0.5


def test_fedavg_mean_is_weighted_by_examples():
    got = f.fedavg_mean([([1.0, 0.0], 1), ([4.0, 3.0], 2)])
    np.testing.assert_allclose(got, [3.0, 2.0])


def test_torch_fedavg_in_memory_converges_like_central_training():
    """FedAvg's arithmetic over three torch clients (no service): the averaged model fits the pooled toy task."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    true_w = torch.tensor([[2.0, -3.0]])
    clients = []
    for seed, n in ((0, 40), (1, 60), (2, 100)):
        g = torch.Generator().manual_seed(seed)
        X = torch.randn(n, 2, generator=g)
        y = X @ true_w.T + 0.5
        model = torch.nn.Linear(2, 1)

        def train(m, X=X, y=y):
            opt = torch.optim.SGD(m.parameters(), lr=0.1)
            for _ in range(5):
                opt.zero_grad()
                torch.nn.functional.mse_loss(m(X), y).backward()
                opt.step()
            return X.shape[0]

        clients.append(f.TorchModelClient(model, train, lambda m, X=X, y=y: torch.nn.functional.mse_loss(m(X), y).item()))
    theta = np.zeros(clients[0].layout.size)
    losses = []
    for _ in range(15):
        results = [f.local_round(c, theta) for c in clients]
        losses.append(sum(n * l for _, n, l, _ in results) / sum(n for _, n, _, _ in results))
        theta = f.fedavg_mean([(t, n) for t, n, _, _ in results])
    assert losses[-1] < 1e-3 < losses[0]
    np.testing.assert_allclose(theta, [2.0, -3.0, 0.5], atol=0.05)


FACTORY_CLIENT = 42


def make_toy_client():
    """A FitClient factory a pod configuration can name as 'test_federated_fit:make_toy_client'."""
    class Toy(f.FitClient):
        layout = f.ParameterLayout.of([("w", (2,))])

        def fit(self, parameters):
            return parameters + 1, 4, {"loss": 0.5}

    return Toy()


def test_a_fit_client_can_be_named_as_module_attribute():
    from smpc.federated.pod import FederatedRefusal, _fit_client

    client = _fit_client("test_federated_fit:make_toy_client", "toy")
    assert client.layout.size == 2 and f.local_round(client, np.zeros(2))[1] == 4
    with pytest.raises(FederatedRefusal, match="cannot be loaded"):
        _fit_client("no_such_module:x", "toy")
    with pytest.raises(FederatedRefusal, match="is not a FitClient"):
        _fit_client("test_federated_fit:FACTORY_CLIENT", "toy")
