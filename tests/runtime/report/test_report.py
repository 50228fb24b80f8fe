"""The report page on small real runs: each plot checked for its content (series, axis labels,
trend values, border marks against the chosen value, rung colours), the page self-contained,
and a folder that is not a finished run a clear error."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import runtime
import spec_lang
from runtime.errors import NnspecError
from runtime.report import plots, search_plots
from runtime.report.page import write_report
from runtime.report.run_folder import Run, chosen_members, load_run, trial_curves

GRID = """\
experiment grid
data digits
split train 0.6 valid 0.2 test 0.2 stratified
network
    dense $width relu
train
    sgd lr $lr momentum 0.9
    batch 64
    epochs 4
search grid
    lr in 0.001, 0.03, 0.3
    width in 8, 16
seeds 2
"""

HALVING = """\
experiment halving
data digits
network
    dense 16 relu
train
    sgd lr $lr momentum 0.9
    batch 64
    epochs 9
search halving 9 eta 3
    lr ~ log_uniform 1e-3 .. 30
seeds 1
"""

RANDOM = """\
experiment random
data iris
network
    dense 8 relu
train
    sgd lr $lr momentum 0.9
    l2 $l2
    epochs 5
search random 12
    lr ~ log_uniform 1e-4 .. 100
    l2 ~ log_uniform 1e-6 .. 1e-2
seeds 1
"""


def run_spec(tmp: Path, text: str, name: str) -> Path:
    """Run a spec written to a file (so that the run folder's spec.spec is the real text)."""
    spec = tmp / f"{name}.spec"
    spec.write_text(text)
    out = tmp / name
    runtime.run(spec_lang.load(spec), out=out, jobs=1)
    return out


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_spec(tmp_path_factory.mktemp("grid"), GRID, "grid")


@pytest.fixture(scope="module")
def halving_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_spec(tmp_path_factory.mktemp("halving"), HALVING, "halving")


@pytest.fixture(scope="module")
def random_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_spec(tmp_path_factory.mktemp("random"), RANDOM, "random")


@pytest.fixture(scope="module")
def page(grid_dir: Path) -> str:
    return write_report(grid_dir).read_text(encoding="utf-8")


def labelled(ax, label: str) -> list:
    return [line for line in ax.get_lines() if line.get_label() == label]


# ---------------------------------------------------------------------------- the curves
def test_every_trial_has_its_curves_and_the_best_are_highlighted(grid_dir: Path) -> None:
    run = load_run(grid_dir)
    trials = trial_curves(run)
    assert len(trials) == len(run.trials) == 12
    assert all(len(t.curves["valid_error"]) == t.row["epochs"] for t in trials)
    fig = search_plots.plot_all_curves(run, trials)
    epochs_ax, seconds_ax = fig.axes
    assert epochs_ax.get_xlabel() == "epoch" and seconds_ax.get_xlabel() == "seconds"
    assert epochs_ax.get_ylabel() == "validation error"
    for ax in (epochs_ax, seconds_ax):
        assert len(ax.get_lines()) == 12                 # one line per (trial, seed)
    best = search_plots.ranked_trials(run)
    assert best[0] == run.best["trial"] and len(best) == 3
    highlighted = [line for line in epochs_ax.get_lines() if line.get_label().startswith("#")]
    assert len(highlighted) == 3 * 2                     # 3 configurations x 2 seeds
    assert {line.get_label() for line in highlighted} == {
        f"#{i + 1}: trial {t}" for i, t in enumerate(best)}
    faint = labelled(epochs_ax, "other trials")
    assert len(faint) == 6 and all(line.get_alpha() < 0.5 for line in faint)
    # against seconds: the x values are the stored time_s curve
    first = trials[0]
    xs = [line.get_xdata() for line in seconds_ax.get_lines()]
    assert any(np.allclose(x, first.curves["time_s"]) for x in xs)


def test_chosen_curves_have_four_panels_one_line_per_member(grid_dir: Path) -> None:
    run = load_run(grid_dir)
    members = chosen_members(run)
    fig = plots.plot_curves(members, run.metric)
    assert [ax.get_title() for ax in fig.axes] == [
        "training loss", "validation loss", "validation error", "learning rate"]
    lines = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("seed")]
    assert sorted(line.get_label() for line in lines) == ["seed 0", "seed 1"]


