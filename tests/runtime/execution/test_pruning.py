"""Pruning on learning curves: the bounds a trial is handed, and a real pruned search."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import runtime
import spec_lang
from runtime.execution.pruning import CurveBank, rung_epochs
from runtime.execution.store import RunStore
from spec_lang.config import Prune


def bank(rule: Prune, maximize: bool = False) -> CurveBank:
    return CurveBank(rule, "error", maximize)


def test_no_bounds_before_startup_trials_have_finished() -> None:
    b = bank(Prune(warmup=0, startup=3))
    for i in range(2):
        b.add(1.0, "complete", {"valid_error": [0.5, 0.4]})
    assert b.bounds(1.0) is None
    b.add(1.0, "pruned", {"valid_error": [0.9]})           # only complete trials count
    b.add(0.5, "complete", {"valid_error": [0.1]})          # nor other fidelities
    assert b.bounds(1.0) is None


def test_median_bounds_per_epoch_with_warmup_and_short_curves() -> None:
    b = bank(Prune(warmup=1, startup=3))
    b.add(1.0, "complete", {"valid_error": [0.9, 0.5, 0.30, 0.2]})
    b.add(1.0, "complete", {"valid_error": [0.8, 0.4, 0.20]})
    b.add(1.0, "complete", {"valid_error": [0.7, 0.6, 0.25]})
    bounds = b.bounds(1.0)
    assert bounds is not None and bounds.metric == "error"
    values = bounds.bounds
    assert math.isnan(values[0])                            # warm-up epoch
    assert values[1] == pytest.approx(0.5) and values[2] == pytest.approx(0.25)
    assert math.isnan(values[3])                            # reached by 1 of 3: not judged
    assert "median of the 3 finished trials" in bounds.label


def test_percentile_keeps_the_best_share_in_the_metric_s_direction() -> None:
    curves = [[v] for v in (0.1, 0.2, 0.3, 0.4, 0.5)]
    low = bank(Prune("percentile", 25.0, warmup=0, startup=5))
    high = bank(Prune("percentile", 25.0, warmup=0, startup=5), maximize=True)
    for c in curves:
        low.add(1.0, "complete", {"valid_error": c})
        high.add(1.0, "complete", {"valid_error": c})
    assert low.bounds(1.0).bounds[0] == pytest.approx(np.percentile([.1, .2, .3, .4, .5], 25))
    assert high.bounds(1.0).bounds[0] == pytest.approx(np.percentile([.1, .2, .3, .4, .5], 75))


@pytest.mark.parametrize("epochs,warmup,eta,rungs", [
    (30, 0, 3.0, [1, 3, 9, 27]), (30, 2, 3.0, [3, 9, 27]), (8, 0, 2.0, [1, 2, 4, 8]),
    (20, 0, 1.5, [1, 2, 3, 5, 8, 11, 17]), (5, 5, 3.0, []),
    (100, 0, 2.5, [1, 3, 6, 16, 39, 98]),                    # 2.5 -> 3: halves round up
    (12, 3, 1.00000001, list(range(4, 13)))])                 # eta ~ 1: every epoch, at once
def test_halving_rungs_are_geometric_from_the_first_epoch_after_the_warm_up(
        epochs, warmup, eta, rungs) -> None:
    assert list(rung_epochs(epochs, warmup, eta)) == rungs


def halving(eta: float = 3.0, warmup: int = 0, startup: int = 3) -> Prune:
    return Prune("halving", 100.0 / eta, warmup=warmup, startup=startup, eta=eta)


def test_halving_bounds_are_the_best_third_at_the_rungs_only() -> None:
    b = bank(halving())
    curves = [[0.9, 0.8, 0.7, 0.6], [0.5, 0.4, 0.3, 0.2], [0.7, 0.6, 0.5, 0.4]]
    for c in curves:
        b.add(1.0, "complete", {"valid_error": c})
    values = b.bounds(1.0).bounds
    assert values[0] == pytest.approx(np.percentile([0.9, 0.5, 0.7], 100 / 3))    # epoch 1
    assert values[2] == pytest.approx(np.percentile([0.7, 0.3, 0.5], 100 / 3))    # epoch 3
    assert math.isnan(values[1]) and math.isnan(values[3])                       # no rungs
    assert "best 1/3 of the finished trials that reached that rung" in b.bounds(1.0).label


def test_halving_counts_every_trial_that_reached_a_rung_pruned_ones_too() -> None:
    """A rung records every arrival (ASHA): a trial pruned at epoch 1 counts at epoch 1, not
    at epoch 3, which it never reached; a failed trial has no curve and counts nowhere."""
    b = bank(halving(startup=3))
    b.add(1.0, "complete", {"valid_error": [0.2, 0.2, 0.1]})
    b.add(1.0, "pruned", {"valid_error": [0.9]})
    b.add(1.0, "stalled", {"valid_error": [0.8, 0.8, 0.8]})
    b.add(1.0, "failed", {})
    values = b.bounds(1.0).bounds
    assert values[0] == pytest.approx(np.percentile([0.2, 0.9, 0.8], 100 / 3))
    assert math.isnan(values[2])                            # reached by 2 of 3: not judged
    b.add(1.0, "complete", {"valid_error": [0.3, 0.3, 0.3]})
    assert b.bounds(1.0).bounds[2] == pytest.approx(np.percentile([0.1, 0.8, 0.3], 100 / 3))


SPEC = """experiment pruned
data iris
split train 0.6 valid 0.2 test 0.2
network
    dense 8 tanh
