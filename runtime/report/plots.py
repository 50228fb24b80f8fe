"""The report's plots of the chosen configuration and of each hyper-parameter.

Every function returns a matplotlib `Figure` made through the object API (`Figure` and
`FigureCanvasAgg`): no pyplot state, no global backend switch, so a notebook's backend stays as
its user set it. `png(fig)` renders one to PNG bytes; the page embeds them as data URIs.

- `plot_curves`: train loss, valid loss, the valid metric and the learning rate per epoch of
  the chosen configuration's members (seed x fold), a dot at each member's best epoch.
- `plot_numeric`: the validation metric against one numeric hyper-parameter, every trial
  (mean ± std over seeds and folds) coloured by fidelity when the strategy has rungs, failed or
  diverged ones as crosses along the top, a trend (the mean per distinct value when values
  repeat, as in a grid; a Gaussian-kernel smoothing of the points, its bandwidth chosen by
  leave-one-out cross-validation, when every value is new, as in a random search; under
  halving, over rung 0 only, where every configuration had the same cost), the chosen configuration starred with a vertical line at its value (red,
  and the title says so, when it lies on the border of the values tried).
- `plot_choice`: per value of a choice, a box over its configurations, the points, the mean per
  value joined by a line, the chosen one starred.
"""
from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runtime.execution.results import at_highest_fidelity
from runtime.report.run_folder import Member, Run

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from runtime.execution.outcome import Choice

LOG_SPAN = 20.0          # a positive axis spanning more than this factor is drawn log-scale,
                         # as is a parameter searched on a log scale (`log_axis`)
SMOOTH_POINTS = 100      # where the kernel smoothing is evaluated


def new_figure(width: float, height: float) -> Figure:
    """A Figure with its own Agg canvas (matplotlib imported here: `import runtime` stays
    cheap)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (at 110 dpi a 12-inch figure is 1,320 px: the page's width)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def maximized(metric: str) -> bool:
    """Whether a larger value of the selection column is better."""
    return metric.removeprefix("valid_").removeprefix("mean_") in ("accuracy", "f1", "r2")


def readable(name: str) -> str:
    """A column name in words: valid_error -> validation error."""
    return name.replace("valid_", "validation ").replace("_", " ")


# ------------------------------------------------------------------------ chosen curves
def plot_curves(members: list[Member], metric: str) -> Figure:
    """Train loss, valid loss, the valid metric and the learning rate per epoch, one line per
    member; a dot marks each member's best (restored) epoch."""
    shown = _curve_metric(members, metric)
    panels = [("train_loss", "training loss"), ("valid_loss", "validation loss"),
              (shown, readable(shown)), ("lr", "learning rate")]
    fig = new_figure(11, 7)
    axes = fig.subplots(2, 2)
    for ax, (key, title) in zip(axes.flat, panels):
        for i, member in enumerate(members):
            _curve_line(ax, member, key, f"C{i % 10}")
        ax.set(title=title, xlabel="epoch", ylabel=title)
        if key != shown and _positive(members, key):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    if axes.flat[0].get_legend_handles_labels()[0]:    # members without stored curves: none
        axes.flat[0].legend(fontsize="small")
    fig.suptitle("learning curves of the chosen configuration (dot: the best epoch, restored)")
    return fig


def plot_pretraining(members: list[Member]) -> Figure | None:
    """Each pre-trained layer's reconstruction error before and after each pre-training epoch,
    one colour per member, on the training inputs (solid) and the validation inputs (dashed)
    (None when nothing was pre-trained)."""
    layers = sorted({k for m in members for k in m.curves
                     if k.startswith("pretrain_") and not k.endswith("_valid")})
    if not layers:
        return None
    fig = new_figure(4.2 * len(layers), 3.2)
    for i, layer in enumerate(layers):
        ax = fig.add_subplot(1, len(layers), i + 1)
        for j, member in enumerate(members):
            errors = member.curves.get(layer) or []
            ax.plot(range(len(errors)), errors, marker=".", color=f"C{j % 10}",
                    label=member.label if len(members) > 1 else None)
            valid = member.curves.get(f"{layer}_valid") or []
            ax.plot(range(len(valid)), valid, linestyle="--", color=f"C{j % 10}")
        ax.set_title(f"layer {layer[len('pretrain_'):]}")
        ax.set_xlabel("pre-training epoch (0: before)")
        ax.set_ylabel("reconstruction error (dashed: validation)")
        ax.grid(alpha=0.3)
        if len(members) > 1 and i == 0:
            ax.legend(fontsize=7)
    return fig


def _curve_metric(members: list[Member], metric: str) -> str:
    """The selection metric's curve, or another validation curve when it is the loss."""
    keys = {k for m in members for k in m.curves}
    if metric != "valid_loss":
        return metric
    others = sorted(k for k in keys if k.startswith("valid_") and k != "valid_loss")
    return others[0] if others else metric


