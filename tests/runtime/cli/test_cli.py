"""The `nnspec` command: exit codes, messages, files written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import spec_lang
from runtime.cli.command import main

ROOT = Path(__file__).resolve().parents[3]
SPECS = sorted(ROOT.glob("specs/*.spec"))


def test_check_says_ok_for_every_shipped_spec(capsys):
    assert main(["check", *map(str, SPECS)]) == 0
    out = capsys.readouterr().out
    asynchronous = [p for p in SPECS if spec_lang.load(p).search.asynchronous]
    assert asynchronous, "the examples include asha, hyperband, pruning and budget searches"
    laddered = [p for p in SPECS
                if spec_lang.load(p).search.strategy in ("halving", "asha", "hyperband", "auto")]
    assert out.count(": OK") == len(SPECS) - len(set(asynchronous) | set(laddered))
    assert out.count("note: asynchronous search (") == len(asynchronous)
    assert out.count("rungs train") == len(laddered)
    autos = [p for p in SPECS if spec_lang.load(p).search.strategy == "auto"]
    assert autos and out.count("search auto: the chapter's stages") == len(autos)


@pytest.mark.parametrize("prune, note", [
    ("prune halving", "judges a full-fidelity trial at epochs 1, 3, 9, 27 of 30"),
    ("prune halving eta 2 warmup 1", "judges a full-fidelity trial at epochs 2, 4, 8, 16 of 30"),
    ("prune halving warmup 29", "has no rung before the last of the 30 epochs (the first is "
                                "epoch 30, and the last is never judged): it prunes nothing"),
    ("prune median", None)])
def test_check_says_where_halving_judges_and_when_it_never_will(tmp_path, capsys, prune, note):
    spec = tmp_path / "h.spec"
    spec.write_text("data iris\ntrain\n    sgd lr $lr\n    epochs 30\nsearch random 4\n"
                    f"    lr ~ log_uniform 1e-3 .. 1\n{prune}\n")
    assert main(["check", str(spec)]) == 0
    out = capsys.readouterr().out
    if note is None:
        assert "prune halving" not in out
    else:
        assert f"note: prune halving {note}" in out


@pytest.mark.parametrize("search, epochs, notes", [
    ("asha 90", 30, ["asha's rungs train 1, 3, 10, 30 of the 30 epochs (fidelities 0.037, "
                     "0.111, 0.333, 1)"]),
    ("hyperband", 81, ["the most exploratory bracket's rungs train 3, 9, 27, 81 of the 81"]),
    ("halving 27", 10, ["halving's rungs train 1, 1, 3, 10 of the 10 epochs",
                        "rungs 0 and 1 both train 1 epoch: the higher one decides nothing "
                        "new; raise epochs, min_fidelity or eta, or start fewer "
                        "configurations"]),
    ("halving 9 fidelity data", 10, ["halving's rungs train on 0.111, 0.333, 1 of the "
                                     "training split"]),
    ("hyperband eta 1.01", 30, ["the most exploratory bracket's rungs train 29, 29, 30, 30 "
                                "of the 30 epochs",
                                "rungs 0 and 1 both train 29 epochs: the higher one decides "
                                "nothing new; raise epochs, min_fidelity or eta"]),
    ("random 4", 30, [])])
def test_check_says_what_each_rung_trains_and_when_two_are_the_same(tmp_path, capsys, search,
                                                                    epochs, notes):
    spec = tmp_path / "h.spec"
    spec.write_text(f"data iris\ntrain\n    sgd lr $lr\n    epochs {epochs}\n"
                    f"search {search}\n    lr ~ log_uniform 1e-3 .. 1\n")
    assert main(["check", str(spec)]) == 0
    out = capsys.readouterr().out
    for note in notes:
        assert f"note: {note}" in out
    assert ("rungs" in out) == bool(notes)
    assert ("both train" in out) == (len(notes) > 1)


@pytest.mark.parametrize("train, search, notes", [
    ("epochs 30\n    updates 2", "asha 9",             # iris: 90 training rows, 3 batches
     ["asha's rungs train 3, 10, 30 of the 30 epochs (fidelities 0.111, 0.333, 1), at most "
      "1, 1, 2 of the 2 updates", "rungs 0 and 1 both train 1 update: the higher one decides "
      "nothing new; raise updates, min_fidelity or eta"]),
    ("epochs 30\n    updates 200", "asha 9", ["at most 22, 67, 200 of the 200 updates"]),
    ("epochs $ep", "halving 27\n    ep in 2, 81",
     ["halving's rungs train 0.037, 0.111, 0.333, 1 of the epochs ($ep)",
      "with epochs 2, rungs 0 and 1 both train 1 epoch"])])
def test_check_counts_an_updates_cap_and_each_searched_epoch_cap(tmp_path, capsys, train,
                                                                 search, notes):
    spec = tmp_path / "u.spec"
    spec.write_text(f"data iris\nsplit train 0.6 valid 0.2 test 0.2\ntrain\n    sgd lr $lr\n"
                    f"    batch 32\n    {train}\nsearch {search}\n"
                    "    lr ~ log_uniform 1e-3 .. 1\n")
    assert main(["check", str(spec)]) == 0
    out = capsys.readouterr().out
    for note in notes:
        assert note in out
    assert out.count("both train") == sum("both train" in n for n in notes)
    assert "with epochs 81" not in out


def test_check_lists_the_rungs_of_a_search_on_sparse_data(tmp_path, capsys):
    """A sparse matrix has no len(): the updates an epoch holds come from its shape."""
    spec = tmp_path / "s.spec"
    spec.write_text("data make_sparse samples 300 features 2000 classes 3 nonzeros 10 seed 0\n"
                    "train\n    sgd lr $lr\n    batch 32\n    epochs 9\n    updates 30\n"
                    "search asha 9\n    lr ~ log_uniform 1e-3 .. 1\n")
    assert main(["check", str(spec)]) == 0
    assert "asha's rungs train 1, 3, 9 of the 9 epochs (fidelities 0.111, 0.333, 1), at most " \
        "3, 10, 30 of the 30 updates" in capsys.readouterr().out


def test_check_reports_a_typo_with_position_and_suggestion(tmp_path, capsys):
    bad = tmp_path / "bad.spec"
    bad.write_text("data iris\ntrain\n    sgd lr 0.1 momentun 0.9\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:16: error: unknown option 'momentun'" in err
    assert "did you mean 'momentum'?" in err and "^^^^^^^^" in err
    assert "Traceback" not in err


def test_check_reports_data_errors_with_the_spec(tmp_path, capsys):
    spec = tmp_path / "x.spec"
    spec.write_text('data "nope.csv"\n')
    assert main(["check", str(spec)]) == 1
    assert "nope.csv" in capsys.readouterr().err


def test_check_gradients_and_overfit(tmp_path, capsys):
    spec = tmp_path / "g.spec"
    spec.write_text("data iris\nnetwork\n    dense 16 tanh\n    dense 8 sigmoid\ntrain\n"
                    "    l2 1e-3\n")
    assert main(["check", "--gradients", "--overfit", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "gradient check" in out and "worst relative error" in out
    assert "overfit check" in out and "FAIL" not in out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert info.value.code == 2


@pytest.mark.parametrize("command", ["check", "fmt", "run", "show", "report", "predict"])
def test_every_command_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_fmt_prints_writes_and_checks(tmp_path, capsys):
    spec = tmp_path / "m.spec"
    spec.write_text("data   iris   # x\nnetwork\n  dense 4\n")
    assert main(["fmt", "--check", str(spec)]) == 1
    assert main(["fmt", str(spec)]) == 0
    assert capsys.readouterr().out == "data iris  # x\nnetwork\n    dense 4\n"
    assert main(["fmt", "--write", str(spec)]) == 0
    assert spec.read_text() == "data iris  # x\nnetwork\n    dense 4\n"
    assert main(["fmt", "--check", str(spec)]) == 0


def test_fmt_refuses_mixed_tabs_with_checks_located_error(tmp_path, capsys):
    """A formatter refuses what it cannot parse unambiguously (gofmt, black): a tab that mixes
    with spaces places its line in a block that depends on the tab's width, so fmt exits 1 with
    check's own error instead of printing a guess; --write leaves the file as it was."""
    spec = tmp_path / "t.spec"
    text = "data iris\nnetwork\n    dense 10 relu\n\tdense 5 relu\n"
    spec.write_text(text)
    assert main(["check", str(spec)]) == 1
    checked = capsys.readouterr().err
    assert checked.startswith(f"{spec}:4:1: error: this line's indentation mixes tabs and spaces")
    for flags in ([], ["--write"], ["--check"]):
        assert main(["fmt", *flags, str(spec)]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err == checked
    assert spec.read_text() == text


def test_run_show_and_predict(tiny_spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(tiny_spec), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "best configurations by valid_error" in printed and "test (scored once)" in printed
    assert main(["show", str(out)]) == 0
    assert "chosen trial" in capsys.readouterr().out
    data = tmp_path / "new.npz"
    import numpy as np
    from sklearn.datasets import load_iris
    np.savez(data, X=load_iris().data[:5])
    assert main(["predict", str(out), str(data)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "prediction" and len(lines) == 6
    assert main(["predict", str(out), str(data), "--proba"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("prediction,p_") and len(lines) == 6


def test_predict_on_a_csv_rebuilds_one_hot_columns(tmp_path, capsys):
    spec = tmp_path / "plants.spec"
    spec.write_text((ROOT / "specs" / "plants.spec").read_text().replace(
        '"data/plants.csv"', f'"{ROOT}/specs/data/plants.csv"').replace(
        "count 4", "count 2").replace("epochs 150", "epochs 20").replace("seeds 2", "seeds 1"))
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", str(out), str(ROOT / "specs" / "data" / "plants.csv")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 301 and lines[0].split(",")[0] == "prediction"
    assert {line.split(",")[0] for line in lines[1:]} <= {"fern", "moss", "palm"}


def test_show_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["show", str(tmp_path)]) == 1
    assert "not a finished run" in capsys.readouterr().err


def test_python_dash_m_runtime_is_the_command():
    done = subprocess.run([sys.executable, "-m", "runtime", "check",
                           str(ROOT / "specs" / "quickstart.spec")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip().endswith(": OK")


def test_overfit_check_fails_when_the_network_cannot_learn(tmp_path, capsys):
    spec = tmp_path / "slow.spec"
    spec.write_text("data iris\ntrain\n    sgd lr 1e-7\n")
    assert main(["check", "--overfit", str(spec)]) == 1
    assert "FAIL: overfit check" in capsys.readouterr().out


def test_progress_tracks_the_best_of_a_maximized_metric():
    from runtime.report.console import RunProgress
    from spec_lang import loads
    progress = RunProgress(loads("metric accuracy\n"), quiet=True)
    for value in (0.5, 0.9, 0.7):
        progress({"event": "trial", "row": {"state": "complete", "valid_accuracy": value},
                  "metric": "valid_accuracy", "maximize": True})
    assert -progress.best == 0.9


def test_a_run_where_nothing_completed_exits_1_with_the_most_common_error(tmp_path, capsys):
    spec = tmp_path / "bad.spec"
    spec.write_text("experiment bad\ndata iris\nnetwork\n    dense 4 tanh\ntrain\n"
                    "    sgd lr 1e7\n    epochs 5\nseeds 2\n")           # every trial diverges
    status = main(["run", str(spec), "--out", str(tmp_path / "run"), "--quiet", "--jobs", "1"])
    captured = capsys.readouterr()
    err = captured.err
    assert status == 1 and "no trial completed" in err and "loss" in err
    assert (tmp_path / "run" / "trials.csv").exists()
    # nothing is "chosen" (issue 25: it printed "chosen trial 0 (...): valid_error  ± 0")
    assert "chosen trial" not in captured.out
    assert main(["show", str(tmp_path / "run")]) == 0
    shown = capsys.readouterr().out
    assert "chosen trial" not in shown and "nothing chosen" in shown
    # predict says why there is no model, not that the run was nested
    assert main(["predict", str(tmp_path / "run"), str(spec)]) != 0
    said = capsys.readouterr().err
    assert "no trial of this run completed" in said and "nested" not in said


def test_show_prints_where_the_artifacts_come_from(tmp_path, capsys):
    spec = tmp_path / "ok.spec"
    spec.write_text("experiment ok\ndata iris\nnetwork\n    dense 4 tanh\ntrain\n    epochs 2\n"
                    "seeds 1\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--quiet", "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["show", str(tmp_path / "run")]) == 0
    assert "run 1 of this folder" in capsys.readouterr().out


@pytest.mark.parametrize("search, said", [
    ("hyperband", "hyperband hands out its brackets' trials as workers free up): the trial "
                  "numbers may differ with --jobs; which configurations are tried and promoted "
                  "does not"),
    ("asha 9", "asha decides as results arrive): the table may differ with --jobs and from "
               "run to run"),
    ("hyperband\n    lr in 0.01, 0.1\nprune median", "pruning judges a trial by the trials "
                                                     "finished before it started): the table "
                                                     "may differ"),
])
def test_the_asynchronous_note_says_what_may_differ(search: str, said: str) -> None:
    """Hyperband promotes a bracket only once its rung is complete: only its trial numbers
    depend on timing (the note said it 'decides as results arrive', as ASHA does)."""
    from runtime.cli.checks import asynchronous_note
    if "\n" not in search:
        search += "\n    lr in 0.01, 0.1"
    exp = spec_lang.loads(f"data iris\ntrain\n    sgd lr $lr\nsearch {search}\n")
    assert asynchronous_note(exp.search).startswith(f"note: asynchronous search ({said}")
