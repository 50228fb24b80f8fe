"""Refits started while the search still trains, when the search can choose only one
configuration (no search, or a space of one point): that configuration is the chosen one before
any result is in, so each seed's refit (`final.refit_epochs`: the mean best epoch of its fits)
can train as soon as that seed's fits are in, on a worker that the search's last fits would
leave idle. Three seeds on two workers trained in four rounds (fits 0 and 1, fit 2, refits 0
and 1, refit 2) and now in three.

The networks are kept under their refit names (`final.member_name`), where the final phase
looks first: it loads them instead of training them. They are exactly the networks the final
phase would train (same configuration, seed, rows and epochs), so the run's results are the
same whether a refit trained early, late, or in an earlier, interrupted run.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from spec_lang.config import Nested
from spec_lang.experiment import Experiment

from runtime.execution.final import MEMBERS, keep_member, member_name, refit_epochs
from runtime.execution.jobs import FINAL, Job, MemberState
from runtime.execution.prepared import REFIT_FOLD


def applies(exp: Experiment) -> bool:
    """Whether the chosen configuration is known before the search: a search of one
    configuration at full fidelity, on a protocol that refits, without outer folds."""
    search, protocol = exp.search, exp.config.protocol
    one = search.strategy == "none" or not search.dims
    return one and protocol.refit and not isinstance(protocol, Nested)


class EarlyRefits:
    """Refit jobs that become ready as the search's rows arrive, handed out when the search has
    none to give, and kept when they are trained."""

    def __init__(self, exp: Experiment, folder: Path, folds: int) -> None:
        self.exp, self.folder, self.folds = exp, folder, folds
        self.active = applies(exp)
        self.rows: dict[int, list[dict[str, Any]]] = {}       # seed -> its search rows
        self.ready: deque[Job] = deque()

    def arrived(self, job: Job, row: dict[str, Any]) -> None:
        """A search row is in: once every fold of its seed is, that seed's refit is ready
        (unless it did not complete: the final phase then decides what to do)."""
        if not self.active or job.trial == FINAL or job.fidelity < 1.0:
            return
        rows = self.rows.setdefault(job.seed, [])
        rows.append(row)
        if len(rows) < self.folds:
            return
        epochs = refit_epochs(rows)
        if epochs is None:
            return
        refit = Job(FINAL, job.params, job.seed, REFIT_FOLD, None, 1.0, epochs=epochs[job.seed])
        if not (self.folder / MEMBERS / f"{member_name(self.exp, refit)}.npz").is_file():
            self.ready.append(refit)

    def next(self) -> Job | None:
        """A refit to train now, or None."""
        return self.ready.popleft() if self.ready else None

    def trained(self, job: Job, state: MemberState | None) -> None:
        """Keep a refit's network for the final phase (one that failed is left to it)."""
        if state is not None:
            keep_member(self.exp, self.folder, member_name(self.exp, job), state)
