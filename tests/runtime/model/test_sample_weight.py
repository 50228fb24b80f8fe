"""Sample weights, end to end: weighted metrics against scikit-learn's, the network's weighted
full-batch gradient against repeated examples and finite differences (float64), weighted fits
equal to fits on repeated data, the estimators' `fit(..., sample_weight=)` with scikit-learn's
own sample-weight checks, and the errors."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, f1_score, hamming_loss, log_loss,
                             mean_absolute_error, mean_squared_error, r2_score)
from sklearn.model_selection import train_test_split
from sklearn.utils import estimator_checks as checks

import runtime.engine.losses as losses
from runtime.engine.metrics import evaluate
from runtime.engine.network import Network
from runtime.engine.training import fit, training_weights
from runtime.model.estimator import SpecClassifier, SpecRegressor
from runtime.types import TrainData
from spec_lang.config import Config, Dense, EarlyStop, Optimizer, Train

# Full-batch gradient descent in float64 without a hold-out: the one setting where a weighted
# fit is exactly a fit on the repeated rows (mini-batches of n and of sum(w) rows differ).
FULL_BATCH = """\
network
    dense 8 tanh
train
    adam lr 0.05
    batch all
    dtype float64
    epochs 30 early_stop false
"""
HOLDOUT = FULL_BATCH.replace("early_stop false", "early_stop patience 5")
COUNTS = np.array([2, 0, 1, 3, 1, 1, 0, 2, 1, 4, 1, 2])


def repeated(counts: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    return [np.repeat(a, counts, axis=0) for a in arrays]


# ------------------------------------------------------------------------------------- metrics
def test_weighted_classification_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y, proba = rng.integers(0, 3, 40), rng.dirichlet(np.ones(3), 40)
    w = rng.uniform(0, 3, 40)
    got = evaluate("classification", y, proba, weights=w)
    pred = proba.argmax(axis=1)
    assert got["loss"] == pytest.approx(log_loss(y, proba, sample_weight=w), rel=1e-12)
    assert got["accuracy"] == pytest.approx(accuracy_score(y, pred, sample_weight=w))
    assert got["error"] == pytest.approx(1 - got["accuracy"])
    assert got["f1"] == pytest.approx(f1_score(y, pred, average="macro", sample_weight=w))
    logits = np.log(proba) + 1.5                   # the exact path: same loss from logits
    assert evaluate("classification", y, proba, logits, weights=w)["loss"] == pytest.approx(
        got["loss"], rel=1e-12)


def test_weighted_multilabel_and_regression_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    y, proba, w = rng.integers(0, 2, (30, 4)), rng.uniform(size=(30, 4)), rng.uniform(0, 2, 30)
    got = evaluate("multilabel", y, proba, weights=w)
    pred = (proba >= 0.5).astype(int)
    assert got["error"] == pytest.approx(hamming_loss(y, pred, sample_weight=w))
    assert got["accuracy"] == pytest.approx(accuracy_score(y, pred, sample_weight=w))
    assert got["f1"] == pytest.approx(f1_score(y, pred, average="macro", sample_weight=w))
    bce = -(y * np.log(proba) + (1 - y) * np.log1p(-proba)).mean(axis=1)
    assert got["loss"] == pytest.approx(np.average(bce, weights=w), rel=1e-12)
    t, p = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    reg = evaluate("regression", t, p, weights=w)
    assert reg["mse"] == pytest.approx(mean_squared_error(t, p, sample_weight=w), rel=1e-12)
    assert reg["mae"] == pytest.approx(mean_absolute_error(t, p, sample_weight=w), rel=1e-12)
    assert reg["r2"] == pytest.approx(r2_score(t, p, sample_weight=w), rel=1e-12)


@pytest.mark.parametrize("task", ["classification", "multilabel", "regression"])
def test_integer_weights_equal_repeated_rows_and_zero_equals_removal(task: str) -> None:
    """Including F1's label set: a label only in rows of weight 0 is absent, as without them."""
    rng = np.random.default_rng(2)
    n = len(COUNTS)
    if task == "classification":
        y, out = np.r_[rng.integers(0, 3, n - 1), 3], rng.dirichlet(np.ones(4), n)
        out[-1] = [0.1, 0.1, 0.1, 0.7]
        counts = np.r_[COUNTS[:-1], 0]            # label 3 only in a row of weight 0
    elif task == "multilabel":
        y, out, counts = rng.integers(0, 2, (n, 3)), rng.uniform(size=(n, 3)), COUNTS
    else:
        y, out, counts = rng.normal(size=n), rng.normal(size=n), COUNTS
    weighted = evaluate(task, y, out, weights=counts)
    plain = evaluate(task, *repeated(counts, y, out))
    assert weighted == pytest.approx(plain, rel=1e-12)