# ---------------------------------------------------------------------- hyper-parameters
def test_grid_parameter_plot_shows_the_mean_per_value_and_the_chosen_value(grid_dir: Path
                                                                           ) -> None:
    run = load_run(grid_dir)
    fig = plots.plot_numeric(run, "lr")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "lr" and ax.get_ylabel() == "validation error (mean ± std)"
    assert ax.get_xscale() == "log"
    (trend,) = labelled(ax, "mean per value")
    summary = run.summary
    expected = summary.groupby("param_lr")["mean_valid_error"].mean()   # independent
    np.testing.assert_allclose(trend.get_xdata(), expected.index.to_numpy(float))
    np.testing.assert_allclose(trend.get_ydata(), expected.to_numpy(float))
    (star,) = labelled(ax, "chosen")
    chosen = run.best["params"]["lr"]
    assert star.get_xdata()[0] == pytest.approx(chosen)
    assert star.get_ydata()[0] == pytest.approx(run.best["valid"]["mean"])
    side = run.best["borders"].get("lr")
    label = f"chosen value, on the {side} border" if side else "chosen value"
    (mark,) = labelled(ax, label)
    assert mark.get_xdata()[0] == pytest.approx(chosen)
    points = ax.containers[0]                           # the errorbar of every trial
    assert len(points.lines[0].get_xdata()) == len(summary)


def border_run(tmp_path: Path) -> Run:
    """A grid whose best learning rate is its smallest: best.json says 'low' for lr."""
    summary = pd.DataFrame({
        "trial": [0, 1, 2, 3], "param_lr": [0.001, 0.01, 0.1, 1.0],
        "mean_valid_error": [0.1, 0.2, 0.3, np.nan], "std_valid_error": [0.01] * 4,
        "rank_valid_error": [1, 2, 3, 4], "n": [1] * 4, "n_complete": [1, 1, 1, 0]})
    best = {"trial": 0, "params": {"lr": 0.001}, "metric": "valid_error",
            "borders": {"lr": "low"}, "valid": {"metric": "valid_error", "mean": 0.1}}
    return Run(tmp_path, best, summary, pd.DataFrame())


def test_a_border_is_marked_at_the_chosen_value_on_that_side(tmp_path: Path) -> None:
    run = border_run(tmp_path)
    ax = plots.plot_numeric(run, "lr").axes[0]
    (mark,) = labelled(ax, "chosen value, on the low border")
    assert mark.get_xdata()[0] == pytest.approx(run.summary["param_lr"].min())
    assert mark.get_color() == "C3"
    assert "low border" in ax.get_title()
    (failed,) = labelled(ax, "failed or diverged")
    assert list(failed.get_xdata()) == [1.0]


def test_random_search_trend_is_a_smoothing_not_a_zigzag(random_dir: Path) -> None:
    run = load_run(random_dir)
    ax = plots.plot_numeric(run, "lr").axes[0]
    assert not labelled(ax, "mean per value")
    (trend,) = labelled(ax, "smoothed (Gaussian kernel)")
    x = trend.get_xdata()
    assert len(x) == plots.SMOOTH_POINTS and np.all(np.diff(x) > 0)


def test_kernel_smoothing_against_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0, 10, 15))
    y = np.sin(x) + rng.normal(0, 0.1, 15)
    h = plots.loo_bandwidth(x, y)
    grid, smooth = plots.kernel_smooth(x, y, log=False)
    k = 37
    weights = [np.exp(-0.5 * ((grid[k] - xi) / h) ** 2) for xi in x]
    assert smooth[k] == pytest.approx(sum(w * yi for w, yi in zip(weights, y)) / sum(weights))
    # the bandwidth minimizes the leave-one-out error among its candidates
    def loo(width: float) -> float:
        errors = []
        for i in range(len(x)):
            others = np.arange(len(x)) != i
            w = np.exp(-0.5 * ((x[i] - x[others]) / width) ** 2)
            if w.sum() < 1e-12:
                return np.inf                 # a point without neighbours: not a candidate
            errors.append((w @ y[others] / w.sum() - y[i]) ** 2)
        return float(np.mean(errors))
    span = x.max() - x.min()
    candidates = np.geomspace(span / 50, span / 2, 30)
    assert loo(h) == pytest.approx(min(loo(c) for c in candidates))
    flat = plots.kernel_smooth(x, np.full(15, 2.0), log=False)[1]
    np.testing.assert_allclose(flat, 2.0)


