"""Greedy layer-wise pre-training: the autoencoder gradient, reconstruction error goes down for
every method, and supervised fine-tuning starts from the pre-trained weights."""
import dataclasses

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from runtime.engine.layers import Dense
from runtime.engine.pretrain import autoencoder_grads, pretrain
from runtime.engine.training import build_network, fit
from runtime.types import TrainData
from spec_lang.config import Config, Dense as DenseSpec, Dropout, Optimizer, Pretrain, Train


@pytest.fixture(scope="module")
def digits() -> TrainData:
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:400])
    return TrainData(X[:300], y[:300], X[300:], y[300:400], "classification", 10)


def test_tied_autoencoder_gradient_matches_central_differences() -> None:
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, "tanh")
    layer.bind(rng.normal(size=(5, 3)), rng.normal(size=3), np.empty((5, 3)), np.empty(3))
    c, x_in, x = rng.normal(size=5), rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    _, gW, gb, gc = autoencoder_grads(layer, c, x_in, x)
    h = 1e-6
    for param, grad in ((layer.W, gW), (layer.b, gb), (c, gc)):
        numeric = np.empty_like(param)
        for idx in np.ndindex(param.shape):
            saved = param[idx]
            param[idx] = saved + h
            up = autoencoder_grads(layer, c, x_in, x)[0]
            param[idx] = saved - h
            numeric[idx] = (up - autoencoder_grads(layer, c, x_in, x)[0]) / (2 * h)
            param[idx] = saved
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method, activation", [("autoencoder", "tanh"), ("denoising", "relu"),
                                                ("rbm", "sigmoid")])
def test_pretraining_lowers_reconstruction_error_of_every_layer(digits, method, activation):
    config = Config(network=(DenseSpec(32, activation), Dropout(0.5), DenseSpec(16, activation)))
    rng = np.random.default_rng(0)
    net = build_network(config, digits, rng)
    spec = Pretrain(method=method, epochs=5, lr=0.01, batch=16)
    report = pretrain(net, digits.X_train.astype(np.float32), spec, 0)
    assert set(report) == {"dense0", "dense1"}
    for errors in report.values():
        assert errors["after"] < 0.9 * errors["before"]


def test_rbm_with_binary_visible_units(digits) -> None:
    X, _ = load_digits(return_X_y=True)
    X = X[:300] / 16.0                                               # in [0, 1]: Bernoulli units
    data = dataclasses.replace(digits, X_train=X)
    config = Config(network=(DenseSpec(24, "sigmoid"),))
    rng = np.random.default_rng(1)
    net = build_network(config, data, rng)
    report = pretrain(net, X.astype(np.float32), Pretrain("rbm", epochs=5, lr=0.05, cd=2), 1)
    assert report["dense0"]["after"] < 0.9 * report["dense0"]["before"]


def test_fine_tuning_starts_from_the_pretrained_weights(digits) -> None:
    spec = Pretrain(method="autoencoder", epochs=2)
    frozen = Train(optimizer=Optimizer("sgd", lr=0.0, momentum=0.0), epochs=1, early_stop=None)
    config = Config(network=(DenseSpec(16, "tanh"),), train=frozen, pretrain=spec)
    rng = np.random.default_rng(7)                                  # what fit does, step by step
    expected = build_network(config, digits, rng)
    initial = expected.layers[0].W.copy()
    pretrain(expected, digits.X_train.astype(np.float32), spec, 7)
    result = fit(config, digits, seed=7)
    np.testing.assert_array_equal(result.model.layers[0].W, expected.layers[0].W)
    np.testing.assert_array_equal(result.model.layers[0].b, expected.layers[0].b)
    assert not np.allclose(result.model.layers[0].W, initial)
    assert result.state == "complete"


def _by_hand(W: np.ndarray, b: np.ndarray, x: np.ndarray) -> float:
    """0.5 * mean ||tanh(x W + b) W^T - x||^2: a tied tanh autoencoder, decoder bias 0."""
    r = np.tanh(x @ W + b) @ W.T - x
    return 0.5 * float(np.sum(r * r)) / len(x)


