"""The SQLite run store: rows survive reopening; NaN and inf become null; a read-only store
reads but never writes."""
from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from runtime.errors import NnspecError
from runtime.execution.store import RunStore


def test_rows_and_curves_survive_reopening(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    store.put("k1", {"trial": 0, "valid_loss": 0.5}, {"valid_loss": [1.0, 0.5]})
    store.put("k2", {"trial": 1, "valid_loss": math.nan}, {"train_loss": [math.inf]})
    store.close()
    again = RunStore(tmp_path / "s.sqlite")
    assert again.get("k1") == {"trial": 0, "valid_loss": 0.5}
    assert again.get("k2") == {"trial": 1, "valid_loss": None}
    assert list(again.items()) == [
        ("k1", {"trial": 0, "valid_loss": 0.5}, {"valid_loss": [1.0, 0.5]}),
        ("k2", {"trial": 1, "valid_loss": None}, {"train_loss": [None]})]
    assert again.get("missing") is None and len(again) == 2


def test_a_key_written_twice_keeps_the_last_row(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    store.put("k", {"state": "failed"}, {})
    store.put("k", {"state": "complete"}, {})
    assert store.get("k") == {"state": "complete"} and len(store) == 1


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
        ("a", {"trial": 0, "valid_loss": None}, {"valid_loss": [1.0, 0.5]}),
        ("c", {"trial": 2}, {}),
        ("b", {"trial": 1, "state": "complete"}, {"valid_loss": [0.9, 0.4]})]


def test_readonly_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = filled(tmp_path / "s.sqlite")
    store = RunStore(path, readonly=True)
    assert [key for key, _, _ in store.items()] == ["a", "c", "b"]
    assert store.get("c") == {"trial": 2} and len(store) == 3
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.put("d", {"trial": 3}, {})
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
