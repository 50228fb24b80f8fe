"""The report's layerwise stages (`runtime.report.stages`) on a small real run: each stage's
criterion against each of its values, the chosen configuration starred, its own page section."""
from __future__ import annotations

from pathlib import Path

import runtime
import spec_lang
from runtime.report import stages
from runtime.report.page import write_report
from runtime.report.run_folder import load_run


LAYERWISE = """\
data iris
network
    dense 8 tanh
    dense 6 tanh
pretrain denoising epochs 3 lr $p noise $n
train
    sgd lr $lr momentum 0.9
    epochs 6
search layerwise 3
    p in 0.001, 0.01, 0.1
    n in 0.1, 0.3
    lr in 0.1, 0.01
seeds 1
"""


def test_a_layerwise_run_shows_each_stage_s_criterion_against_its_values(tmp_path: Path
                                                                         ) -> None:
    """One row of panels per stage (layer 1, layer 2, fine-tune), one panel per value the
    stage searched: a point per configuration at its mean criterion (the layer's
    reconstruction error on the validation inputs for a layer's stage), the chosen one
    starred; in the page as its own section. Another strategy's page has none."""
    out = run_spec(tmp_path, LAYERWISE, "layerwise")
    run = load_run(out)
    trials = run.trials
    fig = stages.plot_stages(run)
    assert fig is not None
    panels = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title().split(",")[0] for ax in panels] == [
        "layer 1: p@1", "layer 1: n@1", "layer 2: p@2", "layer 2: n@2", "fine-tune: lr"]
    for ax, k in ((panels[0], 1), (panels[2], 2)):
        rows = trials[trials["step"] == f"layer {k}"]
        (points,) = labelled(ax, "configuration")
        column = f"pretrain_dense{k - 1}_valid_error"
        assert sorted(points.get_ydata()) == sorted(rows[column])
        assert sorted(points.get_xdata()) == sorted(rows[f"param_p@{k}"])
        assert ax.get_ylabel() == f"layer {k}'s reconstruction error (validation)"
        record = run.best["stages"][k - 1]
        star = [line for line in ax.get_lines() if line.get_label().startswith("chosen")]
        chosen = rows[rows["trial"] == record["trial"]].iloc[0]
        assert star[0].get_xdata()[0] == chosen[f"param_p@{k}"]
        assert star[0].get_ydata()[0] == chosen[column]
        side = run.best["borders"][f"p@{k}"]
        assert ("border" in ax.get_title()) == bool(side)
    page = write_report(out).read_text(encoding="utf-8")
    assert "<figure id='stages'>" in page and "<a href='#stages'>" in page
    grid = LAYERWISE.replace("pretrain denoising epochs 3 lr $p noise $n\n", "").replace(
        "search layerwise 3\n    p in 0.001, 0.01, 0.1\n    n in 0.1, 0.3\n", "search grid\n")
    assert stages.sections(load_run(run_spec(tmp_path, grid, "grid"))) == []


def run_spec(tmp: Path, text: str, name: str) -> Path:
    runtime.run(spec_lang.loads(text), out=tmp / name, jobs=1)
    return tmp / name


def labelled(ax, label: str) -> list:
    return [line for line in ax.get_lines() if line.get_label() == label]
