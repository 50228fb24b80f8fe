"""Coordinate descent."""
from __future__ import annotations

import pytest

from runtime.search import CoordinateSearch, make_strategy
from spec_lang.config import Condition, Dim, Search

DIMS = (Dim("lr", "range", low=1e-4, high=1e-1, scale="log", count=7),
        Dim("width", "choice", values=(32, 64, 128, 256)),
        Dim("momentum", "prior", low=0.5, high=0.9, prior="uniform"))
XY = (Dim("x", "range", low=0, high=10, count=11, integer=True),
      Dim("y", "range", low=0, high=10, count=11, integer=True))


def valley(p: dict) -> float:
    """A diagonal valley: each coordinate may move one step per pass, so descent is slow."""
    return max(0, abs(p["x"] - p["y"]) - 1) * 10 + p["x"] + p["y"]


def test_finds_the_optimum_of_a_separable_bowl(drive, best_of) -> None:
    history = drive(make_strategy(Search("coordinate", dims=DIMS, points=5), seed=0))
    best = best_of(history).params
    assert best == {"lr": pytest.approx(1e-2), "width": 128, "momentum": pytest.approx(0.9)}


def test_one_dimension_per_batch_from_the_middle(drive_batches) -> None:
    batches = drive_batches(make_strategy(Search("coordinate", dims=DIMS, points=5), seed=0))
    first = [c for c, _ in batches[0]]
    assert len(first) == 7 and {c.step for c in first} == {"sweep 1 lr"}
    assert all(c.params["width"] == 32 for c in first)                 # choice: first value
    assert all(c.params["momentum"] == pytest.approx(0.7) for c in first)   # middle of 5 points
    assert [c.params["lr"] for c in first][3] == pytest.approx(10 ** -2.5)  # middle of 7 points


def test_stops_after_a_pass_that_changes_nothing(drive) -> None:
    search = Search("coordinate", dims=XY, sweeps=5)
    strategy = make_strategy(search, seed=0)
    history = drive(strategy, lambda p: abs(p["x"] - 5) + abs(p["y"] - 5))
    assert strategy.sweeps_done == 1
    assert len(history) == 11 + 10                      # the start point is not asked twice


def test_runs_all_sweeps_while_it_keeps_improving(drive) -> None:
    strategy = make_strategy(Search("coordinate", dims=XY, sweeps=3), seed=0)
    history = drive(strategy, valley)
    steps = {c.step for c, _ in history}
    assert strategy.sweeps_done == 3 and "sweep 3 y" in steps and "sweep 4 x" not in steps
    assert strategy.best().params == {"x": 0, "y": 0}              # (4,3), (2,1), (0,0)
    longer = make_strategy(Search("coordinate", dims=XY, sweeps=10), seed=0)
    drive(longer, valley)
    assert longer.sweeps_done == 4                                  # the 4th changes nothing


def test_order_and_determinism(drive) -> None:
    search = Search("coordinate", dims=XY, order=("y",))
    first = drive(make_strategy(search, seed=0), valley)
    assert first[0][0].step == "sweep 1 y"
    assert [c.key() for c, _ in first] == [c.key() for c, _ in drive(make_strategy(search, seed=9),
                                                                       valley)]


def test_unknown_order_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown parameters: z"):
        make_strategy(Search("coordinate", dims=XY, order=("z",)), seed=0)


def test_inactive_dims_are_skipped_and_absent(drive) -> None:
    dims = (Dim("act", "choice", values=("relu", "tanh")),
            Dim("alpha", "range", low=0.0, high=1.0, count=5,
                condition=Condition("act", "==", "tanh")))
    history = drive(make_strategy(Search("coordinate", dims=dims), seed=0),
                    lambda p: 1.0 if p["act"] == "relu" else (p["alpha"] - 0.25) ** 2)
    assert all(("alpha" in c.params) == (c.params["act"] == "tanh") for c, _ in history)
    assert {"act": "tanh", "alpha": 0.25} in [c.params for c, _ in history]


def test_failures_are_never_adopted(drive) -> None:
    strategy = make_strategy(Search("coordinate", dims=XY), seed=0)
    drive(strategy, lambda p: None if p["x"] < 3 else p["x"] + p["y"])
    assert strategy.best().params == {"x": 3, "y": 0}


def test_asking_twice_without_telling_is_an_error() -> None:
    strategy = CoordinateSearch(Search("coordinate", dims=XY))
    strategy.ask()
    with pytest.raises(RuntimeError, match="tell"):
        strategy.ask()
