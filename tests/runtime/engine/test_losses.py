"""Output heads: dJ/dz against finite differences of the criterion, stability, encodings."""
import numpy as np
import pytest

from runtime.engine.losses import SigmoidCrossEntropy, SoftmaxCrossEntropy, SquaredError, make_head
from runtime.engine.metrics import evaluate


def numeric_grad(head, z: np.ndarray, y: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (head.criterion(plus, y) - head.criterion(minus, y)) / (2 * h)
    return grad


def heads_and_targets():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=6)
    softmax = SoftmaxCrossEntropy(4)
    binary = SigmoidCrossEntropy(1, binary=True)
    multi = SigmoidCrossEntropy(3, binary=False)
    reg = SquaredError.fitted(rng.normal(5, 3, size=(6, 2)))
    return [(softmax, softmax.encode(labels, np.float64)),
            (binary, binary.encode(labels % 2, np.float64)),
            (multi, multi.encode(rng.integers(0, 2, size=(6, 3)), np.float64)),
            (reg, reg.encode(rng.normal(5, 3, size=(6, 2)), np.float64))]


@pytest.mark.parametrize("head, y", heads_and_targets(), ids=["softmax", "binary", "multilabel",
                                                             "squared"])
def test_delta_is_the_gradient_of_the_criterion(head, y: np.ndarray) -> None:
    z = np.random.default_rng(1).normal(size=y.shape) * 2
    delta = np.empty_like(z)
    head.loss_grad(z.copy(), y, delta)
    np.testing.assert_allclose(delta, numeric_grad(head, z, y), rtol=1e-6, atol=1e-10)
    scaled = np.empty_like(z)
    head.loss_grad(z.copy(), y, scaled, scale=-0.5)            # the optimizer's folded factor
    np.testing.assert_allclose(scaled, -0.5 * delta, rtol=1e-12)


def test_softmax_delta_is_p_minus_y_and_loss_is_mean_cross_entropy() -> None:
    head = SoftmaxCrossEntropy(3)
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = head.encode(np.array([2, 0]), np.float64)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    delta = np.empty_like(z)
    loss = head.loss_grad(z.copy(), y, delta)
    np.testing.assert_allclose(delta, (p - y) / 2, rtol=1e-12)
    assert loss == pytest.approx(-np.mean(np.log(p[[0, 1], [2, 0]])), rel=1e-12)


def test_extreme_logits_stay_finite() -> None:
    z = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    y = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        soft = SoftmaxCrossEntropy(3).loss_grad(z.copy(), y, np.empty_like(z))
        bce = SigmoidCrossEntropy(3, False).loss_grad(z.copy(), y, np.empty_like(z))
    assert soft == pytest.approx(2e4, rel=1e-6)
    assert bce == pytest.approx((1e4 + 1e4 + np.log(2)) / 3, rel=1e-6)


def test_reported_loss_matches_evaluate() -> None:
    rng = np.random.default_rng(3)
    y_true = rng.normal(10, 4, size=(50, 2))
    head = SquaredError.fitted(y_true)
    z = rng.normal(size=(50, 2))
    reported = head.loss_grad(z.copy(), head.encode(y_true, np.float64), np.empty_like(z))
    assert reported == pytest.approx(evaluate("regression", y_true, head.decode(z))["mse"])
    labels = rng.integers(0, 5, size=40)
    soft = SoftmaxCrossEntropy(5)
    z = rng.normal(size=(40, 5))
    reported = soft.loss_grad(z.copy(), soft.encode(labels, np.float64), np.empty_like(z))
    out = z.copy()
    soft.output(out)
    assert reported == pytest.approx(evaluate("classification", labels, out)["loss"])


def test_heads_from_tasks_and_decoding() -> None:
    assert isinstance(make_head("classification", 3, np.array([0, 1, 2])), SoftmaxCrossEntropy)
    binary = make_head("classification", 2, np.array([0, 1]))
    assert binary.n_out == 1
    np.testing.assert_allclose(binary.decode(np.array([[0.2], [0.9]])), [[0.8, 0.2], [0.1, 0.9]])
    reg = make_head("regression", 0, np.array([1.0, 3.0, 5.0]))
    np.testing.assert_allclose(reg.encode(np.array([1.0, 3.0, 5.0]), np.float64).ravel(),
                               [-1.2247448713915890, 0.0, 1.2247448713915890])
    assert reg.decode(np.array([[0.0], [1.0]])).shape == (2,)
    np.testing.assert_allclose(reg.decode(np.array([[0.0]])), [3.0])
    assert make_head("multilabel", 0, np.zeros((4, 3))).n_out == 3


def test_softmax_with_rows_far_apart_is_exact() -> None:
    # One shift for the whole batch would underflow row 1 entirely; the head must notice.
    head = SoftmaxCrossEntropy(3)
    z = np.array([[500.0, 0.0, -3.0], [-400.0, -401.0, -399.0]], dtype=np.float32)
    y = head.encode(np.array([0, 1]), np.float32)
    delta = np.empty_like(z)
    loss = head.loss_grad(z.copy(), y, delta)
    assert loss == pytest.approx(head.criterion(z, y), rel=1e-6)
    np.testing.assert_allclose(delta, numeric_grad(head, z.astype(np.float64), y, h=1e-3),
                               atol=1e-6)
    assert np.all(np.isfinite(delta))


