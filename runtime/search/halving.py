"""Successive halving over fidelity: many configurations cheaply, the best few fully.

`n` = `search.trials` (default 27) configurations are drawn like random search and trained at
the lowest fidelity; the best ceil(n / eta) move up to the next rung, trained at eta times that
fidelity, and so on. There are rungs = floor(log_eta n) + 1 rungs (27 configs, eta 3: rungs of
27, 9, 3, 1), so the last rung holds about one configuration, at fidelity 1.0. The fidelities are
geometric from `search.min_fidelity` to 1.0; its default eta^-(rungs-1) makes each rung eta times
the previous (1/27, 1/9, 1/3, 1 above). Failed trials are never promoted. Fidelity is a fraction
of full training: the runner applies it to epochs or to training data per `search.fidelity`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from spec_lang.config import HALVING_TRIALS, Search

from .random_search import draw_configs
from .space import BatchStrategy, Candidate, score_key, space_size

DEFAULT_TRIALS = HALVING_TRIALS


def starting(search: Search) -> int:
    """How many configurations halving and asha start: `trials` (default 27), or the whole
    space when it holds fewer."""
    n = search.trials if search.trials is not None else DEFAULT_TRIALS
    size = space_size(search.dims)
    return n if size is None else min(n, size)


def rung_count(n: int, eta: float) -> int:
    """floor(log_eta n) + 1, computed without float round-off (27, 3 -> 4), in closed form (an
    eta close to 1 would take billions of steps one rung at a time)."""
    bound = max(n, 1) * (1 + 1e-12)
    rungs = max(1, math.floor(math.log(bound) / math.log(eta)) + 1)
    while eta ** rungs <= bound:
        rungs += 1
    while rungs > 1 and eta ** (rungs - 1) > bound:
        rungs -= 1
    return rungs


def fidelities(rungs: int, eta: float, min_fidelity: float | None) -> list[float]:
    """The fidelity of each rung: geometric from min_fidelity (default eta^-(rungs-1)) to 1."""
    if rungs == 1:
        return [1.0]
    low = eta ** -(rungs - 1) if min_fidelity is None else min(max(min_fidelity, 1e-12), 1.0)
    return [float(low ** ((rungs - 1 - i) / (rungs - 1))) for i in range(rungs - 1)] + [1.0]


class HalvingSearch(BatchStrategy):
    """Successive halving; one rung per batch."""

    batch_word = "previous rung"

    def __init__(self, search: Search, rng: np.random.Generator,
                 configs: list[dict[str, Any]] | None = None) -> None:
        """`configs`: the first rung's configurations (default: `search.trials` draws)."""
        super().__init__("halving")
        if search.eta <= 1:
            raise ValueError(f"halving eta must be > 1. Got {search.eta}.")
        n = search.trials if search.trials is not None else DEFAULT_TRIALS
        self._alive: list[dict[str, Any]] = configs if configs is not None else \
            draw_configs(search.dims, n, rng)
        self._eta = search.eta
        self.fidelities = fidelities(rung_count(len(self._alive), self._eta), self._eta,
                                     search.min_fidelity)
        self._rung = 0

    def _next_batch(self) -> list[Candidate]:
        """The surviving configurations at this rung's fidelity; [] after the last rung."""
        if self._rung >= len(self.fidelities) or not self._alive:
            return []
        fid = self.fidelities[self._rung]
        return [Candidate(dict(p), fid, f"rung {self._rung}") for p in self._alive]

    def _conclude(self, rung: list[Candidate]) -> None:
        """Promote the rung's best ceil(n / eta) that did not fail."""
        keep = math.ceil(len(rung) / self._eta)
        ranked = sorted(range(len(rung)), key=lambda i: (score_key(self._scores.get(rung[i])), i))
        ok = [i for i in ranked if score_key(self._scores.get(rung[i]))[0] == 0]
        self._alive = [rung[i].params for i in ok[:keep]]
        self._rung += 1


def rung_total(n: int, rungs: int, eta: float) -> int:
    """At most how many trials `rungs` rungs of `n` configurations hold: rung k holds ceil
    (halving) or floor (asha) of n / eta^k, and ceil bounds both."""
    total, size = 0, n
    for _ in range(rungs):
        total += size
        size = math.ceil(size / eta)
    return total


def planned_trials(search: Search) -> tuple[int, bool]:
    """An upper bound: a rung may hold fewer configurations after failures."""
    n = search.trials if search.trials is not None else DEFAULT_TRIALS
    return rung_total(n, rung_count(n, search.eta), search.eta), False


def fidelity_ladder(search: Search) -> list[float]:
    """The fidelity of each rung, as `HalvingSearch` climbs them."""
    return fidelities(rung_count(starting(search), search.eta), search.eta, search.min_fidelity)
