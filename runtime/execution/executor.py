"""Where jobs run: in this process, in local worker processes (joblib), or on a Dask cluster.
Each parallel worker uses one BLAS thread so that trials never oversubscribe the cores."""
from __future__ import annotations

import os
from typing import Any, Iterator

from spec_lang.experiment import Experiment

from runtime.execution.jobs import Job, run_job

Outcome = tuple[Job, dict[str, Any], dict[str, list[float]]]


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _one_thread(exp: Experiment, job: Job) -> Outcome:
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        row, curves = run_job(exp, job)
    return job, row, curves


def execute(exp: Experiment, jobs: list[Job], *, n_jobs: int = 1, client: Any = None
            ) -> Iterator[Outcome]:
    """Run `jobs`, yielding each outcome as it finishes (in no particular order)."""
    if not jobs:
        return
    if client is not None:
        yield from _dask(exp, jobs, client)
    elif n_jobs <= 1 or len(jobs) == 1:
        for job in jobs:
            yield (job, *run_job(exp, job))
    else:
        from joblib import Parallel, delayed
        parallel = Parallel(n_jobs=min(n_jobs, len(jobs)), return_as="generator_unordered")
        yield from parallel(delayed(_one_thread)(exp, job) for job in jobs)


def _dask(exp: Experiment, jobs: list[Job], client: Any) -> Iterator[Outcome]:
    from distributed import as_completed
    futures = [client.submit(_one_thread, exp, job, pure=False) for job in jobs]
    for future in as_completed(futures):
        yield future.result()
