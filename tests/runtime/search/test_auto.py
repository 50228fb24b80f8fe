"""`search auto` as an ask/tell strategy, driven by a known objective: its stages in order, each
from the best the earlier ones found, the budget's shares, the border and batch stages' values,
and the chosen configuration trained with every seed last."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

import spec_lang
from spec_lang import auto as plan
from runtime.search import make_strategy
from runtime.search.auto import AutoSearch, planned_trials

SPEC = "data iris\nsearch auto\n"


def _search(text: str = SPEC):
    return spec_lang.loads(text).search


def objective(params: dict[str, Any]) -> float:
    """Lowest at lr 0.001 (the middle of the opened rate's grid: Adam's default, the range
    test not run), width as wide as possible, depth 2, no dropout, l2 1e-4, batch 64."""
    return (abs(math.log10(params["lr"] / 0.001)) + 100 / params["width"]
            + abs(params["depth"] - 2) + params["dropout"] + abs(params["l2"] - 1e-4) * 100
            + abs(math.log2(params["batch"] / 64)) * 0.1)


def drive(strategy: Any, f: Callable[[dict[str, Any]], float] = objective,
          on_batch: Callable[[list], None] = lambda b: None) -> list:
    """Ask and tell to the end, each batch whole; every candidate asked, in order."""
    asked: list = []
    while True:
        batch = strategy.ask()
        if not batch:
            return asked
        on_batch(batch)
        asked += batch
        strategy.tell([(c, f(c.params)) for c in batch])


def _steps(asked: list) -> list[str]:
    return list(dict.fromkeys(c.step.split(" rung")[0] for c in asked))


def test_the_stages_run_in_the_chapters_order_and_end_with_every_seed():
    asked = drive(AutoSearch(_search(), np.random.default_rng(0)))
    assert _steps(asked) in (["lr", "capacity", "border", "batch", "batch lr", "seeds"],
                             ["lr", "capacity", "batch", "batch lr", "seeds"])
    seeds = [c for c in asked if c.step == "seeds"]
    explored = [c for c in asked if c.step != "seeds"]
    assert asked[-len(seeds):] == seeds and len(seeds) == plan.CONFIRM
    assert all(c.seeds == 1 for c in explored) and all(c.seeds == 0 for c in seeds)
    full = sorted({tuple(sorted(c.params.items())): c for c in explored
                   if c.fidelity == 1.0}.values(), key=lambda c: objective(c.params))
    assert [c.params for c in seeds] == [c.params for c in full[:plan.CONFIRM]]


def test_the_seeds_stage_confirms_the_runners_up_only_while_the_budget_lasts():
    spent = {"share": 0.0}
    strategy = AutoSearch(_search(SPEC + "budget 10 seconds\n"), np.random.default_rng(0),
                          lambda: spent["share"])

    def after(batch: list) -> None:
        if batch[0].step == "seeds":
            spent["share"] = 1.0
    asked = drive(strategy, on_batch=after)
    assert [c.step for c in asked].count("seeds") == 1


def test_the_lr_stage_is_the_rate_grid_with_everything_else_at_the_defaults():
    search = _search()
    asked = drive(AutoSearch(search, np.random.default_rng(0)))
    lr = [c for c in asked if c.step == "lr"]
    assert len(lr) == plan.LR_POINTS
    assert {c.params["width"] for c in lr} == {256} and {c.params["depth"] for c in lr} == {2}
    assert {c.params["batch"] for c in lr} == {32}


def test_capacity_is_successive_halving_from_the_best_rate():
    asked = drive(AutoSearch(_search(), np.random.default_rng(0)))
    lr = [c for c in asked if c.step == "lr"]
    best_lr = min(lr, key=lambda c: objective(c.params)).params["lr"]
    rungs = [c for c in asked if c.step.startswith("capacity")]
    assert {c.params["lr"] for c in rungs} == {best_lr}
    sizes = [sum(c.step == f"capacity rung {r}" for c in rungs) for r in range(3)]
    assert sizes == [plan.BRACKET, 3, 1]
    assert sorted({c.fidelity for c in rungs})[0] == _search().min_fidelity


def test_a_best_value_on_the_border_is_widened_beyond_it():
    # the wider the better: the bracket promotes its widest draw, which borders what was
    # tried at any rung, and the border stage goes past it, half-way (on the log scale) to
    # the widened prior's end, then again
    def wider(p: dict[str, Any]) -> float:
        return objective(p) + 1e4 / p["width"]
    asked = drive(AutoSearch(_search(), np.random.default_rng(0)), wider)
    before = [c for c in asked if not c.step.startswith(("border", "batch", "seeds"))]
    widest = max(c.params["width"] for c in before)
    border = [c.params["width"] for c in asked if c.step == "border"
              and c.params["width"] != widest]
    below = max(c.params["width"] for c in before if c.params["width"] < widest)
    assert len(border) == plan.BORDER_ROUNDS
    assert border[0] == math.ceil(widest ** 2 / below)           # one step, as spaced
    assert border[1] == math.ceil(border[0] ** 2 / widest)       # and one more
    assert next(c for c in asked if c.step == "seeds").params["width"] == border[1]


def test_a_best_value_inside_what_was_tried_is_not_widened():
    asked = drive(AutoSearch(_search(), np.random.default_rng(0)))
    assert not any(c.step == "border" for c in asked)


def test_the_batch_stage_scales_the_rate_with_the_square_root_of_the_size():
    asked = drive(AutoSearch(_search(), np.random.default_rng(0)))
    base = next(c for c in asked if c.step == "batch")
    before = [c for c in asked[:asked.index(base)] if c.fidelity == 1.0]
    centre = min(before, key=lambda c: objective(c.params)).params
    for cand in (c for c in asked if c.step == "batch"):
        ratio = cand.params["batch"] / centre["batch"]
        assert cand.params["lr"] == pytest_approx(centre["lr"] * math.sqrt(ratio))
    assert sorted(c.params["batch"] for c in asked if c.step == "batch") == \
        sorted(int(round(centre["batch"] * m)) for m in plan.BATCH_TRIES)


def pytest_approx(value: float) -> Any:
    import pytest
    return pytest.approx(value, rel=1e-12)


def test_a_spent_share_skips_to_the_seeds():
    spent = {"share": 0.0}
    strategy = AutoSearch(_search(SPEC + "budget 10 seconds\n"), np.random.default_rng(0),
                          lambda: spent["share"])

    def after(batch: list) -> None:
        spent["share"] = 0.95 if batch[0].step == "lr" else spent["share"]
    asked = drive(strategy, on_batch=after)
    assert _steps(asked) == ["lr", "seeds"]


def test_with_a_budget_the_capacity_stage_runs_brackets_until_its_share():
    spent = {"share": 0.0, "brackets": 0}
    strategy = AutoSearch(_search(SPEC + "budget 10 seconds\n"), np.random.default_rng(0),
                          lambda: spent["share"])

    def after(batch: list) -> None:
        if batch[0].step == "capacity rung 0":
            spent["brackets"] += 1
            spent["share"] = 0.3 * spent["brackets"]      # the third bracket passes 0.6
    drive(strategy, on_batch=after)
    assert spent["brackets"] == 2


def test_the_same_seed_asks_the_same_candidates():
    def keys(seed: int) -> list:
        return [(c.key(), c.step) for c in drive(make_strategy(_search(), seed=seed))]
    assert keys(3) == keys(3) and keys(3) != keys(4)


def test_planned_trials_bounds_a_run_without_budget():
    search = _search()
    count, exact = planned_trials(search)
    assert not exact and len(drive(AutoSearch(search, np.random.default_rng(0)))) <= count


def test_a_spec_that_opens_nothing_asks_its_own_dimensions_by_stage():
    search = _search("data iris\nnetwork\n    dense $w relu\ntrain\n    sgd lr 0.1\n"
                     "    batch 32\n    l2 0\nsearch auto\n    w in 8, 16, 32\n")
    asked = drive(AutoSearch(search, np.random.default_rng(0)), lambda p: 1 / p["w"])
    assert _steps(asked) == ["defaults", "capacity", "border", "seeds"]
    seeds = [c.params for c in asked if c.step == "seeds"]
    assert seeds[0] == {"w": 64}                  # the border stage went past 32


def _after_lr(budget: str, lr_share: float, seed: int = 0) -> list:
    """Every candidate asked by a run whose lr stage took `lr_share` of the budget (its 5
    trials at the default network), each later batch costing nothing."""
    spent = {"share": 0.0}
    strategy = AutoSearch(_search(SPEC + f"budget {budget}\n"), np.random.default_rng(seed),
                          lambda: spent["share"])

    def after(batch: list) -> None:
        if batch[0].step == "lr":
            spent["share"] = lr_share
    return drive(strategy, on_batch=after)


def _capacity_draws(budget: str, lr_share: float, seed: int = 0) -> list:
    """The first rungs' draws of `_after_lr`'s run."""
    return [c for c in _after_lr(budget, lr_share, seed) if c.step == "capacity rung 0"]


def _work(params: dict[str, Any]) -> float:
    return params["depth"] * params["width"] ** 2


def test_under_a_seconds_budget_no_draw_is_started_that_its_stage_cannot_afford():
    # each lr trial took 0.1 / 5 of the budget at depth 2, width 256; the stage has 0.6 - 0.1
    # left, a third of it per draw: a draw may have at most (0.5 / 3) / 0.02 times that work
    bound = (plan.SHARES["capacity"] - 0.1) * plan.DRAW_SHARE / (0.1 / 5) * 2 * 256 ** 2
    for seed in range(3):
        timed = _capacity_draws("10 seconds", 0.1, seed)
        assert len(timed) >= plan.BRACKET and all(_work(c.params) <= bound for c in timed)
    # the same draws in epochs: an epoch of a wide network is one epoch, nothing is left out
    untimed = [c for seed in range(3) for c in _capacity_draws("epochs 1000", 0.1, seed)]
    assert any(_work(c.params) > bound for c in untimed)


def test_when_no_draw_fits_what_is_left_the_capacity_stage_is_skipped():
    # the lr stage took 0.59 of the budget: a draw may have 0.0033 / 0.118 of the default
    # network's work, less than the smallest network (depth 1, width 64) has
    asked = _after_lr("10 seconds", 0.59)
    assert "capacity" not in _steps(asked) and _steps(asked)[-1] == "seeds"
