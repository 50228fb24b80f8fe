"""A run's Dask workers as batch jobs (`--cluster slurm:N`, `pbs:N`, `sge:N`), through
dask-jobqueue: N jobs of one single-threaded worker each, kept at N while the run lasts (a job
that ends, at its walltime or by `scancel`, is replaced, and the trials it had in flight run
again), every job cancelled when the run ends, is interrupted or fails. The scheduler runs in
this process; the run says where its workers are (the job ids) as they come and go."""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from runtime.errors import NnspecError
from runtime.execution.batch_options import BatchCluster, seconds, walltime_seconds

CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster"}
SUBMIT = {"slurm": "sbatch", "pbs": "qsub", "sge": "qsub"}
ACCOUNT = {"slurm": "account", "pbs": "account", "sge": "project"}   # dask-jobqueue's keyword


def _watch_seconds() -> float:
    """How often the run looks at its jobs: 2 s, or NNSPEC_BATCH_WATCH_S (the Slurm tests look
    ten times as often, to see a worker that joins and is cancelled within a second)."""
    try:
        value = float(os.environ.get("NNSPEC_BATCH_WATCH_S", "2"))
    except ValueError:
        return 2.0
    return value if 0.01 <= value <= 3600 else 2.0


WATCH_S = _watch_seconds()
REQUEUED = "a trial it had in flight runs again on another worker"
QUEUED_NOTE_S = 30.0     # a run with no worker yet says so after this long
RETIRE_MARGIN_S = 300    # workers retire this long before their walltime (at most a tenth)
# A job whose worker left is taken for ended (and replaced) after this long; Dask's default,
# 15 s, leaves time for a nanny to restart its worker, which one job's worker does at once.
LOST_WORKER_S = "5s"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Patience:
    """How long a run on this cluster waits for a worker, and what it says when none came."""

    seconds: float
    message: str


_patience: dict[int, Patience] = {}      # id(client) -> its patience, while the run lasts


def patience(client: Any) -> Patience | None:
    """The patience of a batch cluster's client (None for any other client)."""
    return _patience.get(id(client))


def require_jobqueue() -> Any:
    """The `dask_jobqueue` module; NnspecError with the install command without the extra."""
    try:
        import dask_jobqueue
    except ImportError:
        raise NnspecError("running on a batch queue needs dask-jobqueue: "
                          "pip install 'nnspec[jobqueue]'") from None
    return dask_jobqueue


