"""Hyperband (Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
Optimization", JMLR 2018, algorithm 1): brackets of successive halving that start at
different fidelities, hedging between many cheap configurations and few full ones.

With the fidelity as a fraction of full training, R = 1 / min_fidelity units (default
min_fidelity eta^-3: four brackets), s_max = floor(log_eta R), and bracket s = s_max .. 0 holds
n_s = ceil((s_max + 1) / (s + 1) * eta^s) configurations started at fidelity eta^-s; its rung i
keeps floor(n_s * eta^-i) of them at fidelity eta^(i-s) (R = 81, eta = 3: brackets of 81, 34,
15, 8 and 5 configurations, as in the paper's table).

Every bracket's configurations are drawn up front (seeded); each bracket promotes when its own
rung is complete, as synchronous halving does, and the brackets run side by side: whenever a
worker is free, any bracket's pending configuration may start. Which configurations are tried
and promoted never depends on timing; only the order (and so the trial numbers) may differ
with --jobs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spec_lang.config import Search
from spec_lang.sizes import BracketPlan, plan

from .random_search import draw_configs
from .space import Candidate, CandidateKey, Result, score_key

@dataclass
class _Bracket:
    plan: BracketPlan
    alive: list[dict[str, Any]]
    rung: int = 0
    queued: list[Candidate] = field(default_factory=list)     # this rung's, not asked yet
    told: dict[CandidateKey, float | None] = field(default_factory=dict)
    asked: list[Candidate] = field(default_factory=list)      # this rung's, in asking order

    def __post_init__(self) -> None:
        self._fill()

    def _fill(self) -> None:
        fid = self.plan.fidelities[self.rung]
        step = f"bracket {self.plan.s} rung {self.rung}"
        self.queued = [Candidate(dict(p), fid, step) for p in self.alive]
        self.asked, self.told = list(self.queued), {}

    def done(self) -> bool:
        return not self.queued and not self.asked

    def tell(self, cand: Candidate, score: float | None) -> bool:
        """Record one result of this rung; True if it belonged here."""
        if cand.key() not in {c.key() for c in self.asked} or cand.key() in self.told:
            return False
        self.told[cand.key()] = score
        if len(self.told) == len(self.asked) and not self.queued:
            self._promote()
        return True

    def _promote(self) -> None:
        if self.rung + 1 >= len(self.plan.sizes):
            self.asked, self.queued = [], []
            return
        keep = self.plan.sizes[self.rung + 1]
        order = sorted(range(len(self.asked)),
                       key=lambda i: (score_key(self.told[self.asked[i].key()]), i))
        ok = [i for i in order if score_key(self.told[self.asked[i].key()])[0] == 0]
        self.alive = [self.asked[i].params for i in ok[:keep]]
        if not self.alive:
            self.asked, self.queued = [], []
            return
        self.rung += 1
        self._fill()


class HyperbandSearch:
    """Hyperband's brackets, run side by side; each bracket halves synchronously."""

    asynchronous = True

    def __init__(self, search: Search, rng: np.random.Generator) -> None:
        if search.eta <= 1:
            raise ValueError(f"hyperband eta must be > 1. Got {search.eta}.")
        self.plans = plan(search.eta, search.min_fidelity)
        self._brackets = [_Bracket(p, draw_configs(search.dims, p.sizes[0], rng))
                          for p in self.plans]
        self.history: list[Result] = []

    def ask(self) -> list[Candidate]:
        """Every configuration that may start now (the current rung of each bracket)."""
        out: list[Candidate] = []
        for bracket in self._brackets:
            out += bracket.queued
            bracket.queued = []
        return out

    def tell(self, results: list[Result]) -> None:
        """Record results; a bracket whose rung is complete promotes its best."""
        for cand, score in results:
            self.history.append((cand, score))
            for bracket in self._brackets:      # brackets may share a point: tell each
                bracket.tell(cand, score)


def planned_trials(search: Search) -> tuple[int, bool]:
    """An upper bound: every bracket's rungs full (a rung may hold fewer after failures)."""
    return sum(sum(b.sizes) for b in plan(search.eta, search.min_fidelity)), False


def fidelity_ladder(search: Search) -> list[float]:
    """The rungs of the most exploratory bracket (the one that starts lowest)."""
    return list(plan(search.eta, search.min_fidelity)[0].fidelities)
