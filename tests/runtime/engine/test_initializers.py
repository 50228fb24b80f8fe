"""Initialization: each scheme's range or spread, the "auto" choice, scale, determinism."""
import numpy as np
import pytest

from runtime.engine.initializers import INITIALIZERS, initial_weights, resolve_init

FAN_IN, FAN_OUT = 400, 300
GLOROT = np.sqrt(6 / (FAN_IN + FAN_OUT))


def draw(name: str, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return initial_weights(name, "relu", (FAN_IN, FAN_OUT), scale, np.random.default_rng(seed))


@pytest.mark.parametrize("name, bound", [("glorot_uniform", GLOROT),
                                         ("sigmoid_uniform", 4 * GLOROT),
                                         ("he_uniform", np.sqrt(6 / FAN_IN)),
                                         ("lecun_uniform", np.sqrt(3 / FAN_IN))])
def test_uniform_schemes_fill_their_range(name: str, bound: float) -> None:
    w = draw(name)
    assert w.shape == (FAN_IN, FAN_OUT)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound                      # the whole range is used
    assert abs(w.std() - bound / np.sqrt(3)) < 0.02 * bound     # U(-r, r) has std r / sqrt(3)


@pytest.mark.parametrize("name, std", [("he_normal", np.sqrt(2 / FAN_IN)),
                                       ("glorot_normal", np.sqrt(2 / (FAN_IN + FAN_OUT))),
                                       ("lecun_normal", np.sqrt(1 / FAN_IN))])
def test_normal_schemes_have_their_spread(name: str, std: float) -> None:
    w = draw(name)
    assert abs(w.std() - std) < 0.02 * std
    assert abs(w.mean()) < 0.02 * std


def test_orthogonal_has_orthonormal_columns_or_rows() -> None:
    tall = initial_weights("orthogonal", "tanh", (6, 4), 1.0, np.random.default_rng(0))
    wide = initial_weights("orthogonal", "tanh", (4, 6), 1.0, np.random.default_rng(0))
    np.testing.assert_allclose(tall.T @ tall, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(wide @ wide.T, np.eye(4), atol=1e-12)


def test_zeros_and_scale() -> None:
    assert not draw("zeros").any()
    np.testing.assert_allclose(draw("he_normal", scale=0.5), 0.5 * draw("he_normal"))


@pytest.mark.parametrize("activation, scheme, gain", [
    ("tanh", "glorot_uniform", 1.0), ("softsign", "glorot_uniform", 1.0),
    ("linear", "glorot_uniform", 1.0), ("sigmoid", "sigmoid_uniform", 1.0),
    ("relu", "glorot_uniform", 0.5), ("leaky_relu", "glorot_uniform", 0.5),
    ("softplus", "he_normal", 1.0)])
def test_auto_follows_the_activation(activation: str, scheme: str, gain: float) -> None:
    """auto: the activation's scheme, the ReLU family at half Glorot's range (issue 24); a
    named scheme is drawn as named."""
    assert resolve_init("auto", activation) == scheme
    a = initial_weights("auto", activation, (5, 3), 2.0, np.random.default_rng(3))
    b = initial_weights(scheme, activation, (5, 3), 2.0, np.random.default_rng(3))
    np.testing.assert_array_equal(a, gain * b)
    if activation == "relu":                  # U(-r/2, r/2), r = sqrt(6 / 8), times scale 2
        assert np.abs(a).max() <= np.sqrt(6 / 8) and np.abs(a).max() > 0.8 * np.sqrt(6 / 8)


def test_same_seed_same_weights_and_registry_matches_language() -> None:
    from spec_lang.config import INITS
    np.testing.assert_array_equal(draw("glorot_normal", 7), draw("glorot_normal", 7))
    assert not np.array_equal(draw("glorot_normal", 7), draw("glorot_normal", 8))
    assert set(INITIALIZERS) | {"auto"} == set(INITS)
    with pytest.raises(ValueError, match="glorot_uniform"):
        resolve_init("xavier", "relu")


def test_auto_has_a_choice_for_every_activation_of_the_language() -> None:
    from runtime.engine.initializers import AUTO_INIT
    from spec_lang.config import ACTIVATIONS
    assert set(AUTO_INIT) == set(ACTIVATIONS)
    assert set(AUTO_INIT.values()) <= set(INITIALIZERS)


def test_auto_relu_weights_stay_in_half_the_glorot_range() -> None:
    # the chapter's range at half its width, not He's wider sqrt(6 / fan_in) (docs/engine.md:
    # the benchmark)
    w = initial_weights("auto", "relu", (FAN_IN, FAN_OUT), 1.0, np.random.default_rng(0))
    assert np.abs(w).max() <= GLOROT / 2 < np.sqrt(6 / FAN_IN)
    assert np.abs(w).max() > 0.99 * GLOROT / 2
