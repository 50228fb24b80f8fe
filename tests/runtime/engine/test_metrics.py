"""Metrics agree with scikit-learn's; the loss from the logits is exact; selection metric
defaults."""
import numpy as np
import pytest
from scipy import special
from sklearn import metrics as skm

from runtime.engine.losses import SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError
from runtime.engine.metrics import ensemble_logits, evaluate, is_maximized, selection_metric


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


# ------------------------------------------------------------------- the loss from the logits
def _outputs(head, z: np.ndarray) -> np.ndarray:
    out = np.array(z, copy=True)
    head.output(out)
    return head.decode(out)


def test_a_confident_binary_mistake_costs_its_logit() -> None:
    """The review's reproducer: a logit of 40 for class 1 on an example of class 0. From the
    probabilities (1 - sigmoid(40) is 0 in float64) the loss was log(tiny) = 708.4."""
    head = SigmoidCrossEntropy(1, binary=True)
    z = np.array([[40.0]])
    loss = evaluate("classification", np.array([0]), _outputs(head, z),
                    logits=head.loss_logits(z))["loss"]
    assert loss == pytest.approx(-special.log_expit(-40.0), rel=1e-15)      # 40 + 4e-18
    assert evaluate("classification", np.array([0]), _outputs(head, z))["loss"] > 700


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["softmax", "binary", "multilabel"])
def test_loss_from_logits_matches_an_independent_float64_computation(kind: str, dtype) -> None:
    rng = np.random.default_rng(4)
    n = 200
    scale = rng.choice([0.5, 5.0, 50.0, 500.0], size=(n, 1))          # up to very confident
    if kind == "softmax":
        head, task, y = SoftmaxCrossEntropy(4), "classification", rng.integers(0, 4, n)
        z = (rng.normal(size=(n, 4)) * scale).astype(dtype)
        exact = -np.mean(special.log_softmax(z.astype(np.float64), axis=1)[np.arange(n), y])
    elif kind == "binary":
        head, task, y = SigmoidCrossEntropy(1, binary=True), "classification", rng.integers(0, 2, n)
        z = (rng.normal(size=(n, 1)) * scale).astype(dtype)
        z64 = z[:, 0].astype(np.float64)
        exact = -np.mean(np.where(y == 1, special.log_expit(z64), special.log_expit(-z64)))
    else:
        head, task, y = SigmoidCrossEntropy(3, binary=False), "multilabel", \
            rng.integers(0, 2, (n, 3))
        z = (rng.normal(size=(n, 3)) * scale).astype(dtype)
        z64 = z.astype(np.float64)
        exact = -np.mean(np.where(y == 1, special.log_expit(z64), special.log_expit(-z64)))
    m = evaluate(task, y, _outputs(head, z), logits=head.loss_logits(z))
    assert m["loss"] == pytest.approx(exact, rel=1e-12)
    assert m == {**evaluate(task, y, _outputs(head, z)), "loss": m["loss"]}   # the rest as before


def test_regression_has_no_logits() -> None:
    assert SquaredError.fitted(np.arange(5.0)).loss_logits(np.zeros((5, 1))) is None


@pytest.mark.parametrize("task", ["classification", "multilabel"])
def test_ensemble_logits_are_those_of_the_averaged_probabilities(task: str) -> None:
    rng = np.random.default_rng(5)
    members = [rng.normal(size=(30, 3)) * 3 for _ in range(4)]
    if task == "classification":
        mean_p = np.mean([special.softmax(m, axis=1) for m in members], axis=0)
        got = special.softmax(ensemble_logits(task, members), axis=1)
    else:
        mean_p = np.mean([special.expit(m) for m in members], axis=0)
        got = special.expit(ensemble_logits(task, members))
    np.testing.assert_allclose(got, mean_p, rtol=1e-13)


def test_ensemble_loss_of_confident_members_is_exact() -> None:
    """Two members both sure of the wrong class: the averaged probability of the true class is
    (e^-300 + e^-400) / 2, far below anything a probability array can hold."""
    members = [np.array([[0.0, 300.0]]), np.array([[0.0, 400.0]])]
    logits = ensemble_logits("classification", members)
    loss = evaluate("classification", np.array([0]), special.softmax(logits, axis=1),
                    logits=logits)["loss"]
    exact = -(np.logaddexp(-300.0, -400.0) - np.log(2))    # log(1 + e^-z) is e^-z below 1e-16
    assert loss == pytest.approx(exact, rel=1e-15)
    label = ensemble_logits("multilabel", [np.array([[-300.0]]), np.array([[-400.0]])])
    assert evaluate("multilabel", np.array([[1]]), special.expit(label),
                    logits=label)["loss"] == pytest.approx(exact, rel=1e-15)


def test_weighted_multilabel_f1_counts_every_label_as_the_unweighted_one() -> None:
    """A label with no true and no predicted positive counts 0 in the macro F1 with or without
    weights (weights of 1 once gave 0.25 where the unweighted F1 and scikit-learn's give
    0.1667); an integer weight still equals that many copies."""
    from sklearn.metrics import f1_score
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]])
    proba = np.array([[0.9, 0.8, 0.1], [0.2, 0.1, 0.3], [0.4, 0.1, 0.2], [0.1, 0.1, 0.1]])
    plain = evaluate("multilabel", y, proba)["f1"]
    ones = evaluate("multilabel", y, proba, weights=np.ones(4))["f1"]
    expected = f1_score(y, proba >= 0.5, average="macro", zero_division=0)
    assert plain == pytest.approx(expected) and ones == pytest.approx(expected)
    w = np.array([2.0, 1.0, 0.0, 3.0])
    copies = np.repeat(np.arange(4), w.astype(int))
    assert evaluate("multilabel", y, proba, weights=w)["f1"] == pytest.approx(
        evaluate("multilabel", y[copies], proba[copies])["f1"])
