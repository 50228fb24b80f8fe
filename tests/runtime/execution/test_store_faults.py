"""The run store under faults: real SQLite failures (a full database, a read-only connection, a
file that is not a store, missing tables) are one error that says what and where, and a fault
of the disk never advises --fresh (which would delete the trials of an intact store). Rows that
no run writes are trained again instead of trusted."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import runtime
import spec_lang
from runtime.errors import NnspecError, StorageError
from runtime.execution.artifacts import clear_leftovers
from runtime.execution.store import RunStore
from runtime.execution.store_schema import row_problem

from ..conftest import TINY

ROW = {"trial": 0, "seed": 0, "fold": 0, "state": "complete", "fidelity": 1.0,
       "train_loss": 0.3, "valid_loss": 0.4, "valid_error": 0.1, "best_epoch": 3,
       "epochs": 5, "updates": 20, "duration_s": 0.1, "error": ""}


def test_a_full_database_is_a_storage_error_that_keeps_the_store(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "s.sqlite")
    store.put("a", ROW, {"valid_loss": [0.5, 0.4]})
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")       # SQLite's SQLITE_FULL
    with pytest.raises(StorageError) as info:
        store.put("b", {**ROW, "error": "x" * 100_000}, {})
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 's.sqlite'}: cannot write the run store "
                              "(database or disk is full): free space on its disk")
    assert "--fresh" not in message and "intact" in message
    store.close()
    assert RunStore(tmp_path / "s.sqlite").get("a") is not None      # nothing was lost


def test_a_read_only_store_says_so_and_never_suggests_fresh(tmp_path: Path) -> None:
    RunStore(tmp_path / "s.sqlite").put("a", ROW, {})
    store = RunStore(tmp_path / "s.sqlite", readonly=True)
    with pytest.raises(StorageError, match="read-only: make it writable") as info:
        store.end_run(1, "finished")
    assert "--fresh" not in str(info.value)


def test_a_file_that_is_not_a_store_may_be_moved_away_or_started_anew(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_text("not a database " * 500)
    for readonly in (False, True):
        with pytest.raises(NnspecError) as info:
            RunStore(path, readonly=readonly)
        assert not isinstance(info.value, StorageError)
        assert str(info.value) == (f"{path}: not a run store of this nnspec, or a damaged one "
                                   "(file is not a database); move it away, or run with "
                                   "--fresh to start it anew")


def test_a_store_missing_its_tables_names_them(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    RunStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE trials")
        db.execute("DROP TABLE curves")
    with pytest.raises(NnspecError, match=r"its tables trials, curves are missing\); move it"):
        RunStore(path, readonly=True)


@pytest.mark.parametrize("change, problem", [
    ({"valid_error": -5}, "valid_error holds -5, outside [0, 1]"),
    ({"valid_error": "abc"}, "valid_error holds 'abc', not a number"),
    ({"valid_loss": -0.1}, "valid_loss holds -0.1, outside [0, inf]"),
    ({"valid_r2": 1.5}, "valid_r2 holds 1.5, outside [-inf, 1]"),
    ({"state": "great"}, "state 'great' is none of complete, diverged, stalled, pruned, failed"),
    ({"fidelity": 2.0}, "fidelity holds 2, outside [0, 1]"),
    ({"epochs": -1}, "epochs holds -1, outside [0, inf]"),
    ({"error": 3}, "error holds 3, not text"),
])
def test_a_row_no_run_writes_is_named(change: dict, problem: str) -> None:
    assert row_problem(ROW) is None
    assert row_problem({**ROW, "valid_r2": -3.0, "param_act": "relu", "outer": None}) is None
    assert row_problem({**ROW, **change}) == problem


def test_rows_no_run_writes_are_dropped_when_a_run_opens_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = RunStore(path)
    for key in "abc":
        store.put(key, ROW, {"valid_loss": [0.4]})
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE trials SET valid_error = -5 WHERE key = 'a'")
        db.execute("UPDATE curves SET curves = '{not json' WHERE key = 'b'")
    assert RunStore(path, readonly=True).curves("b") == {}     # a reader skips them
    assert len(RunStore(path, readonly=True)) == 3             # and changes nothing
    opened = RunStore(path)
    assert opened.dropped == ["trial a: valid_error holds -5, outside [0, 1]",
                              "trial b: its curves are not JSON"]
    assert [key for key, _, _ in opened.items()] == ["c"]


def test_a_resumed_run_retrains_an_edited_row_instead_of_reporting_it(tmp_path: Path) -> None:
    exp = spec_lang.loads(TINY)
    clean = runtime.run(exp, out=tmp_path / "run", jobs=1).attrs["best"]["valid"]["mean"]
    with sqlite3.connect(tmp_path / "run" / "store.sqlite") as db:
        db.execute("UPDATE trials SET valid_error = -5")
    best = runtime.run(exp, out=tmp_path / "run", jobs=1).attrs["best"]
    assert best["valid"]["mean"] == clean >= 0          # was -5: the edited value, trusted
    assert sum("the store held a row no run writes" in m for m in best["messages"]) == 3
    assert any(m.startswith("... and ") for m in best["messages"])
    saved = json.loads((tmp_path / "run" / "best.json").read_text())
    assert saved["valid"]["mean"] == clean


def test_temporary_files_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "members").mkdir()
    left = [tmp_path / f".summary.csv.{dead}.0badc0de.csv",
            tmp_path / "members" / f".refit-k.npz.{dead}.12345678.npz"]
    live = tmp_path / f".best.json.{os.getpid()}.abcdef01.json"     # this process writes it
    young = tmp_path / f".trials.csv.{dead}.feedbeef.csv"           # a writer elsewhere, now
    keep = tmp_path / ".hidden.txt"                                  # not a temporary name
    for path in [*left, live, young, keep]:
        path.write_text("x")
    old = time.time() - 60
    for path in [*left, live, keep]:
        os.utime(path, (old, old))
    assert sorted(clear_leftovers(tmp_path)) == sorted(left)
    assert all(p.exists() for p in (live, young, keep))
    assert not any(p.exists() for p in left)


def test_a_resume_removes_what_a_kill_in_the_final_phase_left(tmp_path: Path) -> None:
    exp = spec_lang.loads(TINY)
    runtime.run(exp, out=tmp_path / "run", jobs=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftover = tmp_path / "run" / f".summary.csv.{dead}.0badc0de.csv"
    leftover.write_text("trial,mean_valid_error\n")
    os.utime(leftover, (time.time() - 60, time.time() - 60))
    runtime.run(exp, out=tmp_path / "run", jobs=1)
    assert not leftover.exists()


def test_a_run_that_fails_leaves_no_running_folder(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.execution import runner

    def full_disk(out: Path, *args: object) -> None:
        (out / "running").mkdir(exist_ok=True)       # a trial's progress file, still there
        (out / "running" / "k.json").write_text("{}")
        raise StorageError(f"{out / 'trials.csv'}: cannot write it (No space left on device)")

    monkeypatch.setattr(runner, "_write", full_disk)
    with pytest.raises(StorageError, match="No space left"):
        runtime.run(spec_lang.loads(TINY), out=tmp_path / "run", jobs=1)
    assert not (tmp_path / "run" / "running").exists()
    runs = RunStore(tmp_path / "run" / "store.sqlite", readonly=True).runs()
    assert [r["status"] for r in runs] == ["failed"]
