"""gradient_check and overfit_check: small errors for correct gradients, a wrong derivative is
caught, a trainable network overfits a tiny subset and a frozen one does not."""
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.preprocessing import StandardScaler

from runtime.engine import activations
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
