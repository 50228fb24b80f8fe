"""Trials on a real Dask cluster give the local table.

Most tests share one cluster of real processes, started as a user would on other machines:
`dask scheduler --host 127.0.0.1` and two `dask worker ADDRESS` processes, each in an empty
temporary folder of its own (not the spec's), so a worker that read a file itself would not
find it. The tests kill a worker or the scheduler; `ScaleCluster.ensure` brings the cluster
back before the next one. Every process started here is stopped by its pid at the end, and
every wait is bounded."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

import runtime

from ..conftest import stable

distributed = pytest.importorskip("distributed")

ROOT = Path(runtime.__file__).resolve().parents[1]    # what `pip install nnspec` puts on a path
START_S = 60.0      # the most a scheduler or a worker may take to start (a busy 2-core CI box)
RUN_S = 120.0       # the most a run of the scale-out spec may take

# 8 trials of about half a second each on one thread: long enough to kill a process mid-run.
SPEC = """experiment scaleout
data "points.csv" target "label"  # relative to this file: the workers have no such file
split train 0.6 valid 0.2 test 0.2 stratified
network
    dense 128 tanh
train
    sgd lr $lr momentum 0.9
    epochs 150 early_stop off
search grid
    lr in 0.01, 0.02, 0.03, 0.04
seeds 2
"""
TRIALS = 8


def write_spec(folder: Path) -> None:
    """The scale-out spec and its CSV (2000 examples, 8 features, a curved class border)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 8))
    label = (x[:, 0] + 0.5 * x[:, 1] ** 2 > 0.5).astype(int)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(x, columns=list("abcdefgh")).assign(label=label).to_csv(folder / "points.csv",
                                                                      index=False)
    (folder / "spec.spec").write_text(SPEC)


def _env() -> dict[str, str]:
    """A process's environment with nnspec importable (as installed on every machine)."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def _wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    """Stop one process started here, by its pid (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class ScaleCluster:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, each in an empty folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""
        self.started = 0

    def _start(self, *args: str) -> subprocess.Popen:
        self.started += 1
        home = self.folder / f"p{self.started}"          # empty: no spec, no data
        home.mkdir()
        log = open(self.folder / f"p{self.started}.log", "wb")
        try:
            return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=home,
                                    env=_env(), stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()                                 # the child holds its own copy

    def start_scheduler(self) -> None:
        info = self.folder / f"scheduler{self.started}.json"
        self.scheduler = self._start("scheduler", "--host", "127.0.0.1", "--port", "0",
                                     "--no-dashboard", "--scheduler-file", str(info))
        _wait_until(info.exists, START_S, "the scheduler's address")
        _wait_until(lambda: bool(info.read_text().strip()), START_S, "the scheduler file")
        self.address = json.loads(info.read_text())["address"]

    def start_worker(self) -> None:
        # No nanny: the pid is the worker itself, so killing it loses the worker for good.
        self.workers.append(self._start("worker", self.address, "--nthreads", "1",
                                        "--no-nanny", "--no-dashboard", "--death-timeout", "30",
                                        "--local-directory", str(self.folder / "scratch")))

    def ensure(self, n_workers: int = 2) -> None:
        """A live scheduler with exactly `n_workers` live workers of this cluster."""
        if self.scheduler is None or self.scheduler.poll() is not None:
            self.stop()                                  # workers of a dead scheduler
            self.start_scheduler()
        self.workers = [w for w in self.workers if w.poll() is None]
        while len(self.workers) < n_workers:
            self.start_worker()
        mine = {w.pid for w in self.workers}
        with distributed.Client(self.address, timeout="20s") as client:
            _wait_until(lambda: set(self.worker_pids(client).values()) == mine, START_S,
                        f"{n_workers} workers")

    @staticmethod
    def worker_pids(client: distributed.Client) -> dict[str, int]:
        """Worker address -> pid, as the scheduler knows them."""
        return client.run(os.getpid)

    def stop(self) -> None:
        for proc in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            _stop(proc)
        self.workers, self.scheduler = [], None


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleCluster]:
    cluster = ScaleCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.ensure(2)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def jobs2_table(jobs2_run: Path) -> pd.DataFrame:
    """`nnspec run d/spec.spec --jobs 2`'s trials.csv: the table every cluster must give."""
    return _table(jobs2_run)


