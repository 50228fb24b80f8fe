"""Driving one search strategy: each configuration it asks for becomes jobs (its seeds and
folds), handed out one by one as workers free up; each configuration is told its score as
soon as all of its jobs are in.

A synchronous strategy (grid, random, coordinate, zoom, halving, TPE) is asked for its next
batch only once the previous batch has been told, in asking order, so its decisions, and the
table, are the same whatever --jobs is. An asynchronous one (asha, hyperband) is asked
whenever the queue runs dry and told each result as it arrives, so no worker waits for a rung.
A job is claimed in the store when a worker is free for it, or about to be (locally one job
waits ahead of the workers, `executor.QUEUED_AHEAD`; processes sharing a run folder split the
work); its pruning bounds are made at that moment too, from the trials finished so far; and
once the budget is spent no configuration that has not been handed out starts.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from runtime.execution import executor
from runtime.execution.jobs import Job
from runtime.execution.state import RowKey, RunState, row_key
from runtime.execution.trials import TrialKeeper
from runtime.search.space import Candidate, Result

if TYPE_CHECKING:
    from spec_lang.experiment import Experiment

    from runtime.search import Strategy

POLL_S = 0.2          # how often a process waits for trials that another process is training
PRUNE_MEMBERS_EVERY = 8   # configurations' networks kept between two passes over them


@dataclass(frozen=True)
class Workers:
    """Where a run's jobs train: `n_jobs` local processes, or a Dask `client`."""

    exp: "Experiment"
    n_jobs: int
    client: Any = None


@dataclass(frozen=True)
class Asking:
    """How a configuration a strategy asks for becomes jobs, and how the configurations
    whose rows are all in are scored (the fold search's)."""

    jobs: Callable[[Candidate], list[Job]]
    scored: Callable[[list[tuple[Candidate, list[Job]]]], list[Result]]


@dataclass(eq=False)
class _Asked:
    """A configuration asked for and not yet told: its jobs, and the rows still to come."""

    cand: Candidate
    jobs: list[Job]
    missing: set[RowKey] = field(default_factory=set)
    started: bool = False
    dropped: bool = False                   # left unstarted by the budget


class Drive:
    """One strategy driven to its end (or to the budget's)."""

    def __init__(self, strategy: "Strategy", asking: Asking, state: RunState,
                 keeper: TrialKeeper, workers: Workers) -> None:
        self.strategy, self.asking, self.state = strategy, asking, state
        self.keeper, self.workers = keeper, workers
        self.synchronous = not strategy.asynchronous
        self.queue: deque[tuple[_Asked, Job]] = deque()
        self.asked: list[_Asked] = []
        self.running: set[RowKey] = set()       # rows being trained by this process

    def run(self) -> None:
        """Hand out jobs and tell results until the strategy has nothing more to ask."""
        workers = self.workers
        while True:
            held: list[tuple[_Asked, Job]] = []
            for job, row, curves, member in executor.stream(
                    workers.exp, lambda: self._next(held), n_jobs=workers.n_jobs,
                    client=workers.client):
                self.keeper.store_outcome(job, row, curves, member)
                self._arrived(job)
            if not held:
                break
            time.sleep(POLL_S)                  # the rest is trained by another process
            self.queue.extendleft(reversed(held))
        self.keeper.prune_members()

    # ------------------------------------------------------------------------------ jobs
    def _next(self, held: list[tuple[_Asked, Job]]) -> Job | None:
        """The next job this process may train now, or None (nothing to give for now)."""
        while self.queue or self._ask():
            asked, job = self.queue.popleft()
            key = row_key(job)
            if key in self.state.rows:           # the same row, asked again (or cached)
                self._arrived(job)
                continue
            if key in self.running or asked.dropped:
                continue                         # its row is on its way, for another asking
            if not asked.started and self._spent():
                self._drop(asked)
                continue
            store_key, claim = self.keeper.claim(job)
            if claim == "done":
                self.keeper.record_stored(job, store_key)
                self._arrived(job)
            elif claim == "held":
                held.append((asked, job))
            else:
                asked.started = True
                self.running.add(key)
                return self._start(job, store_key)
        return None

    def _start(self, job: Job, store_key: str) -> Job:
        """The job as handed to a worker: its pruning bounds made now, its heartbeat file,
        and the network it continues from; its start reported."""
        bank = self.state.bank
        bounds = bank.bounds(job.fidelity) if bank else None
        beat = self.keeper.heartbeat_file(store_key)
        self.state.progress({"event": "start", "trial": job.trial, "seed": job.seed,
                             "fold": job.fold, "outer": job.outer, "heartbeat": beat})
        return self.keeper.warm_start(replace(job, prune=bounds, heartbeat=beat))

    def _ask(self) -> bool:
        """Queue the strategy's next configurations; False when it has none to give now."""
        if self._spent() or (self.synchronous and self.asked):
            return False
        batch = self.strategy.ask()
        for cand in batch:
            jobs = self.asking.jobs(cand)
            asked = _Asked(cand, jobs, {row_key(j) for j in jobs})
            self.asked.append(asked)
            self.queue.extend((asked, j) for j in jobs)
        return bool(batch)

    def _spent(self) -> bool:
        """Whether the budget is spent. Not before a first configuration has started: however
        small the budget, or slow the run's start (a loaded machine), the run has an answer."""
        return self.state.spend.spent() and bool(self.state.rows or self.running)

    def _drop(self, asked: _Asked) -> None:
        """A configuration the budget leaves unstarted: never trained, never told (its other
        jobs are skipped as they come up in the queue)."""
        asked.dropped = True
        self.asked.remove(asked)
        self.state.spend.not_started += 1
        self._tell_ready()

    # --------------------------------------------------------------------------- results
    def _arrived(self, job: Job) -> None:
        """A row is in: tell the configurations it completes."""
        key = row_key(job)
        self.running.discard(key)
        for asked in self.asked:
            asked.missing.discard(key)
        self._tell_ready()

    def _tell_ready(self) -> None:
        """Tell the strategy the configurations whose rows are all in (a synchronous one: only
        once its whole batch is)."""
        ready = [a for a in self.asked if not a.missing]
        if self.synchronous and len(ready) < len(self.asked):
            return                                # the batch is told whole, in order
        if not ready:
            return
        self.asked = [a for a in self.asked if a.missing]
        self.strategy.tell(self.asking.scored([(a.cand, a.jobs) for a in ready]))
        # Only full-fidelity trials that can be chosen leave a network on disk: pass over the
        # kept ones (a summary of the whole table) once several configurations' worth came in.
        if self.state.members_since_prune >= PRUNE_MEMBERS_EVERY * len(ready[0].jobs):
            self.keeper.prune_members()
