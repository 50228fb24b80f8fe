"""The report's view of a layerwise search's stages: each stage's criterion against its values.

`search layerwise N` chooses layer 1's pre-training by its own criterion (layer 1's
reconstruction error on the validation inputs, or the run's metric), fixes it, then layer 2's,
..., then the fine-tuning. `best.json`'s `stages` says what each stage chose and by which
column; `trials.csv` holds every stage's rows. `plot_stages` draws one row of panels per stage
and one panel per dimension the stage searched (`pt_lr@1`, `noise@1`, ...): each
configuration's criterion (its mean over seeds and folds) against its value, failed or
diverged ones as crosses along the top, the chosen one starred (red, and the title says so,
when best.json puts it on the border of the values the stage tried). `sections(run)` is the
page's section; [] for a run of another strategy.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runtime.report import html, plots
from runtime.report.run_folder import Run

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CAPTION = ("the layerwise search's stages, one row each: every configuration of the stage, its "
           "criterion (the mean over seeds and folds; lower is better for a reconstruction "
           "error) against each value the stage searched, the chosen one starred (red on a "
           "border of the values the stage tried)")


def stages(run: Run) -> list[dict[str, Any]]:
    """The stages best.json records (those of the first outer fold: the same steps and
    dimensions in every one) that searched a value; [] for another strategy."""
    records = run.chosen[0].stages if run.chosen else None
    return [s for s in records or [] if isinstance(s, dict) and s.get("values")]


def stage_configurations(run: Run, stage: dict[str, Any]) -> pd.DataFrame:
    """One row per configuration (and outer fold) of a stage: its parameters and the mean of
    the stage's criterion over its seeds and folds (`criterion`; NaN when one failed)."""
    rows = run.trials[run.trials["step"] == stage["step"]] if "step" in run.trials else \
        run.trials.iloc[:0]
    column = stage["criterion"]
    keys = [c for c in ("outer", "trial") if c in rows]
    params = [f"param_{name}" for name in stage["values"] if f"param_{name}" in rows]
    scores = pd.to_numeric(rows[column], errors="coerce") if column in rows else \
        pd.Series(np.nan, index=rows.index)
    table = rows[keys + params].assign(criterion=scores)
    grouped = table.groupby(keys, dropna=False, sort=True)
    return grouped[params].first().join(grouped["criterion"].agg(
        lambda s: s.mean() if s.notna().all() else np.nan)).reset_index()


def plot_stages(run: Run) -> Figure | None:
    """The stages' panels (see the module docstring); None when there is no stage to show."""
    found = stages(run)
    if not found:
        return None
    columns = max(len(s["values"]) for s in found)
    fig = plots.new_figure(4.2 * columns + 0.6, 3.4 * len(found))
    grid = fig.subplots(len(found), columns, squeeze=False)
    for row, stage in enumerate(found):
        table = stage_configurations(run, stage)
        for col in range(columns):
            ax = grid[row][col]
            names = list(stage["values"])
            if col >= len(names):
                ax.set_axis_off()
                continue
            _panel(ax, run, stage, names[col], table)
    return fig


def _panel(ax: Any, run: Run, stage: dict[str, Any], name: str, table: pd.DataFrame) -> None:
    """One stage's criterion against one of its dimensions."""
    column = f"param_{name}"
    if column not in table:
        ax.set_axis_off()
        return
    numbers = plots.numeric_values(table[column])
    labels = sorted(table[column].dropna().astype(str).unique())
    x = numbers.to_numpy(float) if numbers is not None else \
        np.array([labels.index(str(v)) if pd.notna(v) else np.nan for v in table[column]],
                 dtype=float)
    y = table["criterion"].to_numpy(float)
    ok = np.isfinite(y) & np.isfinite(x)
    ax.plot(x[ok], y[ok], "o", color="C0", alpha=0.7, label="configuration")
    failed = ~np.isfinite(y) & np.isfinite(x)
    if failed.any():
        top = float(np.max(y[ok])) if ok.any() else 1.0
        ax.plot(x[failed], np.full(int(failed.sum()), top), "x", color="0.4",
                label="failed or diverged")
    side = _chosen(ax, run, stage, name, table, x, y)
    if numbers is None:
        ax.set_xticks(range(len(labels)), labels)
    elif plots.log_scale(x[np.isfinite(x)]):
        ax.set_xscale("log")
    title = f"{stage['step']}: {name}" + (f", best on the {side} border" if side else "")
    ax.set(xlabel=name, ylabel=criterion_label(stage), title=title)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)


def criterion_label(stage: dict[str, Any]) -> str:
    """The y axis of a stage's panels: its criterion in words."""
    if str(stage["criterion"]).startswith("pretrain_") and stage.get("layer"):
        return f"layer {stage['layer']}'s reconstruction error (validation)"
    return plots.readable(stage["criterion"])


def _chosen(ax: Any, run: Run, stage: dict[str, Any], name: str, table: pd.DataFrame,
            x: np.ndarray, y: np.ndarray) -> str:
    """Star each outer fold's chosen configuration of the stage; the border side best.json
    gives its value ("" when inside)."""
    sides = set()
    for item in run.chosen:
        mine = next((s for s in item.stages if s.get("step") == stage["step"]), None)
        at = (table["trial"] == (mine or {}).get("trial")).to_numpy()
        if "outer" in table and item.outer is not None:
            at &= (table["outer"] == item.outer).to_numpy()
        side = item.borders.get(name)
        if at.any():
            ax.plot(x[at], y[at], "*", color="C3" if side else "C1", ms=15, zorder=5,
                    label="chosen" + (f" (on the {side} border)" if side else ""))
        sides.add(side or "")
    return "/".join(sorted(s for s in sides if s))


def sections(run: Run) -> list[tuple[str, str, str]]:
    """The page's stages section (id, heading, HTML); [] when the run has no stages."""
    fig = plot_stages(run)
    if fig is None:
        return []
    return [("stages", "layer-wise stages",
             html.img(html.Image("stages", plots.png(fig), CAPTION)))]
