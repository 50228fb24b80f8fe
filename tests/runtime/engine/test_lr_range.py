"""The learning-rate range test: the grid, the largest stable rate (checked by training at
twice it and at the suggestion), determinism, the edge cases, the engine's refusal of `auto`."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from runtime.engine.lr_range import RangeTest, rate_grid, range_test
from runtime.engine.training import fit
from runtime.types import TrainData
from spec_lang import config as c


@pytest.fixture(scope="module")
def digits() -> TrainData:
    """Standardized digits: 1000 training rows, the rest for validation."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit(X[:1000]).transform(X)
    return TrainData(X[:1000], y[:1000], X[1000:], y[1000:], "classification", 10)


def network(**train: object) -> c.Config:
    """One hidden layer of 32 relu units, sgd with momentum 0.9, batch 32."""
    return c.Config(network=(c.Dense(32, "relu"),), train=c.Train(**train))


def at_rate(config: c.Config, lr: float, updates: int = 100) -> c.Config:
    """`config` trained briefly at a constant `lr`, without early stopping."""
    train = dataclasses.replace(config.train, optimizer=c.Optimizer(lr=lr), epochs=100,
                                updates=updates, schedule=c.Schedule("constant"),
                                early_stop=None)
    return dataclasses.replace(config, train=train)


def test_the_grid_is_geometric_exact_and_spans_the_bounds():
    grid = rate_grid()
    assert len(grid) == 36 and grid[0] == 1e-6 and grid[-1] == 10.0
    ratios = np.diff(np.log10(grid))
    np.testing.assert_allclose(ratios, 0.2, rtol=1e-12)
    assert rate_grid(1e-3, 1.0, 1) == (1e-3, 1e-2, 1e-1, 1.0)
    assert rate_grid(2e-3, 0.5, 1) == (1e-2, 1e-1)             # bounds rounded inwards
    for bad in ((0.0, 1.0, 5), (1.0, 0.1, 5), (1e-3, 1.0, 0)):
        with pytest.raises(ValueError, match="a rate grid needs"):
            rate_grid(*bad)


def test_the_largest_stable_rate_is_stable_and_twice_it_is_not(digits):
    config = network()
    test = range_test(config, digits, seed=0)
    assert test.largest_stable is not None and not test.capped
    assert test.diverged[-1] and not any(test.diverged[:-1])   # stopped at the first divergence
    assert test.rates[-2] == test.largest_stable
    assert test.suggestion == pytest.approx(test.largest_stable / 2, rel=5e-3)
    assert test.interval == (pytest.approx(test.suggestion / 10), test.largest_stable)
    # Independently of the range test's own loop: engine fits of 100 updates.
    start = test.initial_loss
    twice = fit(at_rate(config, 2 * test.largest_stable), digits, seed=0)
    assert twice.state == "diverged" or twice.train_loss > start, twice
    for lr in (test.suggestion, test.largest_stable / 10):
        below = fit(at_rate(config, lr), digits, seed=0)
        assert below.state == "complete" and below.train_loss < 0.5 * start, (lr, below)


def test_each_point_is_a_restart_from_the_same_weights(digits):
    """The loss at a rate does not depend on the rates tried before it."""
    config = network()
    full = range_test(config, digits, seed=0)
    late = range_test(config, digits, seed=0, low=1e-2)
    for rate, loss in zip(late.rates, late.losses):
        i = full.rates.index(rate)
        assert loss == full.losses[i] or (math.isnan(loss) and math.isnan(full.losses[i]))


def _same(a: RangeTest, b: RangeTest) -> bool:
    return (a.rates == b.rates and a.largest_stable == b.largest_stable and
            np.array_equal(a.losses, b.losses, equal_nan=True) and a.diverged == b.diverged)


def test_same_seed_same_result_and_another_seed_other_losses(digits):
    config = network()
    first = range_test(config, digits, seed=3, low=1e-3)
    assert _same(first, range_test(config, digits, seed=3, low=1e-3))
    other = range_test(config, digits, seed=4, low=1e-3)
    assert not np.array_equal(first.losses[:5], other.losses[:5])


def test_float32_by_default_and_float64_on_request(digits):
    f32 = range_test(network(), digits, seed=0, low=1e-2, high=1e-1)
    f64 = range_test(network(dtype="float64"), digits, seed=0, low=1e-2, high=1e-1)
    np.testing.assert_allclose(f32.losses, f64.losses, rtol=1e-3)
    assert f32.losses != f64.losses                              # computed in another dtype


def test_the_engine_rule_alone_allows_a_larger_rate(digits):
    """rise=None: only the engine's divergence rule (1000 x the initial loss, non-finite)."""
    strict = range_test(network(), digits, seed=0)
    engine = range_test(network(), digits, seed=0, rise=None)
    assert engine.divergence == 1e3 and strict.divergence == 1.0
    assert engine.largest_stable is not None and strict.largest_stable is not None
    assert engine.largest_stable >= strict.largest_stable
    at = engine.rates.index(engine.largest_stable)
    assert engine.losses[at] <= 1e3 * engine.initial_loss
    assert engine.diverged[-1] and ("exceeds 1000 x" in engine.reason or
                                    "non-finite" in engine.reason), engine.reason


def test_no_divergence_in_the_grid_is_capped(digits):
    test = range_test(network(), digits, seed=0, high=1e-3)
    assert test.capped and test.largest_stable == 1e-3 and not any(test.diverged)
    assert "at least 0.001" in test.describe()


def test_every_rate_diverging_says_so(digits):
    huge = dataclasses.replace(digits, X_train=digits.X_train * 1e4)
    test = range_test(network(), huge, seed=0, low=1e-3)
    assert test.largest_stable is None and test.suggestion is None and test.interval is None
    assert len(test.rates) == 1 and test.diverged == (True,)
    assert test.describe().startswith("every rate diverged, even the smallest (0.001)")


def test_pretraining_adam_dropout_and_regression_run(digits):
    config = c.Config(network=(c.Dense(16, "tanh"), c.Dropout(0.2)),
                      train=c.Train(optimizer=c.Optimizer("adam")),
                      pretrain=c.Pretrain(epochs=1))
    assert range_test(config, digits, seed=0, low=1e-3).largest_stable is not None
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    reg = TrainData(X, X @ rng.normal(size=5), X[:0], np.zeros(0), "regression")
    test = range_test(network(), reg, seed=0, low=1e-3)
    assert test.largest_stable is not None and test.diverged[-1]


def test_bad_options_are_refused(digits):
    with pytest.raises(ValueError, match="updates >= 1 and rise >= 1"):
        range_test(network(), digits, seed=0, updates=0)
    with pytest.raises(ValueError, match="rise >= 1"):
        range_test(network(), digits, seed=0, rise=0.5)


def test_the_engine_refuses_to_train_lr_auto(digits):
    config = network(optimizer=c.Optimizer(lr=c.AUTO))
    with pytest.raises(ValueError, match="lr auto is chosen by the learning-rate range test"):
        fit(config, digits, seed=0)
