"""`nnspec check` refuses a search that cannot run, saying the size it computed."""
from __future__ import annotations

import pytest

import spec_lang
from spec_lang.config import MAX_TRIALS, Condition, Dim
from spec_lang.sizes import count_configurations

HEAD = "data iris\nnetwork\n    dense $w\ntrain\n    sgd lr $lr momentum $m\n"


def problems(search: str) -> list[str]:
    with pytest.raises(spec_lang.SpecValidationError) as info:
        spec_lang.loads(HEAD + search)
    return [f"{d.line}:{d.column}: {d.message}" for d in info.value.diagnostics]


DIMS = "    w in 8 .. 64\n    lr ~ log_uniform 1e-3 .. 1\n    m in 0.5, 0.9\n"


@pytest.mark.parametrize("strategy", ["random", "halving", "tpe"])
def test_trials_past_the_limit_are_refused(strategy: str) -> None:
    assert problems(f"search {strategy} 100000000000000000000\n" + DIMS) == [
        "6:{}: 'trials' of 'search' must be in [1, 1000000]; got "
        "100000000000000000000".format(9 + len(strategy))]


def test_a_grid_past_the_limit_says_its_size() -> None:
    grid = ("search grid\n    w in 1 .. 100000 count 100000\n"
            "    lr in log 1e-4 .. 1 count 100000\n    m in 0 .. 0.9 count 100\n")
    assert problems(grid) == ["6:1: grid search has 1,000,000,000,000 points: at most "
                              "1,000,000 can run"]
    assert problems(grid.replace("count 100\n", "count 100000\n"))[0].startswith(
        "6:1: grid search has about 1.0e15 points")


def test_a_grid_at_the_limit_is_accepted() -> None:
    exp = spec_lang.loads(HEAD + "search grid\n    w in 1 .. 1000 count 1000\n"
                          "    lr in log 1e-4 .. 1 count 100\n    m in 0.5, 0.6, 0.7, 0.8, 0.9,"
                          " 0.91, 0.92, 0.93, 0.94, 0.95\n")
    assert exp.search.strategy == "grid"


def test_a_count_and_points_past_the_limit_are_refused() -> None:
    assert problems("search random 10\n    w in 1 .. 64 count 1000000000\n"
                    "    lr ~ log_uniform 1e-3 .. 1\n    m in 0.5, 0.9\n") == [
        "7:18: after a range only `count N` (2 <= N <= 1,000,000) may follow"]
    assert problems("search zoom points 1000000000\n" + DIMS)[0].startswith(
        "6:20: 'points' of 'search' must be in [2, 1000000]")


def test_zoom_and_coordinate_are_counted_per_level_and_sweep() -> None:
    assert problems("search zoom points 1000 levels 3\n" + DIMS) == [
        "6:1: zoom search visits up to 6,000,000 configurations (3 levels of 2,000,000): at "
        "most 1,000,000 can run"]
    assert problems("search coordinate points 600000 sweeps 2\n" + DIMS) == [
        "6:1: coordinate search visits up to 2,400,004 configurations (2 sweeps of 1,200,002): "
        "at most 1,000,000 can run"]


def test_python_made_experiments_are_held_to_the_limit() -> None:
    exp = spec_lang.loads(HEAD + "search random 10\n" + DIMS)
    with pytest.raises(spec_lang.SpecValidationError, match="must be in \\[1, 1000000\\]"):
        exp.replace(search__trials=MAX_TRIALS + 1)


def test_conditions_multiply_only_their_branches() -> None:
    dims = (Dim("act", "choice", values=("relu", "tanh", "sigmoid")),
            Dim("alpha", "choice", values=(1, 2, 3, 4), condition=Condition("act", "==", "tanh")),
            Dim("beta", "choice", values=(1, 2), condition=Condition("act", "!=", "relu")),
            Dim("w", "choice", values=(8, 16)))
    # relu: 1 x 2 widths; tanh: 4 alphas x 2 betas x 2; sigmoid: 2 betas x 2
    assert count_configurations(dims, [d.values for d in dims]) == 2 + 16 + 4
    # Only the number of act's values known: an upper bound (each may be the tested one).
    assert count_configurations(dims, [3, *[d.values for d in dims[1:]]]) >= 22


def test_counting_a_long_chain_of_conditions_needs_no_recursion() -> None:
    dims = [Dim("x0", "choice", values=(0, 1))] + [
        Dim(f"x{i}", "choice", values=(0, 1), condition=Condition(f"x{i - 1}", "==", 1))
        for i in range(1, 3000)]
    assert count_configurations(dims, [d.values for d in dims]) == 3001


@pytest.mark.parametrize("search, rungs", [
    ("search halving 90 eta 1.000000001\n", "4,499,809,30"),
    ("search halving eta 1.01\n", "33"),                  # the default 27 configurations
    ("search asha 9 eta 1.0001 min_fidelity 0.00001\n", "115,13"),
    ("search hyperband eta 1.001 min_fidelity 0.00001\n", "11,51")])
def test_an_eta_close_to_one_that_would_climb_endless_rungs_is_refused(search: str,
                                                                       rungs: str) -> None:
    """Such a ladder once hung the run (billions of rungs, computed one at a time)."""
    found = problems(search + DIMS)
    assert len(found) == 1 and found[0].startswith("6:1: ") and f"about {rungs}" in found[0]
    assert "at most 100 can run" in found[0]


def test_an_eta_close_to_one_is_accepted_where_the_ladder_is_short() -> None:
    for search in ("search halving 90 eta 1.1\n", "search asha 90 eta 1.01\n",
                   "search asha 9 eta 2 min_fidelity 0.001\n"):
        assert spec_lang.loads(HEAD + search + DIMS).search.strategy in ("halving", "asha")


@pytest.mark.parametrize("eta, first", [("1e18", "1e54"), ("1e200", "1e600")])
def test_a_hyperband_eta_that_would_draw_endless_configurations_is_refused(eta: str,
                                                                            first: str) -> None:
    # Before: `check` passed with notes and the run drew eta^3 configurations for ever (1e200:
    # an OverflowError).
    assert problems(f"search hyperband eta {eta}\n" + DIMS) == [
        f"6:1: hyperband with eta {float(eta):g} starts about {first} configurations in its "
        "most exploratory bracket: at most 1,000,000 can run"]


def test_hyperband_is_counted_over_its_brackets() -> None:
    from spec_lang.sizes import plan, visits
    exp = spec_lang.loads(HEAD + "search hyperband eta 3 min_fidelity 0.0123\n" + DIMS)
    assert [b.sizes[0] for b in plan(3, 0.0123)] == [81, 34, 15, 8, 5]    # the paper's table
    assert visits(exp.search) == (143, "hyperband with eta 3 starts 143 configurations")
    # eta 1000 from 1e-6: brackets of 1e6, 1500 and 3
    assert problems("search hyperband eta 1000 min_fidelity 1e-6\n" + DIMS) == [
        "6:1: hyperband with eta 1000 starts 1,001,503 configurations: at most 1,000,000 "
        "can run"]
