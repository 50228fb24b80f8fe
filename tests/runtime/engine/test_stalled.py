"""Fits that end early besides divergence: stalled (no better than a constant predictor),
pruned (worse than the bounds given), and the margins that make an improvement count."""
import dataclasses
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression

import spec_lang
from runtime.engine.stopping import Best, StallCheck, constant_baseline
from runtime.engine.training import fit
from runtime.types import PruneBounds, TrainData
from spec_lang.config import Config, Dense, EarlyStop, Optimizer, Schedule

from .test_training import small, split, with_train


@pytest.fixture(scope="module")
def digits() -> TrainData:
    X, y = load_digits(return_X_y=True)
    return small(split(X, y, "classification", n_classes=10)[0], 600)


# Two ReLU layers, SGD with momentum 0.9 at a constant 0.5 in batches of 16: the first epoch's
# updates kill the hidden units, the network predicts one class for every example and its loss
# stays near ln(10); nothing overflows (train losses stay below 5, weights below 100). He
# initialization named, so the pinned figures do not move with the default init.
COLLAPSE = with_train(Config(network=(Dense(64, "relu", init="he_normal"),
                                      Dense(64, "relu", init="he_normal"))),
                      optimizer=Optimizer("sgd", lr=0.5, momentum=0.9),
                      schedule=Schedule("constant"), batch=16, epochs=100)


def test_a_network_collapsed_to_chance_stalls_after_the_warm_up(digits) -> None:
    result = fit(COLLAPSE, digits, seed=0)
    assert result.state == "stalled" and result.epochs == 10 == EarlyStop().stall
    assert result.reason.startswith("Stalled after 10 epochs: the best valid_error 0.8972 is no "
                                    "better than predicting the class prior (0.9028, margin")
    assert "nor is the best valid_loss" in result.reason
    assert len(np.unique(result.model.predict(digits.X_valid).argmax(axis=1))) == 1   # constant
    assert max(result.curves["train_loss"]) < 5 and np.abs(result.model.params).max() < 100
    # the best epoch's weights and metrics, as a complete fit reports them
    errors = result.curves["valid_error"]
    assert result.valid_metrics["error"] == errors[result.best_epoch - 1] == min(errors)
    # without the stall check: the loss's wobbles at chance (ties on the error) choose the
    # epoch kept but no longer reset the patience of 20 (they kept it going to epoch 40)
    unchecked = fit(with_train(COLLAPSE, early_stop=EarlyStop(stall=0)), digits, seed=0)
    assert unchecked.state == "complete" and unchecked.epochs == 21
    assert unchecked.curves["valid_error"][:10] == errors
    assert max(unchecked.curves["valid_error"]) - min(unchecked.curves["valid_error"]) < 0.01


def test_a_fit_at_chance_when_patience_runs_out_is_stalled(digits) -> None:
    result = fit(with_train(COLLAPSE, early_stop=EarlyStop(patience=3, stall=50)), digits, 0)
    assert result.state == "stalled" and result.epochs == 4 and result.best_epoch == 1
    assert result.reason.startswith("Stalled when patience ran out in epoch 4: the best "
                                    "epoch's valid_error 0.8972 is no better than")


def test_healthy_fits_are_never_stalled(digits) -> None:
    result = fit(with_train(epochs=30), digits, seed=0)
    assert result.state == "complete" and result.reason == ""
    assert result.valid_metrics["error"] < 0.1
    X, y = make_regression(400, 8, noise=5.0, random_state=0)
    regression = split(X, 1000 + 50 * y, "regression")[0]
    result = fit(Config(network=(Dense(32, "tanh"),)), regression, seed=0)
    assert result.state == "complete" and result.valid_metrics["r2"] > 0.9
    X, Y = make_multilabel_classification(400, 20, n_classes=4, random_state=0)
    multilabel = split(X, Y.astype(float), "multilabel", n_classes=4)[0]
    result = fit(with_train(epochs=30), multilabel, seed=0)
    assert result.state == "complete"


def test_the_stall_check_is_off_with_stall_0_or_without_early_stopping(digits) -> None:
    off = fit(with_train(COLLAPSE, epochs=15, early_stop=None), digits, seed=0)
    assert off.state == "complete" and off.epochs == 15
    none_held_out = dataclasses.replace(digits, X_valid=digits.X_valid[:0],
                                        y_valid=digits.y_valid[:0])
    assert fit(with_train(COLLAPSE, epochs=12), none_held_out, seed=0).state == "complete"


