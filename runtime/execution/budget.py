"""The `budget` statement: what a run has spent, and whether a new configuration may start."""
from __future__ import annotations

import time
from typing import Any

from spec_lang.config import Budget


class Spend:
    """Wall time since the run started and epochs trained (stored trials included, so a
    resumed run stops where the first would have), against the budget (None: unlimited)."""

    def __init__(self, budget: Budget | None, started: float) -> None:
        self.budget, self.started = budget, started
        self.epochs = 0
        self.not_started = 0                 # configurations the budget left unstarted

    def seconds(self) -> float:
        """Wall time since the run started."""
        return time.time() - self.started

    def spent(self) -> bool:
        """True once the wall time or the epochs reach the budget."""
        budget = self.budget
        if budget is None:
            return False
        return (budget.seconds is not None and self.seconds() >= budget.seconds) or \
            (budget.epochs is not None and self.epochs >= budget.epochs)

    def fraction(self) -> float:
        """The share of the budget spent: the larger of its time's and its epochs' (0 without
        a budget)."""
        budget = self.budget
        if budget is None:
            return 0.0
        shares = [self.seconds() / budget.seconds if budget.seconds else 0.0,
                  self.epochs / budget.epochs if budget.epochs else 0.0]
        return max(shares)

    def report(self) -> dict[str, Any]:
        """What best.json says of the budget: the limits, what was spent, what did not start."""
        if self.budget is None:
            return {}
        return {"seconds": self.budget.seconds, "epochs": self.budget.epochs,
                "spent_seconds": round(self.seconds(), 3), "spent_epochs": self.epochs,
                "exhausted": self.spent(), "not_started": self.not_started}
