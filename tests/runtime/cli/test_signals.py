"""`nnspec run` stopped by SIGTERM (what a batch system sends first) ends as Ctrl-C does: one
line, exit 143, the store's run record closed, its workers gone, the finished trials kept."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import TINY

SLOW = TINY.replace("epochs 15 early_stop patience 5", "epochs 400 early_stop off").replace(
    "lr in 0.01, 0.1", "lr in 0.01, 0.02, 0.03, 0.04, 0.05, 0.06").replace(
    "dense 8 tanh", "dense 256 tanh").replace("seeds 2", "seeds 1")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(")")[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _stored(out: Path) -> int:
    """How many trials the run has stored so far (0 before its store exists)."""
    try:
        with sqlite3.connect(f"file:{out / 'store.sqlite'}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])
    except sqlite3.Error:
        return 0


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_stops_the_run_cleanly(tmp_path: Path) -> None:
    spec = tmp_path / "slow.spec"
    spec.write_text(SLOW)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "runtime", "run", str(spec), "--out",
                             str(out), "--jobs", "2", "--quiet"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    try:
        deadline, workers = time.time() + 60, []
        while time.time() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = [p for p in _children(proc.pid)
                       if "loky" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]
        assert workers, "the run started no worker"
        while time.time() < deadline and not _stored(out):
            time.sleep(0.2)
        assert _stored(out), "no trial finished in time"
        os.kill(proc.pid, signal.SIGTERM)                  # others are training now
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == \
        "terminated: finished trials are stored; run again to resume", err
    assert "Traceback" not in err and "leaked" not in err, err
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)
    with sqlite3.connect(out / "store.sqlite") as db:
        status = db.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        claims = db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]
    assert status == ("failed",) and claims == 0
    assert 0 < _stored(out) < 6                             # kept, and the run was cut short


LEAK = """
import os, sys, time
from runtime.cli.command import quiet_resource_tracker
if sys.argv[1] == "quiet":
    quiet_resource_tracker()
from joblib.externals.loky import get_reusable_executor
from joblib.externals.loky.backend.context import get_context

def hold(lock):
    time.sleep(30)

if __name__ == "__main__":
    pool = get_reusable_executor(max_workers=1)
    lock = get_context("loky").Lock()       # shared with the worker: the tracker counts it
    pool.submit(hold, lock)
    time.sleep(1.5)
    pool.shutdown(wait=True, kill_workers=True)      # killed holding it, as a stopped run's
    sys.stderr.flush()
    os._exit(0)
"""


@pytest.mark.parametrize("mode", ["loud", "quiet"])
def test_the_resource_tracker_cleans_up_a_killed_worker_s_semaphores_silently(mode, tmp_path):
    """A worker killed while it shares a semaphore makes loky's resource tracker warn of a
    leak when the process exits (the control, `loud`); the command line's
    `quiet_resource_tracker` keeps that notice from the user (the tracker still unlinks)."""
    script = tmp_path / "leak.py"
    script.write_text(LEAK)
    done = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("leaked semlock" in done.stderr) == (mode == "loud"), done.stderr
