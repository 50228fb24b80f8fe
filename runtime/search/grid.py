"""Grid search: the full factorial of the dims' grids (Bengio 2012, section 3.3).

The first declared dim varies slowest, as in nested loops written in the spec's order. A
conditional dim is expanded only in the branches where its condition holds. With `shuffle` the
visit order is permuted by the seed, so that a grid stopped half-way is already a fair sample.

A grid can be large (up to `spec_lang.config.MAX_TRIALS` points): its points are made as they are
asked, `CHUNK` at a time, never listed whole; a shuffled grid permutes positions and finds the
point at each position (`GridIndex`).
"""
from __future__ import annotations

import bisect
import itertools
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from spec_lang.config import Dim, Search
from spec_lang.sizes import count_configurations, visits

from .space import Candidate, ParamsKey, Result, grid_values, is_active

ValuesOf = Callable[[Dim], list[Any]]
CHUNK = 1000       # candidates per ask: enough to keep every worker busy, little memory


def expand(dims: Sequence[Dim], values_of: ValuesOf) -> list[dict[str, Any]]:
    """Every configuration of `dims` (first dim slowest), conditional dims only where active."""
    return list(iter_configs(dims, values_of))


def iter_configs(dims: Sequence[Dim], values_of: ValuesOf) -> Iterator[dict[str, Any]]:
    """The configurations of `expand`, one at a time."""
    return _expand(tuple(dims), values_of, {})


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


class GridIndex:
    """The configurations of `expand(dims, values_of)` by position, without listing them."""

    def __init__(self, dims: Sequence[Dim], values_of: ValuesOf) -> None:
        self._dims = tuple(dims)
        self._values = [values_of(d) for d in self._dims]
        self._parents = {d.condition.param for d in self._dims if d.condition is not None}
        self._memo: dict[tuple[int, ParamsKey], list[int]] = {}
        self.size = count_configurations(self._dims, self._values)

    def at(self, index: int) -> dict[str, Any]:
        """The configuration at position `index` (0 <= index < size) of expand's order."""
        params: dict[str, Any] = {}
        for i, dim in enumerate(self._dims):
            if not is_active(dim, params):
                continue
            ends = self._ends(i, params)        # cumulative configurations per value
            k = bisect.bisect_right(ends, index)
            index -= ends[k - 1] if k else 0
            params[dim.name] = self._values[i][k]
        return params

    def _ends(self, i: int, params: dict[str, Any]) -> list[int]:
        """For each value of dim i: how many configurations start with it or an earlier one."""
        key = (i, tuple(sorted((k, v) for k, v in params.items() if k in self._parents)))
        if key not in self._memo:
            name, rest, values = self._dims[i].name, self._dims[i + 1:], self._values[i + 1:]
            if name in self._parents:
                sizes = [count_configurations(rest, values, {**params, name: v})
                         for v in self._values[i]]
            else:                               # every value leads to the same sub-grid
                sizes = [count_configurations(rest, values, params)] * len(self._values[i])
            self._memo[key] = list(itertools.accumulate(sizes))
        return self._memo[key]


def shuffled(index: GridIndex, rng: np.random.Generator) -> Iterator[dict[str, Any]]:
    """Every configuration once, in a seeded random order (the same as permuting `expand`)."""
    for position in rng.permutation(index.size):
        yield index.at(int(position))


class FixedStrategy:
    """Asks one precomputed batch, then is done (the no-search case)."""

    asynchronous = False

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


class StreamStrategy(FixedStrategy):
    """Asks candidates as a source makes them, `chunk` at a time (grid, random): nothing is
    made before it is asked for."""

    def __init__(self, candidates: Iterable[Candidate], chunk: int = CHUNK) -> None:
        super().__init__([])
        self._source = iter(candidates)
        self._chunk = chunk

    def ask(self) -> list[Candidate]:
        """The next `chunk` candidates; [] once the source is exhausted."""
        return list(itertools.islice(self._source, self._chunk))


def grid_candidates(search: Search, rng: np.random.Generator) -> Iterator[Candidate]:
    """The grid's candidates in visit order (shuffled by `rng` when `search.shuffle`)."""
    if search.shuffle:
        configs = shuffled(GridIndex(search.dims, grid_values), rng)
    else:
        configs = iter_configs(search.dims, grid_values)
    return (Candidate(params, step="grid") for params in configs)


def make_grid(search: Search, rng: np.random.Generator) -> StreamStrategy:
    """Grid search over `search.dims` (every range needs a count)."""
    for dim in search.dims:
        grid_values(dim)                    # a dim without a grid is an error now, not later
    return StreamStrategy(grid_candidates(search, rng))


def no_search(search: Search, rng: np.random.Generator) -> FixedStrategy:
    """The one configuration of a spec that searches nothing (or has no dimensions)."""
    return FixedStrategy([Candidate({}, step="none")])


def visited(search: Search, exact: bool) -> tuple[int, bool]:
    """The grid points a grid, zoom or coordinate search visits (`spec_lang.sizes.visits`):
    (count, exact); (0, False) when they cannot be counted."""
    found = visits(search)
    return (0, False) if found is None else (found[0], exact)
