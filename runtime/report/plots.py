"""`nnspec report RUN`: plots of a finished run and an `index.html` that shows them.

Written to `RUN/report/`:
  curves.png        learning curves (train loss, valid loss, valid metric, learning rate) of
                    the chosen configuration's members (seed x fold), read from the run store
  param_<name>.png  the validation metric (mean ± std per configuration) against each searched
                    numeric hyper-parameter, the chosen point highlighted, failed or diverged
                    configurations marked: a best value at the edge of the tried values shows
                    a border problem
  choice_<name>.png the same for a choice (non-numeric) hyper-parameter, as a box/strip plot
  index.html        the page showing them (written by `runtime.report.html`)
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
# The object API with the Agg canvas: files only, no display, and no global backend switch
# (pyplot's state machine would change the embedding program's matplotlib).
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from runtime.report import html
from runtime.report.run_folder import Member, Run, chosen_members, load_run

LOG_SPAN = 20.0          # a positive axis spanning more than this factor is drawn log-scale


# ------------------------------------------------------------------------------------- plots
def plot_curves(members: list[Member], metric: str, path: Path) -> Path:
    """Train loss, valid loss, the valid metric and the learning rate per epoch, one line per
    member; a dot marks each member's best (restored) epoch."""
    shown = _curve_metric(members, metric)
    panels = [("train_loss", "training loss"), ("valid_loss", "validation loss"),
              (shown, shown.replace("_", " ")), ("lr", "learning rate")]
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 2)
    for ax, (key, title) in zip(axes.flat, panels):
        for i, member in enumerate(members):
            _curve_line(ax, member, key, f"C{i % 10}")
        ax.set(title=title, xlabel="epoch")
        if key != shown and _positive(members, key):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if members:
        axes.flat[0].legend(fontsize="small")
    fig.suptitle("learning curves of the chosen configuration")
    return _save(fig, path)


def _curve_metric(members: list[Member], metric: str) -> str:
    """The selection metric's curve, or another validation curve when it is the loss."""
    keys = {k for m in members for k in m.curves}
    if metric != "valid_loss":
        return metric
    others = sorted(k for k in keys if k.startswith("valid_") and k != "valid_loss")
    return others[0] if others else metric


def _curve_line(ax: Any, member: Member, key: str, color: str) -> None:
    epochs, values = member.curves.get("epoch", []), member.curves.get(key, [])
    if not values:
        return
    y = np.array([np.nan if v is None else v for v in values], dtype=float)
    ax.plot(epochs[:len(y)], y, color=color, label=member.label, lw=1.3)
    best = int(member.row.get("best_epoch") or 0)
    if key != "lr" and 1 <= best <= len(y):
        ax.plot([best], [y[best - 1]], "o", color=color, ms=5)


def _positive(members: list[Member], key: str) -> bool:
    values = [v for m in members for v in m.curves.get(key, []) if v is not None]
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0


def numeric_values(column: pd.Series) -> pd.Series | None:
    """The column as floats when every value present is a number (not a boolean), else None."""
    present = column.dropna()
    if present.empty or pd.api.types.is_bool_dtype(present):
        return None
    if present.map(lambda v: isinstance(v, (bool, np.bool_))).any():
        return None
    values = pd.to_numeric(present, errors="coerce")
    return None if values.isna().any() else pd.to_numeric(column, errors="coerce")


def configurations(run: Run) -> pd.DataFrame:
    """One summary row per configuration (and outer fold): the one at its highest fidelity, so
    that successive halving shows every value tried at the furthest rung it reached."""
    summary = run.summary
    if "fidelity" not in summary or summary.empty:
        return summary
    keys = [c for c in summary.columns if c == "outer" or c.startswith("param_")]
    ordered = summary.sort_values("fidelity", kind="stable")
    last = ordered.groupby(keys, dropna=False, sort=False).tail(1) if keys else ordered.tail(1)
    return last.sort_index()


