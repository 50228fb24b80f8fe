"""Hyper-parameter search strategies (Bengio 2012, section 3) as seeded ask/tell objects.

The runner drives any strategy the same way::

    strategy = make_strategy(experiment.search, seed=seed, batch_size=4)
    while batch := strategy.ask():
        strategy.tell([(cand, evaluate(cand)) for cand in batch])   # None = failed

An asynchronous strategy (`strategy.asynchronous`: asha, hyperband) may be asked again before
the last batch is told, and told in any order; its ask() returns [] when it has nothing to give
*now*: it is finished when ask() returns [] and nothing asked is still untold.

Scores are minimized. Same `Search` and seed give the same candidates in the same order. What
a strategy promises is `space.Strategy`'s docstring; every strategy is one row of
`registry.TABLE` (its constructor, its planned trials, its fidelity ladder).
Imports only `spec_lang` (and Optuna, for `tpe`): strategies know nothing of training.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from spec_lang.config import MAX_TRIALS, Search
from spec_lang.sizes import size_problem

from .asha import ASHASearch
from .auto import AutoSearch, no_budget
from .border import border_report, extend_search
from .coordinate import CoordinateSearch
from .grid import FixedStrategy, GridIndex, StreamStrategy, expand
from .halving import HalvingSearch
from .hyperband import HyperbandSearch
from .layerwise import LayerwiseSearch
from .random_search import draw_configs
from .registry import TABLE, Row, row_of
from .space import (Candidate, Result, Scores, Strategy, grid_values, is_active, sample,
                    sample_params, space_size)
from .tpe import TPESearch
from .zoom import ZoomSearch

__all__ = ["Candidate", "Strategy", "Result", "make_strategy", "border_report", "extend_search",
           "grid_values", "sample", "sample_params", "is_active", "space_size", "expand",
           "draw_configs", "Scores", "FixedStrategy", "StreamStrategy", "GridIndex",
           "CoordinateSearch", "ZoomSearch", "HalvingSearch", "ASHASearch", "HyperbandSearch",
           "TPESearch", "LayerwiseSearch", "AutoSearch", "planned_trials", "fidelity_ladder", "TABLE", "Row"]


def make_strategy(search: Search, *, seed: int, batch_size: int = 1,
                  spent: Callable[[], float] = no_budget) -> Strategy:
    """The strategy `search.strategy` names (its row of `registry.TABLE`), seeded by `seed`.

    `batch_size` only limits TPE (how many trials it proposes before hearing back); the other
    strategies ask as large a batch as their method allows. `spent` is the share of the
    budget spent so far (`search auto` divides the budget between its stages by it).
    """
    row = row_of(search)
    if row is not TABLE["none"]:
        _check_size(search)
    return row.make(search, np.random.default_rng(seed), seed, batch_size, spent)


def _check_size(search: Search) -> None:
    """What `nnspec check` refuses, refused here too for a Search made in Python: more than
    MAX_TRIALS configurations cannot run (and would be listed for ever)."""
    problem = size_problem(search)
    if problem is not None:
        raise ValueError(f"{problem[0]}.")
    if search.trials is not None and search.trials > MAX_TRIALS:
        raise ValueError(f"{search.strategy} search of {search.trials:,} trials: at most "
                         f"{MAX_TRIALS:,} can run.")


def planned_trials(search: Search) -> tuple[int, bool]:
    """How many trials (configurations at a fidelity) the strategy asks for before any border
    extension: (count, exact). Exact for none, random, tpe and grid; an upper
    bound (exact False) for zoom and coordinate (they may stop early or ask a point again) and
    for halving, asha, hyperband and layerwise (a rung or stage may hold fewer configurations
    after failures)."""
    return row_of(search).planned(search)


def fidelity_ladder(search: Search) -> list[float]:
    """The fidelities a configuration climbs through under halving and asha, and under
    hyperband in its most exploratory bracket; [] for the other strategies."""
    return row_of(search).ladder(search)
