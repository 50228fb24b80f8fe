"""TPE search through Optuna's ask/tell interface (Bergstra et al. 2011; Bengio 2012, section 3.4).

Each dim becomes an Optuna distribution, suggested define-by-run in declaration order and only
when active (so conditional dims work; Optuna's `group` decomposition is switched on for them):

- choice -> CategoricalDistribution over its values;
- range with a count -> the *index* of a grid point (IntDistribution 0..count-1), mapped back to
  the point: TPE keeps the grid's order and its spacing on the range's scale (log grids included,
  which a stepped FloatDistribution cannot express);
- range without a count -> FloatDistribution (IntDistribution if integer), log on a log scale;
- priors: uniform / log_uniform -> FloatDistribution, int_uniform / int_log_uniform ->
  IntDistribution, log where the name says so.

Optuna is imported only when a TPE search is made. Its messages are silenced to warnings
only while this module calls it: Optuna's verbosity is global, and the caller's setting is put
back after each call (importing or using nnspec changes no global state).
"""
from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any, Iterator

from runtime.errors import MissingExtra
from spec_lang.config import HALVING_TRIALS, Dim, Search

from .space import Candidate, Result, grid_values, interval, is_active, is_integer, is_log

DEFAULT_TRIALS = 20


def import_optuna() -> Any:
    """Optuna, or the `MissingExtra` error that says how to install it (one line, at the
    spec's `tpe` when `nnspec check` or `run` shows it)."""
    try:
        import optuna
    except ImportError as exc:
        raise MissingExtra("tpe search needs Optuna, which cannot be imported", "tpe",
                           ("tpe",), str(exc)) from None
    return optuna


@contextlib.contextmanager
def quiet(optuna: Any) -> Iterator[None]:
    """Optuna at warning verbosity for the duration, then the caller's verbosity again."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def suggest(trial: Any, dim: Dim) -> Any:
    """Ask an Optuna trial for one dim's value (a plain Python value)."""
    if dim.kind == "choice":
        return trial.suggest_categorical(dim.name, list(dim.values))
    if dim.kind == "range" and dim.count is not None:
        grid = grid_values(dim)
        return grid[trial.suggest_int(dim.name, 0, len(grid) - 1)]
    log = is_log(dim)
    low, high = interval(dim)
    if is_integer(dim):
        return int(trial.suggest_int(dim.name, math.ceil(low), math.floor(high), log=log))
    return float(trial.suggest_float(dim.name, float(low), float(high), log=log))


class TPESearch:
    """`search.trials` (default 20) TPE trials, `batch_size` asked at a time. The trials of a
    batch are proposed before any is told: Optuna's constant liar counts the ones still running
    as bad results, so a batch spreads out instead of proposing one point four times."""

    asynchronous = False

    def __init__(self, search: Search, seed: int, batch_size: int = 1) -> None:
        optuna = import_optuna()
        self._optuna = optuna
        conditional = any(d.condition is not None for d in search.dims)
        with warnings.catch_warnings(), quiet(optuna):
            warnings.simplefilter("ignore")           # `group` is flagged experimental
            sampler = optuna.samplers.TPESampler(seed=seed, group=conditional,
                                                 constant_liar=True)
            self._study = optuna.create_study(direction="minimize", sampler=sampler)
        self._dims = search.dims
        self._trials = search.trials if search.trials is not None else DEFAULT_TRIALS
        self._batch = max(1, batch_size)
        self._asked = 0
        self._pending: list[tuple[Candidate, Any]] = []
        self.history: list[Result] = []

    def ask(self) -> list[Candidate]:
        """Up to `batch_size` new trials; [] once `search.trials` have been asked."""
        n = min(self._batch, self._trials - self._asked)
        batch = [self._ask_one() for _ in range(max(n, 0))]
        self._asked += len(batch)
        return batch

    def tell(self, results: list[Result]) -> None:
        """Finish the matching Optuna trials (None or non-finite scores as failed)."""
        self.history.extend(results)
        matched = [(self._take(c), s) for c, s in results]
        with quiet(self._optuna):                     # a told trial is logged at INFO
            for trial, score in sorted((m for m in matched if m[0] is not None),
                                       key=lambda m: m[0].number):
                if score is None or not math.isfinite(float(score)):
                    self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
                else:
                    self._study.tell(trial, float(score))

    def _ask_one(self) -> Candidate:
        params: dict[str, Any] = {}
        with warnings.catch_warnings(), quiet(self._optuna):
            trial = self._study.ask()
            warnings.simplefilter("ignore")
            for dim in self._dims:
                if is_active(dim, params):
                    params[dim.name] = suggest(trial, dim)
        cand = Candidate(params, step="tpe")
        self._pending.append((cand, trial))
        return cand

    def _take(self, cand: Candidate) -> Any:
        """Remove and return the pending trial of `cand` (same object first, else equal)."""
        for match in (lambda c: c is cand, lambda c: c == cand):
            for i, (c, trial) in enumerate(self._pending):
                if match(c):
                    del self._pending[i]
                    return trial
        return None


def planned_trials(search: Search) -> tuple[int, bool]:
    """`trials` trials, exactly (a Search made in Python without trials counts 27, as the
    progress total always did)."""
    return (search.trials if search.trials is not None else HALVING_TRIALS), True
