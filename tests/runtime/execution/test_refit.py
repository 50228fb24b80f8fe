"""The final model refitted on the development rows (`split ... refit`, the default): each
seed of the chosen configuration trained again on train + valid (every fold) for the epochs
early stopping chose, checked against an independent fit on those rows; scored once; kept
and found again by a resumed run; trial keys unchanged by the option."""
from __future__ import annotations

import json
import math

import numpy as np

import runtime
import spec_lang
from runtime.data.preprocess import fit_preprocess
from runtime.engine.training import fit
from runtime.execution import final, prepared
from runtime.execution.jobs import Job
from runtime.execution.keys import job_key
from runtime.types import TrainData

from ..conftest import TINY


def _independent_member(exp: spec_lang.Experiment, params: dict, seed: int, epochs: int,
                        outer: int | None = None) -> np.ndarray:
    """The refit network's test predictions, trained here from the fold's own rows."""
    cfg = exp.bind(params)
    data = prepared.dataset(cfg.data, str(exp.base_dir))
    mine = [f for f in prepared.folds(cfg.protocol, cfg.data, str(exp.base_dir),
                                      exp.seed_start) if f.outer == outer]
    rows = np.sort(np.unique(np.concatenate([np.r_[f.train, f.valid] for f in mine])))
    prep = fit_preprocess(cfg.preprocess, data.X[rows], data.feature_names)
    arrays = TrainData(prep.transform(data.X[rows]), data.y[rows],
                       prep.transform(data.X[rows[:0]]), data.y[rows[:0]], data.task,
                       data.n_classes)
    cfg = cfg.__class__(**{**cfg.__dict__, "train": cfg.train.__class__(
        **{**cfg.train.__dict__, "epochs": epochs, "updates": None})})
    result = fit(cfg, arrays, seed)
    assert result.state == "complete" and result.epochs == epochs
    return result.model.predict(prep.transform(data.X[mine[0].test]))


def _assert_independent_members(exp: spec_lang.Experiment, best: dict, model) -> None:
    """Each saved member's test predictions equal an independent refit's (holdout, fold 0)."""
    data = prepared.dataset(exp.config.data, ".")
    test = prepared.fold_of(exp.config, exp, 0, None).test
    for seed, member in zip(exp.seed_list(), model.members):
        mine = member.net.predict(member.prep.transform(data.X[test]))
        theirs = _independent_member(exp, best["params"], seed, best["refit"]["epochs"][seed])
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_holdout_refit_trains_each_seed_on_train_and_valid_for_its_best_epoch(tmp_path):
    (tmp_path / "tiny.spec").write_text(TINY)              # a file: the report rebuilds from it
    exp = spec_lang.load(tmp_path / "tiny.spec")
    tmp_path = tmp_path / "run"
    table = runtime.run(exp, out=tmp_path, jobs=1)
    best = table.attrs["best"]
    chosen = table[table["trial"] == best["trial"]]
    assert best["refit"]["epochs"] == {int(s): int(e) for s, e in
                                       zip(chosen["seed"], chosen["best_epoch"])}
    assert best["refit"]["rows"] == 120                      # iris: 60% + 20% of 150
    model = runtime.load_model(tmp_path / "model.npz")
    assert len(model.members) == 2                           # one network per seed
    _assert_independent_members(exp, best, model)
    saved = json.loads((tmp_path / "best.json").read_text())
    assert saved["refit"]["epochs"] == {str(k): v for k, v in best["refit"]["epochs"].items()}
    listed = saved["refit"]["members"]                       # the saved model's networks
    assert [(m["seed"], m["fold"]) for m in listed] == [(0, prepared.REFIT_FOLD),
                                                         (1, prepared.REFIT_FOLD)]
    for m, member in zip(listed, model.members):
        kept = runtime.load_model(tmp_path / final.MEMBERS / f"{m['key']}.npz").members[0]
        np.testing.assert_array_equal(kept.net.params, member.net.params)
    from runtime.report.network_stats import record
    from runtime.report.run_folder import load_run
    assert record(load_run(tmp_path)).members == 2


def test_refit_false_keeps_the_search_networks_and_trial_keys_do_not_change(tmp_path):
    exp = spec_lang.loads(TINY)
    kept = spec_lang.loads(TINY.replace("test 0.2\n", "test 0.2 refit false\n"))
    table = runtime.run(kept, out=tmp_path, jobs=1)
    assert table.attrs["best"]["refit"] is None
    model = runtime.load_model(tmp_path / "model.npz")
    listed = {m["seed"]: m["key"] for m in table.attrs["best"]["members"]}
    for seed, member in zip(kept.seed_list(), model.members):
        search = runtime.load_model(tmp_path / final.MEMBERS / f"{listed[seed]}.npz")
        np.testing.assert_array_equal(member.net.params, search.members[0].net.params)
    job = Job(0, (("lr", 0.1),), 0, 0)
    assert job_key(exp, job) == job_key(kept, job)


