"""The SQLite run store: rows survive reopening; NaN and inf become null; a read-only store
reads but never writes; real columns, schema versions, claims and leases."""
from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from runtime.errors import NnspecError, StorageError
from runtime.execution.store import RunStore


def test_rows_and_curves_survive_reopening(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    store.put("k1", {"trial": 0, "valid_loss": 0.5}, {"valid_loss": [1.0, 0.5]})
    store.put("k2", {"trial": 1, "valid_loss": math.nan}, {"train_loss": [math.inf]})
    store.close()
    again = RunStore(tmp_path / "s.sqlite")
    assert again.get("k1") == {"trial": 0, "valid_loss": 0.5, "attempts": 1}
    assert again.get("k2") == {"trial": 1, "attempts": 1}       # NaN stored as NULL
    assert list(again.items()) == [
        ("k1", {"trial": 0, "valid_loss": 0.5, "attempts": 1}, {"valid_loss": [1.0, 0.5]}),
        ("k2", {"trial": 1, "attempts": 1}, {"train_loss": [None]})]
    assert again.get("missing") is None and len(again) == 2


def test_a_key_written_twice_keeps_the_last_row_and_counts_attempts(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    assert store.put("k", {"state": "failed", "error": "MemoryError: "}, {}) == 1
    assert store.cached("k") is None                  # a failure is not an outcome to replay
    assert store.put("k", {"state": "complete", "error": ""}, {}) == 2
    assert store.get("k") == {"state": "complete", "error": "", "attempts": 2}
    assert store.cached("k") == store.get("k") and len(store) == 1


def filled(path: Path) -> Path:
    """A store whose keys finish in non-alphabetical order, "b" rewritten last."""
    store = RunStore(path)
    store.put("b", {"trial": 1}, {"valid_loss": [0.9]})
    store.put("a", {"trial": 0, "valid_loss": math.nan}, {"valid_loss": [1.0, 0.5]})
    store.put("c", {"trial": 2}, {})
    store.put("b", {"trial": 1, "state": "complete"}, {"valid_loss": [0.9, 0.4]})
    store.close()
    return path


def test_items_in_finishing_order_with_rows_and_curves(tmp_path: Path) -> None:
    store = RunStore(filled(tmp_path / "s.sqlite"))
    assert list(store.items()) == [
        ("a", {"trial": 0, "attempts": 1}, {"valid_loss": [1.0, 0.5]}),
        ("c", {"trial": 2, "attempts": 1}, {}),
        ("b", {"trial": 1, "state": "complete", "attempts": 2}, {"valid_loss": [0.9, 0.4]})]


def test_readonly_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = filled(tmp_path / "s.sqlite")
    store = RunStore(path, readonly=True)
    assert [key for key, _, _ in store.items()] == ["a", "c", "b"]
    assert store.get("c") == {"trial": 2, "attempts": 1} and len(store) == 3
    with pytest.raises(StorageError, match="cannot write the run store .*read-only") as info:
        store.put("d", {"trial": 3}, {})
    assert "--fresh" not in str(info.value)         # the store is intact: never delete it
    store.close()
    assert len(RunStore(path)) == 3


def test_readonly_path_with_uri_characters(tmp_path: Path) -> None:
    folder = tmp_path / "run #1?x=%20"
    store = RunStore(filled(folder / "s.sqlite"), readonly=True)
    assert len(store) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]   # no stray file


def test_readonly_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "store.sqlite"
    with pytest.raises(NnspecError, match="no run store") as info:
        RunStore(path, readonly=True)
    assert str(path) in str(info.value)
    assert not (tmp_path / "runs").exists()                              # nothing created


def test_the_trials_table_has_real_columns(tmp_path: Path) -> None:
    import pandas as pd
    store = RunStore(tmp_path / "s.sqlite")
    store.put("k", {"trial": 0, "seed": 1, "fold": 0, "state": "complete", "param_lr": 0.01,
                    "param_act": "relu", "valid_loss": 0.3, "valid_error": 0.1}, {"x": [1.0]})
    frame = pd.read_sql("SELECT * FROM trials", store.db)
    assert {"param_lr", "param_act", "valid_error", "state", "attempts"} <= set(frame.columns)
    assert frame.loc[0, "param_act"] == "relu" and frame.loc[0, "valid_error"] == 0.1
    assert pd.read_sql("SELECT * FROM curves", store.db).shape == (1, 2)


def test_runs_record_provenance_and_how_they_ended(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "s.sqlite")
    first = store.begin_run({"spec": "experiment a", "digest": "d1", "nnspec": "0.2.0"})
    store.end_run(first, "finished")
    store.begin_run({"spec": "experiment a", "digest": "d1"})
    runs = store.runs()
    assert [r["status"] for r in runs] == ["finished", "running"]       # this process lives
    assert runs[0]["spec"] == "experiment a" and runs[0]["finished"] >= runs[0]["started"]
    with store.db:
        store.db.execute("UPDATE runs SET pid = 2147483647 WHERE id = 2")  # no such process
    assert store.runs()[1]["status"] == "interrupted"


def test_a_garbage_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    for readonly in (False, True):
        with pytest.raises(NnspecError, match="store.sqlite: .*--fresh"):
            RunStore(path, readonly=readonly)


def test_a_store_of_the_old_schema_is_reported_not_mixed(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE trials (key TEXT PRIMARY KEY, row TEXT, curves TEXT, "
               "finished REAL)")
    db.commit()
    db.close()
    with pytest.raises(NnspecError, match="schema version 1, this nnspec reads version 2"):
        RunStore(path)
    tables = {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"trials"}                                        # left as it was


def test_a_folder_that_cannot_hold_a_store_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "run"
    blocker.write_text("a file where the run folder should be")
    with pytest.raises(StorageError, match="cannot make the run store's folder \\(a file of "
                       "its name is in the way\\)"):
        RunStore(blocker / "store.sqlite")


def test_a_claim_is_exclusive_until_released_by_the_result(tmp_path: Path) -> None:
    import os
    import socket
    store = RunStore(tmp_path / "s.sqlite")
    other = RunStore(tmp_path / "s.sqlite")          # a second process's connection
    me, them = f"{socket.gethostname()}:{os.getpid()}", f"{socket.gethostname()}:{os.getppid()}"
    assert store.claim("k", me, since=0.0) == "mine"
    assert other.claim("k", them, since=0.0) == "held"
    store.put("k", {"state": "failed"}, {})
    assert other.claim("k", them, since=0.0) == "done"       # trained since `since`
    assert other.claim("k", them, since=1e12) == "mine"      # a failure of an earlier run
    store.put("k", {"state": "complete"}, {})
    assert store.claim("k", me, since=1e12) == "done"        # a cached outcome


def test_an_expired_or_orphaned_claim_is_taken_over(tmp_path: Path) -> None:
    import os
    import socket
    store = RunStore(tmp_path / "s.sqlite")
    me = f"{socket.gethostname()}:{os.getpid()}"
    with store.db:
        store.db.execute("INSERT INTO claims VALUES ('expired', 'elsewhere:1', 0)")
        store.db.execute("INSERT INTO claims VALUES ('live', 'elsewhere:1', 1e12)")
        store.db.execute("INSERT INTO claims VALUES ('dead', ?, 1e12)",
                         (f"{socket.gethostname()}:2147483647",))
    assert store.claim("expired", me, since=0.0) == "mine"   # its lease ran out
    assert store.claim("live", me, since=0.0) == "held"      # another host, lease alive
    assert store.claim("dead", me, since=0.0) == "mine"      # its process is gone


def test_a_lease_renews_its_owners_claims(tmp_path: Path, monkeypatch) -> None:
    from runtime.execution import store as store_module
    monkeypatch.setattr(store_module, "LEASE_S", 0.3)
    store = RunStore(tmp_path / "s.sqlite")
    assert store.claim("k", "me:1", since=0.0) == "mine"
    first = store.db.execute("SELECT expires FROM claims").fetchone()[0]
    lease = store_module.Lease(store.path, "me:1")
    lease.start()
    import time
    time.sleep(0.5)
    lease.stop()
    assert store.db.execute("SELECT expires FROM claims").fetchone()[0] > first
