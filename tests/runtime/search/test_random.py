"""Random search."""
from __future__ import annotations

import pytest

from runtime.search import make_strategy
from runtime.search.grid import CHUNK
from spec_lang.config import Condition, Dim, Search

CONTINUOUS = (Dim("lr", "prior", low=1e-4, high=1e-1, prior="log_uniform"),
              Dim("width", "prior", low=16, high=512, prior="int_log_uniform"),
              Dim("act", "choice", values=("relu", "tanh")),
              Dim("momentum", "range", low=0.5, high=0.99))
FINITE = (Dim("lr", "range", low=1e-4, high=1e-1, scale="log", count=4),
          Dim("act", "choice", values=("relu", "tanh")))


def test_random_asks_a_small_search_in_one_batch(drive_batches) -> None:
    batches = drive_batches(make_strategy(Search("random", trials=40, dims=CONTINUOUS), seed=3))
    assert len(batches) == 1 and len(batches[0]) == 40
    assert {c.step for c, _ in batches[0]} == {"random"}


def test_random_is_deterministic_and_seeded(drive) -> None:
    def keys(seed: int) -> list:
        search = Search("random", trials=25, dims=CONTINUOUS)
        return [c.key() for c, _ in drive(make_strategy(search, seed=seed))]
    assert keys(7) == keys(7) and keys(7) != keys(8)


def test_random_gets_near_the_optimum(drive, best_of) -> None:
    history = drive(make_strategy(Search("random", trials=200, dims=CONTINUOUS), seed=0))
    best = best_of(history).params
    assert best["act"] == "relu"
    assert 10 ** -2.5 < best["lr"] < 10 ** -1.5 and 64 < best["width"] < 256


def test_random_has_no_duplicates_on_a_finite_space(drive) -> None:
    history = drive(make_strategy(Search("random", trials=7, dims=FINITE), seed=0))
    keys = [c.key() for c, _ in history]
    assert len(keys) == 7 and len(set(keys)) == 7


def test_more_trials_than_the_space_gives_the_space_once(drive) -> None:
    history = drive(make_strategy(Search("random", trials=50, dims=FINITE), seed=0))
    assert len(history) == 8 and len({c.key() for c, _ in history}) == 8


def test_random_respects_conditions(drive) -> None:
    dims = FINITE + (Dim("alpha", "prior", low=0.0, high=1.0, prior="uniform",
                         condition=Condition("act", "==", "tanh")),)
    history = drive(make_strategy(Search("random", trials=30, dims=dims), seed=0))
    assert all(("alpha" in c.params) == (c.params["act"] == "tanh") for c, _ in history)
    assert any("alpha" in c.params for c, _ in history)


def test_random_default_trials(drive) -> None:
    assert len(drive(make_strategy(Search("random", dims=CONTINUOUS), seed=0))) == 20


@pytest.mark.parametrize("trials", [1, 8])
def test_small_finite_space_edges(drive, trials: int) -> None:
    history = drive(make_strategy(Search("random", trials=trials, dims=FINITE), seed=2))
    assert len({c.key() for c, _ in history}) == len(history) == trials


def test_a_million_trials_are_drawn_as_they_are_asked(monkeypatch) -> None:
    import runtime.search.random_search as random_search
    draws = []
    real = random_search.sample_params

    def counted(dims, rng):
        draws.append(1)
        return real(dims, rng)
    monkeypatch.setattr(random_search, "sample_params", counted)
    strategy = make_strategy(Search("random", trials=1_000_000, dims=CONTINUOUS), seed=0)
    assert len(strategy.ask()) == CHUNK and len(draws) == CHUNK


def test_drawing_from_a_large_grid_does_not_list_it(monkeypatch) -> None:
    import runtime.search.space as space
    made = []
    real = space.axis_points

    def counted(dim, low, high, count):
        made.append(count)
        return real(dim, low, high, count)
    monkeypatch.setattr(space, "axis_points", counted)
    space._axis.cache_clear()
    dims = (Dim("x", "range", low=0.0, high=1.0, count=1_000_000),
            Dim("y", "range", low=0.0, high=1.0, count=1_000_000))
    batch = make_strategy(Search("random", trials=500, dims=dims), seed=0).ask()
    assert len(batch) == 500 and made == [1_000_000, 1_000_000]   # each grid made once
    space._axis.cache_clear()
