"""How many configurations a search space holds and a strategy visits, and the limit on both.

`nnspec check` refuses a search that would visit more than `config.MAX_TRIALS` configurations
(a 1e15-point grid, zoom levels of 1e9 points): such a search cannot run, and listing its
points would exhaust memory. The count respects conditions: a conditional dimension multiplies
only the branches where it is active.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from .config import HALVING_TRIALS, MAX_TRIALS, Dim, Search

_NONE_OF_THEM = object()      # a value that no condition tests for


def is_active(dim: Dim, params: dict[str, Any]) -> bool:
    """Whether `dim` exists given the already-chosen params (its parent must be present)."""
    cond = dim.condition
    if cond is None:
        return True
    if cond.param not in params:
        return False
    equal = params[cond.param] == cond.value
    return equal if cond.op == "==" else not equal


def count_configurations(dims: Sequence[Dim], values: Sequence[Sequence[Any] | int],
                         chosen: dict[str, Any] | None = None) -> int:
    """The configurations of `dims`, first to last, each only where its condition holds
    (`chosen`: the values of the dims before them, which conditions may test).

    `values[i]` lists dim i's values, or only says how many there are: the count is then an
    upper bound if a condition tests that dim (over by at most one branch per tested value).
    Values that no condition tests are counted together, so the work grows with the number of
    conditions, not with the size of the space; the walk keeps its own stack (no recursion).
    """
    parents = {d.condition.param for d in dims if d.condition is not None}
    total = 0
    stack: list[tuple[int, dict[str, Any], int]] = [(0, dict(chosen or {}), 1)]
    while stack:
        i, params, weight = stack.pop()
        while i < len(dims) and (dims[i].name not in parents or not is_active(dims[i], params)):
            if is_active(dims[i], params):  # nothing depends on it: multiply, don't branch
                weight *= _size(values[i])
            i += 1
        if i == len(dims):
            total += weight
            continue
        dim = dims[i]
        for value, times in _branches(dim, dims[i + 1:], values[i]):
            stack.append((i + 1, {**params, dim.name: value}, weight * times))
    return total


def _size(values: Sequence[Any] | int) -> int:
    return values if isinstance(values, int) else len(values)


def _branches(dim: Dim, later: Sequence[Dim], values: Sequence[Any] | int
              ) -> list[tuple[Any, int]]:
    """(value, how many values behave as it) for a dim that conditions test: each tested value
    apart, the untested ones together."""
    tested = list(dict.fromkeys(d.condition.value for d in later
                                if d.condition is not None and d.condition.param == dim.name))
    if isinstance(values, int):               # unknown values: each may be any tested one
        return [(t, 1) for t in tested] + [(_NONE_OF_THEM, values)]
    hits = [t for t in tested if any(v == t for v in values)]
    untested = sum(1 for v in values if not any(v == t for t in tested))
    return [(t, sum(1 for v in values if v == t)) for t in hits] + \
        ([(_NONE_OF_THEM, untested)] if untested else [])


def _grid_sizes(search: Search, default: int | None) -> list[Sequence[Any] | int] | None:
    """Each dim's grid: its values, or its number of points (None: a dim without a grid)."""
    out: list[Sequence[Any] | int] = []
    for dim in search.dims:
        if dim.kind == "choice":
            out.append(dim.values)
        elif dim.kind == "range" and dim.count is not None:
            out.append(dim.count)
        elif default is not None:
            out.append(default)
        else:
            return None
    return out


def visits(search: Search) -> tuple[int, str] | None:
    """For grid, zoom, coordinate and hyperband search: at most how many configurations the
    strategy visits, and the words saying how that number is made. None for the strategies
    whose `trials` give their size, and for a grid with a dimension that has no grid."""
    strategy = search.strategy
    if strategy == "hyperband":
        return _hyperband_visits(search.eta, search.min_fidelity)
    grids = _grid_sizes(search, None if strategy == "grid" else search.points)
    if grids is None or strategy not in ("grid", "zoom", "coordinate"):
        return None
    if strategy == "grid":
        size = count_configurations(search.dims, grids)
        return size, f"grid search has {amount(size)} points"
    if strategy == "zoom":
        level = count_configurations(search.dims, grids)
        return level * search.levels, (f"zoom search visits up to "
                                       f"{amount(level * search.levels)} configurations "
                                       f"({search.levels} levels of {amount(level)})")
    sweep = sum(_size(g) for g in grids)
    return sweep * search.sweeps, (f"coordinate search visits up to "
                                   f"{amount(sweep * search.sweeps)} configurations "
                                   f"({search.sweeps} sweeps of {amount(sweep)})")


