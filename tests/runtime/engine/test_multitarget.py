"""Several targets: the weighted multi-target criterion, its gradient against central finite
differences (through the whole network too), its hand-computed value, metrics and state."""
from __future__ import annotations

import numpy as np
import pytest

from runtime.engine.losses import SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError
from runtime.engine.multitarget import (MultiHead, check_target_metric, make_multi_head,
                                        multi_from_state)
from runtime.engine.network import Network
from runtime.engine.stopping import StallCheck, checked_metrics, constant_baseline
from runtime.types import Target, TrainData
from spec_lang.config import Config, Dense, EarlyStop, Train

TARGETS = (Target("price", "regression"), Target("rooms", "classification", (1, 2, 3)),
           Target("garden", "classification", ("no", "yes")))
WEIGHTS = (2.0, 0.5, 1.5)


def targets_matrix(n: int, seed: int = 0) -> np.ndarray:
    """(n, 3): a price, a room class index 0..2, a garden class index 0..1."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.normal(200, 50, n), np.arange(n) % 3, (np.arange(n) // 2) % 2])


def test_gradient_matches_central_differences() -> None:
    """dJ/dz of sum_t w_t J_t (softmax, sigmoid, squared error; weights != 1), float64."""
    y = targets_matrix(7)
    head = make_multi_head(TARGETS, WEIGHTS, y)
    Y = head.encode(y, np.dtype(np.float64))
    z = np.random.default_rng(1).normal(size=(7, head.n_out)) * 2
    delta = np.empty_like(z)
    head.loss_grad(z.copy(), Y, delta, scale=1.0)
    numeric = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += 1e-6
        down[idx] -= 1e-6
        numeric[idx] = (head.criterion(up, Y) - head.criterion(down, Y)) / 2e-6
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-10)
    scaled = np.empty_like(z)
    head.loss_grad(z.copy(), Y, scaled, scale=-0.25)
    np.testing.assert_allclose(scaled, -0.25 * delta, rtol=1e-12)


def test_network_gradient_matches_central_differences(central_differences) -> None:
    """The back-propagated gradient of every weight of a network with three heads."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(9, 4)), targets_matrix(9, seed=3)
    config = Config(network=(Dense(5, "tanh"),), train=Train(dtype="float64"),
                    target_weights=WEIGHTS)
    net = Network.build(config, "multitarget", 0, X, y, rng, targets=TARGETS)
    ws = net.workspace(9)
    ws.a[0][...] = X
    ws.y[...] = net.head.encode(y, net.dtype)
    net.loss_grad(ws, None)
    analytic = net.grads.copy()

    def criterion() -> float:
        return net.head.criterion(net.forward(ws, False, None), ws.y)

    np.testing.assert_allclose(analytic, central_differences(net.params, criterion, 1e-6),
                               rtol=1e-5, atol=1e-8)


def test_criterion_by_hand() -> None:
    """Two examples: 2 x 0.5 mean squared standardized residual + 0.5 x cross-entropy."""
    y = np.array([[10.0, 0.0], [14.0, 1.0]])          # price; a binary class
    head = make_multi_head((Target("p", "regression"), Target("c", "classification", (0, 1))),
                           (2.0, 0.5), y)
    assert isinstance(head.parts[0], SquaredError) and head.parts[0].scale[0] == 2.0
    z = np.array([[0.0, 1.0], [0.5, -1.0]])           # standardized targets -1 and +1
    Y = head.encode(y, np.dtype(np.float64))
    squared = 0.5 * ((0 + 1) ** 2 + (0.5 - 1) ** 2) / 2
    bce = (np.log1p(np.exp(1.0)) + np.log1p(np.exp(1.0))) / 2     # wrong side, both
    expected = 2.0 * squared + 0.5 * bce
    assert head.criterion(z, Y) == pytest.approx(expected, rel=1e-12)
    assert head.loss_grad(z.copy(), Y, np.empty_like(z)) == pytest.approx(expected, rel=1e-12)
    out = z.copy()
    head.output(out)
    metrics = head.evaluate("multitarget", y, head.decode(out), head.loss_logits(z))
    assert metrics["loss"] == pytest.approx(expected, rel=1e-12)
    assert metrics["p_mse"] == pytest.approx(((12 - 10) ** 2 + (13 - 14) ** 2) / 2)
    assert metrics["c_error"] == 1.0 and metrics["c_loss"] == pytest.approx(bce)


