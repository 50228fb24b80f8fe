"""`nnspec compare RUN RUN ...`: the chosen configurations and test scores of finished runs side
by side, printed as a table and written as one self-contained HTML page (a table, and a bar
plot of each test metric the runs share, with the members' std as error bars)."""
from __future__ import annotations

import html as escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from runtime.errors import NnspecError
from runtime.execution.artifacts import write_text_atomic
from runtime.report import html
from runtime.report.run_folder import Run, load_run


def load_runs(paths: list[Path]) -> list[Run]:
    """The finished runs, in the order given; NnspecError naming the first that is not one."""
    if len(set(p.resolve() for p in paths)) < len(paths):
        raise NnspecError("compare: a run folder is named twice")
    return [load_run(p) for p in paths]


def comparison(runs: list[Run]) -> pd.DataFrame:
    """One column per run (its folder name), rows: experiment, selection metric, validation
    mean ± std, each chosen parameter, each test metric (mean, members' std) and the ensemble
    test score."""
    columns: dict[str, dict[str, str]] = {}
    for run in runs:
        item = run.chosen[0]
        valid = item.valid
        col = {"experiment": run.outcome.experiment, "metric": run.metric,
               "validation": f"{html.num(valid.mean)} ± {html.num(valid.std)}",
               "chosen trial": str(item.trial)}
        if len(run.chosen) > 1:
            col["chosen trial"] = "per outer fold: " + ", ".join(
                str(c.trial) for c in run.chosen)
        col.update({f"param {k}": html.num(v) for k, v in item.params.items()})
        test = run.outcome.test
        for key, value in test.items():
            if key.startswith("test_"):
                col[key] = f"{html.num(value)} ± {html.num(test.get('std_' + key))}"
                if f"ensemble_{key}" in test:
                    col[f"ensemble {key}"] = html.num(test[f"ensemble_{key}"])
        columns[_name(run, columns)] = col
    frame = pd.DataFrame(columns).fillna("")
    return frame


def _name(run: Run, taken: dict[str, Any]) -> str:
    name = run.path.name or str(run.path)
    return name if name not in taken else str(run.path)


def print_comparison(runs: list[Run]) -> None:
    """The comparison as a rich table on stdout."""
    from runtime.report.terminal import out
    frame = comparison(runs)
    table = Table("", *frame.columns, title="chosen configurations and test scores")
    for label, row in frame.iterrows():
        table.add_row(str(label), *[str(v) for v in row])
    out.print(table)


def plot_scores(runs: list[Run]) -> Any:
    """One panel per test metric every run has: a bar per run (mean over its members, the
    std as an error bar); None when the runs share no test metric."""
    from runtime.report.plots import new_figure
    tests = [run.outcome.test for run in runs]
    shared = [k for k in tests[0] if k.startswith("test_") and all(k in t for t in tests)]
    if not shared:
        return None
    fig = new_figure(3.6 * len(shared) + 0.5, 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(shared), squeeze=False)[0])
    names = [r.path.name for r in runs]
    for ax, key in zip(axes, shared):
        values = [float(t[key]) if t[key] is not None else np.nan for t in tests]
        errors = [float(t.get("std_" + key) or 0.0) for t in tests]
        ax.bar(names, values, yerr=errors, color=[f"C{i % 10}" for i in range(len(runs))],
               capsize=4)
        ax.set(title=key[5:], ylabel=f"test {key[5:]}", xlabel="run")
        ax.tick_params(axis="x", rotation=20)
        ax.grid(alpha=0.3, axis="y")
    return fig


def write_comparison(runs: list[Run], path: Path) -> Path:
    """The comparison page at `path` (its folder made if needed); the path."""
    from runtime.report.plots import png
    frame = comparison(runs)
    table = frame.to_html(classes="summary", border=0, table_id="compare")
    fig = plot_scores(runs)
    plot = "" if fig is None else html.img(html.Image("test-scores", png(fig),
                                           "test scores of the chosen configurations "
                                           "(mean over members ± std)"))
    meta = "runs: " + ", ".join(escape.escape(str(r.path)) for r in runs)
    text = html.page("nnspec compare", [("table", "side by side",
                                         f"<div class='scroll'>{table}</div>"),
                                        ("scores", "test scores", plot or "<p>no shared "
                                         "test metric.</p>")], meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, text)
