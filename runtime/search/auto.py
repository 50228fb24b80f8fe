"""`search auto`: the chapter's tuning procedure as one strategy (Bengio 2012, 3.3; docs/search.md,
"search auto").

Its stages run in order, each a set of trials with its own `step`, each starting from the best
configuration the earlier ones found (the "centre"; at first the defaults the spec left open):

1. `lr`: the learning-rate dimensions on their grid (the opened rate: a log grid below the range
   test's suggestion, placed by `runtime.execution.lr_auto`), the rest at the centre;
2. `capacity`: the other dimensions drawn from their priors, in brackets of successive halving
   (`HalvingSearch`: a first rung of a few epochs, the best third promoted, warm-started);
   under a budget in seconds, only draws whose first rung the stage can afford (`_affordable`);
3. `border`: a dimension whose best value is the lowest or highest tried gets one value beyond
   it, on its own scale (`border.extend_search`), up to `BORDER_ROUNDS` times;
4. `batch`: other mini-batch sizes around the chosen one (the opened rate scaled by the square
   root of the size's ratio), then the rate re-checked at the chosen size;
5. `seeds`: the chosen configuration trained with every seed (the others train with one), so
   the saved model averages them.

A stage starts a new batch of trials only while the budget's spent share is below its end in
`spec_lang.auto.SHARES` (`spent` gives that share; without a budget it is 0 and each stage runs
its plan). The strategy is synchronous: told each batch whole, in asking order, so without a
budget the same spec gives the same table whatever --jobs is.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Generator

import numpy as np

from spec_lang import auto as plan
from spec_lang.config import Dim, Search

from .border import border_side
from .halving import HalvingSearch, fidelities, rung_count, rung_total
from .random_search import draw_configs
from .space import Candidate, Result, grid_values, is_log, is_numeric, params_key, \
    project, representative, score_key

Batch = list[Candidate]
Procedure = Generator[Batch, list[Result], None]
DEFAULT_GRID = 5          # grid points of a user's lr dimension that has no count


def no_budget() -> float:
    """Without a budget no stage is ever cut short."""
    return 0.0


class AutoSearch:
    """The staged procedure as an ask/tell strategy (module docstring)."""

    asynchronous = False

    def __init__(self, search: Search, rng: np.random.Generator,
                 spent: Callable[[], float] = no_budget) -> None:
        self._search, self._rng, self._spent = search, rng, spent
        self._stage_dims = {s: [d for d in search.dims if d.stage == s]
                            for s in ("lr", "capacity", "batch")}
        self._budgeted = search.budget is not None
        # a draw's cost only matters against seconds (an epoch of a wide draw costs one epoch)
        self._timed = search.budget is not None and search.budget.seconds is not None
        self._trial_share: float | None = None    # the budget an lr-stage trial took
        self.centre: dict[str, Any] = representative(search)
        self._best: Result | None = None
        self._full: list[Result] = []     # told at full fidelity: what the centre is chosen from
        self.history: list[Result] = []
        self._procedure = self._run()
        self._pending: Batch | None = None
        self._told: list[Result] = []
        self._started = False

    # ------------------------------------------------------------------------------ ask/tell
    def ask(self) -> list[Candidate]:
        """The next stage's next batch; [] once the procedure has ended."""
        if self._pending is not None:
            raise RuntimeError("auto search: tell the previous batch before asking again.")
        try:
            if not self._started:
                self._started = True
                batch = next(self._procedure)
            else:
                batch = self._procedure.send(self._told)
        except StopIteration:
            return []
        self._pending, self._told = batch, []
        return list(batch)

    def tell(self, results: list[Result]) -> None:
        """Record scores; once the asked batch is told, the procedure goes on from it."""
        self.history.extend(results)
        self._told.extend(results)
        for cand, score in results:
            if cand.fidelity >= 1.0:
                self._full.append((cand, score))
                if self._best is None or score_key(score) < score_key(self._best[1]):
                    self._best = (cand, score)
        if self._pending is not None and len(self._told) >= len(self._pending):
            self._pending = None

    # ------------------------------------------------------------------------------ stages
    def _run(self) -> Procedure:
        yield from self._lr_stage()
        yield from self._capacity_stage()
        yield from self._border_stage()
        yield from self._batch_stage()
        yield from self._seeds_stage()

    def _seeds_stage(self) -> Procedure:
        """The best configuration with every seed; then, while the budget lasts, the next
        `CONFIRM - 1` too, so that the choice among close ones rests on every seed's mean and
        not on one seed's luck (on a small validation set, many tie)."""
        ranked: dict[Any, Candidate] = {}
        for cand, score in sorted(self._full, key=lambda r: score_key(r[1])):
            if score_key(score)[0] == 0:
                ranked.setdefault(params_key(cand.params), cand)
        top = [Candidate(dict(c.params), 1.0, "seeds") for c in ranked.values()]
        if top:
            yield top[:1]
        if len(top) > 1 and self._open("seeds"):
            yield top[1:plan.CONFIRM]

    def _open(self, stage: str) -> bool:
        """Whether `stage` may start another batch: its share of the budget is not spent."""
        return self._spent() < plan.SHARES[stage]

    def _at_centre(self, changes: dict[str, Any], step: str) -> Candidate:
        params = self._centre()
        params.update(changes)
        return Candidate(project(self._search.dims, params), 1.0, step, seeds=1)

    def _centre(self) -> dict[str, Any]:
        return dict(self._best[0].params) if self._best is not None else dict(self.centre)

    def _lr_stage(self) -> Procedure:
        dims = self._stage_dims["lr"]
        points: list[dict[str, Any]] = [{}]
        for dim in dims:
            points = [{**p, dim.name: v} for p in points
                      for v in grid_values(dim, DEFAULT_GRID)]
        batch = [self._at_centre(p, "lr" if dims else "defaults") for p in points]
        before = self._spent()
        yield batch
        self._trial_share = (self._spent() - before) / len(batch)

    def _capacity_stage(self) -> Procedure:
        dims = self._stage_dims["capacity"]
        if not dims:
            return
        for _ in range(plan.MAX_BRACKETS):
            if not self._open("capacity"):
                return
            fresh = yield from self._bracket(dims)
            if not fresh or not self._budgeted:
                return                       # one bracket without a budget; or nothing new

    def _bracket(self, dims: list[Dim]) -> Generator[Batch, list[Result], bool]:
        """One bracket of successive halving over `dims`, the rest at the centre; whether it
        trained any configuration not seen before."""
        sub = Search(strategy="halving", dims=tuple(dims), trials=plan.BRACKET, eta=plan.ETA,
                     min_fidelity=self._search.min_fidelity)
        configs = self._affordable(dims) if self._timed else None
        if configs == []:
            return False
        halving = HalvingSearch(sub, self._rng, configs)
        fresh = False
        seen = {c.key() for c, _ in self.history}
        while self._open("capacity"):
            rung = halving.ask()
            if not rung:
                break
            asked = [dataclasses.replace(self._at_centre(c.params, "capacity"),
                                         fidelity=c.fidelity,
                                         step=f"capacity {c.step}") for c in rung]
            fresh |= any(a.key() not in seen for a in asked)
            told = dict((id(cand), score) for cand, score in (yield asked))
            halving.tell([(r, told[id(a)]) for r, a in zip(rung, asked) if id(a) in told])
        return fresh

    def _affordable(self, dims: list[Dim]) -> list[dict[str, Any]]:
        """A bracket's draws whose first rung fits `DRAW_SHARE` of what is left of the stage:
        the cost of an lr-stage trial (its network the centre's) scaled by the draw's
        `network_work` against the centre's; the first `BRACKET` such of `DRAW_POOL` times as
        many draws ([] when none fits)."""
        draws = draw_configs(dims, plan.BRACKET * plan.DRAW_POOL, self._rng)
        if not self._trial_share:
            return draws[:plan.BRACKET]
        room = plan.DRAW_SHARE * (plan.SHARES["capacity"] - self._spent())
        centre = plan.network_work(self._search.dims, self.centre)
        fits = [p for p in draws if self._trial_share * plan.network_work(
            self._search.dims, {**self.centre, **p}) / centre <= room]
        return fits[:plan.BRACKET]

    def _border_stage(self) -> Procedure:
        dims = [d for d in self._search.dims if d.stage in ("lr", "capacity") and is_numeric(d)]
        for _ in range(plan.BORDER_ROUNDS):
            if not dims or self._best is None or not self._open("border"):
                return
            best = self._best[0]
            sides = _borders(dims, self.history, best)
            batch = []
            for dim in dims:
                tried = [float(c.params[dim.name]) for c, _ in self.history
                         if dim.name in c.params]
                value = _beyond(dim, best.params.get(dim.name), sides[dim.name], tried)
                if value is not None:
                    batch.append(self._at_centre({dim.name: value}, "border"))
            if not batch:
                return
            yield batch

    def _batch_stage(self) -> Procedure:
        dims = self._stage_dims["batch"]
        if not dims or self._best is None or not self._open("batch"):
            return
        lr = self._stage_dims["lr"]
        best = self._centre()
        tries = []
        for dim in dims:
            size = best.get(dim.name)
            if size is None:
                continue
            sizes = [int(round(size * f)) for f in plan.BATCH_TRIES] if dim.opened else \
                grid_values(dim, DEFAULT_GRID)
            for new in dict.fromkeys(sizes):
                if new < 1 or new == size:
                    continue
                scaled = {d.name: best[d.name] * math.sqrt(new / size) for d in lr
                          if d.name in best}
                tries.append(self._at_centre({dim.name: new, **scaled}, "batch"))
        if not tries:
            return
        yield tries
        if not lr or self._best is None or not self._open("batch"):
            return
        best = self._centre()
        yield [self._at_centre({d.name: best[d.name] * m for d in lr if d.name in best},
                               "batch lr") for m in plan.LR_RECHECK]


