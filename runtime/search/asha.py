"""Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020, algorithm 2).

Rungs 0..K-1 are the paper's, min_fidelity * eta^k up to full training (`ladder`): their
number comes from the fidelity range, not from how many configurations start. Whenever a
worker is free, the runner asks; ASHA answers with one configuration:

- a promotion, searched from the top rung down: a configuration in the best
  floor(n_k / eta) of the n_k results rung k has so far, not yet promoted, moves to rung k+1;
- otherwise a new configuration (drawn like random search, `trials` of them, default 27) at
  rung 0;
- otherwise nothing for now ([]): the rest waits for results still running;
- at the very end (everything drawn and told), if no configuration reached the top rung, the
  best of the highest rung is promoted, so that one is always trained fully.

No rung waits to be full, so no worker idles at a rung boundary; the price is that a
configuration may be promoted on fewer results than synchronous halving would have seen, and
that which one is promoted depends on the order results arrive in (`asynchronous = True`: the
table may differ with --jobs). A promoted configuration continues the lower rung's network
where it can (the runner's warm start, `runtime.engine.warm_start`), else trains again from the
start at the higher fidelity. Failed results are never promoted.
"""
from __future__ import annotations

import bisect
from typing import Any, Iterator

import numpy as np

from spec_lang.config import Search

from .halving import DEFAULT_TRIALS, rung_count, rung_total, starting
from .random_search import iter_draws
from .space import Candidate, CandidateKey, ParamsKey, Result, params_key, score_key


DEFAULT_RUNGS = 4


def ladder(n: int, eta: float, min_fidelity: float | None) -> list[float]:
    """The rungs' fidelities: min_fidelity * eta^k, then 1.0 (the paper's rungs r * eta^k up
    to R); a rung less than half a step below 1.0 (above eta^-1/2, 0.58 with eta 3: 0.9 of
    min_fidelity 1/30) is merged into it, as it would cost nearly a full training and decide
    little. Default min_fidelity: eta^-(rungs - 1) with rungs = min(4, floor(log_eta n) + 1):
    Hyperband's lowest fidelity, or fewer rungs when n configurations cannot fill them."""
    if min_fidelity is None:
        min_fidelity = float(eta ** -(min(DEFAULT_RUNGS, rung_count(n, eta)) - 1))
    rungs: list[float] = []
    fidelity = min(max(min_fidelity, 1e-12), 1.0)
    while fidelity * eta ** 0.5 <= 1.0 + 1e-12:       # every rung below 1.0, however close eta
        rungs.append(float(fidelity))
        fidelity *= eta
    return rungs + [1.0]


class Rungs:
    """The results each rung has so far, and which of them were promoted."""

    def __init__(self, count: int) -> None:
        self.results: list[list[Result]] = [[] for _ in range(count)]
        self.promoted: list[set[ParamsKey]] = [set() for _ in range(count)]
        # Kept sorted as results arrive (best first; ties: the earliest), so that an ask costs
        # O(log n), not a sort: every result of a rung, and those that may still be promoted
        # (not failed; a promoted one leaves when it reaches the front).
        self._ranked: list[list[tuple[tuple[int, float], int]]] = [[] for _ in range(count)]
        self._waiting: list[list[tuple[tuple[int, float], int]]] = [[] for _ in range(count)]
        self._keys: list[list[ParamsKey]] = [[] for _ in range(count)]      # params_key of each

    def record(self, rung: int, result: Result) -> None:
        """One result of rung `rung`."""
        entry = (score_key(result[1]), len(self.results[rung]))
        self.results[rung].append(result)
        self._keys[rung].append(params_key(result[0].params))
        bisect.insort(self._ranked[rung], entry)
        if entry[0][0] == 0:
            bisect.insort(self._waiting[rung], entry)

    def promotable(self, rung: int, eta: float) -> Candidate | None:
        """The best configuration of `rung` that is in its top floor(n / eta) and was not
        promoted yet (ties: the earliest result), or None."""
        waiting, keys, promoted = self._waiting[rung], self._keys[rung], self.promoted[rung]
        while waiting and keys[waiting[0][1]] in promoted:
            del waiting[0]
        top = int(len(self.results[rung]) // eta + 1e-9)
        if waiting and bisect.bisect_left(self._ranked[rung], waiting[0]) < top:
            return self.results[rung][waiting[0][1]][0]
        return None

    def promote(self, rung: int, cand: Candidate) -> None:
        """Mark `cand` of `rung` as promoted."""
        self.promoted[rung].add(params_key(cand.params))


class ASHASearch:
    """ASHA over `search.trials` configurations (default 27), one decision per ask."""

    asynchronous = True

    def __init__(self, search: Search, rng: np.random.Generator) -> None:
        if search.eta <= 1:
            raise ValueError(f"asha eta must be > 1. Got {search.eta}.")
        n = starting(search)                           # a small space: rungs from its size
        self._eta = search.eta
        self.fidelities = ladder(n, self._eta, search.min_fidelity)
        self._draws: Iterator[dict[str, Any]] = iter_draws(search.dims, n, rng)
        self._rungs = Rungs(len(self.fidelities))
        self._rung_of: dict[CandidateKey, int] = {}
        self._waiting = 0                     # asked, not yet told
        self.history: list[Result] = []

    def ask(self) -> list[Candidate]:
        """One promotion or one new configuration; [] when neither is possible now. Once
        every configuration is drawn and every result is in, a search whose top rung is still
        empty promotes the best of its highest rung (too few results were left to fill the
        top floor(n / eta)), so that a configuration is always trained fully."""
        for rung in reversed(range(len(self.fidelities) - 1)):
            cand = self._rungs.promotable(rung, self._eta)
            if cand is not None:
                return [self._promote(rung, cand)]
        params = next(self._draws, None)
        if params is not None:
            return [self._at(params, 0)]
        if self._waiting or self._rungs.results[-1]:
            return []
        for rung in reversed(range(len(self.fidelities) - 1)):
            cand = self._rungs.promotable(rung, eta=1.0)      # the best not yet promoted
            if cand is not None:
                return [self._promote(rung, cand)]
        return []

    def _promote(self, rung: int, cand: Candidate) -> Candidate:
        self._rungs.promote(rung, cand)
        return self._at(cand.params, rung + 1)

    def tell(self, results: list[Result]) -> None:
        """Record results in the rungs they were asked for (any order, any number)."""
        for cand, score in results:
            rung = self._rung_of.get(cand.key())
            if rung is not None:
                self._rungs.record(rung, (cand, score))
                self._waiting -= 1
            self.history.append((cand, score))

    def _at(self, params: dict[str, Any], rung: int) -> Candidate:
        cand = Candidate(dict(params), self.fidelities[rung], f"rung {rung}")
        self._rung_of[cand.key()] = rung
        self._waiting += 1
        return cand


def planned_trials(search: Search) -> tuple[int, bool]:
    """An upper bound: `trials` configurations over the ladder's rungs, as halving would
    promote them (a rung may hold fewer after failures)."""
    n = search.trials if search.trials is not None else DEFAULT_TRIALS
    return rung_total(n, len(ladder(n, search.eta, search.min_fidelity)), search.eta), False


def fidelity_ladder(search: Search) -> list[float]:
    """The rungs' fidelities, as `ASHASearch` climbs them."""
    return ladder(starting(search), search.eta, search.min_fidelity)
