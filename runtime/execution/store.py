"""The run store: one SQLite file per run folder, a record people can query.

Tables (schema version `SCHEMA_VERSION`, kept in `meta`):
  runs     one row per `nnspec run` on this folder: the spec as run, its digest, the versions of
           nnspec, Python, NumPy and scikit-learn, the host, start and end times and the status
           (running / finished / failed; a `running` row whose process is gone was interrupted)
  trials   one row per trained (configuration, seed, fold, fidelity), keyed by the content that
           determines its result (`runtime.execution.keys`), with a real column per field of the
           results table (`param_<name>` and `valid_<metric>` columns are added as they appear),
           so `pandas.read_sql("SELECT * FROM trials", con)` is the trials table; `attempts`
           counts how often it was trained (a failed trial is trained again on the next run)
  curves   the per-epoch curves of a trial, JSON, by key
  claims   trials being trained now: owner and lease expiry; a process renews its leases while
           it lives (`Lease`), so a dead process's claims expire and another trains them

Every finished trial is committed before it is reported: a killed run resumes where it stopped.
WAL and a busy timeout let several processes share one store.
"""
from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from runtime.errors import NnspecError, StorageError
from runtime.execution.artifacts import process_alive
from runtime.execution.store_schema import (BOOKKEEPING, FIELDS,
                                            FOREIGN_ADVICE, TABLES, curves_problem,
                                            curves_of, reported, row_problem,
                                            store_error)
from runtime.types import CACHED_STATES

SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 60.0          # how long a writer waits for another process's transaction
LEASE_S = 30.0                 # a claim lives this long unless its owner renews it

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, spec TEXT NOT NULL, digest TEXT NOT NULL, data_digest TEXT,
    nnspec TEXT, python TEXT, numpy TEXT, sklearn TEXT, host TEXT, pid INTEGER,
    started REAL NOT NULL, finished REAL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY, run_id INTEGER, attempts INTEGER NOT NULL DEFAULT 1,
    finished REAL NOT NULL, {", ".join(f"{name} {kind}" for name, kind in FIELDS.items())}
);
CREATE TABLE IF NOT EXISTS curves (key TEXT PRIMARY KEY, curves TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL,
                                   expires REAL NOT NULL);
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


def owner_id() -> str:
    """This process, as a claim owner: host and pid (a dead pid on this host frees its claims)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _cannot_write(folder: Path) -> bool:
    """Whether nothing can be written in `folder`: read-only, or on a disk with no space."""
    try:
        return not os.access(folder, os.W_OK) or os.statvfs(folder).f_bavail == 0
    except OSError:
        return True


def _owner_alive(owner: str) -> bool:
    """False only when the owner is a process of this host that no longer exists."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True                       # another machine: only its lease can tell
    return process_alive(int(pid))