# ---------------------------------------------------------------------------------- helpers
def _borders(dims: list[Dim], history: list[Result], best: Candidate
             ) -> dict[str, str | None]:
    """For each dimension, "low" / "high" when the best full-fidelity value is the lowest /
    highest tried at any fidelity (a capacity bracket's first rung spans the prior), less a
    best value at its setting's natural limit (dropout 0, weight decay 0)."""
    report: dict[str, str | None] = {}
    for dim in dims:
        tried = [float(c.params[dim.name]) for c, _ in history if dim.name in c.params]
        value = best.params.get(dim.name)
        side = border_side(value, tried)
        limit = dim.limits[0 if side == "low" else 1] if side else None
        at_limit = limit is not None and value is not None and float(value) == limit
        report[dim.name] = None if at_limit else side
    return report


def _beyond(dim: Dim, best: Any, side: str | None, tried: list[float]) -> Any:
    """One step past the border `side`, spaced like the best value and the nearest other
    value tried (the chapter's "widen the interval"): geometric on a log scale (best^2 /
    next), linear otherwise (2 best - next); kept inside what the setting accepts (to a closed
    bound, half-way to an open one: dropout stays below 1, a rate above 0) and an integer for
    an integer setting. None without a border or without room."""
    if side is None or best is None:
        return None
    value = float(best)
    others = [t for t in tried if t != value]
    if not others:
        return None
    near = min(others) if side == "low" else max(others)
    geometric = (is_log(dim) or dim.scale == "log") and near > 0 and value > 0
    new = value * value / near if geometric else 2 * value - near
    low, high, low_open, high_open = dim.accepts
    bound, is_open = (low, low_open) if side == "low" else (high, high_open)
    if (new <= bound) if side == "low" else (new >= bound):
        new = value + (bound - value) / 2 if is_open else bound
    integer = dim.integer or (dim.kind == "choice" and bool(dim.values) and
                              all(isinstance(v, int) for v in dim.values))
    if integer:
        new = math.floor(new) if side == "low" else math.ceil(new)
    if new == value or not math.isfinite(new):
        return None
    return int(new) if integer else new


def planned_trials(search: Search) -> tuple[int, bool]:
    """An upper bound without a budget (one capacity bracket, every border round), and with
    one an estimate (more brackets may run)."""
    lr = [d for d in search.dims if d.stage == "lr"]
    count = 1
    for dim in lr:
        count *= len(grid_values(dim, DEFAULT_GRID))
    capacity = [d for d in search.dims if d.stage == "capacity"]
    if capacity:
        count += rung_total(plan.BRACKET, rung_count(plan.BRACKET, plan.ETA), plan.ETA)
    numeric = [d for d in search.dims if d.stage in ("lr", "capacity") and is_numeric(d)]
    count += plan.BORDER_ROUNDS * len(numeric)
    batch = [d for d in search.dims if d.stage == "batch"]
    count += len(batch) * len(plan.BATCH_TRIES) + (len(plan.LR_RECHECK) if batch and lr else 0)
    return count + 1, False


def fidelity_ladder(search: Search) -> list[float]:
    """The fidelities of a capacity bracket's rungs ([] when nothing is left to it)."""
    if not any(d.stage == "capacity" for d in search.dims):
        return []
    return fidelities(rung_count(plan.BRACKET, plan.ETA), plan.ETA, search.min_fidelity)
