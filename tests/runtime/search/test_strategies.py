"""Properties every strategy shares, on one conditional space."""
from __future__ import annotations

import math

import pytest

from runtime.search import make_strategy
from spec_lang.config import Condition, Dim, Search

DIMS = (Dim("lr", "range", low=1e-4, high=1e-1, scale="log", count=4),
        Dim("act", "choice", values=("relu", "tanh")),
        Dim("momentum", "range", low=0.5, high=0.9, count=3,
            condition=Condition("act", "!=", "relu")))
STRATEGIES = ("grid", "random", "coordinate", "zoom", "halving", "tpe")


def search(name: str) -> Search:
    return Search(name, dims=DIMS, trials=9 if name in ("random", "halving", "tpe") else None)


def objective(p: dict) -> float | None:
    if p["lr"] > 0.05:
        return None                                   # diverged
    return (math.log10(p["lr"]) + 2) ** 2 + (0.2 if p["act"] == "tanh" else 0.0)


@pytest.mark.parametrize("name", STRATEGIES)
def test_same_seed_same_sequence(drive_batches, name: str) -> None:
    def seq() -> list:
        return [[c.key() + (c.step,) for c, _ in b]
                for b in drive_batches(make_strategy(search(name), seed=11, batch_size=3),
                                       objective)]
    assert seq() == seq()


@pytest.mark.parametrize("name", STRATEGIES)
def test_failures_are_worst_and_conditions_hold(drive, best_of, name: str) -> None:
    history = drive(make_strategy(search(name), seed=0, batch_size=3), objective)
    assert history and all(c.step for c, _ in history)
    assert all(("momentum" in c.params) == (c.params["act"] == "tanh") for c, _ in history)
    assert best_of(history).params["lr"] <= 0.05


@pytest.mark.parametrize("name", STRATEGIES)
def test_all_failed_still_ends(drive, name: str) -> None:
    assert drive(make_strategy(search(name), seed=0, batch_size=3), lambda p: None)


def test_none_and_empty_searches_ask_one_default_candidate(drive) -> None:
    for s in (Search(), Search("random", trials=5)):
        history = drive(make_strategy(s, seed=0))
        assert [(c.params, c.fidelity, c.step) for c, _ in history] == [({}, 1.0, "none")]
