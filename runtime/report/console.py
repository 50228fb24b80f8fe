"""Terminal output of a run: live progress, the final table, `nnspec show`."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spec_lang.experiment import Experiment

from runtime.errors import NnspecError
from runtime.execution.results import border_message

console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)  # piped: do not squeeze the table


class RunProgress:
    """A progress line (trials done, best so far) fed by the runner's progress events."""

    def __init__(self, exp: Experiment, quiet: bool = False) -> None:
        self.quiet = quiet
        self.best = math.inf
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            TextColumn("{task.completed} trials  {task.fields[best]}"),
                            TimeElapsedColumn(), console=console, disable=quiet,
                            transient=True)
        self.task = self.bar.add_task(exp.name, total=None, best="")

    def __enter__(self) -> "RunProgress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event"] == "message":
            if not self.quiet:
                console.print(f"[yellow]note:[/] {event['message']}")
            return
        row, metric = event["row"], event["metric"]
        sign = -1.0 if event["maximize"] else 1.0      # self.best holds sign * value
        value = row.get(metric)
        if row.get("state") == "complete" and value is not None and sign * value < self.best:
            self.best = sign * value
        best = f"best {metric} {sign * self.best:.4g}" if math.isfinite(self.best) else ""
        self.bar.update(self.task, advance=1, best=best)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def summary_table(summary: pd.DataFrame, top: int) -> Table:
    """The best `top` configurations as a rich table."""
    metric = summary.attrs.get("metric", "valid_error")
    rank = f"rank_{metric}"
    shown = summary.sort_values(rank).head(top) if rank in summary else summary.head(top)
    params = [c for c in summary.columns if c.startswith("param_")]
    fidelity = summary["fidelity"].nunique() > 1        # successive halving: say which rung
    cols = ["rank", *[p[len("param_"):] for p in params], *(["fidelity"] if fidelity else []),
            f"{metric} mean ± std", "n", "epochs"]
    table = Table(*cols, title=f"best configurations by {metric}")
    for _, row in shown.iterrows():
        score = f"{_fmt(row[f'mean_{metric}'])} ± {_fmt(row[f'std_{metric}'])}"
        table.add_row(_fmt(row.get(rank, "")), *[_fmt(row[p]) for p in params],
                      *([_fmt(row["fidelity"])] if fidelity else []), score,
                      f"{row['n_complete']}/{row['n']}", _fmt(row.get("mean_epochs", "")))
    return table


def print_best(best: dict[str, Any], notes: bool = True) -> None:
    """The chosen configuration, its validation score and its test score (and the run's notes,
    unless they were shown while it ran)."""
    for message in best.get("messages", []) if notes else []:
        out.print(f"[yellow]note:[/] {message}")
    chosen = best.get("outer_folds", [best])
    for item in chosen:
        where = f"outer fold {item['outer']}: " if item.get("outer") is not None else ""
        valid = item["valid"]
        params = ", ".join(f"{k} {_fmt(v)}" for k, v in item["params"].items())
        out.print(f"{where}chosen trial {item['trial']} ({params or 'no search'}): "
                  f"{valid['metric']} {_fmt(valid['mean'])} ± {_fmt(valid['std'])} "
                  f"(n={valid['n']})")
        for name, side in (item.get("borders") or {}).items():
            if side:
                out.print(f"[yellow]border:[/] {border_message(name, side)}")
    test = best.get("test") or {}
    if test:
        names = [k for k in test if k.startswith("test_")]
        label = "generalization estimate (outer test folds)" if "outer_folds" in best else \
            "test (scored once)"
        out.print(f"{label}: " + ", ".join(
            f"{k[5:]} {_fmt(test[k])} ± {_fmt(test.get('std_' + k, float('nan')))}"
            for k in names))


def print_results(table: pd.DataFrame, run_dir: Path, notes: bool) -> None:
    """After `nnspec run`: the summary, the chosen configuration, where the files are."""
    from runtime.execution.results import summarize
    out.print(summary_table(summarize(table), 10))
    print_best(table.attrs.get("best", {}), notes)
    out.print(f"wrote {run_dir}/trials.csv, summary.csv, best.json"
              + (", model.npz" if (run_dir / "model.npz").exists() else ""))


def show_run(run_dir: Path, top: int = 10) -> None:
    """`nnspec show RUN`."""
    try:
        summary = pd.read_csv(run_dir / "summary.csv")
        best = json.loads((run_dir / "best.json").read_text())
    except FileNotFoundError as exc:
        raise NnspecError(f"{run_dir}: not a finished run ({Path(exc.filename).name} is "
                          "missing)") from None
    summary.attrs["metric"] = best.get("metric", "valid_error")
    out.print(summary_table(summary, top))
    print_best(best)
