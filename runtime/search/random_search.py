"""Random search: independent draws from the dims' priors (Bengio 2012, section 3.4).

Choice dims and ranges with a count are drawn uniformly over their values / grid points, ranges
without a count continuously on their scale, priors from their distribution. On a finite space no
configuration is drawn twice; asking for more trials than the space holds returns the whole space
once, in a seeded random order.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from spec_lang.config import Dim, Search

from .grid import FixedStrategy, expand
from .space import Candidate, finite_values, params_key, sample_params, space_size

DEFAULT_TRIALS = 20
ATTEMPTS_PER_TRIAL = 50        # rejection sampling budget before falling back to enumeration


def draw_configs(dims: Sequence[Dim], n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """`n` distinct configurations drawn from the priors (fewer if the space is smaller)."""
    size = space_size(dims)
    if size is not None and size <= n:
        everything = expand(dims, finite_values)
        return [everything[i] for i in rng.permutation(len(everything))]
    configs: dict[tuple, dict[str, Any]] = {}
    for _ in range(ATTEMPTS_PER_TRIAL * n):
        if len(configs) == n:
            break
        params = sample_params(dims, rng)
        configs.setdefault(params_key(params), params)
    out = list(configs.values())
    if len(out) < n and size is not None:   # a nearly exhausted finite space: top up from the rest
        out += _rest(dims, set(configs), n - len(out), rng)
    return out


def _rest(dims: Sequence[Dim], taken: set[tuple], k: int,
          rng: np.random.Generator) -> list[dict[str, Any]]:
    """`k` configurations not in `taken`, chosen uniformly from the enumerated finite space."""
    left = [p for p in expand(dims, finite_values) if params_key(p) not in taken]
    return [left[i] for i in rng.permutation(len(left))[:k]]


def make_random(search: Search, rng: np.random.Generator) -> FixedStrategy:
    """Random search: `search.trials` (default 20) draws, all in one batch."""
    n = search.trials if search.trials is not None else DEFAULT_TRIALS
    return FixedStrategy([Candidate(p, step="random") for p in draw_configs(search.dims, n, rng)])
