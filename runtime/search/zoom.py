"""Multi-resolution ("zoom") search (Bengio 2012, section 3.3): coarse grid, then finer grids.

Level 0 is a coarse grid: each numeric dim (range or prior) gets its `count`, or `search.points`
points over its whole interval on its scale; a choice dim gets all its values. After each level,
the next one is a grid of the same number of points in an interval `search.factor` times narrower
(on the dim's scale: a log dim shrinks by a factor of its log-width), centred on the best point so
far. Near an edge the interval *slides* to stay inside the original bounds (same width, no longer
centred): resolution never drops, and no value outside the declared interval is tried - the border
check reports the edge instead. Integer dims are rounded and deduplicated, so their grid thins out
once the interval is a few integers wide. Choice dims stay at their best value after level 0.
Points already evaluated (the centre, mostly) are not asked again.
"""
from __future__ import annotations

from typing import Any

from spec_lang.config import Dim, Search

from .grid import expand
from .space import (Candidate, Result, Scores, axis_points, from_unit, interval, to_unit,
                    unknown)


class ZoomSearch:
    """`search.levels` grids, each narrower by `search.factor`, around the best point so far."""

    asynchronous = False

    def __init__(self, search: Search) -> None:
        if search.factor <= 1:
            raise ValueError(f"zoom factor must be > 1. Got {search.factor}.")
        self._dims = search.dims
        self._points, self._factor, self._levels = search.points, search.factor, search.levels
        self._level = 0
        self._scores = Scores()
        self._asked: list[Candidate] = []
        self._pending = False
        self.history: list[Result] = []
        self.intervals: list[dict[str, tuple[float, float]]] = []   # per level, numeric dims

    def ask(self) -> list[Candidate]:
        """The next level's grid points not yet evaluated; [] after the last level."""
        if self._pending:
            raise RuntimeError("zoom search: tell the previous batch before asking again.")
        while self._level < self._levels:
            if self._level > 0 and self.best() is None:
                break                                   # everything failed: nothing to zoom on
            todo = unknown(self._level_grid(), self._scores)
            if todo:
                self._asked += todo
                self._pending = True
                return todo
            self._level += 1
        self._level = self._levels
        return []

    def tell(self, results: list[Result]) -> None:
        """Record the level's scores and move to the next level."""
        self._scores.record(results)
        self.history.extend(results)
        if self._pending:
            self._pending = False
            self._level += 1

    def best(self) -> Candidate | None:
        """The best candidate evaluated so far (None if none succeeded)."""
        return self._scores.best(self._asked)

    def _level_grid(self) -> list[Candidate]:
        top = self.best() if self._level > 0 else None
        best = top.params if top is not None else {}
        intervals: dict[str, tuple[float, float]] = {}

        def values_of(dim: Dim) -> list[Any]:
            if dim.kind == "choice":
                return [best[dim.name]] if dim.name in best else list(dim.values)
            lo, hi = self._interval(dim, best.get(dim.name))
            intervals[dim.name] = (lo, hi)
            return self._axis(dim, lo, hi, best.get(dim.name))

        configs = expand(self._dims, values_of)
        self.intervals.append(intervals)
        return [Candidate(p, step=f"level {self._level}") for p in configs]

    def _interval(self, dim: Dim, centre: Any) -> tuple[float, float]:
        """This level's interval of a numeric dim, on its scale axis (log for log dims)."""
        ulo, uhi = (to_unit(dim, b) for b in interval(dim))
        width = (uhi - ulo) / self._factor ** self._level
        mid = to_unit(dim, centre) if centre is not None else (ulo + uhi) / 2
        lo = min(max(mid - width / 2, ulo), uhi - width)
        return lo, lo + width

    def _axis(self, dim: Dim, lo: float, hi: float, centre: Any) -> list[Any]:
        """Grid points of the interval; exact bounds and the exact centre where they fall."""
        first, last = interval(dim)
        ulo, uhi = to_unit(dim, first), to_unit(dim, last)
        low = first if lo <= ulo else from_unit(dim, lo)
        high = last if hi >= uhi else from_unit(dim, hi)
        count = dim.count if dim.kind == "range" and dim.count else self._points
        pts = axis_points(dim, float(low), float(high), count)
        if centre is None:
            return pts
        return [centre if _close(p, centre) else p for p in pts]


def _close(a: float, b: float) -> bool:
    """Equal up to float round-off of the log/exp round trip."""
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)
