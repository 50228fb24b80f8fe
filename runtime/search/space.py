"""Search spaces: candidates, scores, and what one `Dim` offers (grid points, samples, activity).

Every strategy in this package is built on these pieces:

- `Candidate` is one point to evaluate (params of the active dims, a fidelity, the step that asked).
- `Strategy` is the ask/tell protocol the runner drives.
- `grid_values`, `sample`, `is_active` answer the three questions a strategy asks of a `Dim`.
- `Scores` remembers what was told, so a strategy never asks twice for what it already knows.

Scores are minimized; `None` (failed or diverged) and NaN rank worst.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from spec_lang.config import Dim, Search
from spec_lang.sizes import count_configurations
from spec_lang.sizes import is_active as is_active  # re-exported: shared with check

MAX_FINITE = 100_000          # an integer prior with more values than this counts as continuous


ParamsKey = tuple[tuple[str, Any], ...]        # `params_key`: a configuration's identity
CandidateKey = tuple[ParamsKey, float]         # `Candidate.key`: and its fidelity


# ------------------------------------------------------------------------------ candidates
@dataclass(frozen=True)
class Candidate:
    """One configuration to evaluate: a value per active dim, at a fraction of full training."""

    params: dict[str, Any] = field(default_factory=dict)
    fidelity: float = 1.0
    step: str = ""
    # The results-table column that scores it, minimized ("": the run's selection metric):
    # a layerwise stage is chosen by its top layer's reconstruction error.
    metric: str = ""
    # How many of the experiment's seeds train it (0: all). `search auto` explores with one
    # and trains its chosen configuration with every seed.
    seeds: int = 0

    def key(self) -> CandidateKey:
        """A hashable identity: the params and the fidelity (the step, metric and seeds do not
        count)."""
        return params_key(self.params), float(self.fidelity)


Result = tuple[Candidate, "float | None"]


@runtime_checkable
class Strategy(Protocol):
    """What the drive (`runtime.execution.drive.Drive`) relies on, and nothing more: a strategy
    is made afresh for each search (and each border-extension round), seeded, and driven by
    `ask` and `tell` until it ends. Every strategy in `registry.TABLE` satisfies it.

    - `asynchronous` (a class attribute): False for a synchronous strategy, which is asked
      again only once everything it asked has been told, and is told a batch whole, in one
      `tell`, in asking order: its decisions, and so the table, never depend on --jobs. True
      for one that may be asked while results are still running and told them in any order,
      as they arrive (several per `tell` or one); its table may depend on timing, which
      `spec_lang.config.ASYNCHRONOUS` must say for `nnspec check` (a test holds the two
      together).
    - `ask()`: the candidates to evaluate next, each a new `Candidate` (params of the active
      dims, fidelity, step; `metric` when it is scored by a column of its own). [] means
      "nothing now"; the search has ended when `ask()` returns [] while nothing it asked is
      untold. It may ask a point it was told before (it is told the same score again, from
      the same rows).
    - `tell(results)`: (candidate, score) pairs of candidates it asked, the very objects. A
      score is minimized; None is a failed configuration (a seed or fold failed or diverged).
      A score may carry the one ranking's tie-break: order scores with `score_key`, never
      by hand. Once a run's budget is spent some asked candidates are never told, and `ask`
      is not called again.

    What a strategy concludes is not read: the run chooses its configuration by the one
    ranking over the results table (`runtime.execution.results`), so a strategy's own
    `best()` (coordinate, zoom, layerwise) serves its own decisions. Each one also keeps
    `history` (what it was told), for tests.
    """

    asynchronous: bool

    def ask(self) -> list[Candidate]:
        """The candidates to evaluate next; [] when there are none (now, or ever)."""
        ...

    def tell(self, results: list[Result]) -> None:
        """The scores of candidates asked before (None: failed)."""
        ...


def params_key(params: dict[str, Any]) -> ParamsKey:
    """A hashable, order-independent identity of a params dict."""
    return tuple(sorted(params.items()))


def score_key(score: float | None) -> tuple[int, float]:
    """Sort key that puts failures (None, NaN, infinities) after every real score. The score
    itself is kept (not cast to float): the runner's scores carry the ranking's tie-break
    (`runtime.execution.results.Score`), so strategies order ties as the summary does."""
    if score is None or not math.isfinite(float(score)):
        return (1, 0.0)
    return (0, score)


class Scores:
    """Everything told so far, by (params, fidelity)."""

    def __init__(self) -> None:
        self._score: dict[CandidateKey, float | None] = {}

    def record(self, results: Iterable[Result]) -> None:
        """Remember the scores of told candidates (a later tell of the same point wins)."""
        for cand, score in results:
            self._score[cand.key()] = score

    def known(self, cand: Candidate) -> bool:
        """True when this point (params and fidelity) has been told."""
        return cand.key() in self._score

    def get(self, cand: Candidate) -> float | None:
        """The told score, None when failed or never told."""
        return self._score.get(cand.key())

    def best(self, cands: Sequence[Candidate]) -> Candidate | None:
        """The lowest-scoring candidate; ties go to the earliest; None if none succeeded."""
        scored = [(score_key(self.get(c)), i) for i, c in enumerate(cands)]
        if not scored:
            return None
        key, i = min(scored)
        return cands[i] if key[0] == 0 else None


class BatchStrategy:
    """The synchronous ask/tell of a strategy that asks one batch (a rung, a stage) at a time
    and decides when the whole batch is told: a subclass gives `_next_batch` ([] when it has
    ended) and `_conclude` (what to do with the told batch), and calls `super().__init__`."""

    asynchronous = False
    batch_word = "batch"                     # what the strategy's batch is called, for errors

    def __init__(self, name: str) -> None:
        self._name = name
        self._pending: list[Candidate] | None = None
        self._scores = Scores()
        self.history: list[Result] = []

    def ask(self) -> list[Candidate]:
        """The next batch; [] once the strategy has ended."""
        if self._pending is not None:
            raise RuntimeError(f"{self._name} search: tell the {self.batch_word} before "
                               "asking again.")
        batch = self._next_batch()
        self._pending = batch or None
        return list(batch)

    def tell(self, results: list[Result]) -> None:
        """Record the scores; once the asked batch is told, conclude it."""
        self._scores.record(results)
        self.history.extend(results)
        if self._pending is None:
            return
        batch, self._pending = self._pending, None
        self._conclude(batch)

    def _next_batch(self) -> list[Candidate]:
        raise NotImplementedError

    def _conclude(self, batch: list[Candidate]) -> None:
        raise NotImplementedError


def unknown(cands: Iterable[Candidate], scores: Scores) -> list[Candidate]:
    """The candidates not told yet, without repeats, in order."""
    seen: set[CandidateKey] = set()
    out = []
    for c in cands:
        if not scores.known(c) and c.key() not in seen:
            seen.add(c.key())
            out.append(c)
    return out


# ---------------------------------------------------------------------------------- dims
def project(dims: Sequence[Dim], assignment: dict[str, Any]) -> dict[str, Any]:
    """The params of `assignment` whose dims are active, in declaration order."""
    params: dict[str, Any] = {}
    for dim in dims:
        if dim.name in assignment and is_active(dim, params):
            params[dim.name] = assignment[dim.name]
    return params


def is_log(dim: Dim) -> bool:
    """True when the dim lives on a log scale (log range or log prior)."""
    if dim.kind == "prior":
        return dim.prior in ("log_uniform", "int_log_uniform")
    return dim.kind == "range" and dim.scale == "log"


def is_integer(dim: Dim) -> bool:
    """True when the dim's values are integers (integer range or integer prior)."""
    if dim.kind == "prior":
        return dim.prior in ("int_uniform", "int_log_uniform")
    return dim.kind == "range" and dim.integer