def test_bad_metric_weights_are_value_errors() -> None:
    y, out = np.array([0, 1]), np.array([[0.6, 0.4], [0.3, 0.7]])
    for bad in ([1.0], [1.0, -1.0], [0.0, 0.0], [1.0, np.nan]):
        with pytest.raises(ValueError, match="evaluate: "):
            evaluate("classification", y, out, weights=np.array(bad))


# ------------------------------------------------------------------------ the network gradient
def small_net(task: str, X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> Network:
    config = Config(network=(Dense(5, "tanh"), Dense(4, "relu")),
                    train=Train(dtype="float64"))
    n_classes = 3 if task == "classification" else 0
    return Network.build(config, task, n_classes, X, y, np.random.default_rng(0), w)


def gradient(net: Network, X: np.ndarray, Y: np.ndarray, W: np.ndarray | None,
             activity: float = 0.0) -> tuple[float, np.ndarray]:
    ws = net.workspace(len(X), W is not None)
    ws.a[0][...], ws.y[...] = X, Y
    if W is not None:
        ws.w[...] = W
    loss = net.loss_grad(ws, None, 1e-3, 0.0, activity)
    return loss, net.grads.copy()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_full_batch_gradient_of_weights_equals_repeated_examples(task: str) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(len(COUNTS), 6))
    y = rng.integers(0, 3, len(COUNTS)) if task == "classification" else rng.normal(size=12)
    W = training_weights(TrainData(X, y, X[:0], y[:0], task, 3, COUNTS.astype(float)))
    X_r, y_r = repeated(COUNTS, X, y)
    net_w, net_r = small_net(task, X, y, COUNTS), small_net(task, X_r, y_r, None)
    np.testing.assert_array_equal(net_w.params, net_r.params)
    if task == "regression":                   # the same target standardization
        np.testing.assert_allclose(net_w.head.mean, net_r.head.mean, rtol=1e-13)
    loss_w, g_w = gradient(net_w, X, net_w.head.encode(y, np.float64), W, activity=0.01)
    loss_r, g_r = gradient(net_r, X_r, net_r.head.encode(y_r, np.float64), None, activity=0.01)
    assert loss_w == pytest.approx(loss_r, rel=1e-12)
    np.testing.assert_allclose(g_w, g_r, rtol=1e-10, atol=1e-14)


