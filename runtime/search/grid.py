"""Grid search: the full factorial of the dims' grids (Bengio 2012, section 3.3).

The first declared dim varies slowest, as in nested loops written in the spec's order. A
conditional dim is expanded only in the branches where its condition holds. With `shuffle` the
visit order is permuted by the seed, so that a grid stopped half-way is already a fair sample.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np

from spec_lang.config import Dim, Search

from .space import Candidate, Result, grid_values, is_active

ValuesOf = Callable[[Dim], list[Any]]


def expand(dims: Sequence[Dim], values_of: ValuesOf) -> list[dict[str, Any]]:
    """Every configuration of `dims` (first dim slowest), conditional dims only where active."""
    return list(_expand(tuple(dims), values_of, {}))


def _expand(dims: tuple[Dim, ...], values_of: ValuesOf,
            params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if not dims:
        yield dict(params)
        return
    dim, rest = dims[0], dims[1:]
    if not is_active(dim, params):
        yield from _expand(rest, values_of, params)
        return
    for value in values_of(dim):
        yield from _expand(rest, values_of, {**params, dim.name: value})


class FixedStrategy:
    """Asks one precomputed batch, then is done (grid, random, and the no-search case)."""

    def __init__(self, candidates: list[Candidate]) -> None:
        self._batch = list(candidates)
        self.history: list[Result] = []

    def ask(self) -> list[Candidate]:
        """The whole batch the first time; [] afterwards."""
        batch, self._batch = self._batch, []
        return batch

    def tell(self, results: list[Result]) -> None:
        """Keep the results (nothing to adapt)."""
        self.history.extend(results)


def grid_candidates(search: Search, rng: np.random.Generator) -> list[Candidate]:
    """The grid's candidates in visit order (shuffled by `rng` when `search.shuffle`)."""
    configs = expand(search.dims, grid_values)
    if search.shuffle:
        configs = [configs[i] for i in rng.permutation(len(configs))]
    return [Candidate(params, step="grid") for params in configs]


def make_grid(search: Search, rng: np.random.Generator) -> FixedStrategy:
    """Grid search over `search.dims` (every range needs a count)."""
    return FixedStrategy(grid_candidates(search, rng))
