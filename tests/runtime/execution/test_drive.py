"""The driver: configurations become jobs handed to free workers; asynchronous strategies
promote without waiting for a rung; budgets stop new configurations; resume."""
from __future__ import annotations

import heapq
import itertools
import json
import math

import pandas as pd
import pytest

import runtime
import spec_lang
from runtime.execution import drive
from runtime.execution.store import RunStore

from ..conftest import TINY, stable

SEARCH = """experiment driven
data iris
split train 0.6 valid 0.2 test 0.2 refit false
network
    dense 8 tanh
train
    sgd lr $lr
    epochs 9 early_stop off
search {strategy}
    lr ~ log_uniform 1e-3 .. 1
seeds 1
"""


def simulated_workers(log: list, workers: int = 2, slow_trial: int = 0):
    """An executor.stream on `workers` simulated workers in virtual time: trial `slow_trial`
    takes 100 time units, every other job 1; a row's error is |log10 lr + 1| (lr 0.1 best)."""
    def stream(exp, next_job, n_jobs=1, client=None):
        clock, order, running = 0.0, itertools.count(), []
        while True:
            while len(running) < workers and (job := next_job()) is not None:
                took = 100.0 if job.trial == slow_trial else 1.0
                log.append(("start", clock, job))
                heapq.heappush(running, (clock + took, next(order), job))
            if not running:
                return
            clock, _, job = heapq.heappop(running)
            log.append(("end", clock, job))
            error = abs(math.log10(dict(job.params)["lr"]) + 1)
            row = {"trial": job.trial, "seed": job.seed, "fold": job.fold, "step": job.step,
                   "fidelity": job.fidelity, "state": "complete", "train_loss": error,
                   "valid_loss": error, "valid_error": error, "epochs": 1, "best_epoch": 1,
                   "updates": 1, "duration_s": 0.0, "error": "",
                   **{f"param_{k}": v for k, v in job.params}}
            yield job, row, {"valid_error": [error]}, None
    return stream


def run_simulated(strategy: str, tmp_path, monkeypatch) -> list:
    log: list = []
    monkeypatch.setattr(drive.executor, "stream", simulated_workers(log))
    monkeypatch.setattr("runtime.execution.choose.final_model",
                        lambda *a, **k: ({}, None, []))  # no final phase in virtual time
    runtime.run(spec_lang.loads(SEARCH.format(strategy=strategy)), out=tmp_path, jobs=1)
    return log


def first_promotion(log: list) -> float:
    return min(t for kind, t, job in log if kind == "start" and job.fidelity > 0.2)


def slow_end(log: list) -> float:
    return next(t for kind, t, job in log if kind == "end" and job.trial == 0)


def test_asha_promotes_while_a_slow_first_rung_trial_still_runs(tmp_path, monkeypatch):
    log = run_simulated("asha 9 eta 3", tmp_path, monkeypatch)
    assert first_promotion(log) < slow_end(log) == 100.0
    busy = [t for kind, t, _ in log if kind == "start"]
    assert len(busy) > 9                                  # promotions happened


def test_synchronous_halving_waits_for_the_whole_rung(tmp_path, monkeypatch):
    log = run_simulated("halving 9 eta 3", tmp_path, monkeypatch)
    assert first_promotion(log) >= slow_end(log)


def test_asynchronous_strategies_keep_both_workers_busy(tmp_path, monkeypatch):
    """While ASHA has configurations to draw, no simulated worker waits."""
    log = run_simulated("asha 9 eta 3", tmp_path, monkeypatch)
    starts = [t for kind, t, job in log if kind == "start" and job.fidelity < 0.2]
    assert max(starts) < 100.0                            # rung 0 never waited for trial 0


def test_an_epoch_budget_stops_new_configurations(tmp_path):
    spec = SEARCH.format(strategy="random 40") + "budget epochs 30\n"
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    # 9 epochs per trial: the fourth starts at 27 epochs spent; none starts at 36
    assert table["trial"].nunique() == 4 and table["epochs"].sum() == 36
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["budget"]["exhausted"] and best["budget"]["spent_epochs"] == 36
    assert best["budget"]["not_started"] == 36
    assert any("budget is spent" in m for m in best["messages"])


def test_a_time_budget_ends_a_search_that_would_run_for_hours(tmp_path):
    spec = SEARCH.format(strategy="random 100000") + "budget 2 seconds\n"
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    best = table.attrs["best"]
    assert 0 < table["trial"].nunique() < 100000 and best["budget"]["exhausted"]
    assert best["budget"]["spent_seconds"] >= 2


@pytest.mark.parametrize("strategy", ["asha 9 eta 3", "hyperband eta 3 min_fidelity 0.1"])
def test_an_asynchronous_search_resumes_without_recomputing(strategy, tmp_path):
    exp = spec_lang.loads(SEARCH.format(strategy=strategy))
    first = runtime.run(exp, out=tmp_path, jobs=1)
    store = RunStore(tmp_path / "store.sqlite")
    with store.db:                                        # a kill lost the last two
        store.db.execute("DELETE FROM trials WHERE key IN (SELECT key FROM trials ORDER BY "
                         "finished DESC LIMIT 2)")
    store.close()
    events: list = []
    again = runtime.run(exp, out=tmp_path, jobs=1, progress=events.append)
    trained = [e for e in events if e["event"] == "trial" and not e["cached"]]
    assert len(trained) == 2
    pd.testing.assert_frame_equal(stable(first), stable(again))


