"""A parallel trial trains with one BLAS thread, found without scanning the libraries again."""
from __future__ import annotations

import threadpoolctl

import spec_lang
from runtime.execution import executor
from runtime.execution.jobs import Job

from ..conftest import TINY


def test_a_worker_job_runs_on_one_blas_thread_and_gives_the_others_back(monkeypatch):
    probe = threadpoolctl.ThreadpoolController()      # reads each pool's current thread count

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in probe.info()}

    seen: list[set[int]] = []
    monkeypatch.setattr(executor, "run_job", lambda exp, job: (seen.append(blas_threads())
                                                               or ({}, {}, None)))
    with threadpoolctl.threadpool_limits(limits=2):    # what the process has (2 cores here)
        made: list[object] = []
        real = threadpoolctl.ThreadpoolController
        monkeypatch.setattr(threadpoolctl, "ThreadpoolController",
                            lambda: made.append(real()) or made[-1])
        executor._thread_pools.cache_clear()           # as in a fresh worker
        exp = spec_lang.loads(TINY)
        for trial in range(3):
            executor._one_thread(exp, Job(trial, (("lr", 0.1),), 0, 0))
        monkeypatch.undo()
        assert seen == [{1}] * 3
        assert blas_threads() == {2}                   # restored after each job
    # the pools are looked up once per process, not per job (a lookup costs about 2 ms)
    assert len(made) == 1
    executor._thread_pools.cache_clear()


class _Pool:
    """A stand-in for the local workers' pool: runs each job at once, in this thread."""

    def __init__(self) -> None:
        self.jobs: list[int] = []

    def submit(self, fn, exp, job):
        from concurrent.futures import Future
        self.jobs.append(job.trial)
        future: Future = Future()
        future.set_result(fn(exp, job))
        return future


def test_while_the_workers_start_this_process_trains_one_job_at_a_time(monkeypatch):
    import os
    import threading
    from concurrent.futures import Future

    where: list[tuple[int, int, str]] = []
    monkeypatch.setattr(executor, "run_job", lambda exp, job: (where.append(
        (job.trial, os.getpid(), threading.current_thread().name)) or ({}, {}, None)))
    pool = _Pool()
    monkeypatch.setattr(executor, "_pool", lambda n_jobs: pool)
    starting: Future = Future()                         # the workers' imports, not yet done
    monkeypatch.setattr(executor, "_STARTING", [starting])
    exp = spec_lang.loads(TINY)
    running_when_asked: list[int] = []
    jobs = iter(range(6))

    def next_job() -> Job | None:
        running_when_asked.append(len(where) - len(done))
        trial = next(jobs, None)
        return None if trial is None else Job(trial, (("lr", 0.1),), 0, 0)

    done: list[int] = []
    for job, *_ in executor.stream(exp, next_job, n_jobs=2):
        done.append(job.trial)
        if job.trial == 2:
            starting.set_result(None)                   # the workers are ready from here on
    assert sorted(done) == list(range(6))
    # trials 0-2: trained here, in a thread of this process, each asked for once the last
    # was done (no job queued for workers still importing); trials 3-5 went to the workers
    assert [t for t, pid, name in where[:3]] == [0, 1, 2]
    assert all(pid == os.getpid() and name == "nnspec-trial" for _, pid, name in where[:3])
    assert running_when_asked[:3] == [0, 0, 0]
    assert pool.jobs == [3, 4, 5]


def test_a_job_that_raises_in_this_process_raises_in_the_run(monkeypatch):
    from concurrent.futures import Future

    def fail(exp, job):
        raise MemoryError("no room")
    monkeypatch.setattr(executor, "run_job", fail)
    monkeypatch.setattr(executor, "_pool", lambda n_jobs: _Pool())
    monkeypatch.setattr(executor, "_STARTING", [Future()])
    exp = spec_lang.loads(TINY)
    jobs = iter([Job(0, (("lr", 0.1),), 0, 0)])
    import pytest
    with pytest.raises(MemoryError, match="no room"):
        list(executor.stream(exp, lambda: next(jobs, None), n_jobs=2))