def test_each_layer_takes_its_own_settings_and_reports_its_validation_error(digits) -> None:
    """`Pretrain.layers` (what a layerwise search fixes) sets each layer's epochs and rate; the
    validation inputs' reconstruction error is reported before and after each epoch, the
    first figure checked by hand from the initial weights (decoder bias still 0)."""
    config = Config(network=(DenseSpec(24, "tanh"), DenseSpec(12, "tanh")), train=Train(
        dtype="float64"))
    rng = np.random.default_rng(3)
    net = build_network(config, digits, rng)
    first, second = net.layers[0], net.layers[1]
    W1, b1, W2, b2 = first.W.copy(), first.b.copy(), second.W.copy(), second.b.copy()
    spec = Pretrain("autoencoder", epochs=9, lr=0.01, layers=(
        Pretrain("autoencoder", epochs=2, lr=0.01), Pretrain("autoencoder", epochs=5, lr=0.002)))
    report = pretrain(net, digits.X_train, spec, 3, digits.X_valid)
    assert [len(report[k]["epochs"]) for k in ("dense0", "dense1")] == [2, 5]
    assert [len(report[k]["valid"]) for k in ("dense0", "dense1")] == [3, 6]
    assert report["dense0"]["valid"][0] == pytest.approx(_by_hand(W1, b1, digits.X_valid))
    hidden = np.tanh(digits.X_valid @ first.W + first.b)        # layer 1 after pre-training
    assert report["dense1"]["valid"][0] == pytest.approx(_by_hand(W2, b2, hidden))
    assert report["dense0"]["valid"][-1] < report["dense0"]["valid"][0]


def test_no_supervised_epoch_leaves_the_pretrained_network_and_its_curves(digits) -> None:
    """`epochs 0` (a layerwise stage by reconstruction): pre-training only, no update."""
    config = Config(network=(DenseSpec(16, "tanh"),), pretrain=Pretrain(epochs=3),
                    train=Train(epochs=0))
    result = fit(config, digits, seed=0)
    assert result.state == "complete" and result.updates == 0 and result.epochs == 0
    assert len(result.curves["pretrain_dense0"]) == 4
    assert len(result.curves["pretrain_dense0_valid"]) == 4


def test_a_pre_training_that_blows_up_is_diverged_even_without_supervised_epochs(digits):
    """`epochs 0` trains nothing that would see the non-finite weights: the fit itself says
    the pre-training diverged, naming the layer and its rate."""
    config = Config(network=(DenseSpec(16, "tanh"),), pretrain=Pretrain(epochs=2, lr=1e5),
                    train=Train(epochs=0))
    result = fit(config, digits, seed=0)
    assert result.state == "diverged"
    assert result.reason == ("Pre-training of layer dense0 diverged: its reconstruction error "
                             "became non-finite (pre-training lr 100000).")


def test_a_layers_pre_training_does_not_depend_on_the_layers_above_it(digits) -> None:
    """Each layer draws from its own stream (`layer_rng`) and is initialized before the layers
    above it: the first layer of a one-layer and of a two-layer network pre-train alike (what
    lets a layerwise stage continue from the stack its previous stage chose)."""
    spec = Pretrain("denoising", epochs=2, lr=0.01, noise=0.2)
    one, two = (Config(network=layers, pretrain=spec, train=Train(epochs=0)) for layers in
                ((DenseSpec(16, "tanh"),), (DenseSpec(16, "tanh"), DenseSpec(8, "tanh"))))
    low, high = fit(one, digits, seed=4), fit(two, digits, seed=4)
    np.testing.assert_array_equal(low.stack.weights[0][0], high.stack.weights[0][0])
    np.testing.assert_array_equal(low.stack.weights[0][1], high.stack.weights[0][1])
    assert low.curves["pretrain_dense0_valid"] == high.curves["pretrain_dense0_valid"]


def test_a_fit_given_the_lower_stack_pre_trains_the_rest_and_equals_a_fit_from_scratch(
        digits, monkeypatch) -> None:
    """Given the stack of its first layer (through its arrays, as a run keeps it), a fit
    pre-trains only the second layer and gives bit for bit the fit that pre-trains both:
    weights, curves (the first layer's pre-training curves come with the stack) and the
    supervised epochs that follow (the main stream is untouched by pre-training)."""
    from runtime.engine import pretrain as module
    from runtime.engine.warm_start import start_from
    spec = Pretrain("denoising", epochs=2, lr=0.01, noise=0.2)
    train = Train(epochs=3, early_stop=None)
    one = Config(network=(DenseSpec(16, "tanh"),), pretrain=spec, train=Train(epochs=0))
    two = Config(network=(DenseSpec(16, "tanh"), Dropout(0.2), DenseSpec(8, "tanh")),
                 pretrain=spec, train=train)
    lower = start_from(fit(one, digits, seed=6).stack.arrays())
    layers: list[int] = []
    real = module.pretrain_layer
    monkeypatch.setattr(module, "pretrain_layer",
                        lambda layer, *a, **k: layers.append(layer.n_in) or real(layer, *a, **k))
    continued = fit(two, digits, seed=6, resume=lower)
    assert layers == [16]                                  # the second layer alone
    scratch = fit(two, digits, seed=6)
    assert layers == [16, 64, 16]
    np.testing.assert_array_equal(continued.model.params, scratch.model.params)
    assert continued.curves.keys() == scratch.curves.keys()
    for name, values in scratch.curves.items():
        if name != "time_s":
            assert continued.curves[name] == values, name
