"""Activations: values, derivatives against central finite differences, stability, dtype."""
import numpy as np
import pytest

from runtime.engine.activations import ACTIVATIONS, get_activation

REFERENCE = {
    "relu": lambda z: np.maximum(z, 0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "linear": lambda z: z,
}


def kink_safe_points(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Float64 points in [-3, -0.1] U [0.1, 3]: no relu kink within the difference step."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 3.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def test_registry_covers_the_language() -> None:
    from spec_lang.config import ACTIVATIONS as NAMES
    assert set(ACTIVATIONS) == set(NAMES)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_matches_the_formula(name: str) -> None:
    z = kink_safe_points((5, 7))
    out = z.copy()
    ACTIVATIONS[name].forward(out)
    np.testing.assert_allclose(out, REFERENCE[name](z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_matches_central_differences(name: str) -> None:
    act, z, h = ACTIVATIONS[name], kink_safe_points((6, 5), seed=1), 1e-6
    a, plus, minus = z.copy(), z + h, z - h
    for arr in (a, plus, minus):
        act.forward(arr)
    upstream = np.random.default_rng(2).normal(size=z.shape)
    delta = upstream.copy()
    act.backward(a, delta, np.empty_like(a))
    numeric = upstream * (plus - minus) / (2 * h)
    np.testing.assert_allclose(delta, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float32_stays_float32_and_extremes_are_finite(name: str) -> None:
    z = np.array([[-1e4, -50.0, 0.0, 50.0, 1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow is fine
        ACTIVATIONS[name].forward(z)
        delta = np.ones_like(z)
        ACTIVATIONS[name].backward(z, delta, np.empty_like(z))
    assert z.dtype == np.float32 and delta.dtype == np.float32
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(delta))


def test_stable_forms_at_extremes() -> None:
    z = np.array([-800.0, 800.0])
    s, p = z.copy(), z.copy()
    ACTIVATIONS["sigmoid"].forward(s)
    ACTIVATIONS["softplus"].forward(p)
    np.testing.assert_allclose(s, [0.0, 1.0], atol=1e-300)
    np.testing.assert_allclose(p, [0.0, 800.0], atol=1e-300)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="relu"):
        get_activation("swish")
