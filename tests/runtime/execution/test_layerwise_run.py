"""`search layerwise` end to end: stage rows in the table with their stage in `step`, each stage
building on the previous stage's best by the stage's criterion, only fine-tuning configurations
chosen, the same table with 1 and 2 jobs, and nothing trained again on a second run."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris

import runtime
from spec_lang import loads

SPEC = """experiment stages
data iris
network
    dense 8 tanh
    dense 6 tanh
pretrain autoencoder epochs 4 lr $p
train
    sgd lr $lr momentum 0.9
    epochs 15
search layerwise 3 {criterion}
    p ~ log_uniform 1e-3 .. 1e-1
    lr in 0.1, 0.01
seeds 2
"""


def run(tmp_path, criterion: str = "", jobs: int = 1, events: list | None = None
        ) -> pd.DataFrame:
    exp = loads(SPEC.format(criterion=criterion))
    return runtime.run(exp, out=tmp_path, jobs=jobs,
                       progress=None if events is None else events.append)


def best_of(rows: pd.DataFrame, column: str, params: list[str]) -> dict:
    """The parameters of the configuration with the lowest mean `column`, ties (an error rate
    on 30 validation rows) broken by the mean validation loss, as the one ranking does."""
    means = rows.groupby("trial")[[column, "valid_loss"]].mean()
    best = means.sort_values([column, "valid_loss"], kind="stable").index[0]
    first = rows[rows["trial"] == best].iloc[0]
    return {p: first[p] for p in params}


def test_each_stage_fixes_its_best_layer_and_only_fine_tuning_is_chosen(tmp_path) -> None:
    table = run(tmp_path)
    steps = table.groupby("step")["trial"].nunique().to_dict()
    assert steps == {"layer 1": 3, "layer 2": 3, "fine-tune": 2}
    first, second, fine = (table[table["step"] == s] for s in ("layer 1", "layer 2",
                                                               "fine-tune"))
    assert (first["updates"] == 0).all() and (second["updates"] == 0).all()   # no fine-tuning
    chosen1 = best_of(first, "pretrain_dense0_valid_error", ["param_p@1"])
    assert (second["param_p@1"] == chosen1["param_p@1"]).all()
    chosen2 = best_of(second, "pretrain_dense1_valid_error", ["param_p@2"])
    assert (fine["param_p@1"] == chosen1["param_p@1"]).all()
    assert (fine["param_p@2"] == chosen2["param_p@2"]).all()
    assert fine["param_@layers"].isna().all() and (fine["updates"] > 0).all()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["trial"]) == set(fine["trial"])              # stages are never chosen
    best = table.attrs["best"]
    assert best["trial"] in set(fine["trial"]) and "@layers" not in best["params"]
    X = load_iris().data
    assert runtime.load_model(tmp_path).predict(X[:5]).shape == (5,)   # the fine-tuned model


def test_by_the_supervised_criterion_stages_fine_tune_the_cut_network(tmp_path) -> None:
    table = run(tmp_path, "criterion supervised")
    first = table[table["step"] == "layer 1"]
    assert (first["updates"] > 0).all() and first["valid_error"].notna().all()
    chosen = best_of(first, "valid_error", ["param_p@1"])
    second = table[table["step"] == "layer 2"]
    assert (second["param_p@1"] == chosen["param_p@1"]).all()


def test_the_same_table_with_one_and_two_jobs_and_nothing_trained_twice(tmp_path) -> None:
    one = run(tmp_path / "one", jobs=1)
    two = run(tmp_path / "two", jobs=2)
    drop = ["duration_s", "attempts"]
    pd.testing.assert_frame_equal(one.drop(columns=drop), two.drop(columns=drop))
    events: list = []
    again = run(tmp_path / "one", jobs=1, events=events)
    trained = [e for e in events if e["event"] == "trial" and not e["cached"]]
    assert trained == [] and len(again) == len(one)


def test_a_supervised_top_stage_is_the_fine_tuning_trained_once(tmp_path, monkeypatch) -> None:
    """With nothing but pre-training searched, the fine-tuning stage asks for the very network
    the supervised top stage trained: served from the store, its member kept for the final
    model, so every network trains once (2 + 2 stage configurations, 1 fine-tuning)."""
    from runtime.engine import training
    calls: list[int] = []
    real = training.fit
    monkeypatch.setattr(training, "fit", lambda *a, **k: calls.append(1) or real(*a, **k))
    text = SPEC.replace("lr $lr", "lr 0.05").replace("    lr in 0.1, 0.01\n", "")
    table = runtime.run(loads(text.format(criterion="criterion supervised")), out=tmp_path,
                        jobs=1)
    assert table.groupby("step")["trial"].nunique().to_dict() == {
        "layer 1": 3, "layer 2": 3, "fine-tune": 1}
    # 6 stage configurations x 2 seeds, no more; then the final model's refit of each seed
    assert len(calls) == 2 * 6 + 2


def test_a_searched_width_is_built_at_its_middle_until_its_own_stage(tmp_path) -> None:
    """`dense $w` has no default: the stages build it at the middle of w's space (the first
    listed value), and the fine-tuning stage searches it."""
    text = SPEC.replace("dense 8 tanh", "dense $w tanh").replace(
        "    lr in 0.1, 0.01\n", "    lr in 0.1, 0.01\n    w in 4, 12\n")
    table = run_text(tmp_path, text.format(criterion=""))
    stages = table[table["step"] != "fine-tune"]
    assert (stages["param_w"] == 4).all() and (table["state"] == "complete").all()
    assert set(table.loc[table["step"] == "fine-tune", "param_w"]) <= {4, 12}


def run_text(tmp_path, text: str) -> pd.DataFrame:
    return runtime.run(loads(text), out=tmp_path, jobs=1)


def test_a_stage_that_diverged_everywhere_ends_the_run_cleanly(tmp_path) -> None:
    """Every layer-1 pre-training blows up: the stage rows are `diverged` with the reason,
    nothing can be chosen, and `nnspec run` says so and exits 1 (no traceback)."""
    import subprocess
    import sys
    text = ("data iris\nnetwork\n    dense 8 tanh\npretrain autoencoder epochs 2 lr $p\n"
            "search layerwise 2\n    p in 1e4, 1e5\nseeds 1\n")
    table = run_text(tmp_path / "api", text)
    assert set(table["state"]) == {"diverged"} and set(table["step"]) == {"layer 1"}
    assert table["error"].str.startswith("Pre-training of layer dense0 diverged").all()
    assert table.attrs["best"]["trial"] is None and table.attrs["best"]["completed"] == 0
    (tmp_path / "fail.spec").write_text(text)
    done = subprocess.run([sys.executable, "-m", "runtime", "run", str(tmp_path / "fail.spec"),
                           "--out", str(tmp_path / "cli"), "--quiet"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert "no configuration can be chosen" in done.stdout + done.stderr
    assert "no trial completed; the most common error: Pre-training" in done.stderr


def counting(monkeypatch) -> list[dict]:
    """One record per fit: its hidden dense layers, supervised epochs, seed, the inputs of
    each layer it pre-trained (n_in) and its first layer's weights after the fit."""
    from runtime.engine import pretrain, training
    from spec_lang.config import Dense
    fits: list[dict] = []
    real_fit, real_layer = training.fit, pretrain.pretrain_layer

    def fit(config, data, seed, **kwargs):
        fits.append({"dense": sum(isinstance(la, Dense) for la in config.network),
                     "epochs": config.train.epochs, "seed": seed, "pretrained": [],
                     "lr1": config.pretrain.of_layer(0).lr})
        result = real_fit(config, data, seed, **kwargs)
        fits[-1]["W1"] = result.model.dense[0].W.copy()
        return result

    def layer(lay, *args, **kwargs):
        fits[-1]["pretrained"].append(lay.n_in)
        return real_layer(lay, *args, **kwargs)
    monkeypatch.setattr(training, "fit", fit)
    monkeypatch.setattr(pretrain, "pretrain_layer", layer)
    return fits