def test_a_second_run_loads_the_refit_networks_instead_of_training_them(tmp_path,
                                                                       monkeypatch):
    exp = spec_lang.loads(TINY)
    first = runtime.run(exp, out=tmp_path, jobs=1).attrs["best"]
    trained = []
    original = final.final_model

    def spy(*args, **kw):
        execute = args[5]
        args = (*args[:5], lambda jobs: trained.extend(jobs) or execute(jobs), *args[6:])
        return original(*args, **kw)
    monkeypatch.setattr("runtime.execution.choose.final_model", spy)
    again = runtime.run(exp, out=tmp_path, jobs=1).attrs["best"]
    assert trained == [] and again["test"] == first["test"]


def test_kfold_refits_one_network_per_seed_for_the_mean_best_epoch_of_its_folds(tmp_path):
    exp = spec_lang.loads(TINY.replace("split train 0.6 valid 0.2 test 0.2", "kfold 3 test 0.2"))
    table = runtime.run(exp, out=tmp_path, jobs=1)
    best = table.attrs["best"]
    chosen = table[table["trial"] == best["trial"]]
    means = chosen.groupby("seed")["best_epoch"].mean()
    assert best["refit"]["epochs"] == {int(s): max(1, math.floor(m + 0.5))
                                       for s, m in means.items()}
    assert best["refit"]["rows"] == 120
    assert len(runtime.load_model(tmp_path / "model.npz").members) == 2


def test_nested_refits_in_each_outer_fold_on_its_inner_rows(tmp_path, monkeypatch):
    calls = []
    original = final.score_test
    monkeypatch.setattr(final, "score_test", lambda task, y, outs, logits=None, head=None:
                        calls.append((len(y), len(outs))) or original(task, y, outs, logits,
                                                                        head))
    spec = TINY.replace("split train 0.6 valid 0.2 test 0.2", "nested outer 3 inner 2")
    best = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1).attrs["best"]
    assert calls == [(50, 2)] * 3                             # 2 refit seeds per outer fold
    assert [item["refit"]["rows"] for item in best["outer_folds"]] == [100] * 3


def test_a_chosen_configuration_that_did_not_complete_is_not_refitted():
    rows = [{"seed": 0, "state": "complete", "best_epoch": 5},
            {"seed": 0, "state": "stalled", "best_epoch": 3}]
    assert final.refit_epochs(rows) is None
    rows[1].update(state="complete", seed=1)
    assert final.refit_epochs(rows) == {0: 5, 1: 3}
    assert final.refit_epochs([{"seed": 0, "state": "complete", "best_epoch": 2},
                               {"seed": 0, "state": "complete", "best_epoch": 3}]) == {0: 3}


def test_the_refit_keeps_the_search_plan_in_epochs_and_stops_at_its_best_epoch():
    """A cosine schedule is planned over the search's cap, not squeezed into the refit's
    epochs; counts of updates the spec gives are scaled to the larger training part."""
    import dataclasses

    from runtime.engine.training import refit_config
    from sklearn.datasets import load_iris
    exp = spec_lang.loads(TINY.replace("sgd lr $lr momentum 0.9", "sgd lr $lr momentum 0.9\n"
                                       "    schedule cosine warmup 30\n    updates 100"))
    cfg = refit_config(exp.bind({"lr": 0.1}), 4 / 3)
    assert cfg.train.updates == 133 and cfg.train.schedule.warmup == 40
    assert cfg.train.schedule.tau is None and cfg.train.epochs == 15    # the cap stays
    X, y = load_iris(return_X_y=True)
    data = TrainData(X[::2], y[::2], X[:0], y[:0], "classification", 3)
    plan = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, updates=None))
    full = fit(plan, data, 0)
    cut = fit(plan, data, 0, stop_after=5)
    assert full.epochs == 15 and cut.epochs == 5 and cut.state == "complete"
    for name in ("lr", "train_loss"):
        assert cut.curves[name] == full.curves[name][:5]
    assert cut.curves["lr"][-1] > full.curves["lr"][-1]       # not annealed to the end


def test_an_earlier_choice_s_refit_networks_are_removed(tmp_path):
    runtime.run(spec_lang.loads(TINY), out=tmp_path, jobs=1)
    first = {p.name for p in (tmp_path / final.MEMBERS).glob("refit-*.npz")}
    other = TINY.replace("patience 5", "patience 3")        # other best epochs: other refits
    best = runtime.run(spec_lang.loads(other), out=tmp_path, jobs=1).attrs["best"]
    now = {p.name for p in (tmp_path / final.MEMBERS).glob("refit-*.npz")}
    assert now == {f"{m['key']}.npz" for m in best["refit"]["members"]} and len(now) == 2
    assert len(first) == 2 and first.isdisjoint(now)           # the first run's are gone


def test_a_quantile_preprocessing_refits_on_the_development_rows(tmp_path):
    # the refit's validation part is empty, which scikit-learn's QuantileTransformer refuses:
    # the run fell back to the search's networks with a note (shipped specs/pretrain.spec)
    text = TINY.replace("network\n", "preprocess\n    quantile output uniform\nnetwork\n")
    exp = spec_lang.loads(text)
    table = runtime.run(exp, out=tmp_path / "run", jobs=1)
    best = table.attrs["best"]
    assert best["refit"]["rows"] == 120 and len(best["refit"]["members"]) == 2
    assert not any("refit failed" in note for note in best["messages"])
    model = runtime.load_model(tmp_path / "run" / "model.npz")
    _assert_independent_members(exp, best, model)
