"""`nnspec report RUN` (and `nnspec run --report`): `RUN/report/index.html`, one
self-contained page of a finished run.

In order: the summary (the selection metric first, the chosen configuration, the test score,
border warnings, notes); the provenance and links to the run's files; the outcomes (trials per
state, the most common messages); every trial's learning curves against epochs and seconds,
the best few highlighted, and the chosen configuration's curves; per hyper-parameter the metric
against its value; a parallel-coordinates view; hyper-parameter importance; the chosen networks'
weights, activations and gradients at the start and end of training and the first layer's
filters; the table of configurations; the spec as run. Reading the run changes nothing in it.
"""
from __future__ import annotations

import html as escape
from functools import partial
from pathlib import Path
from typing import Any, Callable

from runtime.execution.artifacts import write_text_atomic
from runtime.report import html, network_stats, plots, search_plots, stages
from runtime.report.run_folder import (Run, chosen_members, load_run, provenance_lines,
                                       trial_curves)

IMPORTANCE_TEXT = ("scikit-learn's permutation importance (sklearn.inspection."
                   "permutation_importance, 20 shuffles) of a random-forest surrogate "
                   "(RandomForestRegressor, 300 trees) fitted to the finished configurations: "
                   "parameters as features (log10 of a log-scale one, a choice by its value's "
                   "index), the mean validation metric as the target. A bar is how much the "
                   "surrogate's R² drops when that parameter's column is shuffled; it is "
                   "measured on the configurations the forest was fitted to. It is shown "
                   f"with at least {search_plots.PER_PARAMETER} finished configurations per "
                   "varying parameter (the 'ten events per variable' floor of regression "
                   "models) and when the forest predicts the configurations each tree did not "
                   "see better than their mean (a positive out-of-bag R²).")


# Sections that start folded: the summary, the outcomes, the curves and the parameters come
# first, open; the rest is a click away (the grid report was 6,500 px tall at 1,400 px wide).
FOLDED = ("network", "configurations", "spec")


def write_report(run_dir: Path | str) -> Path:
    """Write `RUN/report/index.html` for a finished run; its path. Raises NnspecError when
    `run_dir` is not a finished run."""
    run = load_run(run_dir)
    text = html.page(run.outcome.experiment or run.path.name, sections(run),
                     _meta(run), folded=FOLDED)
    out = run.path / "report"
    out.mkdir(exist_ok=True)
    return write_text_atomic(out / "index.html", text)


def sections(run: Run) -> list[tuple[str, str, str]]:
    """The page's (id, heading, HTML) sections."""
    states, messages = search_plots.outcome_counts(run)
    trials = trial_curves(run)
    return [("summary", "summary", html.best_html(run)),
            ("outcomes", "trials by outcome", html.outcomes_html(states, messages)),
            ("curves", "learning curves", _curves(run, trials)),
            ("parameters", "hyper-parameters", _parameters(run)),
            *stages.sections(run),                 # a layerwise search's stages, if any
            ("network", "the chosen networks", _network(run)),
            ("configurations", f"configurations (top {html.TOP_ROWS} by {run.metric})",
             f"<div class='scroll'>{html.summary_html(run)}</div>"),
            ("spec", "the spec as run", html.spec_html(_spec_text(run), run.best))]


def _figure(ident: str, make: Callable[[], Any], caption: str) -> str:
    """An embedded plot (nothing when `make` returns None)."""
    fig = make()
    if fig is None:
        return ""
    wide = fig.get_figwidth() >= html.WIDE_INCHES
    return html.img(html.Image(ident, plots.png(fig), caption, wide))


def _curves(run: Run, trials: list[Any]) -> str:
    parts = [_figure("all-curves", lambda: search_plots.plot_all_curves(run, trials),
                     "every trial's selection metric per epoch and per second of training "
                     "(faint; coloured by fidelity under halving), the members of the best "
                     f"{search_plots.HIGHLIGHTED} configurations in colour")]
    members = chosen_members(run)
    parts.append(_figure("chosen-curves", lambda: plots.plot_curves(members, run.metric),
                         "the chosen configuration's members (seed x fold): losses, the "
                         "metric and the learning rate per epoch"))
    return html.figures(parts)


def _parameters(run: Run) -> str:
    parts = []
    table = plots.configurations(run)
    for col in [c for c in run.summary.columns if c.startswith("param_")]:
        name = col[len("param_"):]
        if table[col].dropna().astype(str).nunique() < 2:
            continue                     # one value tried: nothing to compare
        if plots.numeric_values(run.summary[col]) is not None:
            parts.append(_figure(f"param-{name}", partial(plots.plot_numeric, run, name),
                                 f"{run.metric} against {name}: each trial, the trend, the "
                                 "chosen value (dashed; red on a border)"))
        else:
            parts.append(_figure(f"choice-{name}", partial(plots.plot_choice, run, name),
                                 f"{run.metric} per value of {name}"))
    parts.append(_figure("parallel", lambda: search_plots.plot_parallel(run),
                         "parallel coordinates: one line per finished configuration"))
    found = search_plots.importance(run)
    if isinstance(found, str):
        parts.append(f"<p class='note'>importance: not shown ({escape.escape(found)}). "
                     f"The method: {escape.escape(IMPORTANCE_TEXT)}</p>")
    else:
        parts.append(_figure("importance",
                             lambda: search_plots.plot_importance(found, run.metric),
                             f"hyper-parameter importance, {found.fitted_on()}: "
                             f"{IMPORTANCE_TEXT}"))
    return html.figures(parts) or "<p>no hyper-parameter was searched.</p>"


def _network(run: Run) -> str:
    stats = network_stats.record(run)
    if isinstance(stats, str):
        return f"<p class='note'>{escape.escape(stats)}.</p>"
    parts = [f"<p class='note'>{escape.escape(n)}</p>" for n in stats.notes]
    for quantity in network_stats.QUANTITIES:
        parts.append(_figure(f"hist-{quantity}",
                             partial(network_stats.plot_histograms, stats, quantity),
                             f"{quantity} per layer: grey at initialization, blue at the end "
                             "of training (the restored best epoch)"))
    parts.append(_figure("pretraining", lambda: plots.plot_pretraining(chosen_members(run)),
                         "pre-training: each layer's reconstruction error before and after "
                         "each of its epochs, per member"))
    # Inputs that are not a square image have no filters to show, and nothing to say of it.
    parts.append(_figure("filters", lambda: network_stats.plot_filters(stats),
                         "the first layer's filters (red positive, blue negative)"))
    return html.figures(parts)


def _meta(run: Run) -> str:
    lines = [escape.escape(line) for line in provenance_lines(run.path, run.outcome.run_id)]
    present = [n for n in html.RUN_FILES if (run.path / n).is_file()]
    return "<br>".join(lines + [f"run folder {escape.escape(str(run.path))}: "
                                + html.files_html(present)])


def _spec_text(run: Run) -> str:
    try:
        return (run.path / "spec.spec").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return "(spec.spec is missing or unreadable)"