def test_classification_baseline_by_hand() -> None:
    """Training labels 0, 0, 1, 2: priors (1/2, 1/4, 1/4), majority class 0."""
    data = TrainData(np.zeros((4, 1)), np.array([0, 0, 1, 2]), np.zeros((3, 1)),
                     np.array([0, 1, 1]), "classification", 3)
    base = constant_baseline(data).metrics
    assert base["loss"] == pytest.approx(-(math.log(0.5) + 2 * math.log(0.25)) / 3, rel=1e-12)
    assert base["error"] == pytest.approx(2 / 3) and base["accuracy"] == pytest.approx(1 / 3)
    # f1 over the labels present (0 and 1): class 0 tp 1 fp 2 -> 2/4, class 1 -> 0
    assert base["f1"] == pytest.approx(0.25)


def test_multilabel_baseline_by_hand() -> None:
    Y = np.array([[1, 0], [1, 0], [0, 0], [1, 1]], dtype=float)        # priors 3/4, 1/4
    data = TrainData(np.zeros((4, 1)), Y, np.zeros((2, 1)), np.array([[1, 1], [0, 0]], float),
                     "multilabel", 2)
    base = constant_baseline(data).metrics
    assert base["error"] == pytest.approx(0.5)                   # predicts [1, 0] for every row
    assert base["loss"] == pytest.approx(-(2 * math.log(0.75) + 2 * math.log(0.25)) / 4)


def test_regression_baseline_by_hand() -> None:
    """Training targets 1, 2, 3, 10: mean 4, median 2.5; validation targets 2, 4."""
    data = TrainData(np.zeros((4, 1)), np.array([1.0, 2, 3, 10]), np.zeros((2, 1)),
                     np.array([2.0, 4]), "regression")
    baseline = constant_baseline(data)
    assert baseline.metrics["mse"] == baseline.metrics["loss"] == pytest.approx(2.0)
    assert baseline.metrics["r2"] == pytest.approx(1 - 4 / 2)     # ss_res 4, ss_tot 2
    assert baseline.metrics["mae"] == pytest.approx(1.0)          # |2 - 2.5|, |4 - 2.5|
    assert baseline.what["mae"] == "predicting the training median"
    assert baseline.what["r2"] == "predicting the training mean"


def test_stall_margins_error_noise_loss_and_r2() -> None:
    data = TrainData(np.zeros((4, 1)), np.array([0, 0, 1, 2]), np.zeros((3, 1)),
                     np.array([0, 1, 1]), "classification", 3)
    check = StallCheck(data, "error", EarlyStop())
    assert check.checked == ["error", "loss"]
    assert check.margin["error"] == pytest.approx(math.sqrt(2 / 3 * 1 / 3 / 3))   # noise
    assert check.margin["loss"] == pytest.approx(0.01 * check.baseline.metrics["loss"])
    assert not check.beats({"error": 2 / 3 - 0.2, "loss": 10.0})
    assert check.beats({"error": 0.0, "loss": 10.0})
    assert check.beats({"error": 1.0, "loss": 0.98 * check.baseline.metrics["loss"]})
    reg = TrainData(np.zeros((4, 1)), np.array([1.0, 2, 3, 10]), np.zeros((2, 1)),
                    np.array([2.0, 4]), "regression")
    r2 = StallCheck(reg, "r2", EarlyStop(min_delta=0.5))        # maximized, absolute margin
    assert r2.checked == ["r2", "loss"] and r2.margin["r2"] == 0.5
    assert not r2.beats({"r2": -0.6, "loss": 2.0}) and r2.beats({"r2": -0.4, "loss": 2.0})
    assert StallCheck(reg, "mse", EarlyStop()).checked == ["mse"]


def test_best_offer_relative_and_absolute_margins() -> None:
    params = np.zeros(2)
    best = Best()
    assert best.offer(1, 0.5, 1.0, 0.0, params, {}, {}, rel_delta=0.1)     # anything beats none
    assert not best.offer(2, 0.46, 1.0, 0.0, params, {}, {}, rel_delta=0.1)  # needs < 0.45
    assert best.offer(3, 0.44, 1.0, 0.0, params, {}, {}, rel_delta=0.1)
    assert not best.offer(4, 0.397, 1.0, 0.0, params, {}, {}, rel_delta=0.1)  # needs < 0.396
    assert not best.offer(5, 0.44, 0.95, 0.0, params, {}, {}, rel_delta=0.1)  # tie, loss < 0.9?
    assert best.offer(6, 0.44, 0.85, 0.0, params, {}, {}, rel_delta=0.1)
    assert not best.offer(7, 0.38, 1.0, 0.1, params, {}, {}, rel_delta=0.1)   # absolute 0.1 wins
    assert best.offer(8, 0.33, 1.0, 0.1, params, {}, {}, rel_delta=0.1)
    assert best.epoch == 8
    # a maximized metric is offered negated, its perfect score too: accuracy 0.8, gap 0.2
    acc = Best()
    acc.offer(1, -0.8, 1.0, 0.0, params, {}, {}, rel_delta=0.5, perfect=-1.0)
    assert not acc.offer(2, -0.85, 1.0, 0.0, params, {}, {}, rel_delta=0.5, perfect=-1.0)
    assert acc.offer(3, -0.95, 1.0, 0.0, params, {}, {}, rel_delta=0.5, perfect=-1.0)


