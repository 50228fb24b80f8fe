"""The border check of Bengio (2012, section 3.3.1), and the widening it suggests.

When the best value of a hyper-parameter is the lowest (or highest) value tried, the optimum may
lie outside the interval searched. `border_report` says which dims are in that case;
`extend_search` widens those intervals on the indicated side, by half their width on their own
scale (a log interval by the square root of its high/low ratio):

- a range with a count grows by whole grid steps, k = max(1, (count-1) // 2) of them, and gets k
  more points, so the points already evaluated stay on the new grid (and in the runner's cache);
- a range without a count or a prior grows by half its width;
- a choice of numbers gets one more value, extrapolated from the spacing at that end: geometric
  (x0^2 / x1) when the values are positive and evenly spaced in log, linear (2 x0 - x1) otherwise.

Natural limits are kept: log scales stay positive; integer dims stay integers (bounds rounded
outward) and, when their low was >= 1, stay >= 1; a linear dim whose low was >= 0 stays >= 0; a
linear real dim inside [0, 1] (rates, momentum, dropout) stays below 1: it goes at most half-way
to 1, never to 1 itself (log dims have no upper limit: a learning rate may go above 1). Nor does
a widened interval leave what the settings fed accept (`Dim.accepts`): it stops at a closed bound
and half-way to an open one (a divergence factor > 1, a weight scale > 0), so every value it
offers binds. A side already at its limit is left as it is.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np

from spec_lang.config import Dim, Search

from .space import (Candidate, Result, from_unit, interval, is_integer, is_log, is_numeric,
                    score_key, to_unit)

Limits = tuple[float, float]


# ---------------------------------------------------------------------------------- report
def best_candidate(history: Sequence[Result]) -> Candidate | None:
    """The best successful candidate at the highest fidelity told (earliest on ties)."""
    ok = [(c, s) for c, s in history if score_key(s)[0] == 0]
    if not ok:
        return None
    top = max(c.fidelity for c, _ in ok)
    return min((p for p in enumerate(ok) if p[1][0].fidelity == top),
               key=lambda p: (score_key(p[1][1]), p[0]))[1][0]   # the score's own order


def border_report(search: Search, history: list[Result]) -> dict[str, str | None]:
    """For each numeric dim: "low" / "high" if the best value is the lowest / highest tried.

    None when it is inside, when fewer than two values were tried, or when the best configuration
    does not have the dim (inactive). Failed trials count as tried.
    """
    best = best_candidate(history)
    report: dict[str, str | None] = {}
    for dim in search.dims:
        if not is_numeric(dim):
            continue
        tried = [float(c.params[dim.name]) for c, _ in history if dim.name in c.params]
        report[dim.name] = border_side(best.params.get(dim.name) if best else None, tried)
    return report


def border_side(value: Any, tried: list[float]) -> str | None:
    """"low" / "high" when `value` is the lowest / highest of `tried` (two values at least)."""
    if value is None or len(set(tried)) < 2:
        return None
    if math.isclose(float(value), min(tried), rel_tol=1e-9, abs_tol=1e-300):
        return "low"
    if math.isclose(float(value), max(tried), rel_tol=1e-9, abs_tol=1e-300):
        return "high"
    return None


# ------------------------------------------------------------------------------- extension
def extend_search(search: Search, borders: dict[str, str | None]) -> Search:
    """A copy of `search` with each bordering dim widened on its border's side."""
    dims = tuple(_extend_dim(d, borders.get(d.name)) for d in search.dims)
    return dataclasses.replace(search, dims=dims)


def _extend_dim(dim: Dim, side: str | None) -> Dim:
    if side not in ("low", "high") or not is_numeric(dim):
        return dim
    if dim.kind == "choice":
        return _extend_choice(dim, side)
    return _extend_interval(dim, side)


def limits(dim: Dim, values: Sequence[float], log: bool) -> Limits:
    """The natural bounds a dim's values must stay within, inferred from its declared values.

    `log`: the values live on a log scale (log range or prior, geometric choice list).
    """
    low, high = min(values), max(values)
    integer = is_integer(dim) or (dim.kind == "choice" and all(_is_int(v) for v in dim.values))
    floor = -math.inf
    if log or (low >= 1 and integer):
        floor = 1 if integer else 0.0            # log: strictly positive (kept by the geometry)
    elif low >= 0:
        floor = 0.0
    ceiling = 1.0 if (not integer and not log and 0 <= low and high <= 1) else math.inf
    return floor, ceiling