def curve(member: Member, key: str, along: str = "epoch") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one stored curve (None values as NaN); empty arrays when it is missing."""
    values, x = member.curves.get(key) or [], member.curves.get(along) or []
    n = min(len(values), len(x))
    as_float = lambda v: np.array([np.nan if e is None else e for e in v[:n]], float)  # noqa
    return as_float(x), as_float(values)


def _curve_line(ax: Any, member: Member, key: str, color: str) -> None:
    x, y = curve(member, key)
    if not y.size:
        return
    ax.plot(x, y, color=color, label=member.label, lw=1.3)
    best = int(member.row.get("best_epoch") or 0)
    if key != "lr" and 1 <= best <= len(y):
        ax.plot([best], [y[best - 1]], "o", color=color, ms=5)


def _positive(members: list[Member], key: str) -> bool:
    values = [v for m in members for v in m.curves.get(key, []) if v is not None]
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0


# ---------------------------------------------------------------------- hyper-parameters
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
    return at_highest_fidelity(run.summary)


def fidelity_colors(summary: pd.DataFrame) -> dict[float, str]:
    """One colour per fidelity (rung), from the viridis map: low fidelity dark, full yellow;
    {} when the run has a single fidelity."""
    if "fidelity" not in summary:
        return {}
    levels = sorted(summary["fidelity"].dropna().unique())
    if len(levels) < 2:
        return {}
    from matplotlib import colormaps
    from matplotlib.colors import to_hex
    cmap = colormaps["viridis"]
    return {float(f): to_hex(cmap(0.9 * i / (len(levels) - 1))) for i, f in enumerate(levels)}


def log_scale(values: np.ndarray) -> bool:
    """Whether an axis of these values reads better on a log scale: all positive, spanning
    more than a factor LOG_SPAN (a learning rate grid, not a momentum grid)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return bool(values.size) and values.min() > 0 and values.max() / values.min() > LOG_SPAN


def log_axis(run: Run, name: str, values: np.ndarray) -> bool:
    """Whether a parameter's axis is drawn log-scale: it was searched on a log scale, or its
    values read better so (`log_scale`: a list of widths 8 .. 512)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    searched_log = name in run.log_dimensions and finite.size > 0 and finite.min() > 0
    return bool(searched_log) or log_scale(finite)


def mean_per_value(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of x and the mean of y at each."""
    values = np.unique(x)
    return values, np.array([y[x == v].mean() for v in values])


def nadaraya_watson(u: np.ndarray, y: np.ndarray, at: np.ndarray, h: float) -> np.ndarray:
    """The Gaussian-kernel weighted mean of y at each point of `at` (bandwidth h)."""
    weights = np.exp(-0.5 * ((at[:, None] - u[None, :]) / h) ** 2)
    return weights @ y / np.maximum(weights.sum(axis=1), 1e-300)


def loo_bandwidth(u: np.ndarray, y: np.ndarray) -> float:
    """The bandwidth, among 30 geometric steps from 1/50 to 1/2 of the range of u, with the
    least leave-one-out squared error of the Nadaraya-Watson fit (a bandwidth that leaves a
    point without neighbours, kernel weights summing below 1e-12, is not a candidate)."""
    span = float(u.max() - u.min()) or 1.0
    best, best_h = math.inf, span / 4
    for h in np.geomspace(span / 50, span / 2, 30):
        weights = np.exp(-0.5 * ((u[:, None] - u[None, :]) / h) ** 2)
        np.fill_diagonal(weights, 0.0)
        total = weights.sum(axis=1)
        if (total < 1e-12).any():
            continue                       # a point with no neighbour: too narrow
        error = float(np.mean((weights @ y / total - y) ** 2))
        if error < best:
            best, best_h = error, float(h)
    return best_h