def test_min_delta_defaults_and_explicit_zero() -> None:
    train = lambda text: spec_lang.loads(f"train\n    epochs 50 {text}\n").config.train  # noqa
    assert train("").early_stop.margins() == (0.0, 0.001)
    assert train("min_delta 0").early_stop.margins() == (0.0, 0.0)           # today's rule
    assert train("min_rel_delta 1%").early_stop.margins() == (0.0, 0.01)
    assert train("min_delta 0.01 min_rel_delta 2%").early_stop.margins() == (0.01, 0.02)
    assert train("stall 0").early_stop == EarlyStop(stall=0)
    with pytest.raises(spec_lang.SpecError, match="min_rel_delta"):
        train("min_rel_delta 2")


def test_the_default_margin_stops_on_improvements_of_less_than_a_thousandth(digits) -> None:
    config = dataclasses.replace(with_train(Config(network=(Dense(64, "relu"),)),
                                            optimizer=Optimizer("sgd", lr=0.3),
                                            schedule=Schedule("constant"), epochs=60,
                                            early_stop=EarlyStop(patience=4)), metric="loss")
    result = fit(config, digits, seed=0)
    losses, b = result.curves["valid_loss"], result.best_epoch
    assert result.state == "complete" and result.epochs == b + 4
    assert all(loss >= losses[b - 1] * (1 - 0.001) for loss in losses[b:])
    exact = fit(with_train(config, early_stop=EarlyStop(patience=4, min_delta=0.0)), digits, 0)
    assert exact.curves["valid_loss"][exact.best_epoch - 1] == min(exact.curves["valid_loss"])


# ---------------------------------------------------------------------------------- pruning
def _curve(config: Config, data: TrainData, key: str = "valid_error") -> list[float]:
    return fit(with_train(config, early_stop=None), data, seed=0).curves[key]


def test_bounds_crossed_at_epoch_k_prune_there_with_the_best_weights(digits) -> None:
    config = with_train(epochs=12)
    errors = _curve(config, digits)
    k = 7
    bounds = [e + 0.05 for e in errors]                        # above the curve: never crossed
    bounds[k - 1] = errors[k - 1] - 1e-3
    bounds[2] = math.nan
    prune = PruneBounds("error", tuple(bounds), "the median of 5 earlier trials at that epoch")
    result = fit(config, digits, seed=0, prune=prune)
    assert result.state == "pruned" and result.epochs == k
    assert all(len(v) == k for v in result.curves.values())
    assert result.reason == (f"Pruned in epoch {k}: valid_error {errors[k - 1]:.4g} is worse than "
                             f"the median of 5 earlier trials at that epoch "
                             f"({bounds[k - 1]:.4g}).")
    replay = fit(with_train(config, epochs=result.best_epoch, early_stop=None), digits, seed=0)
    np.testing.assert_array_equal(result.model.params, replay.model.params)
    assert result.valid_metrics["error"] == result.curves["valid_error"][result.best_epoch - 1]


def test_a_fit_that_ends_with_this_epoch_anyway_is_never_pruned_in_it(digits) -> None:
    """At the last epoch, or the one early stopping ends in, pruning would save nothing yet
    rank the trial after every complete one: the fit is complete, with the same curves."""
    config = with_train(epochs=5, early_stop=None)
    errors = _curve(config, digits)
    last = fit(config, digits, 0, prune=PruneBounds("error", (math.nan,) * 4 + (-1.0,)))
    assert last.state == "complete" and last.epochs == 5
    assert last.curves["valid_error"] == errors
    patient = with_train(epochs=60, early_stop=EarlyStop(patience=2))
    plain = fit(patient, digits, 0)
    assert plain.epochs < 60                                     # early stopping ended it
    ended = fit(patient, digits, 0, prune=PruneBounds(
        "error", (math.nan,) * (plain.epochs - 1) + (-1.0,)))
    assert ended.state == "complete" and ended.epochs == plain.epochs
    before = fit(patient, digits, 0, prune=PruneBounds(
        "error", (math.nan,) * (plain.epochs - 2) + (-1.0,)))
    assert before.state == "pruned" and before.epochs == plain.epochs - 1


