"""Multi-resolution (zoom) search."""
from __future__ import annotations

import math

import pytest

from runtime.search import ZoomSearch, make_strategy
from spec_lang.config import Condition, Dim, Search

DIMS = (Dim("lr", "range", low=1e-5, high=1.0, scale="log"),
        Dim("momentum", "prior", low=0.0, high=1.0, prior="uniform"),
        Dim("act", "choice", values=("tanh", "relu")))


def zoom(**kw) -> Search:
    return Search("zoom", dims=DIMS, **kw)


def objective(p: dict) -> float:
    return (math.log10(p["lr"]) + 2.2) ** 2 + (p["momentum"] - 0.63) ** 2 \
        + (0.0 if p["act"] == "relu" else 0.5)


def test_levels_are_batches_and_get_closer(drive_batches) -> None:
    batches = drive_batches(make_strategy(zoom(levels=4, points=5), seed=0), objective)
    assert [b[0][0].step for b in batches] == ["level 0", "level 1", "level 2", "level 3"]
    assert len(batches[0]) == 5 * 5 * 2
    bests = [min(s for _, s in b) for b in batches]
    assert bests[-1] < bests[0] and bests[-1] < 0.01


def test_intervals_shrink_by_factor_and_centre_on_the_best(drive) -> None:
    strategy = ZoomSearch(zoom(levels=3, factor=4.0, points=5))
    drive(strategy, objective)
    lo0, hi0 = strategy.intervals[0]["lr"]
    assert (lo0, hi0) == pytest.approx((math.log(1e-5), 0.0))
    for level in (1, 2):
        lo, hi = strategy.intervals[level]["lr"]
        assert hi - lo == pytest.approx((hi0 - lo0) / 4 ** level)
    best0 = min((c for c, _ in strategy.history if c.step == "level 0"),
                key=lambda c: objective(c.params))
    for level in (1, 2):                          # centred on the best so far (interior here)
        best = min((c for c, _ in strategy.history if int(c.step.split()[1]) < level),
                   key=lambda c: objective(c.params))
        centre = sum(strategy.intervals[level]["lr"]) / 2
        assert centre == pytest.approx(math.log(best.params["lr"]))
    assert best0.params["lr"] == pytest.approx(10 ** -2.5)


def test_choice_is_fixed_after_level_0(drive) -> None:
    history = drive(make_strategy(zoom(), seed=0), objective)
    assert {c.params["act"] for c, _ in history if c.step != "level 0"} == {"relu"}


def test_interval_slides_inside_the_bounds_at_an_edge(drive) -> None:
    strategy = ZoomSearch(zoom(levels=3))
    history = drive(strategy, lambda p: p["momentum"] + abs(math.log10(p["lr"]) + 2))
    lo, hi = strategy.intervals[2]["momentum"]
    assert lo == 0.0 and hi == pytest.approx(1 / 16)
    assert min(c.params["momentum"] for c, _ in history) == 0.0


def test_no_point_is_asked_twice(drive) -> None:
    history = drive(make_strategy(zoom(levels=3), seed=0), objective)
    keys = [c.key() for c, _ in history]
    assert len(keys) == len(set(keys))


def test_integer_dims_round_dedup_and_stop(drive) -> None:
    dims = (Dim("width", "range", low=1, high=64, scale="log", integer=True),)
    history = drive(make_strategy(Search("zoom", dims=dims, levels=6), seed=0),
                    lambda p: abs(p["width"] - 10))
    values = [c.params["width"] for c, _ in history]
    assert all(isinstance(v, int) for v in values) and len(values) == len(set(values))
    assert min(values, key=lambda v: abs(v - 10)) == 10


def test_deterministic(drive) -> None:
    first = [c.key() for c, _ in drive(make_strategy(zoom(), seed=0), objective)]
    assert first == [c.key() for c, _ in drive(make_strategy(zoom(), seed=5), objective)]


def test_conditional_dims_in_zoom(drive) -> None:
    dims = DIMS + (Dim("alpha", "range", low=0.0, high=1.0,
                       condition=Condition("act", "==", "tanh")),)
    history = drive(make_strategy(Search("zoom", dims=dims), seed=0), objective)
    assert all(("alpha" in c.params) == (c.params["act"] == "tanh") for c, _ in history)


def test_all_failures_end_the_search(drive_batches) -> None:
    batches = drive_batches(make_strategy(zoom(), seed=0), lambda p: None)
    assert len(batches) == 1
