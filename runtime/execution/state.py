"""One run's state, in memory: the rows so far, their store keys, the trial numbering, what
the budget has spent, the run's notes, the networks a promotion may continue from. It does no
I/O: the trial keeper (`trials.py`) changes it as jobs come in, the drive loop and the fold
search read it, the final phase reads it to choose.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from runtime.execution.budget import Spend
from runtime.execution.jobs import Job
from runtime.execution.pruning import CurveBank
from runtime.execution.results import metric_column

Progress = Callable[[dict[str, Any]], None]
RowKey = tuple[int | None, int, int, int]                        # outer, trial, seed, fold
TrialKey = tuple[int | None, tuple[tuple[str, Any], ...], float]  # outer, params, fidelity
NetworkKey = tuple[int | None, tuple[tuple[str, Any], ...], int, int]  # outer, params, seed, fold


def row_key(job: Job) -> RowKey:
    """The table row a job fills: (outer, trial, seed, fold)."""
    return job.outer, job.trial, job.seed, job.fold


@dataclass
class RunState:
    """What one run knows so far. `metric` / `maximize`: the selection metric and its
    direction; `progress`: where events go (the caller's display)."""

    metric: str
    maximize: bool
    spend: Spend
    progress: Progress
    bank: CurveBank | None = None
    # One row per (outer, trial, seed, fold): a point a strategy asks again (another step,
    # an extension round) reuses the row of its first asking.
    rows: dict[RowKey, dict[str, Any]] = field(default_factory=dict)
    keys: dict[RowKey, str] = field(default_factory=dict)            # row key -> store key
    trials: dict[TrialKey, int] = field(default_factory=dict)
    trial_params: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    # Lower-fidelity checkpoints by network: [(fidelity, store key)]
    resumes: dict[NetworkKey, list[tuple[float, str]]] = field(default_factory=dict)
    warm_starts: int = 0            # promotions that continued a lower rung's network
    stacks_reused: int = 0          # layerwise stages that continued a lower stack
    members_since_prune: int = 0    # networks kept since the last pass over them

    def note(self, message: str) -> None:
        """A note for the user: kept for best.json, and shown now."""
        self.messages.append(message)
        self.progress({"event": "message", "message": message})

    def trial_number(self, outer: int | None, params: tuple[tuple[str, Any], ...],
                     fidelity: float) -> int:
        """The trial number of a configuration at a fidelity (numbered as first asked)."""
        key = (outer, params, fidelity)
        if key not in self.trials:
            self.trials[key] = len(self.trials)
            self.trial_params[self.trials[key]] = dict(params)
        return self.trials[key]

    def record(self, job: Job, row: dict[str, Any], cached: bool,
               curves: dict[str, list[float]]) -> None:
        """A job's row is in (trained, or from the store): counted, and reported."""
        self.rows[row_key(job)] = row
        self.spend.epochs += int(row.get("epochs_trained", row.get("epochs")) or 0)
        if self.bank is not None:
            self.bank.add(job.fidelity, row.get("state", ""), curves)
        self.progress({"event": "trial", "row": row, "cached": cached, "done": len(self.rows),
                       "metric": metric_column(self.metric), "maximize": self.maximize})

    def resumable(self, job: Job, key: str) -> None:
        """The job's checkpoint (store key `key`) is kept: a promotion may continue it."""
        self.resumes.setdefault((job.outer, job.params, job.seed, job.fold), []).append(
            (job.fidelity, key))

    def configuration_rows(self, outer: int | None, trial: int) -> list[dict[str, Any]]:
        """The rows of one configuration (its seeds and folds) in an outer fold."""
        return [r for (o, t, _, _), r in self.rows.items() if o == outer and t == trial]
