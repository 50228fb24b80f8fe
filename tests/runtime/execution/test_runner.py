"""The runner end to end on real (tiny) specs: the table, the artifacts, determinism, resuming,
failures as rows, the test part scored once, borders and their extension."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import runtime
import spec_lang
from runtime.execution import final, jobs, prepared
from runtime.execution.store import RunStore

from ..conftest import TINY, stable


def test_table_has_one_row_per_trial_seed_fold_and_the_documented_columns(tiny_spec, tmp_path):
    table = runtime.run(tiny_spec, out=tmp_path / "run", jobs=1)
    assert len(table) == 2 * 2 * 1
    for column in ["trial", "seed", "fold", "state", "step", "fidelity", "param_lr",
                   "train_loss", "valid_loss", "valid_error", "best_epoch", "epochs", "updates",
                   "duration_s", "error"]:
        assert column in table.columns
    assert set(table["state"]) == {"complete"}
    assert sorted(table["param_lr"].unique()) == [0.01, 0.1]
    for name in ["trials.csv", "summary.csv", "best.json", "model.npz", "store.sqlite"]:
        assert (tmp_path / "run" / name).exists()
    written = pd.read_csv(tmp_path / "run" / "trials.csv", dtype={"error": str})
    written["error"] = written["error"].fillna("")
    pd.testing.assert_frame_equal(stable(written), stable(table), check_dtype=False)


def test_summary_ranks_configurations_on_the_mean(tiny_spec, tmp_path):
    table = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    summary = runtime.summarize(table)
    assert list(summary["n"]) == [2, 2]
    for trial, part in table.groupby("trial"):
        row = summary[summary["trial"] == trial].iloc[0]
        assert row["mean_valid_error"] == pytest.approx(part["valid_error"].mean())
        assert row["std_valid_error"] == pytest.approx(part["valid_error"].std(ddof=0))
    best = summary.sort_values("rank_valid_error").iloc[0]
    assert best["mean_valid_error"] == summary["mean_valid_error"].min()
    assert table.attrs["best"]["trial"] == best["trial"]


def test_same_spec_and_seed_give_the_same_table(tiny_spec, tmp_path):
    first = runtime.run(tiny_spec, out=tmp_path / "a", jobs=1)
    second = runtime.run(tiny_spec, out=tmp_path / "b", jobs=1)
    pd.testing.assert_frame_equal(stable(first), stable(second))


def test_two_jobs_give_the_same_table_as_one(tiny_spec, tmp_path):
    one = runtime.run(tiny_spec, out=tmp_path / "one", jobs=1)
    two = runtime.run(tiny_spec, out=tmp_path / "two", jobs=2)
    pd.testing.assert_frame_equal(stable(one), stable(two))


def test_one_and_two_jobs_train_the_same_networks_bit_for_bit(tmp_path):
    # the default network's matrices are large enough for OpenBLAS to split them between
    # threads: a trial in this process (--jobs 1) used to train on every BLAS thread and a
    # worker's on one, and the last bits differed (losses by up to 1e-4 on quickstart)
    spec = spec_lang.loads("data digits\nsplit train 0.6 valid 0.2 test 0.2\n"
                           "train\n    epochs 3\nseeds 2\n")
    one = runtime.run(spec, out=tmp_path / "one", jobs=1)
    two = runtime.run(spec, out=tmp_path / "two", jobs=2)
    pd.testing.assert_frame_equal(stable(one).sort_values("seed", ignore_index=True),
                                  stable(two).sort_values("seed", ignore_index=True),
                                  check_exact=True)
    a, b = (np.load(tmp_path / run / "model.npz") for run in ("one", "two"))
    assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)


def test_a_second_run_resumes_from_the_store(tiny_spec, tmp_path):
    first = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    events = []
    again = runtime.run(tiny_spec, out=tmp_path, jobs=1, progress=events.append)
    trained = [e for e in events if e["event"] == "trial" and not e["cached"]]
    assert trained == [] and len(events) == 4
    pd.testing.assert_frame_equal(stable(first), stable(again))


def test_a_killed_run_retrains_only_what_it_lost(tiny_spec, tmp_path):
    runtime.run(tiny_spec, out=tmp_path, jobs=1)
    store = RunStore(tmp_path / "store.sqlite")
    with store.db:  # lose the last two finished trials, as a kill would
        store.db.execute("DELETE FROM trials WHERE key IN (SELECT key FROM trials ORDER BY "
                         "finished DESC LIMIT 2)")
    store.close()
    events = []
    runtime.run(tiny_spec, out=tmp_path, jobs=1, progress=events.append)
    fresh = [e for e in events if e["event"] == "trial" and not e["cached"]]
    assert len(fresh) == 2


def test_failed_and_diverged_trials_are_rows_and_the_run_goes_on(tmp_path):
    # 40 PCA components of iris's 4 features cannot be fitted; lr 1e6 diverges.
    spec = TINY.replace("lr in 0.01, 0.1", "lr in 0.05, 1e6\n    k in 2, 40").replace(
        "network\n", "preprocess\n    pca components $k\nnetwork\n")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    states = table.groupby(["param_k", "param_lr"])["state"].agg(set).to_dict()
    assert states[(2, 0.05)] == {"complete"}
    assert states[(2, 1e6)] == {"diverged"}
    assert states[(40, 0.05)] == {"failed"}
    failed = table[table["state"] == "failed"]
    assert failed["error"].str.contains("components").all()
    assert (table[table["state"] == "diverged"]["error"] != "").all()
    best = table.attrs["best"]
    assert best["params"] == {"k": 2, "lr": 0.05}


def test_the_test_part_is_scored_once_for_the_chosen_configuration(tiny_spec, tmp_path,
                                                                   monkeypatch):
    calls = []
    original = final.score_test

    def spy(task, y_test, outputs, logits=None, head=None):
        calls.append((len(y_test), len(outputs)))
        return original(task, y_test, outputs, logits, head)

    monkeypatch.setattr(final, "score_test", spy)
    table = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    assert calls == [(30, 2)]        # iris: 150 x 0.2 test rows; the chosen config's 2 seeds
    assert "test_error" in table.attrs["best"]["test"]
    assert not any(c.startswith("test_") for c in table.columns)


def test_nested_cv_scores_each_outer_test_fold_once(tmp_path, monkeypatch):
    calls = []
    original = final.score_test
    monkeypatch.setattr(final, "score_test", lambda task, y, outs, logits=None, head=None:
                        calls.append(len(y)) or original(task, y, outs, logits, head))
    spec = TINY.replace("split train 0.6 valid 0.2 test 0.2", "nested outer 3 inner 2")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    assert calls == [50, 50, 50]
    assert sorted(table["outer"].unique()) == [0, 1, 2]
    assert len(table) == 3 * 2 * 2 * 2          # outer x configs x seeds x inner folds
    best = json.loads((tmp_path / "best.json").read_text())
    assert len(best["outer_folds"]) == 3 and "test_error" in best["test"]


def test_kfold_rows_cover_every_fold(tmp_path):
    spec = TINY.replace("split train 0.6 valid 0.2 test 0.2", "kfold 3 test 0.2")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    assert sorted(table["fold"].unique()) == [0, 1, 2]
    assert len(table) == 2 * 2 * 3


def test_border_is_reported_and_extend_widens_the_interval(tmp_path):
    spec = TINY.replace("lr in 0.01, 0.1", "lr in log 1e-4 .. 1e-3 count 2").replace(
        "seeds 2", "seeds 1")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path / "plain", jobs=1)
    assert table.attrs["best"]["borders"]["lr"] == "high"
    summary = pd.read_csv(tmp_path / "plain" / "summary.csv")
    assert (summary["border_lr"] == "high").sum() == 1
    extended = runtime.run(spec_lang.loads(spec.replace("search grid", "search grid extend 2")),
                           out=tmp_path / "wide", jobs=1)
    assert extended["param_lr"].max() > 1e-3
    assert extended["trial"].nunique() > table["trial"].nunique()


def test_saved_model_predicts_like_the_chosen_networks(tiny_spec, tmp_path):
    runtime.run(tiny_spec, out=tmp_path, jobs=1)
    model = runtime.load_model(tmp_path / "model.npz")
    data = prepared.dataset(spec_lang.load(tiny_spec).config.data, str(tiny_spec.parent))
    proba = model.predict_output(data.X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (model.predict(data.X) == np.asarray(data.classes)[data.y]).mean() > 0.8


def test_a_data_error_stops_the_run_before_training(tmp_path):
    exp = spec_lang.loads('data "missing.csv"\n', base_dir=tmp_path)
    with pytest.raises(runtime.errors.DataError, match="missing.csv"):
        runtime.run(exp, out=tmp_path / "run")
    assert not (tmp_path / "run" / "store.sqlite").exists()


def test_a_fault_that_no_configuration_escapes_stops_the_run_before_training(tmp_path):
    spec = TINY.replace("network\n", "preprocess\n    pca components 40\nnetwork\n")
    with pytest.raises(runtime.errors.DataError, match="pca components"):
        runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    assert not (tmp_path / "store.sqlite").exists()


def test_a_run_where_every_trial_fails_still_writes_its_table(tmp_path, monkeypatch):
    def broken(exp, job):
        raise RuntimeError("the worker lost its GPU")
    monkeypatch.setattr(jobs, "fit_job", broken)
    table = runtime.run(spec_lang.loads(TINY), out=tmp_path, jobs=1)
    assert set(table["state"]) == {"failed"}
    assert (tmp_path / "trials.csv").exists() and not (tmp_path / "model.npz").exists()
    assert table.attrs["best"]["test"] == {}
    assert any("no configuration completed" in m for m in table.attrs["best"]["messages"])
    strict = json.loads((tmp_path / "best.json").read_text(),
                        parse_constant=lambda c: pytest.fail(f"best.json holds {c}"))
    assert strict["valid"]["mean"] is None           # NaN is written as null


def test_ties_on_the_metric_rank_by_validation_loss():
    from runtime.execution.results import make_table, summarize
    rows = [{"trial": t, "seed": 0, "fold": 0, "state": "complete", "step": "grid",
             "fidelity": 1.0, "valid_error": 0.0, "valid_loss": loss, "train_loss": 0.1}
            for t, loss in [(0, 0.30), (1, 0.10), (2, 0.20)]]
    summary = summarize(make_table(rows, "error", False))
    assert list(summary.sort_values("rank_valid_error")["trial"]) == [1, 2, 0]


def test_a_fidelity_in_epochs_trains_the_nearest_whole_number_of_them():
    """1/27, 1/9 and 1/3 of 30 epochs train 1, 3 and 10 epochs (rounding up gave 2, 4, 10:
    the lowest rung trained twice what its fraction says); halves go up, and a fidelity never
    trains fewer than one epoch or update."""
    config = spec_lang.loads(TINY.replace("epochs 15", "epochs 30")).config
    epochs = [jobs.at_fidelity(config, f, "epochs").train.epochs for f in (1 / 27, 1 / 9, 1 / 3)]
    assert epochs == [1, 3, 10]
    assert jobs.at_fidelity(config, 0.05, "epochs").train.epochs == 2       # 1.5 -> 2
    assert jobs.at_fidelity(config, 0.001, "epochs").train.epochs == 1
    assert jobs.at_fidelity(config, 1 / 27, "data") is config               # data: all epochs
    capped = dataclasses.replace(config, train=dataclasses.replace(config.train, updates=100))
    assert jobs.at_fidelity(capped, 0.125, "epochs").train.updates == 13    # 12.5 -> 13


def test_halving_on_data_fidelity_trains_low_rungs_on_fewer_examples(tmp_path):
    spec = TINY.replace("search grid\n    lr in 0.01, 0.1",
                        "search halving 9 eta 3 fidelity data\n    lr ~ log_uniform 1e-3 .. 1"
                        ).replace("seeds 2", "seeds 1").replace("early_stop patience 5",
                                                                "early_stop off\n    batch 8")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    by_fidelity = table.groupby("fidelity")
    assert sorted(by_fidelity.groups) == pytest.approx([1 / 9, 1 / 3, 1.0])
    assert list(by_fidelity.size()) == [9, 3, 1]
    assert set(table["epochs"]) == {15}                  # every rung trains all the epochs...
    updates = by_fidelity["updates"].max()               # ...on a share of the 90 examples:
    assert list(updates) == [15 * 2, 15 * 4, 15 * 12]    # 10, 30, 90 examples in batches of 8


def test_tpe_gives_the_same_table_with_one_and_two_jobs(tmp_path):
    spec = TINY.replace("search grid\n    lr in 0.01, 0.1",
                        "search tpe 6\n    lr ~ log_uniform 1e-3 .. 1").replace("seeds 2",
                                                                              "seeds 1")
    one = runtime.run(spec_lang.loads(spec), out=tmp_path / "one", jobs=1)
    two = runtime.run(spec_lang.loads(spec), out=tmp_path / "two", jobs=2)
    assert one["trial"].nunique() == 6
    pd.testing.assert_frame_equal(stable(one), stable(two))


def test_points_asked_again_by_an_extension_keep_one_row(tmp_path):
    spec = TINY.replace("lr in 0.01, 0.1", "lr in log 1e-4 .. 1e-3 count 2").replace(
        "seeds 2", "seeds 1").replace("search grid", "search grid extend 1")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    keys = table[["trial", "seed", "fold"]]
    assert not keys.duplicated().any()
    assert table["param_lr"].nunique() == table["trial"].nunique() > 2
