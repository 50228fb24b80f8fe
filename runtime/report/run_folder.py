"""Reading a finished run folder for `nnspec report`.

`load_run` reads `RUN/best.json`, `summary.csv` and `trials.csv` into a `Run` (and checks that
`store.sqlite` is there too); `chosen_members` reads the run store read-only and returns the
stored curves of each chosen configuration's (seed, fold) trials as `Member`s, found by the
store keys that `best.json` lists (the one key of a trial: no matching on numbers or names).
`trial_curves` returns every row of trials.csv with its stored curves: a store row is this
run's row when its seed, fold, outer fold, fidelity and parameter values are the row's (the
store may also hold trials of earlier specs run in the folder, which match no row).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from runtime.errors import NnspecError
from runtime.execution.outcome import Choice, RunOutcome, record_problem
from runtime.execution.store import RunStore

REQUIRED = ("best.json", "summary.csv", "trials.csv", "store.sqlite")


@dataclass
class Run:
    """The artifacts of a finished run folder."""

    path: Path
    best: dict[str, Any]
    summary: pd.DataFrame
    trials: pd.DataFrame

    @cached_property
    def outcome(self) -> RunOutcome:
        """best.json, typed (checked by `load_run`)."""
        return RunOutcome.from_record(self.best)

    @property
    def metric(self) -> str:
        """The selection column, e.g. valid_error."""
        return self.outcome.metric

    @property
    def chosen(self) -> tuple[Choice, ...]:
        """One choice per outer fold (one unless the protocol is nested)."""
        return self.outcome.choices

    @cached_property
    def log_dimensions(self) -> frozenset[str]:
        """The parameters searched on a log scale (a log range or grid, a log prior, a list
        for a log setting such as lr), as the spec as run says; none when it cannot be read."""
        import spec_lang
        from spec_lang import SpecError
        try:
            exp = spec_lang.load(self.path / "spec.spec")
        except (SpecError, OSError, UnicodeDecodeError, ValueError):
            return frozenset()
        return frozenset(d.name for d in exp.search.dims
                         if d.scale == "log" or "log" in (d.prior or ""))


@dataclass
class Member:
    """The stored curves of one (seed, fold) of a chosen configuration."""

    label: str
    row: dict[str, Any]
    curves: dict[str, list[float]]


def load_run(run_dir: Path | str) -> Run:
    """Read a finished run folder; NnspecError when something it needs is missing."""
    path = Path(run_dir)
    if not path.is_dir():
        raise NnspecError(f"{path}: no such run folder")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise NnspecError(f"{path}: not a finished run ({', '.join(missing)} missing; run "
                          "the spec with `nnspec run SPEC --out RUN` first)")
    try:
        best = json.loads((path / "best.json").read_text(encoding="utf-8"))
        summary, trials = pd.read_csv(path / "summary.csv"), pd.read_csv(path / "trials.csv")
    except (ValueError, pd.errors.ParserError) as exc:
        raise NnspecError(f"{path}: unreadable run artifacts ({exc})") from None
    if not isinstance(best, dict) or "metric" not in best or record_problem(best):
        raise NnspecError(f"{path}: best.json is not the record of a finished run")
    return Run(path, best, summary, trials)


# ----------------------------------------------------------------------------- the run store
def provenance_lines(run_dir: Path, run_id: Any) -> list[str]:
    """Where the artifacts come from (the store's record of the run that wrote them: times,
    versions, host) and, when a later run of the folder did not finish, a warning that says
    which artifacts are current. `run_id`: best.json's (the run that wrote them)."""
    try:
        store = RunStore(run_dir / "store.sqlite", readonly=True)
        try:
            runs = store.runs()
        finally:
            store.close()
    except (NnspecError, sqlite3.DatabaseError):
        return []
    wrote = next((r for r in runs if r["id"] == run_id), None)
    lines = []
    if wrote is not None:
        lines.append(f"run {wrote['id']} of this folder: {_when(wrote['started'])} to "
                     f"{_when(wrote['finished'])}, nnspec {wrote['nnspec']}, Python "
                     f"{wrote['python']}, NumPy {wrote['numpy']}, scikit-learn "
                     f"{wrote['sklearn']}, on {wrote['host']}")
    later = [r for r in runs if wrote is None or r["id"] > wrote["id"]]
    if later and later[-1]["status"] != "finished":
        last = later[-1]
        source = f"run {wrote['id']}" if wrote else "an earlier run"
        lines.append(f"the latest run (run {last['id']}, started {_when(last['started'])}) "
                     f"{last['status'] if last['status'] != 'running' else 'is still running'}"
                     f": these artifacts are from {source}; run the spec again to finish it")
    return lines


def _when(stamp: float | None) -> str:
    import time
    return "?" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def chosen_members(run: Run) -> list[Member]:
    """The stored curves of each chosen configuration's (seed, fold) trials, found by the store
    keys `best.json` lists for them (`members`: seed, fold, key); the store is opened
    read-only."""
    store = RunStore(run.path / "store.sqlite", readonly=True)
    try:
        members = []
        for item in run.chosen:
            folds = len({m.fold for m in item.members})
            for m in sorted(item.members, key=lambda m: (m.seed, m.fold)):
                found = store.get(m.key)
                if found is not None:
                    members.append(Member(_label(item.outer, m.seed, m.fold, folds), found,
                                          store.curves(m.key)))
        return members
    except sqlite3.Error as exc:
        raise NnspecError(f"{store.path}: cannot read the run store ({exc})") from None
    finally:
        store.close()


def _label(outer: int | None, seed: int, fold: int, folds: int) -> str:
    parts = ([] if outer is None else [f"outer {outer}"]) + [f"seed {seed}"]
    return ", ".join(parts + ([f"fold {fold}"] if folds > 1 else []))


def _signature(row: dict[str, Any]) -> tuple:
    """What identifies a row of this run in the store: seed, fold, outer, fidelity, params
    (numbers to 12 significant digits: a CSV and the store's JSON may differ in the last)."""
    def plain(value: Any) -> Any:
        if value is None or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(f"{float(value):.12g}")
        return str(value)
    params = tuple(sorted((k, plain(v)) for k, v in row.items() if k.startswith("param_")
                          and plain(v) is not None))
    return (plain(row.get("seed")), plain(row.get("fold")), plain(row.get("outer")),
            plain(row.get("fidelity", 1.0)), params)


def trial_curves(run: Run) -> list[Member]:
    """Every row of trials.csv with its stored curves (empty when the store has none), in the
    table's order; the store is opened read-only."""
    store = RunStore(run.path / "store.sqlite", readonly=True)
    try:
        stored = {_signature(row): curves for _, row, curves in store.items()}
    except sqlite3.Error as exc:
        raise NnspecError(f"{store.path}: cannot read the run store ({exc})") from None
    finally:
        store.close()
    members = []
    for record in run.trials.to_dict("records"):
        row = {k: v for k, v in record.items() if not (isinstance(v, float) and v != v)}
        label = f"trial {row.get('trial')} seed {row.get('seed')}"
        members.append(Member(label, row, stored.get(_signature(row), {})))
    return members
