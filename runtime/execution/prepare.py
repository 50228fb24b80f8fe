"""Preparing a run, the one way `nnspec run` and `runtime.run` both do: the number of workers
resolved (-1: every core), the local workers started (their imports overlap the data check),
the data checked before anything trains, and `lr auto` replaced by its range test's rate."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from spec_lang.experiment import Experiment

from runtime.errors import NnspecError
from runtime.execution import executor
from runtime.execution.jobs import preflight
from runtime.execution.lr_auto import Chosen, resolve as resolve_lr_auto

Check = Callable[[Experiment], Any]     # the data check: preflight's (config, arrays)


@dataclass(frozen=True)
class Prepared:
    """A run ready to start: the experiment as it will run (its `lr auto` resolved), what
    `lr auto` chose (None without it), and the local workers."""

    exp: Experiment
    lr_auto: Chosen | None
    n_jobs: int


def resolve_jobs(jobs: int | None) -> int:
    """Parallel workers: None or -1 mean every core this process may use."""
    from spec_lang.limits import workers_problem
    if jobs is None or jobs == -1:
        return executor.default_jobs()
    if jobs < 1:
        raise NnspecError(f"jobs must be a positive number of workers, or -1 for every core; "
                          f"got {jobs}")
    problem = workers_problem(jobs, "jobs asks for")
    if problem:
        raise NnspecError(problem)
    return jobs


def prepare_run(exp: Experiment, jobs: int | None, *, local: bool,
                check: Check = preflight) -> Prepared:
    """Resolve the workers, start them when they are local (`local`: no Dask), run the data
    `check` (the preflight, raising DataError: the data, the folds, the preprocessing; data
    and protocol are the same for every configuration, the language forbids searching them),
    then `lr auto`'s range test on the data it checked."""
    n_jobs = resolve_jobs(jobs)
    if local:
        executor.warm_up(n_jobs)
    checked = check(exp)
    exp, lr_auto = resolve_lr_auto(exp, checked)
    return Prepared(exp, lr_auto, n_jobs)
