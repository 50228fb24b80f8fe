"""The learning-rate range test's plot (`nnspec check --lr-range`): the loss after the test's
updates against the rate, on log axes, through matplotlib's object API (no pyplot, no backend
switch; matplotlib is imported when a plot is drawn)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.engine.lr_range import RangeTest

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOSS_LABEL = "loss after the updates"


def plot_range_test(test: RangeTest, title: str = "") -> Figure:
    """One line: the loss after `test.updates` updates at each rate tested (a point per rate;
    non-finite losses are not drawn, the diverged rate is a red cross at the top), the initial
    loss dashed, the largest stable rate and the suggestion as vertical lines; log x axis (and
    log y: losses are positive)."""
    from runtime.report.plots import new_figure
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    finite = [v for v in test.losses if math.isfinite(v) and v > 0]
    top = max([test.initial_loss, *finite]) * 3 if finite else test.initial_loss * 3
    shown = [v if math.isfinite(v) and v > 0 else math.nan for v in test.losses]
    ax.plot(test.rates, shown, marker="o", markersize=3, color="tab:blue", label=LOSS_LABEL)
    for rate, loss, diverged in zip(test.rates, test.losses, test.diverged):
        if diverged:
            y = loss if math.isfinite(loss) and 0 < loss < top else top / 1.5
            ax.plot([rate], [y], marker="x", color="tab:red", markersize=9, linestyle="none",
                    label="diverged")
    ax.axhline(test.initial_loss, color="grey", linestyle="--", linewidth=1,
               label="initial loss")
    if test.largest_stable is not None and test.suggestion is not None:
        ax.axvline(test.largest_stable, color="tab:orange", linewidth=1,
                   label=f"largest stable {test.largest_stable:.3g}")
        ax.axvline(test.suggestion, color="tab:green", linewidth=1.5,
                   label=f"suggestion {test.suggestion:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=top)
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"training loss after {test.updates} updates")
    ax.set_title(title or "learning-rate range test")
    ax.legend(fontsize="small")
    return fig


def write_range_plot(test: RangeTest, path: Path, title: str = "") -> Path:
    """Draw `plot_range_test` to the PNG `path`, written atomically; returns `path`."""
    from runtime.execution.artifacts import write_atomic
    fig = plot_range_test(test, title)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
