"""The report's views of the whole search: every trial's learning curves, a parallel-coordinates
view of all configurations, and hyper-parameter importance.

Importance is scikit-learn's permutation importance (`sklearn.inspection.
permutation_importance`) of a random-forest surrogate (`RandomForestRegressor`, 300 trees,
seeded) fitted to the finished configurations: parameters as features (log10 of a log-scale
one, a choice as its value's index), the mean validation metric as the target. A parameter's
importance is how much the surrogate's R² drops when its column is shuffled (mean ± std over
20 shuffles). It is measured on the configurations the forest was fitted to, so it says what
the surrogate relies on, and it is shown only when the surrogate is worth asking:
- at least PER_PARAMETER (10) finished configurations per varying parameter, the usual "ten
  events per variable" floor below which a regression model's coefficients are not stable
  (Peduzzi et al. 1996; Harrell, "Regression Modeling Strategies", 4.4);
- the forest predicts the configurations each tree did not see better than their mean (its
  out-of-bag R² is positive): otherwise it has learnt nothing its importances could report.
The page says on how many configurations it was fitted and its out-of-bag R², or why it is not
shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runtime.report.plots import (curve, fidelity_colors, log_axis, maximized, new_figure,
                                  numeric_values, readable)
from runtime.report.run_folder import Member, Run
from runtime.types import TrialState

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HIGHLIGHTED = 3            # configurations drawn in colour over the faint rest
PER_PARAMETER = 10         # finished configurations per varying parameter, for importance
IMPORTANCE_REPEATS = 20


def ranked_trials(run: Run, top: int = HIGHLIGHTED) -> list[int]:
    """The trial numbers of the best `top` configurations by the summary's rank (per outer
    fold under nested cross-validation, the best of each)."""
    rank = f"rank_{run.metric}"
    summary = run.summary[run.summary[f"mean_{run.metric}"].notna()]
    if rank not in summary:
        return []
    ordered = summary.sort_values(rank, kind="stable")
    if "outer" in ordered and ordered["outer"].notna().any():
        ordered = ordered.groupby("outer").head(1)
    return [int(t) for t in ordered["trial"].head(top)]


def plot_all_curves(run: Run, trials: list[Member]) -> Figure:
    """The selection metric of every trial with curves, per epoch (left) and per second of
    training (right): faint grey (coloured by fidelity under halving), the members of the best
    HIGHLIGHTED configurations in colour and named in the legend."""
    metric = run.metric if any(run.metric in m.curves for m in trials) else "valid_loss"
    best = ranked_trials(run)
    colors = fidelity_colors(run.summary)
    fig = new_figure(12, 4.6)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, along, xlabel in ((axes[0], "epoch", "epoch"), (axes[1], "time_s", "seconds")):
        for member in trials:
            x, y = curve(member, metric, along)
            if not y.size:
                continue
            trial = int(member.row.get("trial", -1))
            if trial in best:
                rank = best.index(trial)
                ax.plot(x, y, color=f"C{rank}", lw=1.6, zorder=3,
                        label=f"#{rank + 1}: trial {trial}")
            else:
                color = colors.get(float(member.row.get("fidelity", 1.0)), "0.55")
                ax.plot(x, y, color=color, lw=0.7, alpha=0.35, label="other trials",
                        marker="." if len(y) < 3 else None)
        ax.set(xlabel=xlabel, ylabel=readable(metric))
        ax.grid(alpha=0.3)
    _ranked_legend(axes[0], best)
    fig.suptitle(f"{readable(metric)} of every trial ({len(trials)} rows), the best "
                 f"{len(best)} configurations highlighted", fontsize="medium")
    return fig


def _ranked_legend(ax: Any, best: list[int]) -> None:
    """One legend entry per label, in rank order (#1, #2, #3) then "other trials", whatever
    order the trials were drawn in."""
    lines, labels = ax.get_legend_handles_labels()
    handles = dict(zip(labels, lines))
    order = [f"#{rank + 1}: trial {trial}" for rank, trial in enumerate(best)] + ["other trials"]
    shown = [label for label in order if label in handles]
    if shown:
        ax.legend([handles[label] for label in shown], shown, fontsize="small")


# ------------------------------------------------------------------------- the table
@dataclass
class Encoded:
    """Configurations as numbers: one column per parameter, its axis words and ticks."""

    frame: pd.DataFrame              # rows: finished configurations; columns: parameter names
    target: np.ndarray               # their mean validation metric
    logs: dict[str, bool]            # a numeric parameter shown in log10
    labels: dict[str, list[str]]     # a choice's values, in index order


def encode(run: Run) -> Encoded:
    """The finished configurations at their highest fidelity, as numbers (log10 for a
    log-scale parameter, the index of a choice's value); a parameter some configurations do
    not have (conditional) as NaN."""
    from runtime.report.plots import configurations
    table = configurations(run)
    table = table[table[f"mean_{run.metric}"].notna()]
    frame, logs, labels = pd.DataFrame(index=table.index), {}, {}
    for col in [c for c in table.columns if c.startswith("param_")]:
        name = col[len("param_"):]
        numbers = numeric_values(table[col])
        if numbers is not None:
            logs[name] = log_axis(run, name, numbers.to_numpy(float))
            frame[name] = np.log10(numbers) if logs[name] else numbers
        else:
            labels[name] = sorted(table[col].dropna().astype(str).unique())
            frame[name] = table[col].map(lambda v, vs=labels[name]: np.nan if pd.isna(v)
                                         else vs.index(str(v)))
    frame = frame[[c for c in frame.columns if frame[c].nunique() > 1]]
    return Encoded(frame, table[f"mean_{run.metric}"].to_numpy(float), logs, labels)


def plot_parallel(run: Run) -> Figure | None:
    """One line per finished configuration across an axis per searched parameter and a last
    axis for the metric, each axis scaled to [0, 1] over the values tried, coloured by the
    metric (the best darkest); None with fewer than two configurations."""
    enc = encode(run)
    if len(enc.frame) < 2 or enc.frame.shape[1] == 0:
        return None
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    names = list(enc.frame.columns)
    columns = [enc.frame[n].to_numpy(float) for n in names] + [enc.target]
    scaled = np.column_stack([_unit(v) for v in columns])
    better = -enc.target if maximized(run.metric) else enc.target
    norm = Normalize(better.min(), better.max() if better.max() > better.min() else
                     better.min() + 1)
    cmap = colormaps["viridis"]
    fig = new_figure(max(6.0, 1.8 * len(columns)), 4.8)
    ax = fig.subplots()
    positions = np.arange(len(columns))
    for i in np.argsort(-better):                 # the best drawn last, on top
        ax.plot(positions, scaled[i], "-", color=cmap(norm(better[i])), lw=1.2, alpha=0.8)
    for pos, values, name in zip(positions, columns, names + [run.metric]):
        ax.axvline(float(pos), color="0.3", lw=0.8)
        for text, level in _axis_ticks(values, enc, name):
            ax.text(pos + 0.03, level, text, fontsize=7, va="center", color="0.2")
    ax.set_xticks(positions, [_axis_name(n, enc) for n in names] + [readable(run.metric)])
    ax.set(yticks=[], ylim=(-0.05, 1.05), title="dark: better")
    return fig


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = np.nanmin(values), np.nanmax(values)
    scaled = (values - low) / (high - low) if high > low else np.full(values.shape, 0.5)
    return np.where(np.isnan(scaled), -0.04, scaled)       # an inactive parameter: below 0


def _axis_name(name: str, enc: Encoded) -> str:
    return f"log10 {name}" if enc.logs.get(name) else name


def _axis_ticks(values: np.ndarray, enc: Encoded, name: str) -> list[tuple[str, float]]:
    """Labels at the bottom and top of an axis (every value of a choice)."""
    if name in enc.labels:
        count = len(enc.labels[name])
        return [(v, i / (count - 1) if count > 1 else 0.5)
                for i, v in enumerate(enc.labels[name])]
    low, high = np.nanmin(values), np.nanmax(values)
    shown = (lambda v: f"{10 ** v:.3g}") if enc.logs.get(name) else (lambda v: f"{v:.3g}")
    return [(shown(low), 0.0), (shown(high), 1.0)]


# ------------------------------------------------------------------------ importance
@dataclass(frozen=True)
class Importance:
    """Permutation importances, and what they were measured on."""

    table: pd.DataFrame        # parameter, mean, std; the most important first
    configurations: int        # the finished configurations the forest was fitted to
    oob_r2: float              # the forest's R² on the configurations each tree did not see

    def fitted_on(self) -> str:
        """What the bars rest on, in words."""
        return (f"fitted on {self.configurations} finished configurations "
                f"(out-of-bag R² {self.oob_r2:.2f})")


def importance(run: Run, seed: int = 0) -> Importance | str:
    """Permutation importance of each searched parameter on a random-forest surrogate of the
    finished configurations (see the module docstring), or why it is not shown: fewer than
    two varying parameters, fewer than PER_PARAMETER configurations per parameter, or a
    surrogate that predicts unseen configurations no better than their mean."""
    enc = encode(run)
    count, params = enc.frame.shape
    if params < 2:
        return "fewer than two searched parameters varied"
    if count < PER_PARAMETER * params:
        return (f"{count} finished configurations, fewer than {PER_PARAMETER} per varying "
                f"parameter ({PER_PARAMETER * params} for {params})")
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance
    X = enc.frame.fillna(-1.0).to_numpy(float)      # inactive: a value no active one takes
    forest = RandomForestRegressor(n_estimators=300, min_samples_leaf=2, oob_score=True,
                                   random_state=seed)
    forest.fit(X, enc.target)
    if not forest.oob_score_ > 0:
        return (f"a random forest fitted on {count} finished configurations predicts the ones "
                f"each tree did not see no better than their mean (out-of-bag R² "
                f"{forest.oob_score_:.2f})")
    found = permutation_importance(forest, X, enc.target, n_repeats=IMPORTANCE_REPEATS,
                                   random_state=seed)
    table = pd.DataFrame({"parameter": list(enc.frame.columns),
                          "mean": found.importances_mean, "std": found.importances_std})
    ordered = table.sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
    return Importance(ordered, count, float(forest.oob_score_))


def plot_importance(found: Importance, metric: str) -> Figure:
    """Horizontal bars of permutation importance (mean ± std), the most important on top; the
    title says how many configurations the surrogate was fitted on."""
    fig = new_figure(7, 1.4 + 0.5 * len(found.table))
    ax = fig.subplots()
    order = found.table.iloc[::-1]
    ax.barh(order["parameter"], order["mean"], xerr=order["std"], color="C0", capsize=3)
    ax.set(xlabel="drop in the surrogate's R² when the parameter is shuffled",
           ylabel="hyper-parameter",
           title=f"importance for {readable(metric)}\n{found.fitted_on()}")
    ax.grid(alpha=0.3, axis="x")
    return fig


def outcome_counts(run: Run) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    """Trials per state, and the most common (state, message, count) of those that did not
    complete (the error column; up to 5)."""
    trials = run.trials
    states = trials["state"].value_counts().to_dict() if "state" in trials else {}
    messages: list[tuple[str, str, int]] = []
    if "error" in trials and "state" in trials:
        bad = trials[(trials["state"] != TrialState.COMPLETE) & trials["error"].notna()]
        counted = bad.groupby(["state", "error"]).size().sort_values(ascending=False)
        messages = [(str(s), str(e), int(n)) for (s, e), n in counted.head(5).items()]
    return {str(k): int(v) for k, v in states.items()}, messages
