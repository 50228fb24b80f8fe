"""A run with a fixed test file and a split seed, end to end: the test file is scored once, for
the chosen configuration, and never seen by a trial (spied); the split seed moves the split and
not the initializations; the trial key follows the test file's bytes and the split seed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

import runtime
import spec_lang
from runtime.engine import training
from runtime.execution import final
from runtime.execution.jobs import Job
from runtime.execution.keys import job_key

BUILD, FIT = training.build_network, training.fit      # the real ones (spies wrap them)

SPEC = """data "train.csv" test "test.csv" target "species"
split train 0.75 valid 0.25{split}
preprocess none
network
    dense 6 tanh
train
    adam lr $lr
    epochs 8
search grid
    lr in 0.01, 0.05
seeds 2{start}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    X, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(
        species=np.array(["setosa", "versicolor", "virginica"])[y])
    frame = frame.drop_duplicates(subset=["a", "b", "c", "d"])     # rows tell the files apart
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame.iloc[:120].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[120:].to_csv(tmp_path / "test.csv", index=False)
    return tmp_path


def spec(folder: Path, split: str = "", start: str = "", name: str = "x") -> Path:
    path = folder / f"{name}.spec"
    path.write_text(SPEC.format(split=split, start=start))
    return path


def rows_of(X: np.ndarray) -> set[tuple[float, ...]]:
    return {tuple(np.round(r, 6)) for r in np.asarray(X, dtype=np.float64)}


def test_the_test_file_is_scored_once_and_never_used_for_selection(folder, monkeypatch):
    seen: list[set] = []
    real_fit = training.fit

    def spy_fit(config, data, seed, **kw):
        seen.append(rows_of(data.X_train) | rows_of(data.X_valid))
        return real_fit(config, data, seed, **kw)

    scored: list[np.ndarray] = []
    real_score = final.score_test

    def spy_score(task, y_test, outputs, logits=None, head=None):
        scored.append(np.asarray(y_test))
        return real_score(task, y_test, outputs, logits, head)

    monkeypatch.setattr(training, "fit", spy_fit)
    monkeypatch.setattr(final, "score_test", spy_score)
    table = runtime.run(spec(folder), out=folder / "run", jobs=1)
    test = pd.read_csv(folder / "test.csv")
    test_rows = rows_of(test[["a", "b", "c", "d"]].to_numpy())
    train_rows = rows_of(pd.read_csv(folder / "train.csv")[["a", "b", "c", "d"]].to_numpy())
    assert len(seen) == 4 + 2                 # 2 configurations x 2 seeds, the refit's 2 seeds
    assert all(not (s & test_rows) for s in seen)            # no trial saw a test row
    assert all(s == train_rows for s in seen)                # train + valid: the data file
    assert len(scored) == 1                                  # scored once, for the chosen one
    classes = np.array(["setosa", "versicolor", "virginica"])
    np.testing.assert_array_equal(classes[scored[0]], test["species"].to_numpy())
    best = table.attrs["best"]
    assert set(best["test"]) >= {"test_error", "ensemble_test_accuracy"}
    out = json.loads((folder / "run" / "best.json").read_text())
    assert out["test"]["test_error"] == best["test"]["test_error"]
    # `nnspec predict` on the test file scores what the run scored: the averaged prediction
    from runtime.model.predict import predict_data
    again = predict_data(folder / "run", folder / "test.csv").metrics
    for name, value in again.items():
        assert value == pytest.approx(best["test"][f"ensemble_test_{name}"], rel=1e-12)


def trained(folder: Path, split: str, start: str, monkeypatch, name: str
            ) -> tuple[dict[int, list[np.ndarray]], list[set]]:
    """Initial weights by training seed, and the training rows of each trial, of one run."""
    weights: dict[int, list[np.ndarray]] = {}
    rows: list[set] = []

    def spy_fit(config, data, seed, **kw):        # the training seed of each network built
        monkeypatch.setattr(training, "build_network", lambda c, d, rng: spy(c, d, rng, seed))
        return FIT(config, data, seed, **kw)

    def spy(config, data, rng, seed):
        net = BUILD(config, data, rng)
        if len(data.y_valid):                     # a trial (the final refit validates on none)
            weights.setdefault(seed, [v.copy() for k, v in net.tensors().items()
                                      if k.endswith("W")])
            rows.append(rows_of(data.X_train))
        return net

    monkeypatch.setattr(training, "fit", spy_fit)
    runtime.run(spec(folder, split, start, name), out=folder / name, jobs=1)
    return weights, rows


def test_the_split_seed_changes_the_split_and_not_the_initializations(folder, monkeypatch):
    w0, rows0 = trained(folder, "", "", monkeypatch, "default")
    w7, rows7 = trained(folder, " seed 7", "", monkeypatch, "seven")
    assert rows0[0] != rows7[0]                                # another split
    assert rows0[0] == rows0[-1] and rows7[0] == rows7[-1]     # one split per run
    assert sorted(w0) == sorted(w7) == [0, 1]
    for seed in w0:                                            # the same initial weights
        for x, y in zip(w0[seed], w7[seed], strict=True):
            np.testing.assert_array_equal(x, y)
    _, rows_start = trained(folder, " seed 0", " start 100", monkeypatch, "moved")
    assert rows_start[0] == rows0[0]          # seeds moved, split kept by its own seed


def test_the_trial_key_follows_the_test_file_and_the_split_seed(folder) -> None:
    job = Job(0, (("lr", 0.01),), 0, 0)
    key = job_key(spec_lang.load(spec(folder)), job)
    assert job_key(spec_lang.load(spec(folder, " seed 0")), job) == key    # the same split
    assert job_key(spec_lang.load(spec(folder, " seed 1")), job) != key
    copy = folder / "copy"
    copy.mkdir()
    for name in ("train.csv", "test.csv"):
        (copy / name).write_bytes((folder / name).read_bytes())
    assert job_key(spec_lang.load(spec(copy)), job) == key                 # bytes, not paths
    with (copy / "test.csv").open("a") as f:
        f.write("5.0,3.0,1.5,0.2,setosa\n")
    assert job_key(spec_lang.load(spec(copy)), job) != key                 # changed test file
