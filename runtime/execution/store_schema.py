"""What the run store holds, checked as it is read back, and its failures told apart.

A stored trial row is trusted only when a run could have written it: its state is one of
nnspec's, each value has its column's type and lies in its range (`row_problem`). An SQLite
failure is a fault of the disk or folder (full, read-only, unreachable: the store is intact,
never a reason to delete it) or a file that is not a store of this nnspec (`store_error`).
"""
from __future__ import annotations

import functools
import json
import math
import sqlite3
from pathlib import Path
from typing import Any, Callable, TypeVar

from runtime.errors import NnspecError, StorageError
from runtime.types import CACHED_STATES, TrialState

TRIAL_STATES = (*CACHED_STATES, TrialState.FAILED)   # in the order its message lists them

# The results-table fields with their SQLite types; param_/valid_ columns are added on demand.
FIELDS = {"trial": "INTEGER", "seed": "INTEGER", "fold": "INTEGER", "outer": "INTEGER",
          "state": "TEXT", "step": "TEXT", "fidelity": "REAL", "train_loss": "REAL",
          "valid_loss": "REAL", "best_epoch": "INTEGER", "epochs": "INTEGER",
          "updates": "INTEGER", "duration_s": "REAL", "error": "TEXT"}
BOOKKEEPING = ("key", "run_id", "attempts", "finished")

# ---------------------------------------------------------------------- what can be stored
TABLES = ("meta", "runs", "trials", "curves", "claims")
NON_NEGATIVE = ("attempts", "best_epoch", "epochs", "updates", "duration_s", "epochs_trained",
                "trial", "seed")
NUMBERS = ("attempts", "finished", "run_id", "epochs_trained")   # columns beyond FIELDS
MEASURED = ("train_", "valid_", "test_", "pretrain_")              # metrics, pre-training errors
# The range of each metric, by the name a column ends with (valid_error, test_r2, train_loss).
METRIC_RANGES = {"error": (0.0, 1.0), "accuracy": (0.0, 1.0), "f1": (0.0, 1.0),
                 "loss": (0.0, math.inf), "mse": (0.0, math.inf), "mae": (0.0, math.inf),
                 "r2": (-math.inf, 1.0)}


def row_problem(row: dict[str, Any]) -> str | None:
    """What makes a stored trial row one that no run writes (None: nothing): a state nnspec
    does not have, a value of the wrong type for its column, or out of its range (an error
    of -5, a fidelity of 2)."""
    if row.get("state") not in (*TRIAL_STATES, None):      # None: never cached, retrained
        return f"state {_short(row.get('state'))} is none of {', '.join(TRIAL_STATES)}"
    for name, value in row.items():
        if value is None or name == "key" or name.startswith("param_"):
            continue
        kind = FIELDS.get(name)
        if kind == "TEXT" and not isinstance(value, str):
            return f"{name} holds {_short(value)}, not text"
        if kind in ("INTEGER", "REAL") or name in NUMBERS or name.startswith(MEASURED):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"{name} holds {_short(value)}, not a number"
            low, high = _bounds(name)
            if not low <= value <= high:
                return f"{name} holds {value:g}, outside [{low:g}, {high:g}]"
    return None


def _bounds(name: str) -> tuple[float, float]:
    if name == "fidelity":
        return 0.0, 1.0
    if name in NON_NEGATIVE:
        return 0.0, math.inf
    if name.startswith(("train_", "valid_", "test_")):
        return METRIC_RANGES.get(name.rpartition("_")[2], (-math.inf, math.inf))
    return -math.inf, math.inf


def curves_of(text: str | None) -> dict[str, list[float]]:
    """Stored curves; {} when there are none, or none that can be read (a damaged row of a
    store opened read-only: a run drops such rows when it opens the store)."""
    return {} if text is None or curves_problem(text) else json.loads(text)


def curves_problem(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        curves = json.loads(text)
    except ValueError:
        return "its curves are not JSON"
    return None if isinstance(curves, dict) else "its curves are not a JSON object"


# ---------------------------------------------------------------------------- store faults
FOREIGN_ADVICE = "move it away, or run with --fresh to start it anew"
FAULT_ADVICE = {"SQLITE_FULL": "free space on its disk",
                "SQLITE_READONLY": "the store or its folder is read-only: make it writable, "
                                   "or run with --out elsewhere",
                "SQLITE_CANTOPEN": "check that its folder exists and can be read and written",
                "SQLITE_IOERR": "the disk failed a read or write",
                "SQLITE_BUSY": "another process holds it locked",
                "SQLITE_LOCKED": "another process holds it locked",
                "SQLITE_PERM": "this user may not use it"}
# Error names of SQLite before Python 3.11 (no `sqlite_errorname`), by their message.
FAULT_MESSAGES = {"disk is full": "SQLITE_FULL", "readonly": "SQLITE_READONLY",
                  "unable to open": "SQLITE_CANTOPEN", "disk i/o": "SQLITE_IOERR",
                  "locked": "SQLITE_BUSY"}


def store_error(path: Path, exc: sqlite3.Error, verb: str) -> NnspecError:
    """The user's error for an SQLite failure on the store at `path`. A fault of the disk or
    the folder (full, read-only, unreachable, locked) leaves the store as it is, so it never
    advises --fresh (which would delete its trials); a file that is not a store, or a damaged
    one, says so and may be moved away or started anew."""
    name = getattr(exc, "sqlite_errorname", "") or next(
        (n for text, n in FAULT_MESSAGES.items() if text in str(exc).lower()), "")
    advice = next((a for code, a in FAULT_ADVICE.items() if name.startswith(code)), None)
    if advice is not None:
        return StorageError(f"{path}: cannot {verb} the run store ({_reason(exc)}): {advice}; "
                            "its stored trials are intact, run again once it is fixed")
    return NnspecError(f"{path}: not a run store of this nnspec, or a damaged one "
                       f"({_reason(exc)}); {FOREIGN_ADVICE}")


Method = TypeVar("Method", bound=Callable[..., Any])


def reported(verb: str) -> Callable[[Method], Method]:
    """A RunStore method whose SQLite failures become `store_error`s (no traceback)."""
    def wrap(method: Method) -> Method:
        @functools.wraps(method)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise store_error(self.path, exc, verb) from None
        return guarded  # type: ignore[return-value]
    return wrap


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