# ------------------------------------------------------------------------------ sample weights
def numeric_weighted_grad(head, z: np.ndarray, y: np.ndarray, w: np.ndarray,
                          h: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (head.criterion(plus, y, w) - head.criterion(minus, y, w)) / (2 * h)
    return grad


WEIGHTS = np.array([[2.0], [0.0], [1.0], [3.0], [0.5], [0.5]])      # one a zero


@pytest.mark.parametrize("head, y", heads_and_targets(), ids=["softmax", "binary", "multilabel",
                                                             "squared"])
def test_weighted_delta_is_the_gradient_of_the_weighted_criterion(head, y: np.ndarray) -> None:
    z = np.random.default_rng(1).normal(size=y.shape) * 2
    delta = np.empty_like(z)
    loss = head.loss_grad(z.copy(), y, delta, -0.5, WEIGHTS)
    np.testing.assert_allclose(delta, -0.5 * numeric_weighted_grad(head, z, y, WEIGHTS),
                               rtol=1e-6, atol=1e-10)
    assert not delta[1].any()                             # weight 0: no gradient at all
    if not isinstance(head, SquaredError):                # (squared reports original units)
        assert loss == pytest.approx(head.criterion(z, y, WEIGHTS), rel=1e-12)


@pytest.mark.parametrize("head, y", heads_and_targets(), ids=["softmax", "binary", "multilabel",
                                                             "squared"])
def test_integer_weights_equal_repeated_examples(head, y: np.ndarray) -> None:
    """Weights normalized to mean 1 over the batch (as training does): loss and the gradient
    summed over each example's copies equal those of the repeated batch, in float64."""
    counts = np.array([2, 0, 1, 3, 1, 1])
    z = np.random.default_rng(2).normal(size=y.shape)
    w = (counts / counts.mean())[:, None]
    delta_w, delta_r = np.empty_like(z), np.empty((counts.sum(), z.shape[1]))
    loss_w = head.loss_grad(z.copy(), y, delta_w, 1.0, w)
    loss_r = head.loss_grad(np.repeat(z, counts, axis=0), np.repeat(y, counts, axis=0), delta_r)
    assert loss_w == pytest.approx(loss_r, rel=1e-13)
    summed = np.add.reduceat(delta_r, np.r_[0, np.cumsum(counts)[:-1]][counts > 0], axis=0)
    np.testing.assert_allclose(delta_w[counts > 0], summed, rtol=1e-12, atol=1e-15)
    assert head.criterion(z, y, w) == pytest.approx(
        head.criterion(np.repeat(z, counts, axis=0), np.repeat(y, counts, axis=0)), rel=1e-13)


def test_unit_weights_give_the_unweighted_loss_and_delta_in_float32() -> None:
    for head, y in heads_and_targets():
        z = np.random.default_rng(4).normal(size=y.shape).astype(np.float32)
        y32, ones = y.astype(np.float32), np.ones((len(z), 1), np.float32)
        plain, weighted = np.empty_like(z), np.empty_like(z)
        a = head.loss_grad(z.copy(), y32, plain, 0.3)
        b = head.loss_grad(z.copy(), y32, weighted, 0.3, ones)
        assert b == pytest.approx(a, rel=1e-6)
        np.testing.assert_allclose(weighted, plain, rtol=1e-6)
        assert weighted.dtype == np.float32


def test_weighted_softmax_with_rows_far_apart_is_exact() -> None:
    """The row-wise fallback (a row underflowing the batch's shift) keeps the weights."""
    head = SoftmaxCrossEntropy(3)
    z = np.array([[500.0, 0.0, -3.0], [-400.0, -401.0, -399.0]])
    y = head.encode(np.array([0, 1]), np.float64)
    w = np.array([[0.5], [1.5]])
    delta = np.empty_like(z)
    loss = head.loss_grad(z.copy(), y, delta, 1.0, w)
    assert loss == pytest.approx(head.criterion(z, y, w), rel=1e-12)
    np.testing.assert_allclose(delta, numeric_weighted_grad(head, z, y, w, h=1e-4), atol=1e-8)


def test_weighted_target_statistics_equal_repeated_targets() -> None:
    rng = np.random.default_rng(5)
    y, counts = rng.normal(3, 2, size=(7, 2)), np.array([1, 0, 4, 2, 1, 3, 1])
    weighted = make_head("regression", 0, y, counts.astype(float))
    repeated = SquaredError.fitted(np.repeat(y, counts, axis=0))
    np.testing.assert_allclose(weighted.mean, repeated.mean, rtol=1e-13)
    np.testing.assert_allclose(weighted.scale, repeated.scale, rtol=1e-13)
