"""`--cluster slurm:2` on a real Slurm: a one-node cluster on this machine (munged, slurmctld,
slurmd: `onenode_slurm`), started and stopped here by their pids. The run's table and best.json
equal `--jobs 2`'s; a worker job cancelled with `scancel` mid-run costs no finished trial and
trains none twice. Skipped only where Slurm cannot run (never in CI: NNSPEC_REQUIRE_SLURM)."""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest

import runtime

from ..conftest import stable
from .onenode_slurm import ACTIVE, REQUIRE, OneNodeSlurm, why_not
from .test_distributed import RUN_S, TRIALS, _env, _table, _wait_until

WATCH_S = 0.2        # how often the runs here look at their jobs (the default 2 s: see below)

pytest.importorskip("dask_jobqueue")


def _start_run(client_dir: Path, out: Path, slurm: OneNodeSlurm, *extra: str
               ) -> "subprocess.Popen[str]":
    """`nnspec run d/spec.spec --cluster slurm:2` from the client's folder, in the background."""
    return subprocess.Popen([sys.executable, "-m", "runtime", "run", "d/spec.spec", *extra,
                             "--out", str(out), "--cluster", "slurm:2", "--cluster-option",
                             "interface=lo", "--cluster-option", "memory=500MB"],
                            cwd=client_dir, env={**_env(), "SLURM_CONF": str(slurm.conf),
                                                 "NNSPEC_BATCH_WATCH_S": str(WATCH_S)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneNodeSlurm]:
    reason = why_not()
    if reason:
        if os.environ.get(REQUIRE):
            pytest.fail(f"{REQUIRE} is set, but {reason}")
        pytest.skip(reason)
    cluster = OneNodeSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def jobs2(jobs2_run: Path) -> Path:
    return jobs2_run


def _nnspec(cwd: Path, slurm: OneNodeSlurm, *args: str) -> subprocess.CompletedProcess:
    """`nnspec run d/spec.spec ARGS` in `cwd`, the Slurm commands it runs on `slurm`'s."""
    env = {**_env(), "SLURM_CONF": str(slurm.conf)}
    return subprocess.run([sys.executable, "-m", "runtime", "run", "d/spec.spec", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_S)


def _best(out: Path) -> dict:
    best = json.loads((out / "best.json").read_text())
    best.pop("run_id")
    return best


def _rows(out: Path) -> dict[str, tuple]:
    """key -> (run_id, attempts, finished, duration_s) of each trial stored, read as another
    process would (a trial trained again would be stored again: new time, new duration)."""
    path = out / "store.sqlite"
    if not path.exists():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                timeout=5)) as db:
            return {key: rest for key, *rest in db.execute(
                "SELECT key, run_id, attempts, finished, duration_s FROM trials")}
    except sqlite3.Error:
        return {}


def test_slurm_2_gives_the_jobs_2_table_and_cancels_its_jobs(slurm, client_dir, jobs2,
                                                             tmp_path):
    out = tmp_path / "slurm"
    done = _nnspec(client_dir, slurm, "--cluster", "slurm:2", "--cluster-option",
                   "interface=lo", "--cluster-option", "memory=500MB", "--out", str(out))
    assert done.returncode == 0, done.stderr + done.stdout
    pd.testing.assert_frame_equal(_table(out), _table(jobs2))
    assert _best(out) == _best(jobs2)
    said = done.stdout + done.stderr
    assert "submitted 2 Slurm worker jobs" in said and "cancelled the Slurm worker jobs" in said
    assert "Traceback" not in said
    assert sorted((out / "workers").glob("dask-worker-*.err"))      # the jobs' own output
    _wait_until(lambda: not slurm.jobs(ACTIVE), 30, "the run's jobs to be gone")