class RunStore:
    """Finished trials keyed by what determines them; safe to reopen after a crash and to share
    between processes."""

    def __init__(self, path: Path | str, readonly: bool = False) -> None:
        """Open (creating it and its folder) the store at `path`; with `readonly`, open an
        existing store for reading only. A store of another schema version, a file that is not
        a store, or a folder that cannot be written is an NnspecError saying so."""
        self.path = Path(path)
        self.readonly = readonly
        try:
            self.db = self._open_readonly() if readonly else self._open_writable()
            self._check_version()
            self._columns = self._trial_columns()
            # Rows that no run of nnspec writes (a value out of its range or of the wrong
            # type, curves that are not JSON: an edited or damaged store) are trained again.
            self.dropped = [] if readonly else self._drop_invalid()
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, "read" if readonly else "write") from None

    def _open_writable(self) -> sqlite3.Connection:
        """Open or create the store; the schema is created only in a file that has no tables,
        so a store of another version is reported, never silently mixed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives
            # a killed process (what resume relies on), only an OS crash may lose the last
            # few; per-trial commits cost ~0.1 ms instead of a few (many short trials).
            db.execute("PRAGMA synchronous=NORMAL")
            with db:
                db.execute("BEGIN IMMEDIATE")         # two processes creating it: one wins
                if not db.execute("SELECT name FROM sqlite_master").fetchall():
                    for statement in filter(str.strip, SCHEMA.split(";")):
                        db.execute(statement)         # (executescript would commit first)
                    db.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                               (str(SCHEMA_VERSION),))
        except OSError as exc:
            reason = "a file of its name is in the way" if isinstance(exc, FileExistsError) \
                else exc.strerror or str(exc)
            raise StorageError(f"{self.path.parent}: cannot make the run store's folder "
                               f"({reason})") from None
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, "open") from None
        return db

    def _open_readonly(self) -> sqlite3.Connection:
        """A read-only connection; the path goes through as_uri() so that '#', '?' or '%' in a
        folder name cannot cut the URI short (and open another, writable file)."""
        if not self.path.is_file():
            raise NnspecError(f"{self.path}: no run store here (no such file)")
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            db.execute("SELECT name FROM sqlite_master").fetchall()
        except sqlite3.OperationalError:
            # A WAL store on a read-only or full disk: reading needs its -shm file, which
            # cannot be made there. No process can write it either, so it is read as immutable.
            if not _cannot_write(self.path.parent):
                raise
            db.close()
            db = sqlite3.connect(uri + "&immutable=1", uri=True, timeout=BUSY_TIMEOUT_S)
        return db

    def _check_version(self) -> None:
        try:
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
            found = self.db.execute("SELECT value FROM meta WHERE name = 'schema_version'"
                                    ).fetchone() if "meta" in tables else \
                (("1",) if "trials" in tables else None)    # version 1 had no meta table
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, "read") from None
        if found is None or found[0] != str(SCHEMA_VERSION):
            version = "none" if found is None else found[0]
            raise NnspecError(f"{self.path}: a run store of schema version {version}, this "
                              f"nnspec reads version {SCHEMA_VERSION}; run with --fresh to "
                              "start it anew (its trials are retrained)")
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise NnspecError(f"{self.path}: not a run store of this nnspec (its table"
                              f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                              f"{'are' if len(missing) > 1 else 'is'} missing); {FOREIGN_ADVICE}")

    def _drop_invalid(self) -> list[str]:
        """Delete the trials whose stored row or curves could not have been written by a run
        (`row_problem`); what was wrong with each, for the run's notes."""
        dropped: list[tuple[str, str]] = []
        cursor = self.db.execute("SELECT trials.*, curves.curves AS curves_json FROM trials "
                                 "LEFT JOIN curves USING (key)")
        names = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values))
            curves = row.pop("curves_json")
            problem = row_problem(row) or curves_problem(curves)
            if problem:
                dropped.append((row["key"], problem))
        if dropped:
            with self.db:
                for key, _ in dropped:
                    self.db.execute("DELETE FROM trials WHERE key = ?", (key,))
                    self.db.execute("DELETE FROM curves WHERE key = ?", (key,))
        return [f"trial {key[:12]}: {problem}" for key, problem in dropped]

    def _trial_columns(self) -> list[str]:
        return [row[1] for row in self.db.execute("PRAGMA table_info(trials)")]

    # --------------------------------------------------------------------------- runs
    @reported("write")
    def begin_run(self, provenance: dict[str, Any]) -> int:
        """Record a run starting now; its id."""
        fields = {"host": socket.gethostname(), **provenance, "pid": os.getpid(),
                  "started": time.time(), "status": "running"}
        with self.db:
            cursor = self.db.execute(
                f"INSERT INTO runs ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                list(fields.values()))
        return int(cursor.lastrowid or 0)

    @reported("write")
    def end_run(self, run_id: int, status: str) -> None:
        """Record how run `run_id` ended (finished / failed)."""
        with self.db:
            self.db.execute("UPDATE runs SET finished = ?, status = ? WHERE id = ?",
                            (time.time(), status, run_id))

    @reported("read")
    def runs(self) -> list[dict[str, Any]]:
        """Every run recorded, oldest first; a `running` one whose process is gone on this host
        reads `interrupted`."""
        cursor = self.db.execute("SELECT * FROM runs ORDER BY id")
        names = [d[0] for d in cursor.description]
        out = [dict(zip(names, row)) for row in cursor]
        for run in out:
            if run["status"] == "running" and not _owner_alive(f"{run['host']}:{run['pid']}"):
                run["status"] = "interrupted"
        return out

    # --------------------------------------------------------------------------- trials
    @reported("read")
    def get(self, key: str) -> dict[str, Any] | None:
        """The stored row of a finished trial (None fields left out), or None."""
        cursor = self.db.execute("SELECT * FROM trials WHERE key = ?", (key,))
        found = cursor.fetchone()
        if found is None:
            return None
        names = [d[0] for d in cursor.description]
        return {n: v for n, v in zip(names, found) if v is not None and n not in
                ("key", "run_id", "finished")}

    def cached(self, key: str) -> dict[str, Any] | None:
        """The stored row when its outcome is deterministic (not `failed`), else None."""
        row = self.get(key)
        return row if row is not None and row.get("state") in CACHED_STATES else None

    @reported("write")
    def put(self, key: str, row: dict[str, Any], curves: dict[str, list[float]],
            run_id: int | None = None) -> int:
        """Commit one finished trial; a key trained before is replaced and its `attempts`
        counted up. Returns the attempts so far."""
        values = {k: v for k, v in json_safe(row).items() if k not in BOOKKEEPING}
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")       # columns and row in one transaction
            self._add_columns(values)
            names = list(values)
            update = ", ".join(f'"{n}" = excluded."{n}"' for n in names)
            self.db.execute(
                f'INSERT INTO trials (key, run_id, finished, {", ".join(map(_quote, names))}) '
                f'VALUES (?, ?, ?, {", ".join("?" * len(names))}) ON CONFLICT(key) DO UPDATE '
                f'SET {update}, run_id = excluded.run_id, finished = excluded.finished, '
                f'attempts = attempts + 1',
                [key, run_id, time.time(), *(_plain(values[n]) for n in names)])
            self.db.execute("INSERT OR REPLACE INTO curves VALUES (?, ?)",
                            (key, json.dumps(json_safe(curves))))
            self.db.execute("DELETE FROM claims WHERE key = ?", (key,))
        return int(self.db.execute("SELECT attempts FROM trials WHERE key = ?",
                                   (key,)).fetchone()[0])

    def _add_columns(self, values: dict[str, Any]) -> None:
        """Add the columns `values` needs (another process may have added some already)."""
        if all(name in self._columns for name in values):
            return
        self._columns = self._trial_columns()
        for name in values:
            if name not in self._columns:
                self.db.execute(f"ALTER TABLE trials ADD COLUMN {_quote(name)}")
                self._columns.append(name)

    @reported("read")
    def items(self) -> list[tuple[str, dict[str, Any], dict[str, list[float]]]]:
        """Every stored (key, row, curves), in the order they finished."""
        return [(key, self.get(key) or {}, curves_of(curves)) for key, curves in self.db.execute(
                "SELECT trials.key, curves.curves FROM trials LEFT JOIN curves USING (key) "
                "ORDER BY trials.finished, trials.rowid").fetchall()]

    @reported("read")
    def curves(self, key: str) -> dict[str, list[float]]:
        """The stored per-epoch curves of trial `key` ({} when none)."""
        found = self.db.execute("SELECT curves FROM curves WHERE key = ?", (key,)).fetchone()
        return curves_of(found[0]) if found else {}

    @reported("read")
    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    # --------------------------------------------------------------------------- claims
    @reported("write")
    def claim(self, key: str, owner: str, since: float) -> str:
        """Try to take the trial `key` for `owner`, in one transaction with the check of its
        result, so that no two processes train it: "done" when its result is stored (a cached
        outcome, or any outcome finished at or after `since`, the caller's start), "held" when
        another live owner trains it now, "mine" when it is now `owner`'s to train. An expired
        lease, or one whose owner process is gone, is taken over."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")          # one claimant at a time
            found = self.db.execute("SELECT state, finished FROM trials WHERE key = ?",
                                    (key,)).fetchone()
            if found and (found[0] in CACHED_STATES or found[1] >= since):
                return "done"
            held = self.db.execute("SELECT owner, expires FROM claims WHERE key = ?",
                                   (key,)).fetchone()
            if held and held[0] != owner and held[1] > now and _owner_alive(held[0]):
                return "held"
            self.db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)",
                            (key, owner, now + LEASE_S))
        return "mine"

    @reported("write")
    def release(self, owner: str) -> None:
        """Drop every claim of `owner` (its run ends)."""
        with self.db:
            self.db.execute("DELETE FROM claims WHERE owner = ?", (owner,))

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


class Lease(threading.Thread):
    """Renews `owner`'s claims in `path` every third of a lease, on its own connection, until
    stopped: a live process keeps its trials; a killed one stops renewing and they expire."""

    def __init__(self, path: Path, owner: str) -> None:
        super().__init__(name="nnspec-lease", daemon=True)
        self.path, self.owner = path, owner
        self.stopped = threading.Event()

    def run(self) -> None:
        """Renew until stopped (a transient lock error waits for the next round)."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            while not self.stopped.wait(LEASE_S / 3):
                try:
                    with db:
                        db.execute("UPDATE claims SET expires = ? WHERE owner = ?",
                                   (time.time() + LEASE_S, self.owner))
                except sqlite3.OperationalError:
                    continue
        finally:
            db.close()

    def stop(self) -> None:
        """Stop renewing and wait for the thread."""
        self.stopped.set()
        self.join()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _plain(value: Any) -> Any:
    """A value SQLite stores as itself (numpy scalars to Python, anything else to JSON text)."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value)
