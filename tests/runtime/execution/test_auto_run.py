"""`search auto` run end to end: the range test places the rate grid, the stages' rows carry
their steps, the explored configurations train one seed and the chosen one every seed, the saved
model averages them all, and a run killed mid-stage resumes without training a finished trial
again."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

import runtime
from runtime.execution.store import RunStore

from .test_trust import _run_process, count_training

AUTO = """data iris
split train 0.6 valid 0.2 test 0.2 stratified
train
    epochs 8 early_stop patience 3
search auto
seeds 2
"""


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("auto")
    spec = folder / "auto.spec"
    spec.write_text(AUTO)
    table = runtime.run(spec, out=folder / "run", jobs=1)
    return spec, folder / "run", table


def test_each_stage_leaves_rows_with_its_step(auto_run):
    _, _, table = auto_run
    steps = set(s.split(" rung")[0] for s in table["step"])
    assert {"lr", "capacity", "batch", "seeds"} <= steps
    first = table.groupby("step")["trial"].min()
    assert first["lr"] < first["capacity rung 0"] < first["batch"]


def test_the_range_test_places_the_rate_grid_below_its_suggestion(auto_run):
    _, out, table = auto_run
    record = json.loads((out / "best.json").read_text())["lr_auto"]
    grid = record["grid"]
    assert len(grid) == 5 and grid[-1] == pytest.approx(record["lr"])
    assert grid[0] == pytest.approx(record["lr"] / 100)
    tried = sorted(table.loc[table["step"] == "lr", "param_lr"])
    assert tried == pytest.approx(grid)


def test_explored_configurations_train_one_seed_and_the_chosen_one_every_seed(auto_run):
    _, out, table = auto_run
    best = json.loads((out / "best.json").read_text())
    chosen = table[table["trial"] == best["trial"]]
    assert sorted(chosen["seed"]) == [0, 1] and best["valid"]["n"] == 2
    assert "seeds" in set(chosen["step"])
    seeds = table.groupby("trial")["seed"].nunique()
    assert set(seeds) == {1, 2} and (seeds == 2).sum() <= 3    # the best three confirmed
    confirmed = set(seeds[seeds == 2].index)
    assert set(table.loc[table["step"] == "seeds", "trial"]) == confirmed
    assert sorted(m["seed"] for m in best["refit"]["members"]) == [0, 1]


def test_a_second_run_trains_nothing(auto_run, monkeypatch):
    spec, out, table = auto_run
    calls = count_training(monkeypatch)
    again = runtime.run(spec, out=out, jobs=1)
    assert calls == []
    columns = ["trial", "seed", "step", "fidelity", "state", "valid_error"]
    pd.testing.assert_frame_equal(again[columns], table[columns])


def test_the_final_model_averages_every_seed_when_the_budget_ended_before_the_seeds(tmp_path):
    spec = tmp_path / "short.spec"
    spec.write_text(AUTO + "budget epochs 1\n")         # spent after the first trial
    table = runtime.run(spec, out=tmp_path / "run", jobs=1)
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert set(table["seed"]) == {0}
    assert sorted(m["seed"] for m in best["refit"]["members"]) == [0, 1]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_run_killed_mid_stage_resumes_without_training_a_finished_trial(auto_run,
                                                                          tmp_path):
    spec = tmp_path / "auto.spec"
    spec.write_text(AUTO)
    proc = _run_process(spec, tmp_path / "run", tmp_path / "killed.csv", jobs_=1)
    store_path = tmp_path / "run" / "store.sqlite"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and done < 8:          # inside the capacity stage
        time.sleep(0.2)
        if store_path.exists():
            try:
                done = len(RunStore(store_path, readonly=True).items())
            except Exception:                               # the store is being made
                done = 0
    assert done >= 8, "the run trained too little before the deadline"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = _run_process(spec, tmp_path / "run", tmp_path / "again.csv", jobs_=1)
    assert again.wait(timeout=300) == 0
    # the same spec, unbroken (through a CSV, as the process wrote its table)
    auto_run[2].drop(columns=["duration_s", "attempts"]).to_csv(tmp_path / "whole.csv",
                                                                 index=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again.csv"),
                                  pd.read_csv(tmp_path / "whole.csv"))
    attempts = [row["attempts"] for _, row, _ in
                RunStore(store_path, readonly=True).items()]
    assert set(attempts) == {1}                               # none trained twice
