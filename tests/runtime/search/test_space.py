"""Spaces: grid points, samples, conditions, sizes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from runtime.search import grid_values, is_active, sample, sample_params, space_size
from runtime.search.space import Candidate, Scores, score_key
from spec_lang.config import Condition, Dim


def test_log_range_grid_is_geometric_with_exact_ends() -> None:
    dim = Dim("lr", "range", low=1e-4, high=1e-1, scale="log", count=7)
    values = grid_values(dim)
    assert values[0] == 1e-4 and values[-1] == 1e-1
    assert np.allclose(np.log10(values), [-4, -3.5, -3, -2.5, -2, -1.5, -1])


def test_linear_range_grid() -> None:
    assert grid_values(Dim("m", "range", low=0.0, high=1.0, count=5)) == [0, 0.25, 0.5, 0.75, 1]


def test_integer_range_rounds_and_dedups() -> None:
    values = grid_values(Dim("w", "range", low=1, high=4, scale="log", count=9, integer=True))
    assert values == sorted(set(values)) and all(isinstance(v, int) for v in values)
    assert values[0] == 1 and values[-1] == 4 and len(values) < 9


def test_choice_grid_keeps_declared_order() -> None:
    assert grid_values(Dim("act", "choice", values=("tanh", "relu"))) == ["tanh", "relu"]


@pytest.mark.parametrize("dim", [Dim("lr", "prior", low=1e-4, high=1e-1, prior="log_uniform"),
                                 Dim("lr", "range", low=1e-4, high=1e-1, scale="log")])
def test_grid_without_count_is_a_clear_error(dim: Dim) -> None:
    with pytest.raises(ValueError, match="'lr'.*count"):
        grid_values(dim)
    assert len(grid_values(dim, 5)) == 5


@pytest.mark.parametrize("prior,low,high", [("uniform", -1.0, 2.0), ("log_uniform", 1e-5, 1e-1),
                                            ("int_uniform", 2, 5), ("int_log_uniform", 1, 1000)])
def test_samples_stay_in_bounds_with_the_right_type(prior: str, low: float, high: float) -> None:
    dim = Dim("x", "prior", low=low, high=high, prior=prior)
    rng = np.random.default_rng(0)
    draws = [sample(dim, rng) for _ in range(2000)]
    assert min(draws) >= low and max(draws) <= high
    assert all(isinstance(d, int) == prior.startswith("int") for d in draws)
    if prior == "int_uniform":
        assert set(draws) == {2, 3, 4, 5}


def test_log_uniform_spreads_over_decades() -> None:
    dim = Dim("lr", "prior", low=1e-5, high=1e-1, prior="log_uniform")
    rng = np.random.default_rng(0)
    decades = np.floor(np.log10([sample(dim, rng) for _ in range(4000)]))
    counts = np.bincount((decades + 5).astype(int))
    assert len(counts) == 4 and counts.min() > 800      # about 1000 per decade


def test_range_without_count_samples_continuously_on_its_scale() -> None:
    dim = Dim("lr", "range", low=1e-4, high=1e-1, scale="log")
    rng = np.random.default_rng(1)
    draws = [sample(dim, rng) for _ in range(1000)]
    assert len(set(draws)) == 1000
    assert np.mean(np.log10(draws)) == pytest.approx(-2.5, abs=0.1)


def test_conditions() -> None:
    eq = Dim("alpha", "choice", values=(1, 2), condition=Condition("act", "==", "tanh"))
    ne = Dim("beta", "choice", values=(1, 2), condition=Condition("act", "!=", "tanh"))
    assert is_active(eq, {"act": "tanh"}) and not is_active(eq, {"act": "relu"})
    assert is_active(ne, {"act": "relu"}) and not is_active(ne, {"act": "tanh"})
    assert not is_active(eq, {}) and not is_active(ne, {})     # parent absent: child absent


def test_sample_params_respects_conditions() -> None:
    dims = (Dim("act", "choice", values=("relu", "tanh")),
            Dim("alpha", "choice", values=(1, 2), condition=Condition("act", "==", "tanh")))
    rng = np.random.default_rng(0)
    for _ in range(50):
        params = sample_params(dims, rng)
        assert ("alpha" in params) == (params["act"] == "tanh")


def test_space_size_counts_conditional_branches() -> None:
    dims = (Dim("act", "choice", values=("relu", "tanh", "sigmoid")),
            Dim("alpha", "range", low=0, high=1, count=4, condition=Condition("act", "==", "tanh")),
            Dim("width", "choice", values=(64, 128)))
    assert space_size(dims) == (2 + 4) * 2
    assert space_size(dims + (Dim("lr", "prior", low=1e-3, high=1, prior="log_uniform"),)) is None
    assert space_size((Dim("k", "prior", low=1, high=6, prior="int_uniform"),)) == 6


def test_failures_rank_last() -> None:
    assert score_key(1e9) < score_key(None) == score_key(math.nan) == score_key(math.inf)
    scores = Scores()
    a, b, c = Candidate({"x": 1}), Candidate({"x": 2}), Candidate({"x": 3})
    scores.record([(a, None), (b, 2.0), (c, math.nan)])
    assert scores.best([a, b, c]) == b
    assert scores.best([a, c]) is None
    assert scores.known(Candidate({"x": 2}, step="other"))
    assert not scores.known(Candidate({"x": 2}, fidelity=0.5))