def test_weighted_network_gradient_against_finite_differences() -> None:
    """Every parameter, the data term and the activity penalty both weighted."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(9, 4)), rng.integers(0, 3, 9)
    w = rng.uniform(0, 2, 9)
    w[2] = 0.0
    W = (w / w.mean())[:, None]
    net = small_net("classification", X, y, None)
    Y = net.head.encode(y, np.float64)
    activity = 0.02
    _, grads = gradient(net, X, Y, W, activity)

    def criterion() -> float:
        ws = net.workspace(len(X))
        ws.a[0][...] = X
        z = net.forward(ws, False, None)
        act = sum(float(W[:, 0] @ np.abs(ws.a[i + 1]).sum(axis=1)) / len(X)
                  for i in (0, 1))
        w_ = net.params[:net.n_weights]
        return net.head.criterion(z, Y, W) + activity * act + 0.5e-3 * float(w_ @ w_)

    numeric = np.empty_like(net.params)
    for i in range(net.params.size):
        keep = net.params[i]
        net.params[i] = keep + 1e-6
        up = criterion()
        net.params[i] = keep - 1e-6
        numeric[i] = (up - criterion()) / 2e-6
        net.params[i] = keep
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------ the engine fit
def engine_config(batch: int | None = None, stop: bool = False) -> Config:
    return Config(network=(Dense(8, "tanh"),),
                  train=Train(optimizer=Optimizer("adam", lr=0.05), batch=batch, epochs=15,
                              dtype="float64", early_stop=EarlyStop(patience=50) if stop
                              else None))


def test_a_weighted_full_batch_fit_is_a_fit_on_repeated_rows() -> None:
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(12, 3)), rng.integers(0, 3, 12)
    Xv, yv, wv = rng.normal(size=(6, 3)), rng.integers(0, 3, 6), np.array([1, 0, 2, 1, 3, 1])
    weighted = fit(engine_config(stop=True), TrainData(
        X, y, Xv, yv, "classification", 3, COUNTS.astype(float), wv.astype(float)), seed=1)
    plain = fit(engine_config(stop=True), TrainData(
        *repeated(COUNTS, X, y), *repeated(wv, Xv, yv), "classification", 3), seed=1)
    for key in ("train_loss", "valid_loss", "valid_error", "valid_f1"):
        np.testing.assert_allclose(weighted.curves[key], plain.curves[key], rtol=1e-9)
    np.testing.assert_allclose(weighted.model.params, plain.model.params, rtol=1e-8, atol=1e-12)


def test_weights_matter_in_mini_batches_and_the_epoch_loss_is_the_weighted_mean() -> None:
    """batch 1 (online): weights still scale each step (a per-batch weight sum would cancel
    them); train_loss is the weighted mean of the examples' losses."""
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    w = np.where(y == 1, 5.0, 0.2)
    config = dataclasses.replace(engine_config(batch=1), train=dataclasses.replace(
        engine_config(batch=1).train, epochs=1, optimizer=Optimizer("sgd", lr=1e-12)))
    weighted = fit(config, TrainData(X, y, X[:0], y[:0], "classification", 2, w), seed=0)
    plain = fit(config, TrainData(X, y, X[:0], y[:0], "classification", 2), seed=0)
    # lr ~ 0: the epoch loss is the untrained network's, per example
    z = plain.model.logits(X)[:, 0]
    losses = np.logaddexp(0, z) - y * z
    assert weighted.curves["train_loss"][0] == pytest.approx(np.average(losses, weights=w),
                                                             rel=1e-6)
    assert plain.curves["train_loss"][0] == pytest.approx(losses.mean(), rel=1e-6)
    heavy = dataclasses.replace(config, train=dataclasses.replace(
        config.train, epochs=20, optimizer=Optimizer("sgd", lr=0.05)))
    up = fit(heavy, TrainData(X, y, X[:0], y[:0], "classification", 2, w), seed=0)
    down = fit(heavy, TrainData(X, y, X[:0], y[:0], "classification", 2, 1 / w), seed=0)
    p_up, p_down = up.model.predict(X)[:, 1].mean(), down.model.predict(X)[:, 1].mean()
    assert p_up > 0.8 > 0.2 > p_down      # the heavy class dominates the predictions


