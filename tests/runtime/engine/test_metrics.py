"""Metrics agree with scikit-learn's; selection metric defaults."""
import numpy as np
import pytest
from sklearn import metrics as skm

from runtime.engine.metrics import evaluate, is_maximized, selection_metric


def test_classification_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=200)
    proba = rng.dirichlet(np.ones(4), size=200)
    m = evaluate("classification", y, proba)
    pred = proba.argmax(axis=1)
    assert m["loss"] == pytest.approx(skm.log_loss(y, proba, labels=range(4)))
    assert m["error"] == pytest.approx(1 - skm.accuracy_score(y, pred))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))


def test_macro_f1_counts_only_labels_seen_like_sklearn() -> None:
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.1, 0.9, 0.0], [0.3, 0.7, 0.0]])
    assert evaluate("classification", y, proba)["f1"] == pytest.approx(
        skm.f1_score(y, proba.argmax(axis=1), average="macro"))


def test_multilabel_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(100, 5))
    proba = rng.uniform(size=(100, 5))
    m = evaluate("multilabel", y, proba)
    pred = (proba >= 0.5).astype(int)
    assert m["loss"] == pytest.approx(np.mean([skm.log_loss(y[:, j], proba[:, j])
                                               for j in range(5)]))
    assert m["error"] == pytest.approx(skm.hamming_loss(y, pred))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", zero_division=0))


@pytest.mark.parametrize("shape", [(80,), (80, 3)])
def test_regression_metrics_match_sklearn(shape: tuple) -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=shape)
    pred = y + rng.normal(scale=0.3, size=shape)
    m = evaluate("regression", y, pred)
    assert m["loss"] == m["mse"] == pytest.approx(skm.mean_squared_error(y, pred))
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert m["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_selection_defaults_and_direction() -> None:
    assert selection_metric("classification", None) == "error"
    assert selection_metric("multilabel", None) == "error"
    assert selection_metric("regression", None) == "loss"
    assert selection_metric("regression", "r2") == "r2"
    assert [is_maximized(m) for m in ("accuracy", "f1", "r2", "error", "loss", "mse")] == \
        [True, True, True, False, False, False]