def job_options(request: BatchCluster, run_dir: Path | None) -> dict[str, Any]:
    """dask-jobqueue's keywords for `request`: one single-threaded worker per job, retiring
    before its walltime (so that it is replaced, not killed mid-trial)."""
    opts = request.options
    wall = walltime_seconds(opts.walltime)
    margin = max(1, min(RETIRE_MARGIN_S, wall // 10))
    hours, rest = divmod(wall, 3600)
    logs = opts.log_directory or (str(run_dir / "workers") if run_dir is not None else None)
    kwargs: dict[str, Any] = {
        "cores": 1, "processes": 1, "memory": opts.memory,
        "walltime": f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}",
        "queue": opts.queue, "interface": opts.interface,
        "python": opts.python or sys.executable, "log_directory": logs,
        "job_extra_directives": list(opts.job_extra),
        "worker_extra_args": ["--lifetime", f"{wall - margin}s",
                              "--lifetime-stagger", f"{margin // 2}s"],
        "scheduler_options": {"dashboard_address": ":0"},
    }
    if opts.account:
        kwargs[ACCOUNT[request.system]] = opts.account
    return kwargs


@contextlib.contextmanager
def batch_client(request: BatchCluster, say: Say, run_dir: Path | None = None
                 ) -> Iterator[Any]:
    """A Dask client on `request.jobs` worker jobs submitted for the run; every job is
    cancelled when the block ends, however it ends."""
    jobqueue = require_jobqueue()
    import dask
    submit = SUBMIT[request.system]
    if shutil.which(submit) is None:
        raise NnspecError(f"--cluster {request.system}:{request.jobs} submits its workers with "
                          f"`{submit}`, which is not on this machine's PATH: run nnspec on a "
                          f"login node of the {request.title} cluster (or --cluster local:N "
                          "here)")
    options = job_options(request, run_dir)
    with dask.config.set({"distributed.deploy.lost-worker-timeout": LOST_WORKER_S}):
        yield from _started(jobqueue, request, options, say)


def _started(jobqueue: Any, request: BatchCluster, options: dict[str, Any], say: Say
             ) -> Iterator[Any]:
    import distributed
    try:
        cluster = getattr(jobqueue, CLASSES[request.system])(**options)
    except (ValueError, TypeError, OSError) as exc:
        raise NnspecError(f"cannot set up the {request.title} workers: {exc}") from None
    try:
        _quiet_loop(cluster, lambda exc: say(f"{request.title} worker jobs: {_refusal(exc)}"))
        _submit(cluster, request)
        make_client: Any = distributed.Client         # untyped in distributed
        with make_client(cluster) as client:
            watch = _Watch(cluster, client, request, say)
            _patience[id(client)] = watch.patience()
            say(watch.started(options["log_directory"]))
            watch.start()
            try:
                yield client
            finally:
                watch.stop()
                _patience.pop(id(client), None)
    finally:
        ids = sorted(job_ids(cluster), key=_as_number)
        try:
            cluster.close()                         # cancels every job (scancel, qdel)
        except Exception:                           # a job that never started, say
            _cancel(request, ids)
        _quiet_loop(cluster, None)
        if ids:
            say(f"cancelled the {request.title} worker jobs {', '.join(ids)}")


def _submit(cluster: Any, request: BatchCluster) -> None:
    """Submit the N jobs now, so that a job the queue refuses is an error here, then keep N
    (dask-jobqueue's adaptive scaling submits a job for each that ends)."""
    async def submit_now() -> None:
        cluster.scale(jobs=request.jobs)     # schedules the cluster's own correction, which
        await cluster._correct_state()       # joins this one: its error is raised here
    try:
        cluster.sync(submit_now)
    except Exception as exc:
        raise NnspecError(f"{request.title} refused the workers' job ({_refusal(exc)}): check "
                          "its queue, account, walltime and memory (set by "
                          f"{', '.join(request.sources) or 'the defaults of docs/scale.md'})"
                          ) from None
    cluster.adapt(minimum_jobs=request.jobs, maximum_jobs=request.jobs)


def _quiet_loop(cluster: Any, report: Callable[[BaseException], None] | None) -> None:
    """An error in the cluster's background tasks (a replacement job the queue refuses) goes
    to `report`, not to the terminal as asyncio's traceback; None: asyncio's handler again."""
    def handle(loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if exc is not None and report is not None:
            report(exc)
    try:
        cluster.loop.asyncio_loop.set_exception_handler(handle if report else None)
    except AttributeError:                  # not a loop this version exposes: keep its own
        pass


def _cancel(request: BatchCluster, ids: list[str]) -> None:
    """Cancel jobs by their ids, with the queue's own command (when the cluster could not)."""
    import subprocess
    if ids:
        command = {"slurm": "scancel", "pbs": "qdel", "sge": "qdel"}[request.system]
        subprocess.run([command, *ids], capture_output=True, timeout=60, check=False)


def _refusal(exc: BaseException) -> str:
    """The queue's own words from dask-jobqueue's error (the first line of its stderr)."""
    text = str(exc)
    lines = [line.strip() for line in text.partition("stderr:")[2].splitlines() if line.strip()]
    return lines[0] if lines else (text.strip().splitlines() or [type(exc).__name__])[0]


def job_ids(cluster: Any) -> list[str]:
    """The ids of the cluster's jobs, as the queue knows them."""
    for _ in range(5):                  # the cluster's loop may be changing the dict
        try:
            jobs = list(cluster.workers.values())
            return [str(job.job_id) for job in jobs if getattr(job, "job_id", None)]
        except RuntimeError:
            time.sleep(0.01)
    return []


class _Watch:
    """Says what becomes of the run's jobs: started, ended and replaced, still queued."""

    def __init__(self, cluster: Any, client: Any, request: BatchCluster, say: Say) -> None:
        self.cluster, self.client, self.request, self.say = cluster, client, request, say
        self.known = set(job_ids(cluster))
        self.since = time.monotonic()
        self.noted_queue = False
        self.seen: set[str] = set()             # the workers' addresses already said
        self.working: set[str] = set()          # the jobs whose worker the scheduler has
        self.said_lost: set[str] = set()        # the jobs said to have lost their worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nnspec-batch-watch",
                                        daemon=True)

    def started(self, logs: str | None) -> str:
        """The message of the start: the jobs, where their output goes, the dashboard."""
        opts, kwargs = self.request.options, job_options(self.request, None)
        where = f"queue {opts.queue}" if opts.queue else "the default queue"
        text = (f"submitted {self.request.jobs} {self.request.title} worker jobs "
                f"{', '.join(sorted(self.known, key=_as_number))} ({where}, walltime "
                f"{kwargs['walltime']}, memory {opts.memory}); scheduler "
                f"{self.cluster.scheduler_address}")
        link = _dashboard(self.client)
        return text + (f"; output in {logs}" if logs else "") + \
            (f"; dashboard {link}" if link else "")

    def patience(self) -> Patience:
        """How long to wait for a worker (the `wait` option) and the message after it."""
        wait = seconds(self.request.options.wait) or 0.0
        return Patience(wait, f"no {self.request.title} worker joined for {wait:.0f} s (the "
                              "`wait` cluster option): the jobs are still queued, or they "
                              "fail at start (see their output); the finished trials are "
                              "stored, run again to resume")

    def start(self) -> None:
        """Watch in the background until `stop`."""
        self._thread.start()

    def stop(self) -> None:
        """End the watch."""
        self._stop.set()
        self._thread.join(timeout=WATCH_S * 2)

    def _run(self) -> None:
        while not self._stop.wait(WATCH_S):
            try:
                self._look()
            except Exception:       # a dict the cluster's loop was changing, a queue command
                continue            # that failed once: the next look says what changed

    def _look(self) -> None:
        now = set(job_ids(self.cluster))
        workers = dict(self.cluster.scheduler_info.get("workers", {}))
        jobs = {name: str(job.job_id) for name, job in list(self.cluster.workers.items())}
        working = {jobs[name] for name in (str(info.get("name")) for info in workers.values())
                   if name in jobs}
        title = self.request.title
        # the scheduler loses a job's worker at once; the cluster drops the job itself only
        # after the lost-worker timeout (LOST_WORKER_S), which a short run may never reach
        lost = sorted(self.working - working, key=_as_number)
        if lost:
            self.say(f"{title} job {', '.join(lost)} lost its worker (walltime, scancel, a lost "
                     f"node or a crash): {REQUEUED}")
            self.said_lost.update(lost)
        self.working = working
        gone = sorted(self.known - now - self.said_lost, key=_as_number)
        new = sorted(now - self.known, key=_as_number)
        if gone:
            self.say(f"{title} job {', '.join(gone)} ended (walltime, scancel or a lost node): "
                     f"{REQUEUED}")
        if new:
            self.say(f"submitted {title} job {', '.join(new)} to keep {self.request.jobs} "
                     "workers")
        self.known = now
        self._joined(workers, jobs)
        if not self.noted_queue and time.monotonic() - self.since > QUEUED_NOTE_S \
                and not workers:
            self.noted_queue = True
            self.say(f"no worker yet: the {title} jobs {', '.join(sorted(now))} wait in the "
                     "queue (squeue / qstat say why); the run waits up to "
                     f"{self.request.options.wait}")


    def _joined(self, workers: dict[str, Any], jobs: dict[str, str]) -> None:
        """Say where the workers that joined since the last look run: job id and host
        (`jobs`: job id by worker name)."""
        joined = [f"job {jobs.get(str(info.get('name')), '?')} on {info.get('host', address)}"
                  for address, info in sorted(workers.items()) if address not in self.seen]
        self.seen = set(workers)
        if joined:
            self.say(f"{self.request.title} workers running: {', '.join(joined)}")


def _as_number(job_id: str) -> tuple[int, str]:
    return (int(job_id), "") if job_id.isdigit() else (sys.maxsize, job_id)


def _dashboard(client: Any) -> str:
    try:
        return str(client.dashboard_link or "")
    except Exception:                       # no HTTP server, or no link to make of it
        return ""
