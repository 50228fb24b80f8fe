"""`write_report` on a real (tiny) run: the PNGs open, index.html shows the chosen configuration
and the summary table, and a folder that is not a finished run is a clear error."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import runtime
import spec_lang
from runtime.errors import NnspecError
from runtime.report.plots import (Run, chosen_members, configurations, load_run, log_scale,
                            numeric_values, plot_numeric, write_report)

SPEC = """\
experiment tiny
data iris
split train 0.6 valid 0.2 test 0.2 stratified
network
    dense 8 $act
train
    sgd lr $lr momentum 0.9
    batch 16
    epochs 6
search grid
    lr in 0.01, 0.1, 0.5
    act in relu, tanh
seeds 2
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "tiny"
    runtime.run(spec_lang.loads(SPEC), out=out, jobs=1)
    return out


@pytest.fixture(scope="module")
def written(run_dir: Path) -> list[Path]:
    return write_report(run_dir)


def test_writes_the_plots_and_the_page(run_dir: Path, written: list[Path]) -> None:
    names = sorted(p.name for p in written)
    assert names == ["choice_act.png", "curves.png", "index.html", "param_lr.png"]
    assert all(p.parent == run_dir / "report" and p.stat().st_size > 0 for p in written)


def test_pngs_are_valid_images(written: list[Path]) -> None:
    for path in (p for p in written if p.suffix == ".png"):
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 100 and image.height > 100


def test_index_shows_chosen_params_scores_and_summary(run_dir: Path, written: list[Path]
                                                      ) -> None:
    page = (run_dir / "report" / "index.html").read_text(encoding="utf-8")
    best = json.loads((run_dir / "best.json").read_text())
    assert f"chosen trial {best['trial']}" in page
    assert f"<th>act</th><td>{best['params']['act']}</td>" in page
    assert f"<th>lr</th><td>{best['params']['lr']:g}</td>" in page
    assert "test (scored once" in page and "accuracy" in page
    for png in ("curves.png", "param_lr.png", "choice_act.png"):
        assert f"src='{png}'" in page
    table = page[page.index('class="dataframe summary"'):]
    table = table[:table.index("</table>")]
    assert "mean_valid_error" in table and "rank_valid_error" in table
    assert table.count("<tr>") == 6                     # one row per configuration


def test_curves_come_from_the_chosen_trials_rows(run_dir: Path) -> None:
    run = load_run(run_dir)
    members = chosen_members(run)
    assert sorted(m.row["seed"] for m in members) == [0, 1]
    assert all(m.row["trial"] == run.best["trial"] for m in members)
    for member in members:
        assert len(member.curves["train_loss"]) == member.row["epochs"]
        assert {"valid_loss", "valid_error", "lr"} <= set(member.curves)


def test_report_is_rewritten_idempotently(run_dir: Path, written: list[Path]) -> None:
    assert write_report(run_dir) == written


def test_not_a_run_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NnspecError, match="not a finished run"):
        write_report(tmp_path)
    with pytest.raises(NnspecError, match="no such run folder"):
        write_report(tmp_path / "missing")


def test_a_run_without_its_store_is_not_finished(run_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(run_dir, partial, ignore=shutil.ignore_patterns("store.sqlite*"))
    with pytest.raises(NnspecError, match="store.sqlite missing"):
        write_report(partial)


def test_an_unreadable_store_is_a_clear_error(run_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken, ignore=shutil.ignore_patterns("store.sqlite*", "report"))
    (broken / "store.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(NnspecError, match="not a run store"):
        write_report(broken)


def test_the_report_leaves_the_store_unchanged(run_dir: Path, written: list[Path]) -> None:
    store = run_dir / "store.sqlite"
    before = store.read_bytes()
    write_report(run_dir)
    assert store.read_bytes() == before


def test_log_scale_only_for_wide_positive_values() -> None:
    assert log_scale(np.array([1e-3, 1e-2, 1e-1]))
    assert not log_scale(np.array([0.5, 0.9, 0.99]))
    assert not log_scale(np.array([0.0, 1e-3, 1.0]))
    assert not log_scale(np.array([]))


def test_numeric_values_tells_numbers_from_choices() -> None:
    assert numeric_values(pd.Series([16, 32, None])) is not None
    assert numeric_values(pd.Series(["relu", "tanh"])) is None
    assert numeric_values(pd.Series([True, False])) is None


def halving_run(tmp_path: Path) -> Run:
    """A summary as successive halving leaves it: lr 1 promoted to full fidelity, lr 100
    diverged in the first rung."""
    summary = pd.DataFrame({
        "trial": [0, 1, 2, 3], "param_lr": [0.01, 1.0, 100.0, 1.0],
        "fidelity": [0.5, 0.5, 0.5, 1.0], "mean_valid_error": [0.3, 0.1, np.nan, 0.05],
        "std_valid_error": [0.01, 0.02, 0.0, 0.01], "rank_valid_error": [3, 2, 4, 1]})
    best = {"trial": 3, "params": {"lr": 1.0}, "metric": "valid_error",
            "borders": {"lr": None}}
    return Run(tmp_path, best, summary, pd.DataFrame())


def test_configurations_keep_each_at_its_highest_fidelity(tmp_path: Path) -> None:
    kept = configurations(halving_run(tmp_path))
    assert list(kept["trial"]) == [0, 2, 3]


def test_numeric_plot_with_failed_configurations(tmp_path: Path) -> None:
    path = plot_numeric(halving_run(tmp_path), "lr", tmp_path / "lr.png")
    with Image.open(path) as image:
        assert image.format == "PNG"


def test_provenance_says_which_run_wrote_the_artifacts(run_dir: Path, tmp_path: Path) -> None:
    from runtime.execution.store import RunStore
    from runtime.report.run_folder import load_run, provenance_lines
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    lines = provenance_lines(copy, load_run(copy).best)
    assert len(lines) == 1 and lines[0].startswith("run 1 of this folder") and "nnspec" in lines[0]
    store = RunStore(copy / "store.sqlite")
    later = store.begin_run({"spec": "", "digest": ""})
    with store.db:                                   # a run killed before it finished
        store.db.execute("UPDATE runs SET pid = 2147483647 WHERE id = ?", (later,))
    store.close()
    lines = provenance_lines(copy, load_run(copy).best)
    assert "the latest run (run 2" in lines[1] and "interrupted" in lines[1]
    assert "these artifacts are from run 1" in lines[1]