def test_a_worker_job_cancelled_mid_run_costs_no_finished_trial(slurm, client_dir, jobs2,
                                                                 tmp_path):
    out = tmp_path / "slurm"
    run = _start_run(client_dir, out, slurm)
    joined: dict[str, float] = {}

    def seen_by_the_run(job: str) -> bool:
        # its worker registered (its own log says so) a few looks of the run's watch ago: a
        # job cancelled sooner would be gone before the run could say where its worker ran
        log = out / "workers" / f"dask-worker-{job}.err"
        if job not in joined and log.exists() and \
                "Registered to" in log.read_text("utf-8", "replace"):
            joined[job] = time.monotonic()
        return job in joined and time.monotonic() - joined[job] > 3 * WATCH_S
    try:
        def started() -> bool:
            assert run.poll() is None, "the run ended before a job could be cancelled"
            jobs = slurm.jobs()
            return bool(_rows(out)) and len(jobs) == 2 and all(map(seen_by_the_run, jobs))
        _wait_until(started, RUN_S, "a first trial stored, and two workers seen running")
        before = _rows(out)
        victim = slurm.jobs()[0]
        slurm.run("scancel", victim)
        output, errors = run.communicate(timeout=RUN_S)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)
    assert run.returncode == 0, errors
    assert len(before) < TRIALS                          # cancelled mid-run
    after = _rows(out)
    assert len(after) == TRIALS
    assert {key: after[key] for key in before} == before      # none trained again
    assert {(run_id, attempts) for run_id, attempts, *_ in after.values()} == {(1, 1)}
    pd.testing.assert_frame_equal(_table(out), _table(jobs2))
    said = output + errors
    assert f"Slurm job {victim} lost its worker" in said and "Traceback" not in said, said
    assert f"job {victim} on 127.0.0.1" in said          # where each worker runs
    deadline = time.monotonic() + 30
    while slurm.jobs(ACTIVE) and time.monotonic() < deadline:    # every job cancelled
        time.sleep(0.5)
    assert not slurm.jobs(ACTIVE)


def test_a_job_slurm_refuses_is_one_line_naming_the_options(slurm, tiny_spec, tmp_path):
    done = subprocess.run([sys.executable, "-m", "runtime", "run", str(tiny_spec), "--quiet",
                           "--out", str(tmp_path / "out"), "--cluster", "slurm:2",
                           "--cluster-option", "queue=nosuch"], cwd=tmp_path,
                          env={**_env(), "SLURM_CONF": str(slurm.conf)}, capture_output=True,
                          text=True, timeout=RUN_S)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(err) == 1, done.stderr
    assert err[0].startswith("Slurm refused the workers' job (sbatch: error: ")
    assert "invalid partition" in err[0] and "--cluster-option queue" in err[0]
    assert not slurm.jobs(ACTIVE)


def test_runtime_run_takes_slurm_with_the_options_of_nnspec_toml(slurm, tiny_spec, tmp_path,
                                                                 monkeypatch):
    """The Python path: `cluster="slurm:1"`, its options from ./nnspec.toml (the user's
    config folder moved to tmp_path), the jobs' output in the run folder."""
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nnspec.toml").write_text('[cluster]\ninterface = "lo"\nmemory = "500MB"\n'
                                          'walltime = "00:20:00"\n')
    said: list[str] = []
    table = runtime.run(tiny_spec, out=tmp_path / "run", cluster="slurm:1",
                        progress=lambda event: said.append(str(event.get("message", ""))))
    local = runtime.run(tiny_spec, out=tmp_path / "local", jobs=1)
    pd.testing.assert_frame_equal(stable(table), stable(local))
    started = next(m for m in said if m.startswith("submitted 1 Slurm worker jobs"))
    assert "walltime 00:20:00, memory 500MB" in started
    assert list((tmp_path / "run" / "workers").glob("dask-worker-*.out"))
    assert any(m.startswith("cancelled the Slurm worker jobs") for m in said)
    assert not slurm.jobs(ACTIVE)


def test_an_interrupted_run_cancels_its_jobs(slurm, client_dir, tmp_path):
    """SIGTERM (a batch system's or a person's stop) mid-run: exit 143, every job cancelled."""
    import signal
    out = tmp_path / "slurm"
    run = _start_run(client_dir, out, slurm, "--quiet")
    try:
        def running() -> bool:
            assert run.poll() is None, "the run ended before it could be interrupted"
            return len(slurm.jobs()) == 2 and bool(_rows(out))
        _wait_until(running, RUN_S, "two jobs running and a trial stored")
        run.send_signal(signal.SIGTERM)
        _, errors = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)
    assert run.returncode == 143, errors
    assert "terminated: finished trials are stored" in errors and "Traceback" not in errors
    _wait_until(lambda: not slurm.jobs(ACTIVE), 30, "the jobs to be cancelled")
