"""Where jobs run: in this process, in local worker processes (joblib), or on a Dask cluster.
A trial trains on one BLAS thread wherever it runs (`runtime.threads`; `--jobs 1` on two idle
cores, whole runs: friedman3 12.7 s against 18.8 s with OpenBLAS's two threads,
make_classification 8000x256 11.9 against 17.4, 1000 features 7.4 against 8.1)."""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Iterator

from spec_lang.experiment import Experiment

from runtime.errors import NnspecError
from runtime.execution.batch import Patience, patience
from runtime.execution.jobs import Job, MemberState, failed_row, run_job
from runtime.execution.prepared import Shipment, adopt, dataset, shipment
from runtime.threads import one_blas_thread

Outcome = tuple[Job, dict[str, Any], dict[str, list[float]], "MemberState | None"]
PARENT_CHECK_S = 0.5      # how often a local worker checks that the run that started it lives
WORKER_IDLE_S = 300       # idle local workers stay this long, for the next batch or run
DASK_CHECK_S = 2.0        # how often a Dask run looks at its cluster while it waits
NO_WORKERS_S = 60.0       # a cluster with no worker for this long ends the run
QUEUED_AHEAD = 1          # local jobs handed to the pool beyond one per worker
KILLED_WORKERS = ("KilledWorker: the Dask workers training this trial died, every time it was "
                  "retried (out of memory? see the workers' logs)")


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _one_thread(exp: Experiment, job: Job) -> Outcome:
    with one_blas_thread():
        row, curves, member = run_job(exp, job)
    return job, row, curves, member


def _in_worker(exp: Experiment, job: Job, shipped: Shipment | None) -> tuple[int, Outcome]:
    """A job in a local worker, given the run's data set until it has answered once; its
    process id tells the run which workers hold the data."""
    if shipped is not None:
        adopt(shipped)
    return os.getpid(), _one_thread(exp, job)