def test_nan_bounds_an_equal_value_and_no_validation_data_never_prune(digits) -> None:
    config = with_train(epochs=6)
    plain = fit(config, digits, seed=0)
    for bounds in [(math.nan,) * 6, tuple(plain.curves["valid_error"]), (math.nan,)]:
        result = fit(config, digits, seed=0, prune=PruneBounds("error", bounds))
        assert result.state == "complete" and result.curves["valid_error"] == \
            plain.curves["valid_error"]
    none_held_out = dataclasses.replace(digits, X_valid=digits.X_valid[:0],
                                        y_valid=digits.y_valid[:0])
    result = fit(config, none_held_out, seed=0, prune=PruneBounds("error", (-1.0,) * 6))
    assert result.state == "complete" and result.epochs == 6


def test_maximized_metric_prunes_below_the_bound_without_early_stopping(digits) -> None:
    config = with_train(epochs=6, early_stop=None)
    acc = _curve(config, digits, "valid_accuracy")
    below = fit(config, digits, 0, prune=PruneBounds("accuracy", (0.0, acc[1] - 1e-3)))
    assert below.state == "complete"
    above = fit(config, digits, 0, prune=PruneBounds("accuracy", (0.0, acc[1] + 1e-3), "x"))
    assert above.state == "pruned" and above.epochs == 2 and above.best_epoch == 2
    assert "worse than x (" in above.reason


def test_divergence_then_stall_then_pruning_in_the_same_epoch(digits) -> None:
    blow_up = with_train(optimizer=Optimizer("sgd", lr=1e4), schedule=Schedule("constant"))
    result = fit(blow_up, digits, 0, prune=PruneBounds("loss", (-1.0,) * 100))
    assert result.state == "diverged"
    result = fit(COLLAPSE, digits, 0, prune=PruneBounds("error", (math.nan,) * 9 + (-1.0,)))
    assert result.state == "stalled" and result.epochs == 10
    result = fit(COLLAPSE, digits, 0, prune=PruneBounds("error", (math.nan,) * 8 + (-1.0,)))
    assert result.state == "pruned" and result.epochs == 9


def test_bounds_in_a_metric_the_task_lacks_are_refused(digits) -> None:
    with pytest.raises(ValueError, match="'r2', which is not a metric of classification"):
        fit(Config(), digits, 0, prune=PruneBounds("r2", (0.5,)))


def test_a_fit_whose_loss_still_falls_is_not_stalled_until_it_stops_falling() -> None:
    """Issue 24: a regression with a slow start (its loss above the mean's at epoch 10 but
    falling fast) was stopped as stalled while another seed of it reached r2 0.79."""
    reg = TrainData(np.zeros((4, 1)), np.array([1.0, 2, 3, 10]), np.zeros((2, 1)),
                    np.array([2.0, 4]), "regression")
    check = StallCheck(reg, "loss", EarlyStop(stall=10))
    base = check.baseline.metrics["loss"]
    for epoch, loss in enumerate(np.linspace(3 * base, 1.2 * base, 12), 1):   # falling
        check.observe({"loss": float(loss)})
        assert check.after_warmup(epoch) == ""
    reasons = []
    for epoch in range(13, 18):                                 # flat above the baseline
        check.observe({"loss": 1.2 * base})
        reasons.append(check.after_warmup(epoch))
    assert reasons[:-1] == [""] * 4                              # 5 flat epochs after the fall
    reason = reasons[-1]
    assert reason.startswith("Stalled after 17 epochs")
    # the state a warm start keeps holds the history that decides it
    again = StallCheck(reg, "loss", EarlyStop(stall=10))
    again.load_state(check.state())
    assert again.after_warmup(17) == reason
    # a network at chance from the start stalls at the end of the warm-up, as before
    flat = StallCheck(reg, "loss", EarlyStop(stall=10))
    for epoch in range(1, 11):
        flat.observe({"loss": base * (1 + 0.001 * (epoch % 2))})
    assert flat.after_warmup(10).startswith("Stalled after 10 epochs")


def test_a_slow_adam_regression_trains_past_the_warm_up() -> None:
    X, y = make_regression(400, 10, noise=5.0, random_state=0)
    data = split(X, y, "regression")[0]
    slow = with_train(Config(network=(Dense(64, "relu"),)),
                      optimizer=Optimizer("adam", lr=1e-5), batch=32, epochs=30)
    result = fit(slow, data, seed=0)
    losses = result.curves["valid_loss"]
    assert losses[9] > StallCheck(data, "loss", EarlyStop()).baseline.metrics["loss"] * 0.99
    assert result.state == "complete" and result.epochs == 30 and losses[-1] < losses[9]
