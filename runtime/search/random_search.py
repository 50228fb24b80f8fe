"""Random search: independent draws from the dims' priors (Bengio 2012, section 3.4).

Choice dims and ranges with a count are drawn uniformly over their values / grid points, ranges
without a count continuously on their scale, priors from their distribution. On a finite space no
configuration is drawn twice; asking for more trials than the space holds returns the whole space
once, in a seeded random order.

Configurations are drawn as they are asked (`grid.CHUNK` at a time): a million trials start
training after the first thousand draws, and only the drawn ones are remembered.
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from spec_lang.config import HALVING_TRIALS, Dim, Search

from .grid import GridIndex, StreamStrategy, iter_configs, shuffled
from .space import (Candidate, ParamsKey, finite_values, params_key, sample_params,
                    space_size)

DEFAULT_TRIALS = 20
ATTEMPTS_PER_TRIAL = 50        # rejection sampling budget before falling back to enumeration


def iter_draws(dims: Sequence[Dim], n: int, rng: np.random.Generator
               ) -> Iterator[dict[str, Any]]:
    """`n` distinct configurations drawn from the priors (fewer if the space is smaller),
    one at a time."""
    size = space_size(dims)
    if size is not None and size <= n:
        yield from shuffled(GridIndex(dims, _finite), rng)
        return
    taken: set[ParamsKey] = set()
    for _ in range(ATTEMPTS_PER_TRIAL * n):
        if len(taken) == n:
            return
        params = sample_params(dims, rng)
        key = params_key(params)
        if key not in taken:
            taken.add(key)
            yield params
    if len(taken) < n and size is not None:   # a nearly exhausted finite space: top up
        yield from _rest(dims, taken, n - len(taken), rng)


def draw_configs(dims: Sequence[Dim], n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """`n` distinct configurations drawn from the priors (fewer if the space is smaller)."""
    return list(iter_draws(dims, n, rng))


def _finite(dim: Dim) -> list[Any]:
    values = finite_values(dim)
    assert values is not None, "only called on a finite space"
    return values


def _rest(dims: Sequence[Dim], taken: set[ParamsKey], k: int,
          rng: np.random.Generator) -> list[dict[str, Any]]:
    """`k` configurations not in `taken`, chosen uniformly from the enumerated finite space
    (reached only when the space is hardly larger than the trials asked)."""
    left = [p for p in iter_configs(dims, _finite) if params_key(p) not in taken]
    return [left[i] for i in rng.permutation(len(left))[:k]]


def make_random(search: Search, rng: np.random.Generator) -> StreamStrategy:
    """Random search: `search.trials` (default 20) draws, asked a chunk at a time."""
    n = search.trials if search.trials is not None else DEFAULT_TRIALS
    return StreamStrategy(Candidate(p, step="random") for p in iter_draws(search.dims, n, rng))


def planned_trials(search: Search) -> tuple[int, bool]:
    """`trials` draws, exactly (a Search made in Python without trials counts 27, as the
    progress total always did)."""
    return (search.trials if search.trials is not None else HALVING_TRIALS), True