def _exit_with(parent: int) -> None:
    """A local worker's initializer: end this process as soon as `parent` (the run's process)
    is gone, so a killed or terminated `nnspec run` leaves no worker training on (loky would
    let it finish its task and linger)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)                               # orphaned: the run is gone, so is its work

    threading.Thread(target=watch, name="nnspec-parent-watch", daemon=True).start()


NextJob = Callable[[], "Job | None"]


def execute(exp: Experiment, jobs: list[Job], *, n_jobs: int = 1, client: Any = None
            ) -> Iterator[Outcome]:
    """Run `jobs`, yielding each outcome as it finishes (in no particular order)."""
    pending = iter(jobs)
    yield from stream(exp, lambda: next(pending, None), n_jobs=n_jobs, client=client)


def stream(exp: Experiment, next_job: NextJob, *, n_jobs: int = 1, client: Any = None
           ) -> Iterator[Outcome]:
    """Run the jobs `next_job()` hands out (until it returns None), keeping every worker busy:
    a job is asked for only when a worker is free for it (locally, or about to be: one job
    waits ahead, `QUEUED_AHEAD`), so the caller can claim work at the last moment (processes
    sharing a store split it) and react to each result before the next job but one starts.
    Yields each outcome as it finishes. `next_job` is always called in this thread."""
    if client is not None:
        yield from _dask(exp, next_job, client)
    elif n_jobs <= 1:
        while (job := next_job()) is not None:   # the main process trains: no workers exist
            yield _one_thread(exp, job)
    else:
        yield from _local(exp, next_job, n_jobs)


def _pool(n_jobs: int) -> Any:
    """The local worker processes (loky's reusable executor: kept between calls and runs)."""
    import warnings

    from joblib.externals.loky import get_reusable_executor
    with warnings.catch_warnings():
        # a run with another --jobs than the last in this process waits for the old pool's
        # jobs (a warm-up's imports) before resizing it: expected, not the user's concern
        warnings.filterwarnings("ignore", message="Trying to resize an executor")
        return get_reusable_executor(max_workers=n_jobs, timeout=WORKER_IDLE_S,
                                     initializer=_exit_with, initargs=(os.getpid(),))


def stop_workers() -> None:
    """End the local worker processes, if any were started (before a quick exit)."""
    import sys
    if "joblib.externals.loky" not in sys.modules:
        return                                     # none: do not import loky to find out
    from joblib.externals.loky import reusable_executor
    # loky keeps its one reusable executor here; get_reusable_executor() would start one.
    pool = getattr(reusable_executor, "_executor", None)
    if pool is not None:
        pool.shutdown(wait=True, kill_workers=True)


def _import_engine() -> None:
    """Import what a trial needs (NumPy, scikit-learn's data and preprocessing, the engine)."""
    import runtime.data.preprocess  # noqa: F401
    import runtime.data.sources  # noqa: F401
    import runtime.engine.training  # noqa: F401


def warm_up(n_jobs: int) -> None:
    """Start the local workers and their imports now, in the background, so that they overlap
    the main process's own start (loading the data, the store) instead of following it."""
    if n_jobs > 1:
        pool = _pool(n_jobs)
        for _ in range(n_jobs):
            pool.submit(_import_engine)


def _local(exp: Experiment, next_job: NextJob, n_jobs: int) -> Iterator[Outcome]:
    from concurrent.futures import FIRST_COMPLETED, wait
    pool = _pool(n_jobs)
    running: dict[Any, Job] = {}
    # The data set this process loaded goes with the jobs until every worker has answered once
    # (the ids of those that have), so no worker reads and parses its file again (one that
    # never got it, as one loky replaced, reads the file itself).
    shipped = shipment(exp.config.data, str(exp.base_dir))
    holders: set[int] = set()
    while True:
        # One job more than there are workers waits in the pool's queue, so a worker that
        # finishes starts it at once instead of idling while this process stores the result and
        # asks for the next (about 7 ms a job: a fifth of a search of one-epoch rungs).
        while len(running) < n_jobs + QUEUED_AHEAD and (job := next_job()) is not None:
            ship = shipped if shipped is not None and len(holders) < n_jobs else None
            running[pool.submit(_in_worker, exp, job, ship)] = job
        if not running:
            return
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            del running[future]
            pid, outcome = future.result()
            holders.add(pid)
            yield outcome


def _on_dask_worker(exp: Experiment, job: Job) -> Outcome:
    """A job on a Dask worker: its data set was installed there (`dask_data`), no file is read."""
    return _one_thread(exp, job)


_shipped: list[tuple[Any, Any, str]] = []     # (client, data spec, folder) installed last


def _ship(exp: Experiment, client: Any) -> None:
    """The client's data set on every worker, sent once per worker for the run's client."""
    from runtime.execution import dask_data
    key = (client, exp.config.data, str(exp.base_dir))
    if _shipped and _shipped[0][0] is client and _shipped[0][1:] == key[1:]:
        return
    data = dataset(exp.config.data, str(exp.base_dir))
    dask_data.install(client, exp.config.data, str(exp.base_dir), data, name="nnspec-data")
    _shipped[:] = [key]                              # one client, one data set at a time


def _dask(exp: Experiment, next_job: NextJob, client: Any) -> Iterator[Outcome]:
    """Keep every Dask worker thread busy; a cluster that dies, or that has no worker left for
    `NO_WORKERS_S` (a batch cluster: its `wait` option), ends the run with an NnspecError (the
    finished trials are stored)."""
    import distributed
    wait: Any = distributed.wait              # untyped in distributed
    waiting = _patience(client)
    _connect(exp, client, waiting)
    running: dict[Any, Job] = {}
    idle_since: float | None = None
    while True:
        slots = _dask_slots(client)
        while len(running) < slots and (job := next_job()) is not None:
            running[client.submit(_on_dask_worker, exp, job, pure=False)] = job
        if not running:
            return
        try:
            done = wait(list(running), timeout=DASK_CHECK_S, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        except Exception as exc:                         # the scheduler went away
            raise _cluster_lost(exc) from None
        if not done:
            idle_since = idle_since or time.monotonic()
            if _dask_slots(client, empty=0) == 0 and \
                    time.monotonic() - idle_since > waiting.seconds:
                raise NnspecError(waiting.message)
            continue
        idle_since = None
        for future in done:
            yield _result(future, running.pop(future))


def _connect(exp: Experiment, client: Any, waiting: Patience) -> None:
    """Wait for a first worker (NnspecError after `waiting`), then send the data once."""
    try:
        client.wait_for_workers(1, timeout=waiting.seconds)
    except TimeoutError:
        raise NnspecError(waiting.message) from None
    except Exception as exc:
        raise _cluster_lost(exc) from None
    try:
        _ship(exp, client)
    except Exception as exc:
        raise _cluster_lost(exc) from None


def _result(future: Any, job: Job) -> Outcome:
    """A finished future's outcome: a trial that kills its workers becomes a failed row; a
    lost or cancelled one ends the run (NnspecError, the finished trials are stored)."""
    try:
        outcome: Outcome = future.result()
        return outcome
    except Exception as exc:
        if type(exc).__name__ == "KilledWorker":      # this trial kills its workers
            return (job, failed_row(job, KILLED_WORKERS), {}, None)
        if future.status in ("cancelled", "lost") or _is_comm_error(exc):
            raise _cluster_lost(exc) from None
        raise


def _dask_slots(client: Any, empty: int = 1) -> int:
    """The worker threads of the cluster (`empty` when it has none, or cannot say)."""
    try:
        return sum(client.nthreads().values()) or empty
    except Exception as exc:
        raise _cluster_lost(exc) from None


def _is_comm_error(exc: BaseException) -> bool:
    from distributed.comm.core import CommClosedError
    return isinstance(exc, (CommClosedError, OSError)) or type(exc).__name__.endswith(
        "CancelledError")


def _patience(client: Any) -> Patience:
    """How long the run waits for a worker, and what it says then: a batch cluster's own (its
    jobs may wait in the queue), or `NO_WORKERS_S` for any other."""
    return patience(client) or Patience(
        NO_WORKERS_S, f"the Dask cluster has had no worker for {NO_WORKERS_S:.0f} s: start "
                      "workers (dask worker ADDRESS) and run again; the finished trials are "
                      "stored")


def _cluster_lost(exc: BaseException) -> NnspecError:
    first = (str(exc).strip().splitlines() or [""])[0][:200]   # not the futures' keys
    return NnspecError(f"lost the Dask cluster mid-run ({type(exc).__name__}: {first}): the "
                       "finished trials are stored; run again (same --out) to resume")
