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
