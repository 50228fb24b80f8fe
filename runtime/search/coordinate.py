"""Coordinate descent (Bengio 2012, section 3.3): one hyper-parameter at a time.

Start from a default point (each numeric dim at the middle of its grid - the lower middle for an
even count -, each choice dim at its first value), then vary one dim over its grid while the
others stay at their best so far, in `search.order` (declaration order by default; dims the order
does not name follow in declaration order). A pass over all dims is a sweep; the search stops
after `search.sweeps` sweeps, or earlier after a sweep that changed nothing. Ranges without a
count and priors use `search.points` grid points. A dim that is inactive at the current point is
skipped in that pass. Ties keep the current value, so the descent always terminates.
"""
from __future__ import annotations

from typing import Any

from spec_lang.config import Dim, Search

from .space import Candidate, Result, Scores, grid_values, project, score_key, unknown


def start_value(dim: Dim, grid: list[Any]) -> Any:
    """The default of a dim: a choice's first value, else the middle of its grid."""
    return grid[0] if dim.kind == "choice" else grid[(len(grid) - 1) // 2]


def sweep_order(search: Search) -> list[Dim]:
    """The dims in `search.order`, then the others in declaration order."""
    by_name = {d.name: d for d in search.dims}
    missing = [n for n in search.order if n not in by_name]
    if missing:
        raise ValueError(f"coordinate order names unknown parameters: {', '.join(missing)}.")
    named = [by_name[n] for n in dict.fromkeys(search.order)]
    return named + [d for d in search.dims if d.name not in search.order]


class CoordinateSearch:
    """Coordinate descent over grids; one dim's values per batch."""

    asynchronous = False

    def __init__(self, search: Search) -> None:
        self._dims = search.dims
        self._grids = {d.name: grid_values(d, search.points) for d in search.dims}
        self._order = sweep_order(search)
        self.state = {d.name: start_value(d, self._grids[d.name]) for d in search.dims}
        self._sweeps = search.sweeps
        self._sweep, self._pos, self._changed, self._done = 0, 0, False, not search.dims
        self._scores = Scores()
        self._pending: list[Candidate] | None = None
        self.history: list[Result] = []
        self.sweeps_done = 0

    def ask(self) -> list[Candidate]:
        """The current dim's values not yet evaluated; [] when the descent has ended."""
        if self._pending is not None:
            raise RuntimeError("coordinate search: tell the previous batch before asking again.")
        while not self._done:
            batch = self._batch()
            todo = unknown(batch, self._scores)
            if todo:
                self._pending = batch
                return todo
            self._conclude(batch)
        return []

    def tell(self, results: list[Result]) -> None:
        """Record the scores; move the current dim to its best value."""
        self._scores.record(results)
        self.history.extend(results)
        if self._pending is not None:
            batch, self._pending = self._pending, None
            self._conclude(batch)

    def best(self) -> Candidate:
        """The current point (the best found so far)."""
        return Candidate(project(self._dims, self.state))

    def _batch(self) -> list[Candidate]:
        """The current point with the current dim set to each of its values ([] if inactive)."""
        dim = self._order[self._pos]
        if dim.name not in project(self._dims, self.state):
            return []
        step = f"sweep {self._sweep + 1} {dim.name}"
        return [Candidate(project(self._dims, {**self.state, dim.name: v}), step=step)
                for v in self._grids[dim.name]]

    def _conclude(self, batch: list[Candidate]) -> None:
        """Adopt the batch's best value if it beats the current point, then move on."""
        best = self._scores.best(batch)
        if best is not None:
            current = self._scores.get(self.best())
            if score_key(self._scores.get(best)) < score_key(current):
                name = self._order[self._pos].name
                self.state[name] = best.params[name]
                self._changed = True
        self._advance()

    def _advance(self) -> None:
        self._pos += 1
        if self._pos < len(self._order):
            return
        self._pos, self._sweep = 0, self._sweep + 1
        self.sweeps_done = self._sweep
        self._done = not self._changed or self._sweep >= self._sweeps
        self._changed = False
