"""Embedding tables of symbolic inputs: the lookup equals one-hot @ table, gradients of the
tables against finite differences (by hand and through `gradient_check`), the unknown row
stays zero through training, codes outside a table read it, the state round trip."""
import io

import numpy as np
import pytest

from runtime.engine import embedding as emb
from runtime.engine.embedding import Embedding, auto_dim, embedding_for
from runtime.engine.gradcheck import gradient_check
from runtime.engine.network import Network
from runtime.engine.training import fit
from runtime.types import TrainData
from spec_lang.config import AUTO, Config, Dense, Dropout, Embed, Optimizer, Train

CATS = (4, 6)                           # categories seen in training, per embedded column


def codes_data(n: int = 40, seed: int = 0, task: str = "regression"
               ) -> tuple[np.ndarray, np.ndarray]:
    """X = [2 numeric | codes of 2 columns, 1..m (every category present)], y depending on both."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, 2))
    codes = np.stack([np.arange(n) % m + 1 for m in CATS], axis=1).astype(np.float64)
    for j in range(2):
        rng.shuffle(codes[:, j])
    effect = rng.normal(size=(max(CATS) + 1, 2))
    score = numeric[:, 0] + effect[codes[:, 0].astype(int), 0] + effect[codes[:, 1].astype(int), 1]
    y = score if task == "regression" else (score > np.median(score)).astype(int)
    return np.hstack([numeric, codes]), y


def config(dims: tuple = (3, 5), network: tuple = (Dense(7, "tanh"),), **train) -> Config:
    return Config(network=network, embed=(Embed(("city",), dims[0]), Embed(("shop",), dims[1])),
                  train=Train(dtype="float64", **train))


def build(cfg: Config | None = None, task: str = "regression", seed: int = 0
          ) -> tuple[Network, np.ndarray, np.ndarray]:
    X, y = codes_data(task=task)
    net = Network.build(cfg or config(), task, 2 if task == "classification" else 0, X, y,
                        np.random.default_rng(seed))
    return net, X, y


def test_auto_dim_rule() -> None:
    assert [auto_dim(n) for n in (1, 2, 5, 10, 24, 100, 1000, 10**6)] == \
        [2, 3, 4, 6, 10, 22, 50, emb.AUTO_CAP]


def test_tables_are_sized_by_the_training_codes_and_dim_auto() -> None:
    X, _ = codes_data()
    e = embedding_for(("city", "shop"), (3, AUTO), X)
    assert (e.n_numeric, e.rows, e.dims) == (2, (5, 7), (3, auto_dim(6)))
    assert (e.n_in, e.n_out) == (4, 2 + 3 + auto_dim(6))
    with pytest.raises(ValueError, match="category codes"):
        embedding_for(("city",), (3,), np.hstack([X[:, :2], X[:, :1] + 0.5]))
    with pytest.raises(ValueError, match="needs 3 code column"):
        embedding_for(("a", "b", "c"), (2, 2, 2), X[:, :2])


def test_lookup_equals_one_hot_times_table_and_the_network_reads_it() -> None:
    net, X, _ = build()
    e = net.embedding
    assert e is not None and len(e.tables) == 2
    one_hot = [np.eye(r)[X[:, 2 + j].astype(int)] for j, r in enumerate(e.rows)]
    expected = np.hstack([X[:, :2]] + [h @ t for h, t in zip(one_hot, e.tables)])
    np.testing.assert_array_equal(e.embed(X), expected)
    # the whole network by hand: tanh layer on [numeric | embedded], linear output, y's scale
    hidden, out = net.dense
    z = np.tanh(expected @ hidden.W + hidden.b) @ out.W + out.b
    np.testing.assert_allclose(net.logits(X), z, rtol=1e-12)
    assert hidden.W.shape == (2 + 3 + 5, 7)            # the first layer reads the embeddings


def test_tables_live_in_the_weights_of_the_flat_vector() -> None:
    net, _, _ = build()
    e = net.embedding
    assert e is not None
    n_tables = sum(r * d for r, d in zip(e.rows, e.dims))
    assert e.n_params == n_tables
    assert net.n_weights == sum(d.W.size for d in net.dense) + n_tables
    for table in e.tables:
        assert np.shares_memory(table, net.params[:net.n_weights])
    net.params[:] = 0.0
    assert all(not t.any() for t in e.tables)
    assert set(net.tensors()) >= {"embed0.table", "embed1.table"}
    assert net.lr_scales() is None


def test_initialization_rows_n01_over_dim_and_unknown_row_zero() -> None:
    e = Embedding(0, (2001,), (16,))
    params = np.empty(e.n_params)
    e.bind(params, np.empty_like(params))
    e.initialize(np.random.default_rng(0))
    assert not e.tables[0][0].any()
    norms = (e.tables[0][1:] ** 2).sum(axis=1)
    assert abs(norms.mean() - 1.0) < 0.05              # expected squared norm 1, whatever dim


def test_backprop_of_tables_matches_central_differences_over_every_parameter(
        central_differences) -> None:
    net, X, y = build(config(network=(Dense(6, "tanh"), Dropout(0.3), Dense(5, "sigmoid"))))
    l2, l1 = 0.02, 0.01
    ws = net.workspace(12)
    ws.a[0][...], ws.y[...] = X[:12], net.head.encode(y[:12], net.dtype)
    net.forward(ws, True, np.random.default_rng(1))              # draw a dropout mask, keep it

    def criterion() -> float:
        z = net.forward(ws, True, None)
        w = net.params[:net.n_weights]
        return net.head.criterion(z, ws.y) + 0.5 * l2 * w @ w + l1 * abs(w).sum()

    net.loss_grad(ws, None, l2, l1)
    analytic, h = net.grads.copy(), 1e-6
    numeric = central_differences(net.params, criterion, h)
    e = net.embedding
    assert e is not None
    tables = slice(net.n_weights - e.n_params, net.n_weights)
    np.testing.assert_allclose(analytic[tables], numeric[tables], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    # rows the batch never looks up get only their penalty's gradient
    used = np.unique(X[:12, 2].astype(int))
    unused = np.setdiff1d(np.arange(e.rows[0]), used)
    assert unused.size
    table = e.tables[0]
    grad = analytic[tables][:table.size].reshape(table.shape)
    np.testing.assert_allclose(grad[unused], l2 * table[unused] + l1 * np.sign(table[unused]))


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_gradient_check_covers_the_tables(task: str) -> None:
    X, y = codes_data(task=task)
    data = TrainData(X, y, X[:5], y[:5], task, 2 if task == "classification" else 0)
    errors = gradient_check(config(l2=0.01), data, seed=0, n=16)
    assert {"embed0.table", "embed1.table"} <= set(errors)
    assert max(errors.values()) < 1e-6


def test_a_wrong_scatter_is_caught(monkeypatch) -> None:
    def assigned(self: Embedding, x: np.ndarray, delta: np.ndarray) -> None:
        codes = self.codes(x)        # plain assignment: a row seen twice keeps one example
        for j, grad in enumerate(self.grads):
            grad.fill(0.0)
            grad[codes[:, j]] = delta[:, self.offsets[j]:self.offsets[j + 1]]

    monkeypatch.setattr(Embedding, "backward", assigned)
    X, y = codes_data()
    data = TrainData(X, y, X[:5], y[:5], "regression")
    errors = gradient_check(config(), data, seed=0, n=16)
    assert errors["embed0.table"] > 1e-3 and errors["embed1.table"] > 1e-3
    assert errors["dense0.W"] < 1e-6


def test_codes_outside_a_table_read_the_unknown_row() -> None:
    net, X, _ = build()
    e = net.embedding
    assert e is not None
    odd = X[:3].copy()
    odd[:, 2] = [0, 99, -4]                             # unknown, beyond the table, negative
    np.testing.assert_array_equal(e.codes(odd)[:, 0], [0, 0, 0])
    block = e.embed(odd)[:, e.offsets[0]:e.offsets[1]]
    np.testing.assert_array_equal(block, np.zeros_like(block))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_unknown_row_stays_zero_through_training(optimizer: str) -> None:
    X, y = codes_data(80)
    cfg = Config(
        network=(Dense(8, "relu"),), embed=(Embed(("city",), 3), Embed(("shop",), AUTO)),
        train=Train(optimizer=Optimizer(optimizer, lr=0.01, momentum=0.9), epochs=15, l2=0.01,
                    l1=0.001, early_stop=None))
    result = fit(cfg, TrainData(X, y, X[:10], y[:10], "regression"), seed=0)
    e = result.model.embedding
    assert e is not None and result.state == "complete"
    start = Network.build(cfg, "regression", 0, X, y, np.random.default_rng(0)).embedding
    assert start is not None
    for j, table in enumerate(e.tables):
        assert not table[0].any()
        assert not np.allclose(table[1:], start.tables[j][1:])        # the others learnt


def test_state_round_trip_and_a_table_of_the_wrong_shape_is_refused() -> None:
    net, X, _ = build(config(dims=(AUTO, 2)), task="classification")
    buffer = io.BytesIO()
    np.savez(buffer, **net.state())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        state = dict(saved)
    restored = Network.from_state(state)
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))
    assert restored.embedding is not None and net.embedding is not None
    assert restored.embedding.columns == ("city", "shop")
    for mine, theirs in zip(restored.embedding.tables, net.embedding.tables):
        np.testing.assert_array_equal(mine, theirs)
    state["embed1.table"] = state["embed1.table"][:, :1]
    with pytest.raises(ValueError, match="embed1.table has shape"):
        Network.from_state(state)