train
    sgd lr $lr
    epochs 20 early_stop off
search random 14
    lr ~ log_uniform 1e-4 .. 0.3
prune median warmup 2 startup 3
seeds 1
"""


def stored_curves(out) -> dict[int, list[float]]:
    """Each stored trial's validation error curve, by trial number."""
    store = RunStore(out / "store.sqlite")
    curves = {int(row["trial"]): c["valid_error"] for _, row, c in store.items()}
    store.close()
    return curves


def test_a_pruned_trial_was_worse_than_the_median_of_those_finished_before_it(tmp_path):
    """With one job, the trials finish in order: each pruned trial's metric at the epoch it
    stopped is worse than the median, at that epoch, of the complete trials before it; the
    first `startup` trials are never pruned; pruned trials are rows with their curves."""
    table = runtime.run(spec_lang.loads(SPEC), out=tmp_path, jobs=1)
    states = table.set_index("trial")["state"]
    assert (states.iloc[:3] == "complete").all()
    assert (states == "pruned").sum() >= 2, states.to_dict()
    curves = stored_curves(tmp_path)
    finished: list[list[float]] = []
    for trial in sorted(curves):
        curve, state = curves[trial], states[trial]
        if state == "pruned":
            epoch = len(curve)                              # the epoch it stopped in
            assert 2 < epoch < 20
            earlier = [c[epoch - 1] for c in finished if len(c) >= epoch]
            assert curve[-1] > np.median(earlier)
            for e in range(3, epoch):                       # not prunable at earlier epochs
                assert curve[e - 1] <= np.median([c[e - 1] for c in finished])
        elif state == "complete":
            assert len(curve) == 20
            finished.append(curve)
    row = table[table["state"] == "pruned"].iloc[0]
    assert "worse than the median" in row["error"]


def test_the_chosen_configuration_completed(tmp_path):
    table = runtime.run(spec_lang.loads(SPEC), out=tmp_path, jobs=1)
    chosen = table.attrs["best"]["trial"]
    assert set(table[table["trial"] == chosen]["state"]) == {"complete"}


def test_pruned_configurations_rank_after_every_completed_one(tmp_path):
    runtime.run(spec_lang.loads(SPEC), out=tmp_path, jobs=1)
    summary = pd.read_csv(tmp_path / "summary.csv").sort_values("rank_valid_error")
    early = (summary["n_complete"] < summary["n"]).tolist()
    assert early == sorted(early)                          # all complete ones come first


HALVING_SPEC = SPEC.replace("prune median warmup 2 startup 3", "prune halving startup 3") \
    .replace("epochs 20", "epochs 27")


def test_halving_prunes_only_at_rungs_and_only_outside_the_best_third(tmp_path):
    """A real run, one job: every pruned trial stopped at a rung (1, 3, 9 or 27) and was worse
    there than the best third of the trials finished before it that reached that epoch."""
    table = runtime.run(spec_lang.loads(HALVING_SPEC), out=tmp_path, jobs=1)
    states = table.set_index("trial")["state"]
    assert (states == "pruned").sum() >= 3, states.to_dict()
    curves = stored_curves(tmp_path)
    finished: list[list[float]] = []
    for trial in sorted(curves):
        curve = curves[trial]
        if states[trial] == "pruned":
            epoch = len(curve)
            assert epoch in (1, 3, 9, 27), (trial, epoch)
            earlier = [c[epoch - 1] for c in finished if len(c) >= epoch]
            assert len(earlier) >= 3
            assert curve[-1] > np.percentile(earlier, 100 / 3)
        if states[trial] in ("complete", "pruned", "stalled"):
            finished.append(curve)                          # pruned ones count too
    row = table[table["state"] == "pruned"].iloc[0]
    assert "is worse than the best 1/3 of the finished trials that reached that rung" in \
        row["error"]
    best = table.attrs["best"]["trial"]
    assert set(table[table["trial"] == best]["state"]) == {"complete"}