def test_halving_rungs_are_coloured_by_fidelity(halving_dir: Path) -> None:
    run = load_run(halving_dir)
    colors = plots.fidelity_colors(run.summary)
    fidelities = sorted(run.summary["fidelity"].unique())
    assert sorted(colors) == pytest.approx(fidelities) and len(set(colors.values())) == 3
    ax = plots.plot_numeric(run, "lr").axes[0]
    from matplotlib.colors import to_hex
    for rung, fid in enumerate(fidelities):
        label = f"fidelity {fid:.3g} (rung {rung})"
        container = next(c for c in ax.containers if c.get_label() == label)
        marker_line = container.lines[0]
        assert to_hex(marker_line.get_color()) == colors[fid]
        assert len(marker_line.get_xdata()) == int((run.summary["fidelity"] == fid).sum()
                                                   - run.summary.loc[run.summary["fidelity"]
                                                   == fid, "mean_valid_error"].isna().sum())
    # the trend is computed on rung 0 only (every configuration at one cost)
    (trend,) = [line for line in ax.get_lines() if "smoothed" in line.get_label()
                or line.get_label() == "mean per value"]
    rung0 = run.summary[(run.summary["fidelity"] == fidelities[0])
                        & run.summary["mean_valid_error"].notna()]
    assert trend.get_xdata().min() == pytest.approx(rung0["param_lr"].min())
    curves_fig = search_plots.plot_all_curves(run, trial_curves(run))
    faint = labelled(curves_fig.axes[0], "other trials")
    assert {to_hex(line.get_color()) for line in faint} <= set(colors.values())


