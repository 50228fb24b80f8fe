"""The search strategies by name, one row each: how to make one, and what the run's progress
total and `nnspec check` need to know of it without making it.

A new strategy is a module of this package (a class that satisfies `space.Strategy`) and a
row here; `spec_lang.config.STRATEGIES` names it for the language (a test holds the table and
that tuple together, and `ASYNCHRONOUS` to each strategy's `asynchronous`). docs/search.md,
"How to add a strategy", says the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from spec_lang.config import Search

from . import asha, auto, halving, hyperband, layerwise, random_search, tpe
from .asha import ASHASearch
from .auto import AutoSearch
from .coordinate import CoordinateSearch
from .grid import make_grid, no_search, visited
from .halving import HalvingSearch
from .hyperband import HyperbandSearch
from .layerwise import LayerwiseSearch
from .random_search import make_random
from .space import Strategy
from .tpe import TPESearch
from .zoom import ZoomSearch

# (search, rng, seed, batch_size, spent) -> a new strategy. `rng` is
# np.random.default_rng(seed), the one generator a strategy draws from; `seed` is for a library
# that seeds itself (Optuna); `batch_size` is how many trials a strategy that proposes one at a
# time (tpe) may have out; `spent()` the share of the run's budget spent (0 without one).
Make = Callable[[Search, np.random.Generator, int, int, Callable[[], float]], Strategy]


def no_ladder(search: Search) -> list[float]:
    """A strategy that trains every trial at full fidelity climbs no ladder."""
    return []


@dataclass(frozen=True)
class Row:
    """One strategy: `make` builds it (for a search with dimensions, whose size was checked);
    `planned` is how many trials it asks before any border extension, (count, exact: False
    for an upper bound); `ladder` is the fidelities a configuration climbs through ([]: full
    fidelity only)."""

    make: Make
    planned: Callable[[Search], tuple[int, bool]]
    ladder: Callable[[Search], list[float]] = no_ladder


# In the order of spec_lang.config.STRATEGIES (the order the error lists them in).
TABLE: dict[str, Row] = {
    "none": Row(lambda s, rng, seed, b, spent: no_search(s, rng), lambda s: (1, True)),
    "grid": Row(lambda s, rng, seed, b, spent: make_grid(s, rng), lambda s: visited(s, exact=True)),
    "random": Row(lambda s, rng, seed, b, spent: make_random(s, rng), random_search.planned_trials),
    "coordinate": Row(lambda s, rng, seed, b, spent: CoordinateSearch(s),
                      lambda s: visited(s, exact=False)),
    "zoom": Row(lambda s, rng, seed, b, spent: ZoomSearch(s), lambda s: visited(s, exact=False)),
    "halving": Row(lambda s, rng, seed, b, spent: HalvingSearch(s, rng), halving.planned_trials,
                   halving.fidelity_ladder),
    "asha": Row(lambda s, rng, seed, b, spent: ASHASearch(s, rng), asha.planned_trials,
                asha.fidelity_ladder),
    "hyperband": Row(lambda s, rng, seed, b, spent: HyperbandSearch(s, rng),
                     hyperband.planned_trials, hyperband.fidelity_ladder),
    "tpe": Row(lambda s, rng, seed, b, spent: TPESearch(s, seed, b), tpe.planned_trials),
    "layerwise": Row(lambda s, rng, seed, b, spent: LayerwiseSearch(s, rng),
                     layerwise.planned_trials),
    "auto": Row(lambda s, rng, seed, b, spent: AutoSearch(s, rng, spent), auto.planned_trials,
                auto.fidelity_ladder),
}


def row_of(search: Search) -> Row:
    """The row of `search.strategy`; "none"'s for a search without dimensions."""
    if search.strategy not in TABLE:
        raise ValueError(f"Unknown search strategy '{search.strategy}'. Expected one of: "
                         f"{', '.join(TABLE)}.")
    return TABLE[search.strategy if search.dims else "none"]
