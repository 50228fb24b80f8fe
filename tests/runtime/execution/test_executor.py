"""A parallel trial trains with one BLAS thread, found without scanning the libraries again."""
from __future__ import annotations

import numpy as np
import threadpoolctl

import spec_lang
from runtime import threads
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
        threads.thread_pools.cache_clear()             # as in a fresh worker
        exp = spec_lang.loads(TINY)
        for trial in range(3):
            executor._one_thread(exp, Job(trial, (("lr", 0.1),), 0, 0))
        monkeypatch.undo()
        assert seen == [{1}] * 3
        assert blas_threads() == {2}                   # restored after each job
    # the pools are looked up once per process, not per job (a lookup costs about 2 ms)
    assert len(made) == 1
    threads.thread_pools.cache_clear()


def test_a_job_in_this_process_runs_on_one_blas_thread_too(monkeypatch):
    # --jobs 1: the main process trains; its BLAS's threads only slowed these small matrices
    probe = threadpoolctl.ThreadpoolController()
    seen: list[set[int]] = []
    monkeypatch.setattr(executor, "run_job", lambda exp, job: (seen.append(
        {pool["num_threads"] for pool in probe.info()}) or ({}, {}, None)))
    exp = spec_lang.loads(TINY)
    jobs = iter([Job(trial, (("lr", 0.1),), 0, 0) for trial in range(2)])
    with threadpoolctl.threadpool_limits(limits=2):
        done = [job.trial for job, *_ in executor.stream(exp, lambda: next(jobs, None),
                                                          n_jobs=1)]
        assert {pool["num_threads"] for pool in probe.info()} == {2}     # given back
    assert done == [0, 1] and seen == [{1}, {1}]


def test_local_workers_train_on_the_data_set_this_process_loaded(tmp_path):
    # A CSV's pandas (an svmlight file's parsing, a bundled set's scikit-learn) is paid once,
    # here: the workers get the loaded set with their first job instead of reading the file.
    import os

    from runtime.execution.prepared import dataset
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    rows = [",".join(f"{v:.6f}" for v in x) + f",{int(x[0] > 0)}" for x in X]
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    exp = spec_lang.loads(CSV_SPEC, base_dir=tmp_path)
    dataset(exp.config.data, str(exp.base_dir))              # the run loads it first
    # The file turns to garbage of the same size and time: a worker that read it would fail.
    stat = path.stat()
    path.write_bytes(b"\xff" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    jobs = [Job(trial, (), seed, 0) for trial, seed in ((0, 0), (0, 1), (0, 2))]
    outcomes = list(executor.execute(exp, jobs, n_jobs=2))
    assert sorted(row["state"] for _, row, _, _ in outcomes) == ["complete"] * 3


CSV_SPEC = """data "d.csv" target "y"
split train 0.6 valid 0.2 test 0.2
network
    dense 4 tanh
train
    epochs 3
"""
