"""Where a run's Dask cluster comes from: a scheduler's address, a LocalCluster started for
the run (`local:N`), or worker jobs on a batch queue (`slurm:N`, `pbs:N`, `sge:N`: `batch`),
with clear errors for an address that is not one or a scheduler that cannot be reached. The one
place that parses and opens them (the CLI and `runtime.run`)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator

from runtime.errors import NnspecError
from runtime.execution.batch_options import SYSTEMS, BatchCluster, batch_cluster

Progress = Callable[[dict[str, Any]], None]

SCHEDULER_SCHEMES = ("tcp", "tls")
SCHEDULER_TIMEOUT = "10s"     # how long a client waits to connect
EXAMPLE = "e.g. tcp://127.0.0.1:8786"
# A LocalCluster's scheduler always serves HTTP (health, and the dashboard when bokeh is
# installed); None would still take port 8787 (and warn when it is taken): a free loopback port.
LOCAL_HTTP = "127.0.0.1:0"


def scheduler_address(text: str) -> str:
    """A Dask scheduler's `tcp://HOST:PORT` or `tls://HOST:PORT` (a bare HOST:PORT is tcp),
    returned with its scheme; ValueError saying what is wrong otherwise."""
    if text.partition(":")[0] == "local":       # a cluster to start, given to the wrong option
        raise ValueError(f"'{text}' is not a scheduler address: `--cluster local:N` "
                         f"(runtime.run(..., cluster='local:N')) starts a cluster here ({EXAMPLE})")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme not in SCHEDULER_SCHEMES:
        raise ValueError(f"'{text}': a Dask scheduler address starts with tcp:// or tls://, "
                         f"not {scheme}:// ({EXAMPLE}; `--cluster local:N` starts one here)")
    host, colon, port = rest.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")    # IPv6: [::1]:8786
    if not colon or not _valid_host(host, bracketed) or not port.isdigit() \
            or not 0 < int(port) < 65536:
        raise ValueError(f"'{text}': give the scheduler's host and port, HOST:PORT, PORT from "
                         f"1 to 65535 ({EXAMPLE})")
    return f"{scheme}://{host}:{int(port)}"


def _valid_host(host: str, bracketed: bool) -> bool:
    if bracketed:
        return len(host) > 2 and all(ch in "0123456789abcdefABCDEF:." for ch in host[1:-1])
    return bool(host) and not any(ch in host for ch in "/:@?# \t")


def is_batch(cluster: "str | BatchCluster | None") -> bool:
    """Whether `cluster` names worker jobs on a batch queue (slurm:N, pbs:N, sge:N)."""
    return isinstance(cluster, BatchCluster) or (
        isinstance(cluster, str) and cluster.partition(":")[0] in SYSTEMS)


def is_local(cluster: "str | BatchCluster | None") -> bool:
    """Whether `cluster` is a LocalCluster to start here (local:N)."""
    return isinstance(cluster, str) and cluster.partition(":")[0] == "local"


def local_workers(text: str) -> int:
    """`local:N` -> N worker processes (`local` alone: the cores); ValueError otherwise."""
    from runtime.execution.executor import default_jobs
    from spec_lang.limits import workers_problem
    name, _, count = text.partition(":")
    if name != "local" or (count and not (count.isdigit() and int(count) >= 1)):
        raise ValueError(f"'{text}': a cluster to start is local:N, N worker processes here "
                         "(e.g. local:4), or slurm:N, pbs:N, sge:N, N worker jobs on a batch "
                         "queue")
    workers = int(count) if count else default_jobs()
    problem = workers_problem(workers, f"'{text}' asks for")
    if problem:
        raise ValueError(problem)
    return workers


@contextlib.contextmanager
def dask_client(client: Any = None, cluster: "str | BatchCluster | None" = None,
                progress: Progress | None = None, run_dir: Path | None = None) -> Iterator[Any]:
    """The Dask client of a run, closed at its end when opened here: `client` as given (a
    `distributed.Client`), an address string to connect to, `cluster="local:N"` to start
    N single-threaded worker processes on 127.0.0.1 (its HTTP server on a free loopback port),
    or `cluster="slurm:N"` (pbs, sge; or a `BatchCluster`) for N worker jobs on a batch queue,
    their options from the config files (`batch_options`), their output in `run_dir/workers`,
    what becomes of them said to `progress`. None: no Dask."""
    if client is not None and cluster is not None:
        raise NnspecError("give a Dask client or a cluster to start, not both")
    if client is not None and not isinstance(client, str):
        yield client
        return
    if client is None and cluster is None:
        yield None
        return
    distributed = require_dask()
    if is_batch(cluster):
        from runtime.execution.batch import batch_client
        request = cluster if isinstance(cluster, BatchCluster) else \
            _checked(batch_cluster, str(cluster))

        def say(message: str) -> None:
            if progress is not None:
                progress({"event": "message", "message": message})
        with _quiet_dask(), batch_client(request, say, run_dir) as started:
            yield started
        return
    if cluster is not None:
        with _local_client(str(cluster), distributed) as started:
            yield started
        return
    with _scheduler_client(_checked(scheduler_address, str(client)), distributed) as connected:
        yield connected


@contextlib.contextmanager
def _local_client(cluster: str, distributed: Any) -> Iterator[Any]:
    """A LocalCluster of `local:N`'s N single-threaded processes, and its client."""
    workers = _checked(local_workers, cluster)
    with _quiet_dask(), \
            distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                     host="127.0.0.1", dashboard_address=LOCAL_HTTP,
                                     processes=True) as local, \
            distributed.Client(local) as started:
        yield started


@contextlib.contextmanager
def _scheduler_client(address: str, distributed: Any) -> Iterator[Any]:
    """A client connected to the scheduler at `address` (NnspecError when unreachable)."""
    with _quiet_dask():
        try:
            connected = distributed.Client(address, timeout=SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise NnspecError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        with connected:
            yield connected


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """No log lines from Dask in this process while it runs: a lost scheduler makes its
    client log errors with tracebacks (its reconnection attempts) on the user's terminal,
    and the run reports that loss itself, in one message that says how to resume. Only the
    clients opened here are concerned: a Client passed in keeps its caller's logging."""
    import logging
    names = ["distributed", "dask_jobqueue", "tornado",
             *(name for name in logging.root.manager.loggerDict
               if name.startswith(("distributed.", "dask_jobqueue.", "tornado.")))]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _checked(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise NnspecError(str(exc)) from None


def require_dask() -> Any:
    """The `distributed` module; NnspecError with the install command without the Dask extra."""
    try:
        import distributed
    except ImportError:
        raise NnspecError("running on Dask needs it: pip install 'nnspec[distributed]'") \
            from None
    return distributed