@pytest.mark.parametrize("strategy", ["random 6", "halving 9 eta 3", "grid"])
def test_synchronous_strategies_give_the_same_table_with_one_and_two_jobs(strategy, tmp_path):
    search = {"grid": "grid\n    lr in 0.01, 0.1, 0.3"}.get(strategy, strategy)
    spec = TINY.replace("search grid\n    lr in 0.01, 0.1",
                        f"search {search}\n" + ("" if strategy == "grid" else
                                                "    lr ~ log_uniform 1e-3 .. 1"))
    one = runtime.run(spec_lang.loads(spec), out=tmp_path / "one", jobs=1)
    two = runtime.run(spec_lang.loads(spec), out=tmp_path / "two", jobs=2)
    pd.testing.assert_frame_equal(stable(one), stable(two))


def epochs_trained(monkeypatch) -> list:
    """Counts the epochs the engine trains in this process (jobs=1)."""
    from runtime.engine import training
    count: list = []
    original = training.Trainer.epoch

    def counted(self, *args, **kwargs):
        count.append(1)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(training.Trainer, "epoch", counted)
    return count


@pytest.mark.parametrize("strategy", ["halving 9 eta 3", "asha 9 eta 3",
                                      "hyperband eta 3 min_fidelity 0.12"])
def test_promotions_continue_the_lower_rung_with_the_same_results(strategy, tmp_path,
                                                                   monkeypatch):
    """A promotion continues the lower rung's network: the same rows and curves as training
    from the start, in fewer epochs; the checkpoints are gone when the run is."""
    spec = spec_lang.loads(SEARCH.format(strategy=strategy))
    count = epochs_trained(monkeypatch)
    warm = runtime.run(spec, out=tmp_path / "warm", jobs=1)
    warm_epochs = len(count)
    monkeypatch.setattr("runtime.execution.jobs.continues", lambda exp, job: False)
    cold = runtime.run(spec, out=tmp_path / "cold", jobs=1)
    cold_epochs = len(count) - warm_epochs
    # the same table, but for the epochs each row actually trained (what the table reports)
    assert warm["epochs_trained"].sum() == warm_epochs < cold_epochs == cold["epochs"].sum()
    assert (cold["epochs_trained"] == cold["epochs"]).all()
    pd.testing.assert_frame_equal(stable(warm), stable(cold))
    assert any("promotions continued" in m for m in warm.attrs["best"]["messages"])
    assert not (tmp_path / "warm" / "checkpoints").exists()
    stores = [RunStore(tmp_path / name / "store.sqlite") for name in ("warm", "cold")]
    curves = [{row["trial"]: {k: v for k, v in c.items() if k != "time_s"}
               for _, row, c in store.items()} for store in stores]
    for store in stores:
        store.close()
    assert curves[0] == curves[1]


def test_a_chosen_configuration_below_full_fidelity_is_the_network_it_trained(tmp_path):
    """A budget spent before any rung reached full fidelity: the model is made of the chosen
    trial's own networks (its members' keys are the ones best.json lists), and the run says
    so."""
    spec = SEARCH.format(strategy="halving 9 eta 3") + "budget epochs 5\n"
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    best = table.attrs["best"]
    assert table["fidelity"].max() < 1.0
    assert any("no configuration was trained at full fidelity" in m for m in best["messages"])
    kept = {p.stem for p in (tmp_path / "members").glob("*.npz")}
    assert {m["key"] for m in best["members"]} <= kept


def test_a_run_where_every_configuration_stalled_saves_the_stalled_networks(tmp_path):
    """Nothing completed, the chosen configuration stalled: its networks are the model (kept
    from the search, never trained again: a retraining would stall again)."""
    spec = ("data digits\nnetwork\n    dense 64 relu init he_normal\n"
            "    dense 64 relu init he_normal\ntrain\n    sgd lr $lr momentum 0.9\n"
            "    schedule constant\n    batch 16\n    epochs 100\n"
            "search grid\n    lr in 0.5, 0.6\nseeds 1\n")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    assert set(table["state"]) == {"stalled"}
    best = table.attrs["best"]
    assert "test_error" in best["test"] and (tmp_path / "model.npz").exists()


def test_a_budget_spent_before_the_first_configuration_still_starts_it(tmp_path, monkeypatch):
    # A budget used up by the run's own start (a loaded machine) left an empty table.
    from runtime.execution.budget import Spend
    monkeypatch.setattr(Spend, "seconds", lambda self: 1e9)
    spec = SEARCH.format(strategy="random 100") + "budget 2 seconds\n"
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    assert table["trial"].nunique() == 1
    assert table.attrs["best"]["budget"]["not_started"] == 99
