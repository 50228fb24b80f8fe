"""Sparse (CSR) inputs in the engine: the first layer's row gradient against finite differences,
training on CSR equal to training on the same matrix densified (plain SGD), the lazy row
updates recomputed by hand, and predictions that never densify the input."""
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from runtime.engine.gradcheck import gradient_check
from runtime.engine.network import Network
from runtime.engine.optimizers import make_optimizer
from runtime.data.sparse_text import make_sparse
from runtime.engine.training import build_network, fit
from runtime.types import TrainData
from spec_lang.config import Config, DataSpec, Dense, Dropout, EarlyStop, Optimizer, Train


def sparse_set(n: int = 120, d: int = 400, density: float = 0.03, seed: int = 0
               ) -> tuple[sp.csr_matrix, np.ndarray]:
    """A random CSR matrix and labels that depend on a few of its columns."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed,
                  data_rvs=lambda k: rng.integers(1, 4, size=k).astype(float))
    y = (np.asarray(X[:, :40].sum(axis=1)).ravel() > np.asarray(X[:, 40:80].sum(axis=1)).ravel())
    return X, y.astype(int) + 2 * (np.asarray(X[:, 80:120].sum(axis=1)).ravel() > 0.5)


@pytest.fixture(scope="module")
def data() -> TrainData:
    X, y = sparse_set()
    return TrainData(X[:80], y[:80], X[80:], y[80:], "classification", 4)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_sparse_first_layer_gradient_matches_finite_differences(data, activation) -> None:
    # Glorot's full range named: relu's auto half range puts more pre-activations within a
    # finite-difference step of its kink
    config = Config(network=(Dense(10, activation, init="glorot_uniform"), Dropout(0.3),
                             Dense(6, "tanh")),
                    train=Train(l2=0.01, l1=0.001, activity_l1=0.01))
    errors = gradient_check(config, data, seed=3, n=16, entries=32)
    assert set(errors) == {"dense0.W", "dense0.b", "dense1.W", "dense1.b", "output.W",
                           "output.b"}
    assert max(errors.values()) < 1e-6


def test_a_wrong_sparse_gradient_is_caught(data, monkeypatch) -> None:
    from runtime.engine import layers

    def doubled(self, x, delta, dx) -> None:
        right(self, x, delta, dx)
        self.g_rows *= 2.0

    right = layers.Dense._sparse_backward
    monkeypatch.setattr(layers.Dense, "_sparse_backward", doubled)
    errors = gradient_check(Config(network=(Dense(8, "tanh"),)), data, seed=0, n=16)
    assert errors["dense0.W"] > 0.1 and errors["output.W"] < 1e-6


def plain(epochs: int = 3, optimizer: Optimizer | None = None, l2: float = 0.0) -> Config:
    return Config(network=(Dense(16, "relu"), Dense(8, "tanh")),
                  train=Train(dtype="float64", epochs=epochs, batch=16, l2=l2,
                              optimizer=optimizer or Optimizer("sgd", lr=0.05, momentum=0.0),
                              early_stop=EarlyStop(patience=100)))


def dense_copy(data: TrainData) -> TrainData:
    return dataclasses.replace(data, X_train=data.X_train.toarray(),
                               X_valid=data.X_valid.toarray())


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_plain_sgd_on_csr_trains_the_same_network_as_on_the_dense_matrix(data, l2) -> None:
    """Plain SGD without l2: the very same network. With l2 the penalty is lazy (a first-layer
    row decays only in the batches holding its feature), so the first layer's W differs, while
    the biases stay close."""
    sparse, dense = fit(plain(l2=l2), data, 7), fit(plain(l2=l2), dense_copy(data), 7)
    assert sparse.updates == dense.updates > 0
    a, b = sparse.model, dense.model
    if l2 == 0.0:
        np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-12)
        assert sparse.curves["train_loss"] == pytest.approx(dense.curves["train_loss"], 1e-10)
    else:
        np.testing.assert_allclose(a.params[a.n_weights:], b.params[b.n_weights:], atol=0.05)
        assert not np.allclose(a.dense[0].W, b.dense[0].W)    # lazy: untouched rows not decayed


def test_predictions_from_csr_equal_those_from_the_dense_matrix(data) -> None:
    net = fit(plain(), data, 1).model
    np.testing.assert_allclose(net.logits(data.X_valid), net.logits(data.X_valid.toarray()),
                               rtol=1e-12)
    coo = data.X_valid.tocoo()                                  # any scipy format
    np.testing.assert_allclose(net.logits(coo), net.logits(data.X_valid), rtol=1e-12)


def test_float32_training_on_csr_learns() -> None:
    X, y = make_sparse(DataSpec(source="make_sparse", samples=1500, features=5000, classes=3))
    data = TrainData(X[:1000], y[:1000], X[1000:], y[1000:], "classification", 3)
    config = dataclasses.replace(plain(epochs=30), train=dataclasses.replace(
        plain(epochs=30).train, dtype="float32", optimizer=Optimizer("adam", lr=0.003)))
    result = fit(config, data, 0)
    assert result.state == "complete"
    assert result.model.params.dtype == np.float32
    assert result.valid_metrics["error"] < 0.2                   # the prior is about 0.67


def test_dropout_on_sparse_inputs_is_a_clear_error(data) -> None:
    config = Config(network=(Dropout(0.2), Dense(8, "relu")))
    with pytest.raises(ValueError, match="sparse inputs go straight into a dense layer"):
        fit(config, data, 0)


def lazy_adam_by_hand(w: np.ndarray, grads: list[tuple[np.ndarray, np.ndarray]], lr: float,
                      b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> np.ndarray:
    """Lazy Adam on a (rows, width) matrix: each step touches only its rows' moments."""
    w, m, s = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, (rows, g) in enumerate(grads, start=1):
        m[rows] = b1 * m[rows] + (1 - b1) * g
        s[rows] = b2 * s[rows] + (1 - b2) * g * g
        m_hat, s_hat = m[rows] / (1 - b1**t), s[rows] / (1 - b2**t)
        w[rows] -= lr * m_hat / (np.sqrt(s_hat) + eps)
    return w