def test_choice_plot_has_a_mean_per_value_line(grid_dir: Path) -> None:
    run = load_run(grid_dir)
    run.summary["param_width"] = run.summary["param_width"].map({8: "narrow", 16: "wide"})
    run.best["params"]["width"] = {8: "narrow", 16: "wide"}[run.best["params"]["width"]]
    ax = plots.plot_choice(run, "width").axes[0]
    (means,) = labelled(ax, "mean per value")
    expected = run.summary.groupby("param_width")["mean_valid_error"].mean()
    np.testing.assert_allclose(means.get_ydata(), expected.loc[["narrow", "wide"]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["narrow", "wide"]


def test_parallel_coordinates_draw_one_line_per_configuration(grid_dir: Path) -> None:
    run = load_run(grid_dir)
    ax = search_plots.plot_parallel(run).axes[0]
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
    assert len(lines) == run.summary["mean_valid_error"].notna().sum() == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "log10 lr", "width", "validation error"]
    for line in lines:
        assert np.all((line.get_ydata() >= 0) & (line.get_ydata() <= 1))


def importance_run(tmp_path: Path, count: int, signal: bool) -> Run:
    """`count` configurations of lr and a noise parameter; the metric a function of lr (or
    noise itself when `signal` is False)."""
    rng = np.random.default_rng(1)
    lr, noise = 10 ** rng.uniform(-4, 0, count), rng.uniform(0, 1, count)
    target = (np.log10(lr) + 2) ** 2 / 4 if signal else rng.uniform(0, 1, count)
    summary = pd.DataFrame({"trial": range(count), "param_lr": lr, "param_noise": noise,
                            "mean_valid_error": target, "std_valid_error": 0.0,
                            "rank_valid_error": range(1, count + 1)})
    return Run(tmp_path, {"metric": "valid_error", "trial": 0}, summary, pd.DataFrame())


def test_importance_finds_the_parameter_the_metric_depends_on(tmp_path: Path) -> None:
    found = search_plots.importance(importance_run(tmp_path, 40, signal=True))
    assert isinstance(found, search_plots.Importance)
    table = found.table
    assert list(table["parameter"]) == ["lr", "noise"]
    assert table["mean"][0] > 10 * max(table["mean"][1], 1e-3)
    assert found.configurations == 40 and found.oob_r2 > 0.5
    fig = search_plots.plot_importance(found, "valid_error")
    bars = fig.axes[0].patches
    assert len(bars) == 2 and "R²" in fig.axes[0].get_xlabel()
    assert "fitted on 40 finished configurations" in fig.axes[0].get_title()


def test_importance_is_not_shown_from_too_few_configurations_or_a_blind_surrogate(
        tmp_path: Path) -> None:
    """The review's case, 8 configurations of 2 parameters, is under the floor of 10 a
    parameter; 40 configurations whose metric is noise leave the forest nothing to predict
    (out-of-bag R² <= 0): both say why instead of drawing bars."""
    few = search_plots.importance(importance_run(tmp_path, 8, signal=True))
    assert few == "8 finished configurations, fewer than 10 per varying parameter (20 for 2)"
    assert isinstance(search_plots.importance(importance_run(tmp_path, 20, True)),
                      search_plots.Importance)
    blind = search_plots.importance(importance_run(tmp_path, 40, signal=False))
    assert isinstance(blind, str) and "out-of-bag R² -" in blind


def test_outcomes_count_states_and_messages(random_dir: Path) -> None:
    run = load_run(random_dir)
    states, messages = search_plots.outcome_counts(run)
    assert states == run.trials["state"].value_counts().to_dict()
    assert states.get("diverged", 0) > 0                  # lr up to 100 diverges
    assert messages and messages[0][0] == "diverged" and messages[0][2] >= 1


# -------------------------------------------------------------------------------- page
def test_the_page_is_self_contained(page: str) -> None:
    srcs = re.findall(r"<img src='([^']*)'", page)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    figures = re.findall(r"<figure id='([^']*)'", page)
    assert figures == ["all-curves", "chosen-curves", "param-lr", "param-width", "parallel",
                       "hist-weights", "hist-activations", "hist-gradients", "filters"]
    assert len(srcs) == len(figures)
    assert "importance: not shown (6 finished configurations, fewer than 10" in page
    assert not re.search(r"(src|href)=['\"]https?:", page)
    assert "<section id='summary'><h2>" in page            # first, never folded
    for section in ("outcomes", "curves", "parameters"):
        assert f"<section id='{section}'><details open><summary><h2>" in page
    for section in ("network", "configurations", "spec"):
        assert f"<section id='{section}'><details><summary><h2>" in page
    assert page.index("<section id='summary'>") < page.index("<section id='outcomes'>")
    assert "experiment grid" in re.sub("<[^>]+>", "", page)    # the spec as run, highlighted
    assert "nnspec 0." in page and "href='../trials.csv'" in page   # provenance and files
    assert "permutation importance" in page and "RandomForestRegressor" in page


def test_the_page_leads_with_the_selection_metric(page: str, grid_dir: Path) -> None:
    best = json.loads((grid_dir / "best.json").read_text())
    summary = page[page.index("<section id='summary'>"):]
    assert summary.index("valid_error") < summary.index("<table")
    assert f"chosen trial {best['trial']}" in summary
    table = page[page.index('id="configurations-table"'):]
    header = table[:table.index("</tr>")]
    assert re.findall(r"<th>([^<]*)</th>", header)[:5] == [
        "rank", "trial", "lr", "width", "valid_error mean"]


def test_not_a_run_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NnspecError, match="not a finished run"):
        write_report(tmp_path)
    with pytest.raises(NnspecError, match="no such run folder"):
        write_report(tmp_path / "missing")


