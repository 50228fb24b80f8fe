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
    report = pretrain(net, digits.X_train.astype(np.float32), spec, rng)
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
    report = pretrain(net, X.astype(np.float32), Pretrain("rbm", epochs=5, lr=0.05, cd=2), rng)
    assert report["dense0"]["after"] < 0.9 * report["dense0"]["before"]


def test_fine_tuning_starts_from_the_pretrained_weights(digits) -> None:
    spec = Pretrain(method="autoencoder", epochs=2)
    frozen = Train(optimizer=Optimizer("sgd", lr=0.0, momentum=0.0), epochs=1, early_stop=None)
    config = Config(network=(DenseSpec(16, "tanh"),), train=frozen, pretrain=spec)
    rng = np.random.default_rng(7)                                  # what fit does, step by step
    expected = build_network(config, digits, rng)
    initial = expected.layers[0].W.copy()
    pretrain(expected, digits.X_train.astype(np.float32), spec, rng)
    result = fit(config, digits, seed=7)
    np.testing.assert_array_equal(result.model.layers[0].W, expected.layers[0].W)
    np.testing.assert_array_equal(result.model.layers[0].b, expected.layers[0].b)
    assert not np.allclose(result.model.layers[0].W, initial)
    assert result.state == "complete"