def test_stage_two_continues_from_the_stack_stage_one_chose(tmp_path, monkeypatch) -> None:
    """Stage 2 pre-trains its own layer only (its first layer is the stack stage 1's chosen
    configuration pre-trained, loaded, for the same seed): its layer-1 weights and its rows'
    layer-1 figures are those of stage 1's chosen row. (Before: each stage-2 trial
    pre-trained both layers again, on another random stream, and its figures differed.)"""
    fits = counting(monkeypatch)
    table = run(tmp_path)
    stage1 = [f for f in fits if f["dense"] == 1]
    stage2 = [f for f in fits if f["dense"] == 2 and f["epochs"] == 0]
    assert len(stage1) == len(stage2) == 3 * 2
    assert all(f["pretrained"] == [4] for f in stage1)        # iris: 4 inputs
    assert all(f["pretrained"] == [8] for f in stage2)        # layer 2 alone, on layer 1's 8
    first, second = (table[table["step"] == s] for s in ("layer 1", "layer 2"))
    p1 = best_of(first, "pretrain_dense0_valid_error", ["param_p@1"])["param_p@1"]
    for seed in (0, 1):
        chosen = next(f for f in stage1 if f["seed"] == seed and f["lr1"] == p1)
        for f in (f for f in stage2 if f["seed"] == seed):
            np.testing.assert_array_equal(f["W1"], chosen["W1"])
        row = first[(first["param_p@1"] == p1) & (first["seed"] == seed)].iloc[0]
        mine = second[second["seed"] == seed]
        for column in ("pretrain_dense0_error", "pretrain_dense0_valid_error"):
            assert (mine[column] == row[column]).all(), column
    assert any("continued the pre-trained layers" in m for m in table.attrs["best"]["messages"])


