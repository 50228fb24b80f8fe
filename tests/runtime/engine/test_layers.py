"""Layers: dense forward/backward against explicit formulas; inverted dropout."""
import numpy as np

from runtime.engine.layers import Dense, Dropout


def bound_dense(n_in: int, n_out: int, activation: str, seed: int = 0) -> Dense:
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, activation)
    layer.bind(rng.normal(size=(n_in, n_out)), rng.normal(size=n_out),
               np.empty((n_in, n_out)), np.empty(n_out))
    return layer


def test_dense_forward_is_activation_of_affine_map() -> None:
    layer = bound_dense(4, 3, "tanh")
    x = np.random.default_rng(1).normal(size=(5, 4))
    out = np.empty((5, 3))
    assert layer.forward(x, out, None, True, None) is out
    np.testing.assert_allclose(out, np.tanh(x @ layer.W + layer.b), rtol=1e-12)


def test_dense_backward_writes_parameter_and_input_gradients() -> None:
    layer = bound_dense(4, 3, "tanh")
    rng = np.random.default_rng(2)
    x, upstream = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    a = np.empty((5, 3))
    layer.forward(x, a, None, True, None)
    delta, dx = upstream.copy(), np.empty((5, 4))
    layer.backward(x, a, delta, dx, np.empty_like(a))
    dz = upstream * (1 - a ** 2)
    np.testing.assert_allclose(delta, dz, rtol=1e-12)
    np.testing.assert_allclose(layer.gW, x.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(layer.gb, dz.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dx, dz @ layer.W.T, rtol=1e-12)


def test_dropout_is_inverted_and_off_at_prediction() -> None:
    layer, rng = Dropout(200, 0.25), np.random.default_rng(0)
    x = np.ones((500, 200))
    out, mask = np.empty_like(x), np.empty_like(x)
    layer.forward(x, out, mask, True, rng)
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75)            # survivors scaled up
    assert abs(out.mean() - 1.0) < 0.01                         # expectation preserved
    assert layer.forward(x, np.empty_like(x), mask, False, rng) is x


def test_dropout_fixed_mask_and_backward_use_the_same_mask() -> None:
    layer, rng = Dropout(6, 0.5), np.random.default_rng(1)
    x = np.random.default_rng(2).normal(size=(4, 6))
    out, mask = np.empty_like(x), np.empty_like(x)
    layer.forward(x, out, mask, True, rng)
    first = out.copy()
    layer.forward(x, out, mask, True, None)                     # rng None: reuse the mask
    np.testing.assert_array_equal(out, first)
    delta, dx = np.ones_like(x), np.empty_like(x)
    layer.backward(x, out, delta, dx, mask)
    np.testing.assert_array_equal(dx, mask)
    np.testing.assert_array_equal(first, x * mask)