def plot_numeric(run: Run, name: str, path: Path) -> Path:
    """The validation metric against one numeric hyper-parameter: every configuration with its
    spread over seeds and folds, the best per value joined by a line, the chosen one starred,
    failed or diverged configurations as crosses along the top."""
    metric, col = run.metric, f"param_{name}"
    table = configurations(run)
    table = table[table[col].notna()]
    done = table[f"mean_{metric}"].notna()
    x_all = pd.to_numeric(table[col]).to_numpy(float)
    x = x_all[done.to_numpy()]
    y = table.loc[done, f"mean_{metric}"].to_numpy(float)
    err = table.loc[done, f"std_{metric}"].to_numpy(float)
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(x, y, yerr=err, fmt="o", color="C0", alpha=0.6, capsize=3,
                label="configuration (mean ± std)")
    if x.size:
        ax.plot(*_envelope(x, y, _maximized(metric)), "-", color="C0", lw=1, alpha=0.8,
                label="best per value")
    failed = x_all[~done.to_numpy()]
    if failed.size:
        ax.plot(failed, np.full(failed.size, 0.97), "x", color="0.3", ms=8,
                transform=ax.get_xaxis_transform(), label="failed or diverged")
    for cx, cy in _chosen_points(run, table, col):
        ax.plot([float(cx)], [cy], "*", color="C3", ms=16, zorder=5, label="chosen")
    if log_scale(x_all):
        ax.set_xscale("log")
    ax.set(xlabel=name, ylabel=f"{metric} (mean ± std)", title=_title(run, name))
    _dedupe_legend(ax)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def log_scale(values: np.ndarray) -> bool:
    """Whether an axis of these values reads better on a log scale: all positive, spanning
    more than a factor LOG_SPAN (a learning rate grid, not a momentum grid)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size) and values.min() > 0 and values.max() / values.min() > LOG_SPAN


def _envelope(x: np.ndarray, y: np.ndarray, maximize: bool) -> tuple[np.ndarray, np.ndarray]:
    values = np.unique(x)
    pick = np.max if maximize else np.min
    return values, np.array([pick(y[x == v]) for v in values])


def _maximized(metric: str) -> bool:
    return metric.removeprefix("valid_") in ("accuracy", "f1", "r2")


def plot_choice(run: Run, name: str, path: Path) -> Path:
    """The validation metric per value of a choice hyper-parameter: a box over the
    configurations having that value, each configuration a point, the chosen one starred."""
    metric, col = run.metric, f"param_{name}"
    table = configurations(run)
    table = table[table[col].notna() & table[f"mean_{metric}"].notna()]
    labels = sorted(table[col].astype(str).unique())
    groups = [table[table[col].astype(str) == v][f"mean_{metric}"].to_numpy(float)
              for v in labels]
    fig = Figure(figsize=(max(5.0, 1.4 * len(labels) + 2), 4.5), layout="constrained")
    ax = fig.subplots()
    ax.boxplot(groups, showfliers=False, widths=0.5)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    for i, values in enumerate(groups, 1):
        offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
        ax.plot(i + np.asarray(offsets), values, "o", color="C0", alpha=0.6)
    for cx, cy in _chosen_points(run, table, col):
        ax.plot([labels.index(str(cx)) + 1], [cy], "*", color="C3", ms=16, zorder=5,
                label="chosen")
    ax.set(xlabel=name, ylabel=f"{metric} (mean per configuration)", title=_title(run, name))
    _dedupe_legend(ax)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def _chosen_points(run: Run, table: pd.DataFrame, col: str) -> list[tuple[Any, float]]:
    """(parameter value, mean metric) of each chosen configuration present in `table`."""
    points = []
    for item in run.chosen:
        rows = table[table["trial"] == item["trial"]]
        if "outer" in rows and item.get("outer") is not None:
            rows = rows[rows["outer"] == item["outer"]]
        points += [(r[col], float(r[f"mean_{run.metric}"])) for _, r in rows.iterrows()]
    return points


def _title(run: Run, name: str) -> str:
    sides = {item.get("borders", {}).get(name) for item in run.chosen} - {None, ""}
    if not sides:
        return f"{run.metric} against {name}"
    return f"{name}: best on the {'/'.join(sorted(sides))} border, widen the interval"


def _dedupe_legend(ax: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), fontsize="small")


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)        # attaches the canvas: savefig needs no pyplot
    fig.savefig(path, dpi=100)
    return path


# ------------------------------------------------------------------------------------ public
def write_report(run_dir: Path | str) -> list[Path]:
    """Write the plots and `index.html` of a finished run to `RUN/report/`; the paths written.

    Raises NnspecError when `run_dir` is not a finished run."""
    run = load_run(run_dir)
    out = run.path / "report"
    out.mkdir(exist_ok=True)
    images = [plot_curves(chosen_members(run), run.metric, out / "curves.png")]
    for col in [c for c in run.summary.columns if c.startswith("param_")]:
        name = col[len("param_"):]
        values = configurations(run)[col].dropna()
        if values.astype(str).nunique() < 2:
            continue                     # one value tried: nothing to compare
        if numeric_values(run.summary[col]) is not None:
            images.append(plot_numeric(run, name, out / f"param_{name}.png"))
        else:
            images.append(plot_choice(run, name, out / f"choice_{name}.png"))
    return [*images, html.write_index(run, images, out / "index.html")]