def test_slices_and_decoded_widths() -> None:
    y = targets_matrix(6)
    head = make_multi_head(TARGETS, (), y)
    assert head.weights == (1.0, 1.0, 1.0)
    assert [type(p) for p in head.parts] == [SquaredError, SoftmaxCrossEntropy,
                                             SigmoidCrossEntropy]
    assert head.n_out == 1 + 3 + 1
    out = head.decode(np.zeros((2, head.n_out)))
    assert out.shape == (2, 1 + 3 + 2)                # a value, 3 and 2 class probabilities
    np.testing.assert_allclose(out[:, 0], y[:, 0].mean())


def test_state_round_trip_keeps_every_part() -> None:
    y = targets_matrix(8)
    head = make_multi_head(TARGETS, WEIGHTS, y)
    again = multi_from_state(head.state())
    assert isinstance(again, MultiHead)
    assert again.names == head.names and again.weights == WEIGHTS
    z = np.random.default_rng(4).normal(size=(3, head.n_out))
    a, b = z.copy(), z.copy()
    head.output(a)
    again.output(b)
    np.testing.assert_array_equal(head.decode(a), again.decode(b))


def test_ensemble_of_identical_members_scores_as_one() -> None:
    y = targets_matrix(6)
    head = make_multi_head(TARGETS, WEIGHTS, y)
    z = np.random.default_rng(5).normal(size=(6, head.n_out))
    out = z.copy()
    head.output(out)
    one = head.evaluate("multitarget", y, head.decode(out), head.loss_logits(z))
    joint = head.ensemble_logits("multitarget", [head.loss_logits(z)] * 3)
    assert head.evaluate("multitarget", y, head.decode(out), joint) == pytest.approx(one)


@pytest.mark.parametrize("metric, message", [
    ("rooms_mse", "does not apply to target 'rooms'"),
    ("error", "names no target"),
    ("size_error", "names no target")])
def test_a_target_metric_must_fit_its_target(metric: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_target_metric(metric, TARGETS)
    check_target_metric("rooms_error", TARGETS)
    check_target_metric("price_r2", TARGETS)
    check_target_metric(None, TARGETS)


def test_the_stall_baseline_is_per_target() -> None:
    """The weighted loss has no constant baseline: each target's constant predictor has, and
    the stall check compares each target's loss (and a target's selection metric) with it."""
    y_train, y_valid = targets_matrix(60), targets_matrix(30, seed=7)
    data = TrainData(np.zeros((60, 2)), y_train, np.zeros((30, 2)), y_valid, "multitarget",
                     targets=TARGETS)
    base = constant_baseline(data).metrics
    mean = y_train[:, 0].mean()
    assert base["price_mse"] == pytest.approx(np.mean((y_valid[:, 0] - mean) ** 2))
    assert base["rooms_error"] == pytest.approx(2 / 3)          # uniform priors: class 0
    assert base["garden_loss"] == pytest.approx(np.log(2))
    assert "loss" not in base
    losses = ["price_loss", "rooms_loss", "garden_loss"]
    assert checked_metrics(data, "loss") == losses
    assert checked_metrics(data, "rooms_error") == ["rooms_error", *losses]
    check = StallCheck(data, "rooms_error", EarlyStop())
    assert not check.beats({**base, "rooms_error": base["rooms_error"] - 0.01})   # noise
    assert check.beats({**base, "price_loss": base["price_loss"] / 2})