def test_an_unreadable_store_is_a_clear_error(grid_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(grid_dir, broken, ignore=shutil.ignore_patterns("store.sqlite*", "report"))
    (broken / "store.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(NnspecError, match="not a run store"):
        write_report(broken)


def test_the_report_leaves_the_store_unchanged(grid_dir: Path, page: str) -> None:
    store = grid_dir / "store.sqlite"
    before = store.read_bytes()
    write_report(grid_dir)
    assert store.read_bytes() == before


def test_log_scale_only_for_wide_positive_values() -> None:
    assert plots.log_scale(np.array([1e-3, 1e-2, 1e-1]))
    assert not plots.log_scale(np.array([0.5, 0.9, 0.99]))
    assert not plots.log_scale(np.array([0.0, 1e-3, 1.0]))
    assert not plots.log_scale(np.array([]))


def test_numeric_values_tells_numbers_from_choices() -> None:
    assert plots.numeric_values(pd.Series([16, 32, None])) is not None
    assert plots.numeric_values(pd.Series(["relu", "tanh"])) is None
    assert plots.numeric_values(pd.Series([True, False])) is None


def test_provenance_says_which_run_wrote_the_artifacts(grid_dir: Path, tmp_path: Path) -> None:
    from runtime.execution.store import RunStore
    from runtime.report.run_folder import provenance_lines
    copy = tmp_path / "copy"
    shutil.copytree(grid_dir, copy)
    lines = provenance_lines(copy, load_run(copy).outcome.run_id)
    assert len(lines) == 1 and lines[0].startswith("run 1 of this folder") and "nnspec" in lines[0]
    store = RunStore(copy / "store.sqlite")
    later = store.begin_run({"spec": "", "digest": ""})
    with store.db:                                   # a run killed before it finished
        store.db.execute("UPDATE runs SET pid = 2147483647 WHERE id = ?", (later,))
    store.close()
    lines = provenance_lines(copy, load_run(copy).outcome.run_id)
    assert "the latest run (run 2" in lines[1] and "interrupted" in lines[1]
    assert "these artifacts are from run 1" in lines[1]


def test_pre_training_shows_each_layer_s_reconstruction_error(tmp_path: Path) -> None:
    """A pre-trained run: one panel per pre-trained layer, one line per member, its points the
    stored reconstruction errors (before, then after each pre-training epoch)."""
    from runtime.report.plots import plot_pretraining
    from runtime.report.run_folder import chosen_members, load_run
    out = run_spec(tmp_path, "data iris\npreprocess\n    quantile\nnetwork\n    dense 8 sigmoid\n"
                   "    dense 6 sigmoid\npretrain autoencoder epochs 3 lr 0.1\ntrain\n"
                   "    sgd lr 0.1\n    epochs 4\nseeds 2\n", "pre")
    members = chosen_members(load_run(out))
    fig = plot_pretraining(members)
    assert fig is not None and len(fig.axes) == 2
    for ax, layer in zip(fig.axes, ("pretrain_dense0", "pretrain_dense1")):
        assert ax.get_ylabel().startswith("reconstruction error")
        assert len(ax.get_lines()) == 4           # training and validation, for 2 members
        train, valid = ax.get_lines()[:2]
        assert list(train.get_ydata()) == members[0].curves[layer]
        assert list(valid.get_ydata()) == members[0].curves[f"{layer}_valid"]
        assert valid.get_linestyle() == "--" and len(members[0].curves[layer]) == 4
    assert plot_pretraining([m for m in chosen_members(load_run(run_spec(
        tmp_path, "data iris\ntrain\n    epochs 2\nseeds 1\n", "plain")))]) is None
    assert "<figure id='pretraining'>" in write_report(out).read_text()


def test_the_curves_legend_is_in_rank_order(grid_dir: Path) -> None:
    """The legend reads #1, #2, #3, then the other trials, whatever order the trials were
    drawn in (trial order: it came out as '#2, other trials, #3, #1')."""
    run = load_run(grid_dir)
    best = search_plots.ranked_trials(run)
    assert best != sorted(best)                  # drawn in trial order, the ranks are not
    fig = search_plots.plot_all_curves(run, trial_curves(run))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [f"#{i + 1}: trial {t}" for i, t in enumerate(best)] + ["other trials"]


def test_inputs_that_are_not_an_image_get_no_filters_line(random_dir: Path) -> None:
    """Iris (4 features) has no filters to show: the page neither draws nor mentions them."""
    text = write_report(random_dir).read_text(encoding="utf-8")
    network = text[text.index("<section id='network'>"):text.index("<section id='configur")]
    assert "<figure id='hist-weights'>" in network
    assert "filters" not in network


def nested_best() -> dict:
    """best.json of a nested run: three outer folds on the same lr border, one also on the
    epochs border; the outer test folds' scores have no ensemble (each fold has its own)."""
    def fold(outer: int, borders: dict) -> dict:
        return {"outer": outer, "trial": 3 * outer + 2, "params": {"lr": 0.01},
                "valid": {"metric": "valid_error", "mean": 0.1, "std": 0.01, "n": 4},
                "borders": borders}
    return {"metric": "valid_error", "messages": [],
            "outer_folds": [fold(0, {"lr": "high"}), fold(1, {"lr": "high", "epochs": "high"}),
                            fold(2, {"lr": "high", "epochs": None})],
            "test": {"test_error": 0.2, "std_test_error": 0.05}}


def test_a_nested_run_says_each_border_once_without_an_empty_ensemble_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from html import escape

    from runtime.execution.results import border_message
    from runtime.report import html
    from runtime.execution.outcome import RunOutcome
    from runtime.report.console import print_best
    best = nested_best()
    text = html.best_html(Run(tmp_path, best, pd.DataFrame(), pd.DataFrame()))
    lr, epochs = border_message("lr", "high"), border_message("epochs", "high")
    assert text.count(escape(lr)) == 1 and text.count("border") == 2
    assert f"border (every outer fold): {escape(lr)}" in text
    assert f"border (outer fold 1): {escape(epochs)}" in text
    assert "ensemble" not in text and "<td>0.2 ± 0.05</td></tr>" in text
    print_best(RunOutcome.from_record(best))
    printed = " ".join(capsys.readouterr().out.split())
    assert printed.count("border") == 2 and f"border (every outer fold): {lr}" in printed


def test_a_single_choice_keeps_its_ensemble_column_and_plain_borders(page: str,
                                                                     grid_dir: Path) -> None:
    best = json.loads((grid_dir / "best.json").read_text())
    assert "ensemble_test_error" in best["test"]
    assert "<th>ensemble</th>" in page
    for name, side in best["borders"].items():
        if side:
            assert "<p class='warning'>border: " in page


def test_a_parameter_searched_on_a_log_grid_gets_a_log_axis(tmp_path: Path) -> None:
    """`width in log 8 .. 128 count 3` (8, 32, 128: a factor 16, under the span that makes a
    list log-scale) is drawn, smoothed and encoded on its log scale; a linear one is not."""
    (tmp_path / "spec.spec").write_text(
        "data iris\nnetwork\n    dense $width relu\n    dense $units relu\ntrain\n"
        "    sgd lr 0.1\nsearch grid\n    width in log 8 .. 128 count 3\n"
        "    units in 8 .. 128 count 3\n")
    summary = pd.DataFrame({"trial": range(9), "param_width": [8, 32, 128] * 3,
                            "param_units": [8] * 3 + [68] * 3 + [128] * 3,
                            "mean_valid_error": np.linspace(0.1, 0.3, 9),
                            "std_valid_error": 0.01, "rank_valid_error": range(1, 10)})
    run = Run(tmp_path, {"metric": "valid_error", "trial": 0, "params": {}}, summary,
              pd.DataFrame())
    assert plots.plot_numeric(run, "width").axes[0].get_xscale() == "log"
    assert plots.plot_numeric(run, "units").axes[0].get_xscale() == "linear"
    ticks = [t.get_text() for t in search_plots.plot_parallel(run).axes[0].get_xticklabels()]
    assert ticks == ["log10 width", "units", "validation error"]
    assert run.log_dimensions == {"width"}
    assert Run(tmp_path / "nowhere", run.best, summary, pd.DataFrame()).log_dimensions == set()


def test_the_report_writes_what_the_docs_say(grid_dir: Path, page: str) -> None:
    """`write_report` writes report/index.html and nothing else; docs/python.md's report
    section names that file and no other (it described curves.png and param_*.png)."""
    assert sorted(p.name for p in (grid_dir / "report").iterdir()) == ["index.html"]
    docs = (Path(__file__).resolve().parents[3] / "docs" / "python.md").read_text()
    section = docs[docs.index("## The report\n"):]
    section = section[:section.find("\n## ", 1)] if "\n## " in section[1:] else section
    prose = re.sub(r"```python\n.*?```", "", section, flags=re.S)     # not the examples' own
    assert set(re.findall(r"`([^`\s]+\.(?:png|html))`", prose)) == {"RUN/report/index.html"}


def test_the_spec_as_run_is_highlighted_and_says_the_same_text() -> None:
    """The report's spec is coloured by the language's Pygments lexer (inline styles) and,
    without its tags, is the text itself; without Pygments it is the escaped text."""
    import html as html_lib
    from unittest import mock

    from runtime.report.html import highlighted
    text = 'data "a<b.csv" target "y"  # comment\ntrain\n    sgd lr $lr\n'
    coloured = highlighted(text)
    assert "<span style=" in coloured
    assert html_lib.unescape(re.sub("<[^>]+>", "", coloured)) == text
    with mock.patch.dict("sys.modules", {"pygments": None}):
        assert highlighted(text) == html_lib.escape(text)