def is_numeric(dim: Dim) -> bool:
    """Range, prior, or a choice whose values are all numbers (booleans are not numbers)."""
    if dim.kind != "choice":
        return True
    return bool(dim.values) and all(_is_number(v) for v in dim.values)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def interval(dim: Dim) -> tuple[float, float]:
    """The bounds of a range or prior, as declared (a choice has none: ValueError)."""
    if dim.low is None or dim.high is None:
        raise ValueError(f"'{dim.name}' lists its values: it has no interval.")
    return dim.low, dim.high


def to_unit(dim: Dim, x: float) -> float:
    """Map a value to the dim's scale axis (log for log dims)."""
    return math.log(x) if is_log(dim) else float(x)


def from_unit(dim: Dim, u: float) -> float:
    """Inverse of `to_unit`."""
    return math.exp(u) if is_log(dim) else float(u)


def axis_points(dim: Dim, low: float, high: float, count: int) -> list[Any]:
    """`count` points from low to high, evenly spaced on the dim's scale (rounded, deduped ints)."""
    if count < 1:
        raise ValueError(f"'{dim.name}': a grid needs at least 1 point, got {count}.")
    if count == 1:
        pts = [from_unit(dim, (to_unit(dim, low) + to_unit(dim, high)) / 2)]
    elif is_log(dim):
        pts = [float(v) for v in np.geomspace(low, high, count)]
    else:
        pts = [float(v) for v in np.linspace(low, high, count)]
    if is_integer(dim):
        return list(dict.fromkeys(int(math.floor(v + 0.5)) for v in pts))
    return pts


