"""The strategy table: a row for every name the language accepts, each making a strategy that
satisfies the protocol the drive relies on."""
from __future__ import annotations

import pytest

from runtime.search import TABLE, Strategy, fidelity_ladder, make_strategy, planned_trials
from spec_lang import config as c
from spec_lang.config import Dim, Search

DIMS = (Dim("lr", "range", low=1e-3, high=1e-1, scale="log", count=3),
        Dim("act", "choice", values=("relu", "tanh")))


def search(name: str) -> Search:
    return Search(name, dims=DIMS, trials=None if name in ("grid", "coordinate", "zoom") else 4,
                  pretrained=("lr",) if name == "layerwise" else (), layers=1)


def test_the_table_names_every_strategy_of_the_language_in_its_order() -> None:
    assert tuple(TABLE) == c.STRATEGIES
    assert set(c.ASYNCHRONOUS) <= set(TABLE)


@pytest.mark.parametrize("name", c.STRATEGIES)
def test_every_strategy_satisfies_the_protocol(name: str) -> None:
    strategy = make_strategy(search(name), seed=0, batch_size=2)
    assert isinstance(strategy, Strategy)
    assert isinstance(type(strategy).asynchronous, bool)       # declared, not looked up
    assert strategy.asynchronous == (name in c.ASYNCHRONOUS)     # what `nnspec check` says
    assert strategy.ask()                                        # something to train first


@pytest.mark.parametrize("name", c.STRATEGIES)
def test_every_row_plans_and_ladders(name: str) -> None:
    count, exact = planned_trials(search(name))
    assert count >= 1 and isinstance(exact, bool)
    ladder = fidelity_ladder(search(name))
    assert ladder == sorted(ladder) and (not ladder or ladder[-1] == 1.0)
    assert bool(ladder) == (name in ("halving", "asha", "hyperband"))


def test_an_unknown_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Expected one of: none, grid, random"):
        make_strategy(Search("annealing", dims=DIMS), seed=0)