def lazy_momentum_by_hand(w: np.ndarray, grads: list[tuple[np.ndarray, np.ndarray]], lr: float,
                          mu: float) -> np.ndarray:
    w, v = w.copy(), np.zeros_like(w)
    for rows, g in grads:
        v[rows] = mu * v[rows] - lr * g
        w[rows] += v[rows]
    return w


STEPS = [(np.array([0, 2]), np.array([[0.5, -1.0], [1.0, 2.0]])),
         (np.array([1, 2]), np.array([[-0.3, 0.2], [0.5, 0.5]])),
         (np.array([0, 3]), np.array([[1.0, 1.0], [-2.0, 0.1]]))]


@pytest.mark.parametrize("spec,by_hand", [
    (Optimizer("adam"), lambda w, lr: lazy_adam_by_hand(w, STEPS, lr)),
    (Optimizer("sgd", momentum=0.9), lambda w, lr: lazy_momentum_by_hand(w, STEPS, lr, 0.9)),
    (Optimizer("sgd", momentum=0.0), lambda w, lr: lazy_momentum_by_hand(w, STEPS, lr, 0.0)),
])
def test_update_rows_is_the_lazy_rule(spec: Optimizer, by_hand) -> None:
    """A (4, 2) weight block at the start of a 10-vector; the 2 parameters after it get a full
    gradient (ones) and follow the dense rule."""
    lr, width, block = 0.1, 2, slice(0, 8)
    opt = make_optimizer(spec, 10, np.dtype(np.float64))
    params = np.arange(10, dtype=np.float64) / 10
    W0 = params[block].reshape(4, 2).copy()
    reference = make_optimizer(spec, 2, np.dtype(np.float64))
    tail = params[8:].copy()
    for rows, g in STEPS:
        scale = opt.grad_scale(lr)
        grads = np.ones(10) * scale
        opt.update_rows(params, grads, lr, block, width, rows, g * scale)
        reference.update(tail, np.ones(2) * scale, lr)
    np.testing.assert_allclose(params[block].reshape(4, 2), by_hand(W0, lr), rtol=1e-12)
    np.testing.assert_allclose(params[8:], tail, rtol=1e-12)


def test_a_saved_network_predicts_sparse_inputs_after_a_round_trip(data) -> None:
    net = fit(plain(), data, 2).model
    again = Network.from_state(net.state())
    np.testing.assert_array_equal(again.logits(data.X_valid), net.logits(data.X_valid))


def test_building_a_network_on_csr_inputs_reads_their_width(data) -> None:
    net = build_network(plain(), data, np.random.default_rng(0))
    assert net.n_in == data.X_train.shape[1]
