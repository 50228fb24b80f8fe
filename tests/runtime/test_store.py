"""The SQLite run store: rows survive reopening; NaN and inf become null."""
from __future__ import annotations

import math

from runtime.store import RunStore


def test_rows_and_curves_survive_reopening(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    store.put("k1", {"trial": 0, "valid_loss": 0.5}, {"valid_loss": [1.0, 0.5]})
    store.put("k2", {"trial": 1, "valid_loss": math.nan}, {"train_loss": [math.inf]})
    store.close()
    again = RunStore(tmp_path / "s.sqlite")
    assert again.get("k1") == {"trial": 0, "valid_loss": 0.5}
    assert again.get("k2") == {"trial": 1, "valid_loss": None}
    assert again.curves("k1") == {"valid_loss": [1.0, 0.5]}
    assert again.curves("k2") == {"train_loss": [None]}
    assert again.get("missing") is None and len(again) == 2
    assert [r["trial"] for r in again.rows()] == [0, 1]


def test_a_key_written_twice_keeps_the_last_row(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    store.put("k", {"state": "failed"}, {})
    store.put("k", {"state": "complete"}, {})
    assert store.get("k") == {"state": "complete"} and len(store) == 1


def test_meta_values(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    store.set_meta("spec", {"name": "x"})
    assert store.meta("spec") == {"name": "x"} and store.meta("none", 3) == 3