def test_without_the_kept_stack_a_stage_pre_trains_again_to_the_same_table(
        tmp_path, monkeypatch) -> None:
    """A missing stack (a checkpoint lost, unreadable) only costs work: stage 2 pre-trains
    both layers, and the table is the same."""
    kept = run(tmp_path / "kept")
    from runtime.execution import runner
    monkeypatch.setattr(runner.checkpoints, "load", lambda out, key: None)
    fits = counting(monkeypatch)
    lost = run(tmp_path / "lost")
    assert all(f["pretrained"] == [4, 8] for f in fits if f["dense"] == 2 and f["epochs"] == 0)
    drop = ["duration_s", "attempts"]
    pd.testing.assert_frame_equal(kept.drop(columns=drop), lost.drop(columns=drop))


def test_a_killed_run_goes_on_from_the_kept_stacks_without_training_again(
        tmp_path, monkeypatch) -> None:
    """Killed after stage 1 and two stage-2 trials: the next run trains none of those again,
    its stage-2 trials continue from the stacks the killed run kept, and the table is that
    of an uninterrupted run."""
    import pytest
    from runtime.execution import trials
    whole = run(tmp_path / "whole")
    real, stored = trials.TrialKeeper.store_outcome, []

    def store(self, job, row, curves, member):
        real(self, job, row, curves, member)
        stored.append(job)
        if len(stored) == 3 * 2 + 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(trials.TrialKeeper, "store_outcome", store)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "killed")
    monkeypatch.setattr(trials.TrialKeeper, "store_outcome", real)
    fits = counting(monkeypatch)
    again = run(tmp_path / "killed")
    assert not [f for f in fits if f["dense"] == 1]                 # stage 1: from the store
    stage2 = [f for f in fits if f["dense"] == 2 and f["epochs"] == 0]
    assert len(stage2) == 3 * 2 - 2 and all(f["pretrained"] == [8] for f in stage2)
    drop = ["duration_s", "attempts"]
    pd.testing.assert_frame_equal(whole.drop(columns=drop), again.drop(columns=drop))


BORDERS = SPEC.replace("p ~ log_uniform 1e-3 .. 1e-1", "p in 0.001, 0.01, 0.1").replace(
    "seeds 2", "seeds 1").format(criterion="")


def test_each_layers_values_get_the_border_check_on_their_own_stage(tmp_path) -> None:
    """best.json's borders name each layer's parameter (`p@1`, `p@2`; was the bare `p`,
    always null) and check the value its stage chose against the values that stage tried;
    its `stages` record what each stage chose, by which column."""
    table = run_text(tmp_path, BORDERS)
    best = table.attrs["best"]
    assert list(best["borders"]) == ["p@1", "p@2", "lr"]
    for k in (1, 2):
        rows = table[table["step"] == f"layer {k}"]
        column, name = f"pretrain_dense{k - 1}_valid_error", f"param_p@{k}"
        chosen = best_of(rows, column, [name])[name]
        side = "low" if chosen == rows[name].min() else \
            "high" if chosen == rows[name].max() else None
        assert best["borders"][f"p@{k}"] == side
        record = best["stages"][k - 1]
        assert record["step"] == f"layer {k}" and record["criterion"] == column
        assert record["values"] == {f"p@{k}": chosen}
        assert rows.loc[rows["trial"] == record["trial"], name].iloc[0] == chosen
    assert best["borders"]["p@1"] == "high"            # 0.1 keeps iris's 4 inputs best
    fine = best["stages"][2]
    assert fine["step"] == "fine-tune" and fine["trial"] == best["trial"]
    assert fine["values"] == {"lr": best["params"]["lr"]}
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary.loc[summary["trial"] == best["trial"], "border_p@1"].iloc[0] == "high"
