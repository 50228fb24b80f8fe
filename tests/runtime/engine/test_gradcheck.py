"""gradient_check and overfit_check: small errors for correct gradients, a wrong derivative is
caught, a trainable network overfits a tiny subset and a frozen one does not."""
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.preprocessing import StandardScaler

from runtime.engine import activations, gradcheck
from runtime.engine.gradcheck import gradient_check, overfit_check
from runtime.types import TrainData
from spec_lang.config import Config, Dense, Dropout, Optimizer, Train


@pytest.fixture(scope="module")
def digits() -> TrainData:
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:300])
    return TrainData(X[:200], y[:200], X[200:], y[200:300], "classification", 10)


def tasks(digits: TrainData) -> dict[str, TrainData]:
    X, y = make_regression(60, 6, n_targets=2, random_state=0)
    labels = np.stack([digits.y_train % 2, digits.y_train > 4, digits.y_train < 3], axis=1)
    return {"multiclass": digits,
            "binary": TrainData(digits.X_train, digits.y_train % 2, digits.X_valid,
                                digits.y_valid % 2, "classification", 2),
            "multilabel": TrainData(digits.X_train, labels * 1.0, digits.X_valid,
                                    labels[:100] * 1.0, "multilabel", 3),
            "regression": TrainData(X, 100 * y, X, y, "regression")}


@pytest.mark.parametrize("activation", sorted(activations.ACTIVATIONS))
def test_every_activation_with_every_penalty_and_dropout(digits, activation: str) -> None:
    config = Config(network=(Dense(12, activation), Dropout(0.4), Dense(7, activation)),
                    train=Train(l2=0.01, l1=0.002, activity_l1=0.01))
    errors = gradient_check(config, digits, seed=0)
    assert set(errors) == {"dense0.W", "dense0.b", "dense1.W", "dense1.b", "output.W", "output.b"}
    assert max(errors.values()) < 1e-6


@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel", "regression"])
def test_every_output_and_loss(digits, task: str) -> None:
    config = Config(network=(Dense(9, "tanh"),), train=Train(l2=0.1))
    assert max(gradient_check(config, tasks(digits)[task], seed=1).values()) < 1e-6


def test_a_wrong_activation_derivative_is_caught(digits, monkeypatch) -> None:
    tanh = activations.ACTIVATIONS["tanh"]

    def wrong_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
        delta *= 1 - a                                          # should be 1 - a^2

    monkeypatch.setitem(activations.ACTIVATIONS, "tanh",
                        activations.Activation("tanh", tanh.forward, wrong_backward))
    errors = gradient_check(Config(network=(Dense(8, "tanh"),)), digits, seed=0)
    assert errors["dense0.W"] > 1e-2 and errors["dense0.b"] > 1e-2
    assert errors["output.W"] < 1e-6                              # above the broken layer


def test_overfit_check_passes_for_a_trainable_network(digits) -> None:
    report = overfit_check(Config(network=(Dense(64, "relu"), Dropout(0.5))), digits, seed=0,
                           epochs=150)
    assert report.passed and report.epochs == 150
    assert report.final_loss < 0.05 * report.initial_loss


def test_overfit_check_fails_when_nothing_can_learn(digits) -> None:
    frozen = Config(train=Train(optimizer=Optimizer("sgd", lr=0.0)))
    report = overfit_check(frozen, digits, seed=0, epochs=20)
    assert not report.passed
    assert report.final_loss == pytest.approx(report.initial_loss, rel=1e-6)


def _checked_network(digits, network, **train):
    """A float64 network on 5 rows of digits with fixed dropout masks, as gradient_check sets it
    up, and the penalties."""
    config = Config(network=network, train=Train(dtype="float64", **train))
    rng = np.random.default_rng(0)
    net = gradcheck.build_network(config, digits, rng)
    ws = net.workspace(5)
    ws.a[0][...] = digits.X_train[:5]
    ws.y[...] = net.head.encode(digits.y_train[:5], net.dtype)
    net.forward(ws, True, rng)
    penalties = (config.train.l2, config.train.l1, config.train.activity_l1)
    return net, ws, penalties


def test_stacked_perturbations_equal_the_criterion_after_moving_each_weight(digits) -> None:
    """perturbed_criteria (one stacked pass per layer) against `criterion` recomputed from
    scratch after really moving each parameter."""
    network = (Dense(6, "tanh"), Dropout(0.3), Dense(5, "relu"))
    net, ws, penalties = _checked_network(digits, network, l2=0.01, l1=0.003, activity_l1=0.02)
    masks = [m.copy() for m in ws.masks]
    rng = np.random.default_rng(1)
    for dense in net.dense:
        layer = net.layers.index(dense)
        w, b = net.slices[net.dense.index(dense)]
        flat = np.concatenate([rng.choice(np.arange(w.start, w.stop), 3, replace=False),
                               rng.choice(np.arange(b.start, b.stop), 2, replace=False)])
        steps = rng.choice([1e-3, -2e-3, 0.5], size=len(flat))
        net.forward(ws, True, None)
        got = gradcheck.perturbed_criteria(net, ws, layer, flat, steps, penalties)
        expected = []
        for k, step in zip(flat, steps):
            saved = net.params[k]
            net.params[k] = saved + step
            expected.append(gradcheck.criterion(net, ws, *penalties))
            net.params[k] = saved
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert all(np.array_equal(a, m) for a, m in zip(ws.masks[1:2], masks[1:2]))


def test_the_check_is_bounded_whatever_the_width(digits, monkeypatch) -> None:
    """A fixed random sample per tensor: 4 x `entries` evaluations per tensor, in stacked passes
    no larger than CHUNK_VALUES activations, for a 64 x 2048 x 2048 x 10 network as for a tiny
    one; the sample differs between seeds."""
    calls: list[tuple[int, int]] = []
    real = gradcheck.perturbed_criteria

    def counting(net, ws, layer, flat, *args):
        width = max(lay.n_out for lay in net.layers[layer:])
        calls.append((len(flat), len(flat) * ws.n * width))
        return real(net, ws, layer, flat, *args)

    monkeypatch.setattr(gradcheck, "perturbed_criteria", counting)
    monkeypatch.setattr(gradcheck, "CHUNK_VALUES", 1 << 18)
    errors = gradient_check(Config(network=(Dense(2048, "relu"), Dense(2048, "tanh"))),
                            digits, seed=0, n=4, entries=6)
    assert len(errors) == 6 and max(errors.values()) < 1e-5
    assert sum(p for p, _ in calls) == 4 * 6 * 6                    # 6 tensors x 6 entries x 4
    assert max(values for _, values in calls) <= 1 << 18


def test_a_wrong_derivative_is_caught_in_a_sample_of_a_wide_layer(digits, monkeypatch) -> None:
    tanh = activations.ACTIVATIONS["tanh"]

    def wrong_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
        delta *= 1 - a

    monkeypatch.setitem(activations.ACTIVATIONS, "tanh",
                        activations.Activation("tanh", tanh.forward, wrong_backward))
    errors = gradient_check(Config(network=(Dense(1024, "tanh"),)), digits, seed=2)
    assert errors["dense0.W"] > 1e-2 and errors["output.W"] < 1e-6
