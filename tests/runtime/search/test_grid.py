"""Grid search and the no-search case."""
from __future__ import annotations

import math

import numpy as np
import pytest

from runtime.search import GridIndex, expand, grid_values, make_strategy
from runtime.search.grid import CHUNK
from spec_lang.config import Condition, Dim, Search

DIMS = (Dim("lr", "range", low=1e-4, high=1e-1, scale="log", count=7),
        Dim("width", "choice", values=(32, 64, 128, 256)),
        Dim("act", "choice", values=("relu", "tanh")))


def grid(**kw) -> Search:
    return Search(strategy="grid", dims=DIMS, **kw)


def test_none_is_one_empty_candidate(drive) -> None:
    history = drive(make_strategy(Search(), seed=0))
    assert [c.params for c, _ in history] == [{}]


def test_grid_is_the_full_factorial_in_one_batch_when_small(drive_batches, best_of) -> None:
    batches = drive_batches(make_strategy(grid(), seed=0))
    assert len(batches) == 1 and len(batches[0]) == 7 * 4 * 2
    cands = [c for c, _ in batches[0]]
    assert len({c.key() for c in cands}) == 56 and {c.step for c in cands} == {"grid"}
    assert best_of(batches[0]).params == {"lr": pytest.approx(1e-2), "width": 128, "act": "relu"}


def test_first_dim_varies_slowest(drive) -> None:
    params = [c.params for c, _ in drive(make_strategy(grid(), seed=0))]
    assert [p["lr"] for p in params[:8]] == [1e-4] * 8
    assert [p["act"] for p in params[:4]] == ["relu", "tanh", "relu", "tanh"]


def test_shuffle_changes_the_order_not_the_set(drive) -> None:
    plain = [c.key() for c, _ in drive(make_strategy(grid(), seed=0))]
    shuffled = [c.key() for c, _ in drive(make_strategy(grid(shuffle=True), seed=0))]
    again = [c.key() for c, _ in drive(make_strategy(grid(shuffle=True), seed=0))]
    other = [c.key() for c, _ in drive(make_strategy(grid(shuffle=True), seed=1))]
    assert shuffled != plain and sorted(shuffled) == sorted(plain)
    assert shuffled == again and shuffled != other


def test_conditional_dims_expand_only_where_active(drive) -> None:
    dims = (Dim("act", "choice", values=("relu", "tanh")),
            Dim("alpha", "range", low=0.0, high=1.0, count=3,
                condition=Condition("act", "==", "tanh")))
    params = [c.params for c, _ in drive(make_strategy(Search("grid", dims=dims), seed=0))]
    assert params == [{"act": "relu"}, {"act": "tanh", "alpha": 0.0},
                      {"act": "tanh", "alpha": 0.5}, {"act": "tanh", "alpha": 1.0}]


def test_grid_without_counts_is_rejected() -> None:
    dims = (Dim("lr", "prior", low=1e-4, high=1e-1, prior="log_uniform"),)
    with pytest.raises(ValueError, match="'lr' is a prior"):
        make_strategy(Search("grid", dims=dims), seed=0)


def test_unknown_strategy_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown search strategy 'bayes'"):
        make_strategy(Search("bayes", dims=DIMS), seed=0)


def test_grid_survives_failures(drive, best_of) -> None:
    def flaky(p):
        return None if p["lr"] > 0.05 else math.log10(p["lr"]) ** 2
    history = drive(make_strategy(grid(), seed=0), flaky)
    assert len(history) == 56 and best_of(history).params["lr"] == pytest.approx(0.0316, rel=0.01)


BIG = (Dim("a", "range", low=0.0, high=1.0, count=1000),
       Dim("b", "range", low=1e-4, high=1.0, scale="log", count=1000))


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_million_point_grid_is_made_as_it_is_asked(shuffle: bool) -> None:
    strategy = make_strategy(Search("grid", dims=BIG, shuffle=shuffle), seed=0)
    first = strategy.ask()
    assert len(first) == CHUNK and len({c.key() for c in first}) == CHUNK
    assert len(strategy.ask()) == CHUNK           # the next chunk, not the rest of the grid


def test_position_lookup_matches_the_expansion_under_conditions() -> None:
    dims = (Dim("act", "choice", values=("relu", "tanh", "sigmoid")),
            Dim("alpha", "range", low=0.0, high=1.0, count=3,
                condition=Condition("act", "==", "tanh")),
            Dim("beta", "choice", values=(1, 2), condition=Condition("act", "!=", "relu")),
            Dim("w", "choice", values=(8, 16, 32)))
    listed = expand(dims, grid_values)
    index = GridIndex(dims, grid_values)
    assert index.size == len(listed) == 3 + 18 + 6
    assert [index.at(i) for i in range(index.size)] == listed


def test_a_shuffled_grid_is_the_seeded_permutation_of_the_grid(drive) -> None:
    listed = expand(DIMS, grid_values)
    order = np.random.default_rng(5).permutation(len(listed))
    shuffled = [c.params for c, _ in drive(make_strategy(grid(shuffle=True), seed=5))]
    assert shuffled == [listed[i] for i in order]


def test_a_search_past_the_limit_is_refused_when_made() -> None:
    huge = BIG + (Dim("c", "range", low=0.0, high=1.0, count=1000),)
    with pytest.raises(ValueError, match="grid search has 1,000,000,000 points"):
        make_strategy(Search("grid", dims=huge), seed=0)
    with pytest.raises(ValueError, match="at most 1,000,000 can run"):
        make_strategy(Search("halving", trials=10 ** 12, dims=BIG), seed=0)
