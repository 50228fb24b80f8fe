"""The network: gradient of the whole criterion by finite differences, state round trip, dtype,
prediction shapes."""
import io

import numpy as np
import pytest

from runtime.engine.network import PREDICT_ROWS, Network
from spec_lang.config import Config, Dense, Dropout, Output, Train


def build(task: str = "classification", dtype: str = "float64", network=None, n_classes: int = 3,
          seed: int = 0, **train) -> tuple[Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 5))
    y = {"classification": rng.integers(0, n_classes, size=30),
         "multilabel": rng.integers(0, 2, size=(30, 3)).astype(float),
         "regression": rng.normal(10, 5, size=30)}[task]
    network = network or (Dense(7, "tanh"), Dropout(0.3), Dense(6, "relu"))
    config = Config(network=network, train=Train(dtype=dtype, **train))
    return Network.build(config, task, n_classes, X, y, rng), X, y


def test_backprop_matches_central_differences_on_the_whole_criterion(central_differences) -> None:
    net, X, y = build()
    l2, l1, act = 0.03, 0.02, 0.05
    ws = net.workspace(5)
    ws.a[0][...], ws.y[...] = X[:5], net.head.encode(y[:5], net.dtype)
    net.forward(ws, True, np.random.default_rng(1))               # draw a dropout mask, keep it
    assert 0 < ws.masks[1].mean() < 1.5 and (ws.masks[1] == 0).any()

    def criterion() -> float:
        z = net.forward(ws, True, None)
        w = net.params[:net.n_weights]
        hidden = abs(ws.a[1]).sum() + abs(ws.a[3]).sum()          # the two dense outputs
        return net.head.criterion(z, ws.y) + 0.5 * l2 * w @ w + l1 * abs(w).sum() + act * hidden / 5

    net.loss_grad(ws, None, l2, l1, act)
    analytic, h = net.grads.copy(), 1e-6
    # kink-safe: no relu pre-activation and no weight within 1000 steps of 0
    z_relu = ws.a[2] @ net.layers[2].W + net.layers[2].b
    assert abs(z_relu).min() > 1e3 * h and abs(net.params[:net.n_weights]).min() > 1e3 * h
    numeric = central_differences(net.params, criterion, h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_float32_by_default_float64_on_request() -> None:
    net32, X, _ = build(dtype="float32")
    net64, _, _ = build(dtype="float64")
    assert Config().train.dtype == "float32"
    assert net32.params.dtype == np.float32 and net32.predict(X).dtype == np.float32
    assert net64.params.dtype == np.float64 and net64.predict(X).dtype == np.float64
    np.testing.assert_allclose(net32.params, net64.params, rtol=1e-6)   # same draws


@pytest.mark.parametrize("task, shape", [("classification", (30, 3)), ("multilabel", (30, 3)),
                                         ("regression", (30,))])
def test_prediction_shapes(task: str, shape: tuple) -> None:
    net, X, _ = build(task)
    out = net.predict(X)
    assert out.shape == shape
    if task == "classification":
        np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-12)


def test_binary_uses_one_sigmoid_unit_and_returns_two_columns() -> None:
    net, X, _ = build(n_classes=2)
    assert net.layers[-1].n_out == 1
    proba = net.predict(X)
    assert proba.shape == (30, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)


def test_regression_predictions_are_in_original_units() -> None:
    net, X, y = build("regression")
    net.params[:] = 0                                              # predicts the mean
    np.testing.assert_allclose(net.predict(X), np.full(30, y.mean()), rtol=1e-12)


def test_prediction_in_chunks_equals_one_pass() -> None:
    net, _, _ = build()
    X = np.random.default_rng(5).normal(size=(PREDICT_ROWS + 77, 5))
    whole = net.predict(X)
    np.testing.assert_array_equal(whole[-77:], net.predict(X[-77:]))


@pytest.mark.parametrize("task", ["classification", "multilabel", "regression"])
def test_state_round_trip_through_npz(task: str) -> None:
    net, X, _ = build(task, dtype="float32")
    buffer = io.BytesIO()
    np.savez(buffer, **net.state())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        restored = Network.from_state(dict(saved))
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))
    assert [lay.kind for lay in restored.layers] == [lay.kind for lay in net.layers]
    assert all(v.dtype != object for v in net.state().values())


@pytest.mark.parametrize("task", ["classification", "multilabel", "regression"])
def test_scored_gives_the_predictions_and_the_logits_of_the_loss(task: str) -> None:
    net, X, _ = build(task, dtype="float32", n_classes=2 if task == "classification" else 3)
    prediction, logits = net.scored(X)
    np.testing.assert_array_equal(prediction, net.predict(X))
    if task == "regression":
        assert logits is None
        return
    z = net.logits(X).astype(np.float64)
    expected = np.concatenate([np.zeros_like(z), z], axis=1) if task == "classification" else z
    np.testing.assert_array_equal(logits, expected)             # binary: class logits [0, z]
    assert logits.dtype == np.float64


@pytest.mark.parametrize("change, phrase", [
    (lambda s: s.update({"dense0.W": s["dense0.W"][:, :3]}), "dense0.W has shape (5, 3)"),
    (lambda s: s.update({"layer_units": np.array([10**9, 10**9, 10**9])}), "dense0.W"),
    (lambda s: s.update({"layer_kind": s["layer_kind"][:2]}), "differ in length"),
    (lambda s: s.update({"head_n_out": np.array(7)}), "output.W"),
    (lambda s: s.update({"n_in": np.array(0)}), "0 inputs")])
def test_a_state_that_does_not_fit_together_is_refused_before_allocating(change, phrase) -> None:
    net, _, _ = build()
    state = net.state()
    change(state)
    with pytest.raises(ValueError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        Network.from_state(state)


def test_lr_scales_follow_the_layers() -> None:
    network = (Dense(4, "relu", lr_scale=0.5),)
    rng = np.random.default_rng(0)
    config = Config(network=network, output=Output(lr_scale=2.0))
    net = Network.build(config, "classification", 3, rng.normal(size=(9, 3)),
                        np.arange(9) % 3, rng)
    scales = net.lr_scales()
    assert scales[net.slices[0][0]].tolist() == [0.5] * 12
    assert scales[net.slices[1][1]].tolist() == [2.0] * 3
    assert build()[0].lr_scales() is None