def _nnspec(cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """`nnspec run d/spec.spec ARGS --quiet` in a new process in `cwd` (the client)."""
    return subprocess.run([sys.executable, "-m", "runtime", "run", "d/spec.spec", "--quiet",
                           *args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _table(out: Path) -> pd.DataFrame:
    table = pd.read_csv(out / "trials.csv", dtype={"error": str})
    return stable(table).drop(columns=["attempts"])


def _stored(out: Path) -> list[tuple[int, str]]:
    """The (run_id, state) of each trial in the run's store, read as another process would."""
    path = out / "store.sqlite"
    if not path.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                timeout=5)) as db:
            return db.execute("SELECT run_id, state FROM trials").fetchall()
    except sqlite3.Error:                   # being created: nothing stored yet
        return []


def _start_run(cwd: Path, out: Path, address: str) -> subprocess.Popen:
    """`nnspec run --scheduler ADDRESS` in a new process, giving up on a lost scheduler after
    2 s instead of 10 (the time a client waits to reconnect)."""
    code = ("import sys; from runtime.execution import cluster; cluster.SCHEDULER_TIMEOUT = '2s'; "
            "from runtime.cli.command import entry; sys.argv[0] = 'nnspec'; entry()")
    return subprocess.Popen([sys.executable, "-c", code, "run", "d/spec.spec", "--quiet",
                             "--scheduler", address, "--out", str(out)],
                            cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(run: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = run.communicate(timeout=RUN_S)
    finally:
        _stop(run)
    return run.returncode, out, err


def test_workers_in_other_folders_give_the_jobs_table(dask_cluster, client_dir, jobs2_table,
                                                      tmp_path):
    """The spec's data path is relative to the client's folder; the workers start elsewhere
    and read no file: the client ships the data. Without that, every trial would fail."""
    dask_cluster.ensure(2)
    out = tmp_path / "dask"
    done = _nnspec(client_dir, "--scheduler", dask_cluster.address, "--out", str(out),
                   timeout=RUN_S)
    assert done.returncode == 0, done.stderr
    assert "test (scored once)" in done.stdout
    remote = _table(out)
    assert set(remote["state"]) == {"complete"} and len(remote) == TRIALS
    pd.testing.assert_frame_equal(remote, jobs2_table)
    for home in dask_cluster.folder.glob("p*/"):       # the workers' folders stay empty
        assert not list(home.iterdir())


def test_a_worker_killed_mid_trial_has_its_trial_retried(dask_cluster, client_dir, jobs2_table,
                                                         tmp_path):
    dask_cluster.ensure(2)
    out = tmp_path / "dask"
    run = _start_run(client_dir, out, dask_cluster.address)
    try:
        with distributed.Client(dask_cluster.address, timeout="20s") as client:
            def busy_worker() -> int | None:
                assert run.poll() is None, "the run ended before a worker could be killed"
                if not _stored(out):
                    return None                   # the run has not got going yet
                pids = dask_cluster.worker_pids(client)
                busy = [pids[addr] for addr, tasks in client.processing().items() if tasks]
                return busy[0] if busy else None
            _wait_until(lambda: busy_worker() is not None, RUN_S, "a trial in flight")
            victim = busy_worker()
            assert victim in {w.pid for w in dask_cluster.workers}
            os.kill(victim, signal.SIGKILL)             # mid-trial: its task is lost with it
            trained = len(_stored(out))
        status, _, err = _finish(run)
    finally:
        _stop(run)
    assert status == 0, err
    assert trained < TRIALS                             # the kill came before the end
    pd.testing.assert_frame_equal(_table(out), jobs2_table)


def test_a_scheduler_killed_mid_run_ends_it_cleanly_and_a_new_run_resumes(
        dask_cluster, client_dir, jobs2_table, tmp_path):
    dask_cluster.ensure(2)
    out = tmp_path / "dask"
    run = _start_run(client_dir, out, dask_cluster.address)
    try:
        def started() -> bool:
            assert run.poll() is None, "the run ended before the scheduler could be killed"
            return bool(_stored(out))
        _wait_until(started, RUN_S, "a first trial stored")
        assert dask_cluster.scheduler is not None
        os.kill(dask_cluster.scheduler.pid, signal.SIGKILL)
        status, _, err = _finish(run)
    finally:
        _stop(run)
    assert status == 1
    assert "Traceback" not in err, err
    assert err.startswith("lost the Dask") and "resume" in err, err    # no Dask log before it
    kept = _stored(out)
    assert 0 < len(kept) < TRIALS and {state for _, state in kept} == {"complete"}

    dask_cluster.ensure(2)                              # a new scheduler and workers
    again = _nnspec(client_dir, "--scheduler", dask_cluster.address, "--out", str(out),
                    timeout=RUN_S)
    assert again.returncode == 0, again.stderr
    by_run = pd.Series([run_id for run_id, _ in _stored(out)]).value_counts().to_dict()
    assert by_run == {1: len(kept), 2: TRIALS - len(kept)}     # only the missing trained
    pd.testing.assert_frame_equal(_table(out), jobs2_table)


def test_runtime_run_takes_a_client(dask_cluster, client_dir, jobs2_table, tmp_path,
                                    monkeypatch):
    """A `distributed.Client` of the caller's (an address string is what `--scheduler` hands
    `runtime.run`: the tests above), kept open after the run."""
    from runtime.errors import NnspecError
    dask_cluster.ensure(2)
    monkeypatch.chdir(client_dir)
    with distributed.Client(dask_cluster.address, timeout="20s") as client:
        table = runtime.run("d/spec.spec", out=tmp_path / "client", client=client)
        assert client.status == "running"
    expected = jobs2_table.assign(error=jobs2_table["error"].fillna(""))
    pd.testing.assert_frame_equal(stable(table).drop(columns=["attempts"]), expected,
                                  check_dtype=False)
    with pytest.raises(NnspecError, match="tcp:// or tls://"):
        runtime.run("d/spec.spec", out=tmp_path / "c", client="http://127.0.0.1:8786")
    with pytest.raises(NnspecError, match="not both"):
        runtime.run("d/spec.spec", out=tmp_path / "c", client=dask_cluster.address,
                    cluster="local:1")


def test_a_local_cluster_gives_the_jobs_table(client_dir, jobs2_table, tmp_path):
    out = tmp_path / "local2"
    done = _nnspec(client_dir, "--cluster", "local:2", "--out", str(out), timeout=RUN_S)
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(_table(out), jobs2_table)


def test_an_unreachable_scheduler_is_a_clear_error(tiny_spec, tmp_path, capsys, monkeypatch):
    import socket
    from runtime.cli.command import main
    from runtime.execution import cluster
    monkeypatch.setattr(cluster, "SCHEDULER_TIMEOUT", "1s")
    with socket.socket() as sock:           # a free port on loopback, nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status = main(["run", str(tiny_spec), "--out", str(tmp_path), "--quiet",
                   "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert status == 1
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_a_cluster_without_workers_is_a_clear_error_not_a_hang(tiny_spec, tmp_path,
                                                               monkeypatch):
    from runtime.errors import NnspecError
    from runtime.execution import executor
    monkeypatch.setattr(executor, "NO_WORKERS_S", 1.0)
    monkeypatch.setattr(executor, "DASK_CHECK_S", 0.2)
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=":0",
                                  processes=True) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(NnspecError, match="no worker for 1 s"):
            runtime.run(tiny_spec, out=tmp_path, client=client)


@pytest.mark.parametrize("option, bad, expected", [
    ("--cluster", "local:0", "local:N"),
    ("--cluster", "cluster:2", "local:N"),
    ("--cluster", "local:x", "local:N"),
    ("--scheduler", "local:2", "--cluster local:N"),
    ("--scheduler", "127.0.0.1", "HOST:PORT"),
    ("--scheduler", "http://127.0.0.1:8786", "tcp:// or tls://"),
    ("--scheduler", "tcp://127.0.0.1:70000", "PORT from 1 to 65535"),
])
def test_a_malformed_address_is_one_line_and_exit_2(tiny_spec, tmp_path, capsys, option, bad,
                                                    expected):
    from runtime.cli.command import main
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(tiny_spec), "--out", str(tmp_path / "never"), option, bad])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"nnspec run: error: argument {option}: ")
    assert expected in errors[0] and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "never").exists()            # refused before anything was made


