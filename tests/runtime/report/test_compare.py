"""`nnspec compare RUN RUN ...`: the chosen configurations and test scores side by side, printed
and written as one page; a folder that is not a run is one clear line."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runtime.cli.command import main
from runtime.report.compare import comparison, load_runs, plot_scores

SPEC = """\
experiment cmp
data iris
network
    dense 4 tanh
train
    sgd lr $lr
    epochs 3
search grid
    lr in 0.03, 0.3
seeds 2
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("cmp")
    (tmp / "a.spec").write_text(SPEC)
    (tmp / "b.spec").write_text(SPEC.replace("0.03, 0.3", "0.1, 1").replace("cmp", "cmp_b"))
    for name in ("a", "b"):
        assert main(["run", str(tmp / f"{name}.spec"), "--out", str(tmp / name), "--quiet",
                     "--jobs", "1"]) == 0
    return [tmp / "a", tmp / "b"]


def test_the_table_holds_each_runs_choice_and_test_scores(runs: list[Path]) -> None:
    frame = comparison(load_runs(runs))
    assert list(frame.columns) == ["a", "b"]
    for path in runs:
        best = json.loads((path / "best.json").read_text())
        column = frame[path.name]
        assert column["experiment"] == best["experiment"]
        assert column["param lr"] == f"{best['params']['lr']:.4g}"
        assert column["test_accuracy"].startswith(f"{best['test']['test_accuracy']:.4g} ± ")


def test_the_score_plot_has_a_bar_per_run_and_metric(runs: list[Path]) -> None:
    fig = plot_scores(load_runs(runs))
    metrics = [k for k in json.loads((runs[0] / "best.json").read_text())["test"]
               if k.startswith("test_")]
    assert [ax.get_title() for ax in fig.axes] == [k[5:] for k in metrics]
    assert all(len(ax.patches) == 2 for ax in fig.axes)


def test_the_command_prints_and_writes_the_page(runs: list[Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "c.html"
    assert main(["compare", *map(str, runs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cmp_b" in printed and "test_accuracy" in printed and str(out) in printed
    page = out.read_text()
    assert "id=\"compare\"" in page and "data:image/png;base64," in page


def test_a_folder_that_is_not_a_run_is_one_line(runs: list[Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs[0]), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not a finished run" in err and "Traceback" not in err
    assert main(["compare", str(runs[0]), str(runs[0])]) == 1
    assert "named twice" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "sub", ignore_errors=True)