def test_float32_weighted_fit_and_the_unweighted_path_is_unchanged() -> None:
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(50, 3)), rng.integers(0, 3, 50)
    config = dataclasses.replace(engine_config(batch=16), train=dataclasses.replace(
        engine_config(batch=16).train, dtype="float32"))
    data = TrainData(X, y, X[:10], y[:10], "classification", 3)
    ones = fit(config, dataclasses.replace(data, w_train=np.ones(50), w_valid=np.ones(10)), 2)
    plain = fit(config, data, 2)
    assert ones.model.params.dtype == np.float32
    np.testing.assert_allclose(ones.curves["train_loss"], plain.curves["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(ones.model.params, plain.model.params, rtol=1e-3, atol=1e-5)
    assert plain.curves == fit(config, data, 2).curves | {"time_s": plain.curves["time_s"]}


@pytest.mark.parametrize("field, value, message", [
    ("w_train", np.ones(5), r"w_train has shape \(5,\); expected \(12,\)"),
    ("w_train", -np.ones(12), "finite and >= 0"),
    ("w_train", np.full(12, np.nan), "finite and >= 0"),
    ("w_train", np.zeros(12), "not all zero"),
    ("w_valid", np.zeros(4), "w_valid: sample weights must be"),
])
def test_bad_engine_weights_are_one_value_error(field: str, value: np.ndarray,
                                                message: str) -> None:
    X, y = np.zeros((12, 2)), np.arange(12) % 2
    data = TrainData(X, y, X[:4], y[:4], "classification", 2)
    with pytest.raises(ValueError, match=message):
        fit(engine_config(), dataclasses.replace(data, **{field: value}), 0)


# --------------------------------------------------------------------------------- estimators
SAMPLE_WEIGHT_CHECKS = [
    checks.check_sample_weight_equivalence_on_dense_data,
    checks.check_sample_weight_equivalence_on_sparse_data, checks.check_sample_weights_list,
    checks.check_sample_weights_shape, checks.check_sample_weights_not_overwritten,
    checks.check_sample_weights_pandas_series, checks.check_sample_weights_not_an_array,
    checks.check_all_zero_sample_weights_error]


@pytest.mark.parametrize("check", SAMPLE_WEIGHT_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", [SpecClassifier(FULL_BATCH), SpecRegressor(FULL_BATCH)],
                         ids=["classifier", "regressor"])
def test_scikit_learn_sample_weight_checks_on_a_full_batch_spec(estimator: object,
                                                                check: object) -> None:
    check(type(estimator).__name__, estimator)               # type: ignore[operator]


def test_estimator_weighted_equals_repeated_with_the_holdout_off() -> None:
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    a = SpecRegressor(FULL_BATCH).fit(X, y, sample_weight=COUNTS)
    b = SpecRegressor(FULL_BATCH).fit(*repeated(COUNTS, X, y))
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-9)
    np.testing.assert_allclose(a.curves_["train_loss"], b.curves_["train_loss"], rtol=1e-9)


def test_the_holdout_splits_the_weights_and_selects_on_weighted_metrics(monkeypatch) -> None:
    """The validation part's weights (the rows train_test_split holds out with the seed) reach
    every evaluation of the epoch loop; the weights weight the preprocessing (the refit's, on
    every row; the hold-out fit's, on the training part, with `refit false`)."""
    rng = np.random.default_rng(9)
    X, y, w = rng.normal(size=(40, 3)), np.arange(40) % 2, rng.uniform(0.5, 2, 40)
    seen: list[np.ndarray] = []
    real = losses.evaluate                   # what the epoch loop's `Head.evaluate` calls

    def spy(*args, **kwargs):
        seen.append(kwargs["weights"])
        return real(*args, **kwargs)

    monkeypatch.setattr(losses, "evaluate", spy)
    clf = SpecClassifier(HOLDOUT, random_state=3).fit(X, y, sample_weight=w)
    X_t, _, _, _, w_t, w_v = train_test_split(X, y, w, test_size=0.25, random_state=3,
                                              stratify=y)
    assert len(seen) == clf.n_epochs_
    for got in seen:
        np.testing.assert_array_equal(got, w_v)
    assert clf.refitted_
    np.testing.assert_allclose(clf.preprocessor_.arrays[0]["mean"],
                               np.average(X, axis=0, weights=w), rtol=1e-12)
    kept = SpecClassifier(HOLDOUT + "split refit false\n", random_state=3).fit(
        X, y, sample_weight=w)
    np.testing.assert_allclose(kept.preprocessor_.arrays[0]["mean"],
                               np.average(X_t, axis=0, weights=w_t), rtol=1e-12)


@pytest.mark.parametrize("weights, message", [
    (np.r_[-1.0, np.ones(11)], "Negative values in data passed to `sample_weight`"),
    (np.r_[np.nan, np.ones(11)], "NaN"),
    (np.ones(11), r"sample_weight.shape == \(11,\), expected \(12,\)"),
    (np.zeros(12), "Sample weights must contain at least one non-zero number"),
])
def test_bad_sample_weights_are_scikit_learn_value_errors(weights: np.ndarray,
                                                          message: str) -> None:
    X, y = np.random.default_rng(0).normal(size=(12, 2)), np.arange(12) % 2
    with pytest.raises(ValueError, match=message):
        SpecClassifier(FULL_BATCH).fit(X, y, sample_weight=weights)


def test_one_weighted_class_and_an_unweighted_part_are_clear_errors() -> None:
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match=r"at least 2 classes with a non-zero sample_weight; "
                                         r"got 1 class \(1\)"):
        SpecClassifier(FULL_BATCH).fit(X, y, sample_weight=y)
    only_first = np.r_[1.0, np.zeros(19)]        # one of the hold-out's parts has no weight
    with pytest.raises(ValueError, match=r"sample weights of the (training|validation) part "
                                         r"of the hold-out \(25% .*\) are all zero"):
        SpecRegressor(HOLDOUT).fit(X, y.astype(float), sample_weight=only_first)
