"""Hyper-parameter search strategies (Bengio 2012, section 3) as seeded ask/tell objects.

The runner drives any strategy the same way::

    strategy = make_strategy(experiment.search, seed=seed, batch_size=4)
    while batch := strategy.ask():
        strategy.tell([(cand, evaluate(cand)) for cand in batch])   # None = failed

An asynchronous strategy (`strategy.asynchronous`: asha, hyperband) may be asked again before
the last batch is told, and told in any order; its ask() returns [] when it has nothing to give
*now*: it is finished when ask() returns [] and nothing asked is still untold.

Scores are minimized. Same `Search` and seed give the same candidates in the same order.
Imports only `spec_lang` (and Optuna, for `tpe`): strategies know nothing of training.
"""
from __future__ import annotations

import math

import numpy as np

from spec_lang.config import MAX_TRIALS, STRATEGIES, Search
from spec_lang.sizes import size_problem

from .border import border_report, extend_search
from .coordinate import CoordinateSearch
from .grid import FixedStrategy, GridIndex, StreamStrategy, expand, make_grid
from .asha import ASHASearch, ladder
from .halving import DEFAULT_TRIALS, HalvingSearch, fidelities, rung_count, starting
from .hyperband import HyperbandSearch, plan
from .layerwise import DEFAULT_TRIALS as LAYERWISE_TRIALS, LayerwiseSearch
from .random_search import draw_configs, make_random
from .space import (Candidate, Result, Scores, Strategy, grid_values, is_active, sample,
                    sample_params, space_size)
from .tpe import TPESearch
from .zoom import ZoomSearch

__all__ = ["Candidate", "Strategy", "Result", "make_strategy", "border_report", "extend_search",
           "grid_values", "sample", "sample_params", "is_active", "space_size", "expand",
           "draw_configs", "Scores", "FixedStrategy", "StreamStrategy", "GridIndex",
           "CoordinateSearch", "ZoomSearch", "HalvingSearch", "ASHASearch", "HyperbandSearch",
           "TPESearch", "LayerwiseSearch", "planned_trials", "fidelity_ladder"]


def make_strategy(search: Search, *, seed: int, batch_size: int = 1) -> Strategy:
    """The strategy `search.strategy` names, seeded by `seed`.

    `batch_size` only limits TPE (how many trials it proposes before hearing back); the other
    strategies ask as large a batch as their method allows.
    """
    rng = np.random.default_rng(seed)
    name = search.strategy
    if name not in STRATEGIES:
        raise ValueError(f"Unknown search strategy '{name}'. Expected one of: "
                         f"{', '.join(STRATEGIES)}.")
    if name == "none" or not search.dims:
        return FixedStrategy([Candidate({}, step="none")])
    _check_size(search)
    if name == "grid":
        return make_grid(search, rng)
    if name == "random":
        return make_random(search, rng)
    if name == "coordinate":
        return CoordinateSearch(search)
    if name == "zoom":
        return ZoomSearch(search)
    if name == "halving":
        return HalvingSearch(search, rng)
    if name == "asha":
        return ASHASearch(search, rng)
    if name == "hyperband":
        return HyperbandSearch(search, rng)
    if name == "layerwise":
        return LayerwiseSearch(search, rng)
    return TPESearch(search, seed, batch_size)


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
    for halving, asha and hyperband (a rung may hold fewer configurations after failures)."""
    from spec_lang.sizes import visits
    name = search.strategy
    if name == "none" or not search.dims:
        return 1, True
    n = search.trials if search.trials is not None else DEFAULT_TRIALS
    if name in ("random", "tpe"):
        return n, True
    if name in ("halving", "asha"):
        # rung k holds ceil (halving) or floor (asha) of n / eta^k: ceil bounds both
        rungs = rung_count(n, search.eta) if name == "halving" else \
            len(ladder(n, search.eta, search.min_fidelity))
        sizes, size = [], n
        for _ in range(rungs):
            sizes.append(size)
            size = math.ceil(size / search.eta)
        return sum(sizes), False
    if name == "hyperband":
        return sum(sum(b.sizes) for b in plan(search.eta, search.min_fidelity)), False
    if name == "layerwise":           # a stage per hidden layer, then the fine-tuning
        per_stage = search.trials if search.trials is not None else LAYERWISE_TRIALS
        return per_stage * (search.layers + 1), False
    found = visits(search)
    if found is None:
        return 0, False
    return found[0], name == "grid"


def fidelity_ladder(search: Search) -> list[float]:
    """The fidelities a configuration climbs through under halving and asha, and under
    hyperband in its most exploratory bracket; [] for the other strategies."""
    name = search.strategy
    if not search.dims or name not in ("halving", "asha", "hyperband"):
        return []
    if name == "hyperband":
        return list(plan(search.eta, search.min_fidelity)[0].fidelities)
    n = starting(search)
    if name == "asha":
        return ladder(n, search.eta, search.min_fidelity)
    return fidelities(rung_count(n, search.eta), search.eta, search.min_fidelity)