def _toward(value: float, ceiling: float) -> float:
    """How high a value may go: half-way to a finite ceiling, which is never reached (a rate of
    exactly 1, like momentum 1 or dropout 1, is degenerate)."""
    return ceiling if math.isinf(ceiling) else value + (ceiling - value) / 2


def _accepted(dim: Dim, new: float, old: float, side: str, integer: bool) -> float:
    """`new` brought back inside what the dim's settings accept (`Dim.accepts`): to a closed
    bound, half-way to an open one (lr > 0, a divergence factor > 1 are never reached), an
    integer rounded inward."""
    low, high, low_open, high_open = dim.accepts
    bound, is_open = (low, low_open) if side == "low" else (high, high_open)
    if math.isinf(bound):
        return new
    sign = 1 if side == "low" else -1            # +1: the bound is below
    if sign * (new - bound) > 0 or (not is_open and new == bound):
        return new
    new = old + (bound - old) / 2 if is_open else bound
    if integer and new != int(new):
        new = math.ceil(new) if side == "low" else math.floor(new)
    return new


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _extend_interval(dim: Dim, side: str) -> Dim:
    """Widen a range or prior by half its width on its scale (whole grid steps with a count)."""
    low, high = interval(dim)
    ulo, uhi = to_unit(dim, low), to_unit(dim, high)
    count = dim.count if dim.kind == "range" else None
    step = (uhi - ulo) / (count - 1) if count is not None and count >= 2 else None
    grow = max(1, (count - 1) // 2) * step if count is not None and step else (uhi - ulo) / 2
    floor, ceiling = limits(dim, [low, high], is_log(dim))
    if side == "low":
        new = max(from_unit(dim, ulo - grow), floor)
        new, old = (math.floor(new) if is_integer(dim) else new), low
    else:
        new = min(from_unit(dim, uhi + grow), _toward(high, ceiling))
        new, old = (math.ceil(new) if is_integer(dim) else new), high
    new = _accepted(dim, new, old, side, is_integer(dim))
    if new == old:
        return dim                                       # already at a natural limit
    changes: dict[str, Any] = {side: new}
    if count is not None and step:
        changes["count"] = count + max(1, int(round(abs(to_unit(dim, new) - to_unit(dim, old))
                                                    / step)))
    return dataclasses.replace(dim, **changes)


def _extend_choice(dim: Dim, side: str) -> Dim:
    """Add one value beyond the bordering end, spaced like the values at that end."""
    values = sorted(float(v) for v in dim.values)
    if len(values) < 2:
        return dim
    geometric = _is_geometric(values)
    a, b = (values[0], values[1]) if side == "low" else (values[-1], values[-2])
    new = a * a / b if geometric else 2 * a - b
    floor, ceiling = limits(dim, values, geometric)
    new = min(max(new, floor), _toward(values[-1], ceiling))
    integer = all(_is_int(v) for v in dim.values)
    if integer:
        new = math.floor(new + 0.5)
    new = _accepted(dim, new, a, side, integer)
    if any(math.isclose(new, v, rel_tol=1e-9, abs_tol=1e-300) for v in values):
        return dim                                       # already at a limit
    return dataclasses.replace(dim, values=_insert(dim.values, new, side))


def _is_geometric(values: list[float]) -> bool:
    """Positive values evenly spaced in log at least as well as they are evenly spaced."""
    if values[0] <= 0:
        return False
    return _spread(np.diff(np.log(values))) <= _spread(np.diff(values)) + 1e-9


def _spread(steps: np.ndarray) -> float:
    """Coefficient of variation of the steps between sorted values."""
    return float(np.std(steps) / np.mean(steps)) if np.mean(steps) > 0 else math.inf


def _insert(values: tuple[Any, ...], new: Any, side: str) -> tuple[Any, ...]:
    """Put the new value next to the end it extends (front or back of the declared list)."""
    nums = [float(v) for v in values]
    end = min(nums) if side == "low" else max(nums)
    return (new, *values) if nums[0] == end else (*values, new)
