"""The run store: one SQLite file per run folder; every finished trial row is committed before
it is reported, so a killed run resumes where it stopped."""
from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from runtime.errors import NnspecError

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,          -- hash of (bound config, seed, fold, outer, fidelity)
    row TEXT NOT NULL,             -- the results-table row, JSON
    curves TEXT NOT NULL,          -- per-epoch curves, JSON
    finished REAL NOT NULL         -- unix time
);
"""


def json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: store them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class RunStore:
    """Finished trials keyed by what determines them; safe to reopen after a crash."""

    def __init__(self, path: Path | str, readonly: bool = False) -> None:
        """Open (creating it and its folder) the store at `path`; with `readonly`, open an
        existing store for reading only: writes raise sqlite3.OperationalError, and a missing
        file is an NnspecError."""
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            self.db = self._open_readonly()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def _open_readonly(self) -> sqlite3.Connection:
        """A read-only connection; the path goes through as_uri() so that '#', '?' or '%' in a
        folder name cannot cut the URI short (and open another, writable file)."""
        if not self.path.is_file():
            raise NnspecError(f"{self.path}: no run store here (no such file)")
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored row of a finished trial, or None."""
        found = self.db.execute("SELECT row FROM trials WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def put(self, key: str, row: dict[str, Any], curves: dict[str, list[float]]) -> None:
        """Commit one finished trial (replacing an older row under the same key)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO trials VALUES (?, ?, ?, ?)",
                            (key, json.dumps(json_safe(row)), json.dumps(json_safe(curves)),
                             time.time()))

    def items(self) -> Iterator[tuple[str, dict[str, Any], dict[str, list[float]]]]:
        """Every stored (key, row, curves), in the order they finished."""
        query = "SELECT key, row, curves FROM trials ORDER BY finished, rowid"
        for key, row, curves in self.db.execute(query):
            yield key, json.loads(row), json.loads(curves)

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]

    def close(self) -> None:
        self.db.close()
