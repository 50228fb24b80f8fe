"""Terminal output of a run: live progress, the final table, `nnspec show`."""
from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from runtime.errors import NnspecError, first_line
from runtime.execution.outcome import RunOutcome, record_problem
from runtime.execution.results import at_highest_fidelity, border_warnings, refit_message
from runtime.report.progress import RunProgress
from runtime.report.terminal import console, out
from runtime.types import TrialState

__all__ = ["RunProgress", "console", "out", "summary_table", "print_best", "print_results",
           "show_run", "show_json", "read_best", "read_summary"]


def _fmt(value: Any) -> str:
    if value is None:                       # best.json writes NaN as null
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def _fmt_int(value: Any) -> str:
    """An outer fold number (a float once a CSV column holds NaN) as an integer."""
    return "" if value is None or value != value else str(int(value))


def summary_table(summary: pd.DataFrame, top: int) -> Table:
    """The best `top` configurations as a rich table, each once, at its highest fidelity
    (halving, asha and hyperband train one at several), with its state, so the order explains
    itself: the one ranking puts configurations whose every seed and fold completed first,
    then the highest fidelity, then the metric. Under nested cross-validation the best `top`
    of each outer fold, with an `outer` column (ranks are per outer fold)."""
    metric = summary.attrs.get("metric", "valid_error")
    rank = f"rank_{metric}"
    nested = "outer" in summary and summary["outer"].notna().any()
    shown = at_highest_fidelity(summary)
    shown = shown.sort_values(rank, kind="stable") if rank in shown else shown
    if nested:
        shown = shown.sort_values("outer", kind="stable").groupby("outer").head(top)
    else:
        shown = shown.head(top)
    params = [c for c in summary.columns if c.startswith("param_")]
    fidelity = "fidelity" in summary and summary["fidelity"].nunique() > 1   # halving's rung
    state = "state" in summary                       # absent from an older summary.csv
    cols = [*(["outer"] if nested else []), "rank", *[p[len("param_"):] for p in params],
            *(["fidelity"] if fidelity else []), *(["state"] if state else []),
            f"{metric} mean ± std", "n", "epochs"]
    title = f"best configurations by {metric}" + (", per outer fold" if nested else "")
    notes = []
    if state and (summary["state"] != TrialState.COMPLETE).any():
        notes.append("a configuration whose every seed and fold completed ranks first")
    if fidelity:
        notes.append("each configuration once, at its highest fidelity (ranks as in "
                     "summary.csv)")
    table = Table(*cols, title=title, caption="; ".join(notes) or None)
    for _, row in shown.iterrows():
        mean = row[f"mean_{metric}"]          # nan: a seed or fold failed or diverged
        score = "not completed" if pd.isna(mean) else \
            f"{_fmt(mean)} ± {_fmt(row[f'std_{metric}'])}"
        table.add_row(*([_fmt_int(row["outer"])] if nested else []),
                      _fmt(row.get(rank, "")), *[_fmt(row[p]) for p in params],
                      *([_fmt(row["fidelity"])] if fidelity else []),
                      *([_fmt(row["state"])] if state else []), score,
                      f"{row['n_complete']}/{row['n']}", _fmt(row.get("mean_epochs", "")))
    return table


def print_best(outcome: RunOutcome, notes: bool = True) -> None:
    """The chosen configuration, its validation score and its test score (and the run's notes,
    unless they were shown while it ran)."""
    for message in outcome.messages if notes else ():
        out.print(f"[yellow]note:[/] {message}")
    for item in outcome.choices:
        where = f"outer fold {item.outer}: " if item.outer is not None else ""
        if item.trial is None:                         # nothing could be chosen (see notes)
            continue
        valid = item.valid
        if _fmt(valid.mean) == "":                     # ranked first, yet nothing completed
            out.print(f"{where}nothing chosen: no configuration completed on every seed and "
                      "fold (see the error column of trials.csv)")
            continue
        params = ", ".join(f"{k} {_fmt(v)}" for k, v in item.params.items())
        out.print(f"{where}chosen trial {item.trial} ({params or 'no search'}): "
                  f"{valid.metric} {_fmt(valid.mean)} ± {_fmt(valid.std)} "
                  f"(n={valid.n})")
        if item.refit:
            out.print(f"{where}{refit_message(item.refit)}")
    for fold, message in border_warnings(outcome.choices):
        out.print(f"[yellow]border{f' ({fold})' if fold else ''}:[/] {message}")
    test = outcome.test
    if test:
        names = [k for k in test if k.startswith("test_")]
        label = "generalization estimate (outer test folds)" if outcome.nested else \
            "test (scored once)"
        out.print(f"{label}: " + ", ".join(
            f"{k[5:]} {_fmt(test[k])} ± {_fmt(test.get('std_' + k, float('nan')))}"
            for k in names))


