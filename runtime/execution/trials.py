"""The trial keeper: what happens on disk around one job of a run, and the run state it
updates. A job is claimed in the store; a trained job's member or checkpoint is kept, then its
row committed, then recorded in the `RunState` (committed before reported); a job whose result
is in the store is recorded from it; a promotion or a layerwise stage is given the network it
may continue from; the kept members are pruned to the configurations that can still be
chosen.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from spec_lang.experiment import Experiment
from spec_lang.layerwise import lower_stage

from runtime.execution import checkpoints, heartbeat
from runtime.execution.final import keep_member, prune_members
from runtime.execution.jobs import Job, MemberState
from runtime.execution.keys import job_key
from runtime.execution.results import make_table, metric_column, summarize
from runtime.execution.state import RunState, row_key
from runtime.execution.store import RunStore

KEPT_CONFIGURATIONS = 3   # configurations whose trained networks stay on disk during a search


class TrialKeeper:
    """The store and the run folder of one run, as its jobs come and go."""

    def __init__(self, exp: Experiment, out: Path, store: RunStore, run_id: int, owner: str,
                 state: RunState, local: bool) -> None:
        self.exp, self.out, self.store, self.run_id = exp, out, store, run_id
        self.owner, self.state, self.local = owner, state, local
        # A stored failure counts as done when it is newer than this: this run's start (so a
        # failure of an earlier run is retried), or the epoch when failures are replayed.
        self.replay_since = state.spend.started

    def claim(self, job: Job) -> tuple[str, str]:
        """Claim the job in the store: its store key and "done" (its result is stored),
        "held" (another process trains it) or "mine" (this process trains it)."""
        key = self.state.keys.setdefault(row_key(job), job_key(self.exp, job))
        return key, self.store.claim(key, self.owner, self.replay_since)

    def store_outcome(self, job: Job, row: dict[str, Any], curves: dict[str, list[float]],
                      member: MemberState | None) -> None:
        """A job trained here: its member kept, its row committed, then recorded."""
        key = self.state.keys[row_key(job)]
        heartbeat.remove(heartbeat.path(self.out, key))
        if member is not None and "resume" in member:    # to continue from: a lower rung's
            checkpoints.save(self.out, key, member["resume"])   # or a lower stage's stack
            if job.fidelity < 1.0:
                self.state.resumable(job, key)
        elif member is not None:                # before the row: never a row whose member
            keep_member(self.exp, self.out, key, member)     # is lost
            self.state.members_since_prune += 1
        row["attempts"] = self.store.put(key, row, curves, self.run_id)
        self.state.record(job, row, False, curves)       # committed before reported

    def record_stored(self, job: Job, key: str) -> None:
        """A job whose result is in the store (cached, or trained meanwhile by another
        process sharing the folder)."""
        row = _as_job_row(job, self.store.get(key) or {})
        curves = self.store.curves(key) if self.state.bank else {}
        self.state.record(job, row, True, curves)
        if job.fidelity < 1.0 and checkpoints.path(self.out, key).exists():
            self.state.resumable(job, key)          # kept by the run that was interrupted

    def heartbeat_file(self, key: str) -> str | None:
        """Where the job of store key `key` writes its per-epoch progress: a file of the run
        folder for local workers, None on Dask (its workers may be elsewhere)."""
        return str(heartbeat.path(self.out, key)) if self.local else None

    def warm_start(self, job: Job) -> Job:
        """`job` with the checkpoint of the same network at the highest lower fidelity kept
        (the same result as from the start, in fewer epochs), or, for a layerwise stage k > 1,
        with the pre-trained stack of the stage k - 1 configuration below it (kept when that
        one trained; the same result as pre-training it again); else as it is."""
        below = lower_stage(job.param_dict)
        if below is not None:
            key = job_key(self.exp, replace(job, params=tuple(below.items())))
            start = checkpoints.load(self.out, key)
            self.state.stacks_reused += start is not None
        else:
            network = (job.outer, job.params, job.seed, job.fold)
            lower = [(f, k) for f, k in self.state.resumes.get(network, [])
                     if f < job.fidelity]
            start = checkpoints.load(self.out, max(lower)[1]) if lower else None
            self.state.warm_starts += start is not None
        return job if start is None else replace(job, start=start)

    def prune_members(self) -> None:
        """Keep on disk only the members of the configurations that can still be chosen:
        the best `KEPT_CONFIGURATIONS` of each outer fold by the one ranking."""
        state = self.state
        state.members_since_prune = 0
        summary = summarize(make_table(state.rows.values(), state.metric, state.maximize))
        if summary.empty:
            return
        rank = f"rank_{metric_column(state.metric)}"
        outer = summary["outer"] if "outer" in summary else [None] * len(summary)
        best = {(o if o == o else None, int(t)) for o, t, r in
                zip(outer, summary["trial"], summary[rank]) if r <= KEPT_CONFIGURATIONS}
        keep = {key for (o, t, _, _), key in state.keys.items() if (o, t) in best}
        prune_members(self.out, set(state.keys.values()), keep)


def _as_job_row(job: Job, stored: dict[str, Any]) -> dict[str, Any]:
    """A stored row as this run's row of `job`: its trial number, step and parameter names
    (the same configuration may have been stored under other names or numbers)."""
    row = {k: v for k, v in stored.items() if not k.startswith("param_")}
    row.update(trial=job.trial, step=job.step, **{f"param_{k}": v for k, v in job.params})
    return row