def grid_values(dim: Dim, default_count: int | None = None) -> list[Any]:
    """The grid points of a dim: a choice's values, or `count` points of a range on its scale.

    A range without `count` and a prior use `default_count`; without one they have no grid.
    """
    if dim.kind == "choice":
        return list(dim.values)
    count = dim.count if dim.kind == "range" and dim.count is not None else default_count
    if count is None:
        what = "a prior" if dim.kind == "prior" else "a range without a count"
        raise ValueError(f"'{dim.name}' is {what}: a grid needs a count of points "
                         f"(give the range a count, or use random, zoom or coordinate search).")
    return list(_axis(dim, int(count)))


@functools.lru_cache(maxsize=256)
def _axis(dim: Dim, count: int) -> tuple[Any, ...]:
    """A dim's grid over its whole interval, computed once: random search draws from it for
    every configuration."""
    low, high = interval(dim)
    return tuple(axis_points(dim, float(low), float(high), count))


def finite_values(dim: Dim) -> list[Any] | None:
    """All values of a finite dim (choice, range with count, small integer prior), else None."""
    if dim.kind == "choice" or (dim.kind == "range" and dim.count is not None):
        return grid_values(dim)
    if dim.kind == "prior" and is_integer(dim):
        low, high = interval(dim)
        if high - low < MAX_FINITE:
            return list(range(int(low), int(high) + 1))
    return None


def sample(dim: Dim, rng: np.random.Generator) -> Any:
    """One draw from the dim: uniform over a finite grid, else continuous on its scale/prior."""
    if dim.kind == "choice":
        return dim.values[int(rng.integers(len(dim.values)))]
    if dim.kind == "range" and dim.count is not None:
        values = _axis(dim, int(dim.count))
        return values[int(rng.integers(len(values)))]
    low, high = (float(b) for b in interval(dim))
    if dim.kind == "prior" and dim.prior == "int_uniform":
        return int(rng.integers(int(low), int(high) + 1))
    if is_integer(dim):                       # integer range / int_log_uniform: round a draw
        lo, hi = low - 0.5, high + 0.5        # each integer gets its share of the (log) axis
        if is_log(dim):
            lo = max(lo, low / 2)
        u = rng.uniform(to_unit(dim, lo), to_unit(dim, hi))
        return int(min(max(math.floor(from_unit(dim, u) + 0.5), low), high))
    return from_unit(dim, rng.uniform(to_unit(dim, low), to_unit(dim, high)))


def sample_params(dims: Sequence[Dim], rng: np.random.Generator) -> dict[str, Any]:
    """One configuration: each dim drawn in declaration order, only where active."""
    params: dict[str, Any] = {}
    for dim in dims:
        if is_active(dim, params):
            params[dim.name] = sample(dim, rng)
    return params


def space_size(dims: Sequence[Dim]) -> int | None:
    """How many configurations a finite space holds (conditions respected), None if infinite."""
    values = [finite_values(d) for d in dims]
    if any(v is None for v in values):
        return None
    return count_configurations(dims, [v for v in values if v is not None])


def representative(search: Search) -> dict[str, Any]:
    """A middle point of the search space: first listed value, middle of ranges (on their
    scale), only the dimensions active under the values chosen before them."""
    return _point(search, _middle)


def largest(search: Search) -> dict[str, Any]:
    """The point of the space with each dimension at its largest number (a choice of names: its
    first), active dimensions only: the widest and deepest network the search can build."""
    return _point(search, _largest)


def _point(search: Search, choose: Callable[[Dim], Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for dim in search.dims:
        cond = dim.condition
        if cond and (params.get(cond.param) == cond.value) != (cond.op == "=="):
            continue
        params[dim.name] = choose(dim)
    return params


def _middle(dim: Dim) -> Any:
    if dim.kind == "choice":
        return dim.values[0]
    low, high = interval(dim)
    log = dim.scale == "log" or "log" in (dim.prior or "")
    mid = math.sqrt(low * high) if log else (low + high) / 2
    return int(round(mid)) if dim.integer else mid


def _largest(dim: Dim) -> Any:
    if dim.kind != "choice":
        high = interval(dim)[1]
        return int(high) if dim.integer else high
    numbers = [v for v in dim.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return max(numbers) if numbers else dim.values[0]