def print_results(table: pd.DataFrame, run_dir: Path, notes: bool) -> None:
    """After `nnspec run`: the summary, the chosen configuration, where the files are."""
    from runtime.execution.results import summarize
    out.print(summary_table(summarize(table), 10))
    print_best(table.attrs["outcome"], notes)
    out.print(f"wrote {run_dir}/trials.csv, summary.csv, best.json"
              + (", model.npz" if (run_dir / "model.npz").exists() else ""))


def show_run(run_dir: Path, top: int = 10) -> None:
    """`nnspec show RUN`."""
    outcome = RunOutcome.from_record(read_best(run_dir / "best.json"))
    summary = read_summary(run_dir / "summary.csv", outcome.metric)
    summary.attrs["metric"] = outcome.metric
    out.print(summary_table(summary, top))
    print_best(outcome)
    from runtime.report.run_folder import provenance_lines
    for line in provenance_lines(run_dir, outcome.run_id):
        out.print(line, style="dim" if line.startswith("run ") else "yellow", highlight=False)


def show_json(run_dir: Path, top: int = 10) -> None:
    """`nnspec show RUN --json`: one JSON object on stdout with the chosen configuration
    (best.json as written), the best `top` summary rows (by rank) and the provenance lines."""
    from runtime.execution.store import json_safe
    from runtime.report.run_folder import provenance_lines
    best = read_best(run_dir / "best.json")
    summary = read_summary(run_dir / "summary.csv", best["metric"])
    rank = f"rank_{best['metric']}"
    shown = summary.sort_values(rank, kind="stable") if rank in summary else summary
    rows = json.loads(shown.head(top).to_json(orient="records"))
    record = {"run": str(run_dir), "best": best, "summary": rows,
              "provenance": provenance_lines(run_dir, best.get("run_id"))}
    sys.stdout.write(json.dumps(json_safe(record)) + "\n")


def read_best(path: Path) -> dict[str, Any]:
    """A run's best.json, checked to have what `print_best` shows; NnspecError naming the file."""
    text = _read_artifact(path)
    try:
        best = json.loads(text)
    except ValueError as exc:
        raise NnspecError(f"{path}: not valid JSON ({exc})") from None
    problem = record_problem(best)
    if problem:
        raise NnspecError(f"{path}: {problem}")
    return dict(best)


def read_summary(path: Path, metric: str) -> pd.DataFrame:
    """A run's summary.csv with the columns the table shows; NnspecError naming the file."""
    text = _read_artifact(path)
    try:
        summary = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, ValueError) as exc:    # EmptyDataError is a ValueError
        raise NnspecError(f"{path}: not a readable CSV table ({first_line(exc)})") from None
    needed = [f"mean_{metric}", f"std_{metric}", "n", "n_complete"]
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise NnspecError(f"{path}: not the summary of a finished run (no column "
                          f"{', '.join(missing)})")
    if summary.empty:
        raise NnspecError(f"{path}: the summary holds no configuration")
    return summary


def _read_artifact(path: Path) -> str:
    """The text of a run artifact; NnspecError when it is missing, unreadable or empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NnspecError(f"{path.parent}: not a finished run ({path.name} is missing)"
                          ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NnspecError(f"{path}: cannot read it ({first_line(exc)})") from None
    if not text.strip():
        raise NnspecError(f"{path}: the file is empty")
    return text


