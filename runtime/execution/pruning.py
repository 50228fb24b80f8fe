"""Pruning on learning curves (the `prune` statement): the per-epoch bounds a new trial is
handed, made from the validation curves of the trials finished so far.

`median` and `percentile P`, the semantics of Optuna's MedianPruner / PercentilePruner (read,
not copied): a trial is stopped at epoch e when its validation metric there is worse than the
`percentile` of the finished trials' values at epoch e (median: 50; a lower percentile keeps
fewer). Only `complete` trials at the same fidelity count as finished (a pruned or stalled
curve never lowers the bar).

`halving`, the stopping form of asynchronous successive halving (Li et al. 2020; what Ray
Tune's ASHAScheduler and Optuna's SuccessiveHalvingPruner do; read, not copied): a trial is
judged only at its rungs, epochs r, r eta, r eta^2, ... (r = warmup + 1), and goes on only if it
is within the best 1/eta of every finished trial that reached that epoch, pruned or stalled
ones included (each of them was judged there, as a rung records every arrival).

For every rule no trial is pruned in its first `warmup` epochs, nor at an epoch that fewer than
`startup` finished trials reached (early stopping ends curves at different epochs). The bounds
are fixed when the job is handed out, so a trial is judged against the trials finished before
it started: which trials are pruned depends on the order results arrive in, so a pruning search
is asynchronous (its table may differ with --jobs).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from spec_lang.config import Prune

from runtime.execution.jobs import share_of
from runtime.types import EVALUATED_STATES, PruneBounds, TrialState


class CurveBank:
    """The validation curves of the finished trials, by fidelity."""

    def __init__(self, rule: Prune, metric: str, maximize: bool) -> None:
        self.rule, self.metric, self.maximize = rule, metric, maximize
        self._curves: dict[float, list[np.ndarray]] = {}
        self._bounds: dict[float, PruneBounds | None] = {}    # until the next curve comes in

    def add(self, fidelity: float, state: str, curves: dict[str, list[float]]) -> None:
        """Remember a finished job's curve of the selection metric (complete jobs only; under
        halving, every job that trained an epoch)."""
        values = curves.get(f"valid_{self.metric}")
        counted = EVALUATED_STATES if self.rule.rule == "halving" else (TrialState.COMPLETE,)
        if state in counted and values:
            self._curves.setdefault(float(fidelity), []).append(
                np.asarray(values, dtype=np.float64))
            self._bounds.pop(float(fidelity), None)

    def bounds(self, fidelity: float) -> PruneBounds | None:
        """The bounds for a job at `fidelity` starting now; None while too few trials have
        finished to judge it."""
        if float(fidelity) not in self._bounds:
            self._bounds[float(fidelity)] = self._make(float(fidelity))
        return self._bounds[float(fidelity)]

    def _make(self, fidelity: float) -> PruneBounds | None:
        curves = self._curves.get(float(fidelity), [])
        startup = self.rule.startup
        if len(curves) < startup:
            return None
        table = np.full((len(curves), max(len(c) for c in curves)), np.nan)
        for row, curve in zip(table, curves):
            row[:len(curve)] = curve
        reached = np.sum(~np.isnan(table), axis=0)
        q = 100.0 - self.rule.percentile if self.maximize else self.rule.percentile
        bounds = np.full(table.shape[1], np.nan)
        judged = reached >= startup
        if self.rule.eta is not None:                       # halving: only its rungs
            judged &= rung_mask(table.shape[1], self.rule.warmup, self.rule.eta)
        if judged.any():
            bounds[judged] = np.nanpercentile(table[:, judged], q, axis=0)
        bounds[:self.rule.warmup] = np.nan
        return PruneBounds(self.metric, tuple(float(b) for b in bounds),
                           self._label(len(curves)))

    def _label(self, n: int) -> str:
        if self.rule.rule == "median":
            return f"the median of the {n} finished trials at that epoch"
        if self.rule.rule == "halving":
            return f"the best 1/{self.rule.eta:g} of the finished trials that reached that rung"
        return (f"the best {self.rule.percentile:g} % of the {n} finished trials at that "
                "epoch")


@functools.lru_cache(maxsize=64)
def rung_epochs(epochs: int, warmup: int, eta: float) -> tuple[int, ...]:
    """The epochs (1-based) at which `prune halving` judges a trial of at most `epochs`
    epochs: r, r eta, r eta^2, ... rounded to the nearest epoch (halves up), r = warmup + 1,
    each once (an eta close to 1 gives every epoch from r on, in at most `epochs` steps)."""
    rungs: list[int] = []
    r = warmup + 1
    k = 0
    while (epoch := share_of(r, eta ** k)) <= epochs:     # rounded as a fidelity's epochs are
        if not rungs or epoch > rungs[-1]:
            rungs.append(epoch)
        # the next k whose rung rounds past this one (not one k at a time: eta may be ~1)
        k = max(k + 1, math.ceil(math.log((rungs[-1] + 0.5) / r) / math.log(eta) - 1e-9))
    return tuple(rungs)


def rung_mask(epochs: int, warmup: int, eta: float) -> np.ndarray:
    """A boolean per epoch (index e - 1): whether epoch e is a rung."""
    mask = np.zeros(epochs, dtype=bool)
    mask[[e - 1 for e in rung_epochs(epochs, warmup, eta)]] = True
    return mask