def amount(number: int) -> str:
    """A count as a message gives it: `1,000,000`, or `about 1.4e20` past a quadrillion."""
    if number < 10 ** 15:
        return f"{number:,}"
    digits = str(number)
    return f"about {digits[0]}.{digits[1]}e{len(digits) - 1}"


HINTS = {"grid": "sample the space with `search random N`, or give the ranges fewer points",
         "zoom": "use fewer points per dimension, or fewer levels",
         "coordinate": "use fewer points per dimension, or fewer sweeps",
         "hyperband": "write a smaller eta (3 is the usual) or a larger min_fidelity"}


def size_problem(search: Search) -> tuple[str, str] | None:
    """(message, hint) when the search would visit more than MAX_TRIALS configurations, or
    climb more than MAX_RUNGS rungs of fidelity."""
    rungs = _rung_problem(search)          # first: a ladder that long is too long to count
    if rungs is not None:
        return rungs
    size = visits(search)
    if size is None or size[0] <= MAX_TRIALS:
        return None
    return f"{size[1]}: at most {MAX_TRIALS:,} can run", HINTS[search.strategy]


MAX_RUNGS = 100


def _rung_problem(search: Search) -> tuple[str, str] | None:
    """An eta close to 1 makes a ladder of rungs log(span) / log(eta) long (halving: span is
    the configurations; asha, hyperband: 1 / min_fidelity): over MAX_RUNGS it cannot run."""
    if search.strategy == "halving":
        trials = search.trials if search.trials is not None else HALVING_TRIALS
        span, over = float(trials), f"{trials:,} configurations"
    elif search.strategy in ("asha", "hyperband") and search.min_fidelity is not None:
        span, over = 1 / search.min_fidelity, f"min_fidelity {search.min_fidelity:g}"
    else:
        return None              # asha and hyperband's default min_fidelity: at most 4 rungs
    rungs = math.log(span) / math.log(search.eta) + 1
    if rungs <= MAX_RUNGS:
        return None
    return (f"{search.strategy} search with eta {search.eta:.10g} over {over} climbs about "
            f"{amount(int(rungs))} rungs: at most {MAX_RUNGS} can run",
            "write `eta 2` or more (3 is the usual)")


# ------------------------------------------------------------------------------------ hyperband
DEFAULT_BRACKETS = 4


@dataclass(frozen=True)
class BracketPlan:
    """One bracket: its configurations per rung and the rungs' fidelities."""

    s: int
    sizes: tuple[int, ...]
    fidelities: tuple[float, ...]


def bracket_count(eta: float, min_fidelity: float | None) -> int:
    """Hyperband's s_max + 1: one bracket per halving from min_fidelity (default eta^-3) to 1."""
    if min_fidelity is None:
        return DEFAULT_BRACKETS
    exact = math.log(1 / min_fidelity) / math.log(eta)
    # 0.0123 written for 1/81 means 4 halvings, not 3: a near-integer rounds to it
    return (round(exact) if abs(exact - round(exact)) < 0.01 else math.floor(exact)) + 1


def plan(eta: float, min_fidelity: float | None) -> list[BracketPlan]:
    """The brackets of Hyperband (Li et al. 2018, algorithm 1), most exploratory first: bracket
    s = s_max .. 0 starts n_s = ceil((s_max + 1) / (s + 1) * eta^s) configurations at fidelity
    eta^-s and keeps floor(n_s * eta^-i) of them at rung i. Sizes must be checked first
    (`size_problem`): eta^s_max configurations are drawn."""
    s_max = bracket_count(eta, min_fidelity) - 1
    brackets = []
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) / (s + 1) * eta ** s - 1e-9)
        sizes = tuple(max(1, int(n * eta ** -i + 1e-9)) for i in range(s + 1))
        fids = tuple(min(1.0, float(eta ** (i - s))) for i in range(s + 1))
        brackets.append(BracketPlan(s, sizes, fids))
    return brackets


def _hyperband_visits(eta: float, min_fidelity: float | None) -> tuple[int, str]:
    """The configurations all brackets draw. Their most exploratory bracket alone draws eta^s_max
    (eta 1e18: 1e54): counted in logarithms first, as eta^s_max may not even be a float."""
    s_max = bracket_count(eta, min_fidelity) - 1
    if s_max * math.log10(eta) > math.log10(MAX_TRIALS):
        first = f"about 1e{int(s_max * math.log10(eta))}"
        return MAX_TRIALS + 1, (f"hyperband with eta {eta:g} starts {first} configurations in "
                                f"its most exploratory bracket")
    total = sum(bracket.sizes[0] for bracket in plan(eta, min_fidelity))
    return total, f"hyperband with eta {eta:g} starts {amount(total)} configurations"