def kernel_smooth(x: np.ndarray, y: np.ndarray, log: bool
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A Nadaraya-Watson (Gaussian kernel) smoothing of y against x, in log10 x when `log`,
    its bandwidth chosen by leave-one-out cross-validation; evaluated at SMOOTH_POINTS points
    from the smallest x to the largest."""
    u = np.log10(x) if log else np.asarray(x, float)
    grid = np.linspace(u.min(), u.max(), SMOOTH_POINTS)
    smooth = nadaraya_watson(u, np.asarray(y, float), grid, loo_bandwidth(u, y))
    return (10 ** grid if log else grid), smooth


def plot_numeric(run: Run, name: str) -> Figure:
    """The validation metric against one numeric hyper-parameter (see the module docstring)."""
    metric, col = run.metric, f"param_{name}"
    table = run.summary[run.summary[col].notna()]
    x_all = pd.to_numeric(table[col]).to_numpy(float)
    done = table[f"mean_{metric}"].notna().to_numpy()
    colors = fidelity_colors(table)
    fig = new_figure(7.5, 4.6)
    ax = fig.subplots()
    groups: list[float | None] = list(sorted(colors)) if colors else [None]
    for fid in groups:
        part = done & (True if fid is None else (table["fidelity"] == fid).to_numpy())
        label = "trial (mean ± std)" if fid is None else \
            f"fidelity {fid:.3g} (rung {groups.index(fid)})"
        ax.errorbar(x_all[part], table.loc[part, f"mean_{metric}"].to_numpy(float),
                    yerr=table.loc[part, f"std_{metric}"].to_numpy(float), fmt="o",
                    color=colors.get(fid, "C0") if fid is not None else "C0", alpha=0.75,
                    capsize=3, label=label)
    log = log_axis(run, name, x_all)
    _trend(ax, table[done], col, metric, log)
    failed = x_all[~done]
    if failed.size:
        ax.plot(failed, np.full(failed.size, 0.97), "x", color="0.3", ms=8,
                transform=ax.get_xaxis_transform(), label="failed or diverged")
    _chosen_marks(ax, run, table, col, name)
    if log:
        ax.set_xscale("log")
    ax.set(xlabel=name, ylabel=f"{readable(metric)} (mean ± std)", title=_title(run, name))
    _dedupe_legend(ax)
    ax.grid(alpha=0.3)
    return fig


def _trend(ax: Any, done: pd.DataFrame, col: str, metric: str, log: bool) -> None:
    """The trend line over the completed trials of the fidelity most of them were trained at
    (rung 0 under halving: every configuration, at one cost)."""
    if "fidelity" in done and done["fidelity"].nunique() > 1:
        done = done[done["fidelity"] == done["fidelity"].value_counts().idxmax()]
    x = pd.to_numeric(done[col]).to_numpy(float)
    y = done[f"mean_{metric}"].to_numpy(float)
    if len(np.unique(x)) < 2:
        return
    if len(np.unique(x)) < len(x) or len(x) < 5:           # values repeat: a grid
        ax.plot(*mean_per_value(x, y), "-", color="C1", lw=1.5, label="mean per value")
    else:
        ax.plot(*kernel_smooth(x, y, log), "-", color="C1", lw=1.5,
                label="smoothed (Gaussian kernel)")


def _chosen_marks(ax: Any, run: Run, table: pd.DataFrame, col: str, name: str) -> None:
    """A star at each chosen configuration and a vertical line at its value: red and labelled
    with the side when best.json says the value is on the border of those tried."""
    for item, x, y in chosen_points(run, table, col):
        side = item.borders.get(name)
        ax.plot([x], [y], "*", color="C3", ms=16, zorder=5, label="chosen")
        label = f"chosen value, on the {side} border" if side else "chosen value"
        ax.axvline(float(x), color="C3" if side else "0.5", ls="--", lw=1.2, label=label)


def chosen_points(run: Run, table: pd.DataFrame, col: str
                  ) -> list[tuple[Choice, Any, float]]:
    """(chosen record, parameter value, mean metric) of each chosen configuration in `table`."""
    points = []
    for item in run.chosen:
        rows = table[table["trial"] == item.trial]
        if "outer" in rows and item.outer is not None:
            rows = rows[rows["outer"] == item.outer]
        points += [(item, r[col], float(r[f"mean_{run.metric}"])) for _, r in rows.iterrows()
                   if pd.notna(r[f"mean_{run.metric}"])]
    return points


def plot_choice(run: Run, name: str) -> Figure:
    """The validation metric per value of a choice hyper-parameter (see the module
    docstring)."""
    metric, col = run.metric, f"param_{name}"
    table = configurations(run)
    table = table[table[col].notna() & table[f"mean_{metric}"].notna()]
    labels = sorted(table[col].astype(str).unique())
    groups = [table[table[col].astype(str) == v][f"mean_{metric}"].to_numpy(float)
              for v in labels]
    fig = new_figure(max(5.0, 1.4 * len(labels) + 2), 4.6)
    ax = fig.subplots()
    ax.boxplot(groups, showfliers=False, widths=0.5)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    for i, values in enumerate(groups, 1):
        offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
        ax.plot(i + np.asarray(offsets), values, "o", color="C0", alpha=0.6,
                label="configuration")
    ax.plot(range(1, len(labels) + 1), [g.mean() for g in groups], "D-", color="C1",
            label="mean per value")
    for item, cx, cy in chosen_points(run, table, col):
        side = item.borders.get(name)
        ax.plot([labels.index(str(cx)) + 1], [cy], "*", color="C3", ms=16, zorder=5,
                label="chosen" + (f" (on the {side} border)" if side else ""))
    ax.set(xlabel=name, ylabel=f"{readable(metric)} (mean per configuration)",
           title=_title(run, name))
    _dedupe_legend(ax)
    ax.grid(alpha=0.3, axis="y")
    return fig


def _title(run: Run, name: str) -> str:
    sides = {str(side) for item in run.chosen if (side := item.borders.get(name))}
    if not sides:
        return f"{readable(run.metric)} against {name}"
    return f"{name}: best on the {'/'.join(sorted(sides))} border, widen the interval"


def _dedupe_legend(ax: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), fontsize="small")