KILLER_SPEC = """experiment killer
data digits
network
    dense 256 relu
train
    sgd lr 0.01 momentum 0.9
    batch 16
    epochs $epochs early_stop off
search grid
    epochs in 400, 4
seeds 1
"""


def test_a_trial_that_kills_its_worker_every_time_is_a_failed_row(tmp_path):
    """With no failure allowed, the trial whose worker is killed mid-training ends in Dask's
    KilledWorker: a failed row saying so, and the run goes on (never a traceback)."""
    import threading

    import dask
    spec = tmp_path / "killer.spec"
    spec.write_text(KILLER_SPEC)
    killed: list[int] = []
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address="127.0.0.1:0") \
            as cluster, distributed.Client(cluster) as client:
        def kill_the_first_trial() -> None:
            deadline = time.monotonic() + RUN_S
            while time.monotonic() < deadline and not killed:
                if any(client.processing().values()):
                    time.sleep(0.5)         # well inside the first trial's 400 epochs: it
                    # is still in flight (killed just after it finished, it is recomputed)
                    pid = next(iter(client.run(os.getpid).values()))
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.05)
        watcher = threading.Thread(target=kill_the_first_trial, daemon=True)
        watcher.start()
        table = runtime.run(spec, out=tmp_path / "out", client=client)
        watcher.join(RUN_S)
    assert killed, "no trial was in flight to kill"
    failed = table[table["state"] == "failed"]
    assert len(failed) == 1 and failed["error"].iloc[0].startswith("KilledWorker")
    assert failed["param_epochs"].iloc[0] == 400
    assert (table["state"] == "complete").sum() == 1        # the other trial still trained


@pytest.mark.parametrize("strategy", ["asha 9 eta 3", "hyperband eta 3 min_fidelity 0.2"])
def test_asynchronous_strategies_run_on_a_cluster(strategy, dask_cluster, tmp_path):
    """ASHA and Hyperband on the real cluster: every rung reached, each row trained once."""
    from spec_lang import loads
    dask_cluster.ensure(2)
    spec = loads("data iris\nnetwork\n    dense 8 tanh\ntrain\n    sgd lr $lr\n"
                 "    epochs 9 early_stop off\n"
                 f"search {strategy}\n    lr ~ log_uniform 1e-3 .. 1\nseeds 1\n")
    table = runtime.run(spec, out=tmp_path / "async", client=dask_cluster.address)
    assert table["fidelity"].max() == 1.0 and table["fidelity"].nunique() >= 2
    assert (table["attempts"] == 1).all() and not table.duplicated(["trial", "seed"]).any()
