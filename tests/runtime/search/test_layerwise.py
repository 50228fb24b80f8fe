"""Layer-wise search (Bengio 2012, 3.3.4): one stage per hidden layer, each fixing its best
pre-training before the next, then the fine-tuning stage."""
from __future__ import annotations

from dataclasses import replace

import pytest

from runtime.search import make_strategy, planned_trials
from spec_lang.config import Dim, Search
from spec_lang.layerwise import LAYERS

DIMS = (Dim("pt_lr", "choice", values=(0.1, 0.01, 0.001)),
        Dim("noise", "choice", values=(0.1, 0.3)),
        Dim("lr", "choice", values=(0.5, 0.05, 0.005)))


def layerwise(trials: int = 6, layers: int = 2, criterion: str = "reconstruction") -> Search:
    return Search("layerwise", trials=trials, dims=DIMS, pretrained=("pt_lr", "noise"),
                  layers=layers, criterion=criterion)


def objective(params: dict) -> float:
    """Each layer prefers its own values: layer 1 pt_lr 0.01, layer 2 pt_lr 0.001 and noise
    0.3; the fine-tuning prefers lr 0.05."""
    if params.get(LAYERS) == 1:
        return abs(params["pt_lr@1"] - 0.01) + params["noise@1"]
    if params.get(LAYERS) == 2:
        return abs(params["pt_lr@2"] - 0.001) + abs(params["noise@2"] - 0.3)
    return abs(params["lr"] - 0.05)


def test_each_stage_fixes_its_layer_and_the_next_builds_on_it(drive_batches) -> None:
    batches = drive_batches(make_strategy(layerwise(), seed=0), objective)
    assert [{c.step for c, _ in b} for b in batches] == [{"layer 1"}, {"layer 2"},
                                                          {"fine-tune"}]
    first, second, fine = ([c.params for c, _ in b] for b in batches)
    assert len(first) == len(second) == 6                    # the whole 3 x 2 space, once
    assert all(set(p) == {"pt_lr@1", "noise@1", "lr", LAYERS} and p[LAYERS] == 1 for p in first)
    assert all(p["lr"] == 0.5 for p in first + second)      # fine-tuning at its middle point
    assert all(p["pt_lr@1"] == 0.01 and p["noise@1"] == 0.1 and p[LAYERS] == 2
               for p in second)                              # stage 1's best, fixed
    assert all(p["pt_lr@2"] == 0.001 and p["noise@2"] == 0.3 and LAYERS not in p
               for p in fine)                                # the whole network
    assert {p["lr"] for p in fine} == {0.5, 0.05, 0.005}


def test_stages_are_scored_by_their_top_layer_reconstruction_error(drive_batches) -> None:
    batches = drive_batches(make_strategy(layerwise(), seed=0), objective)
    assert {c.metric for c, _ in batches[0]} == {"pretrain_dense0_valid_error"}
    assert {c.metric for c, _ in batches[1]} == {"pretrain_dense1_valid_error"}
    assert {c.metric for c, _ in batches[2]} == {""}         # the run's selection metric
    supervised = drive_batches(make_strategy(layerwise(criterion="supervised"), seed=0),
                               objective)
    assert {c.metric for b in supervised for c, _ in b} == {""}


def test_the_chosen_configuration_is_the_best_fine_tuning_one(drive) -> None:
    strategy = make_strategy(layerwise(), seed=0)
    drive(strategy, objective)
    assert strategy.best().params["lr"] == 0.05 and strategy.best().step == "fine-tune"


def test_a_stage_that_failed_everywhere_ends_the_search(drive_batches) -> None:
    strategy = make_strategy(layerwise(), seed=0)
    batches = drive_batches(strategy, lambda p: None if p.get(LAYERS) == 2 else objective(p))
    assert len(batches) == 2 and strategy.best() is None


def test_trials_per_stage_and_the_planned_count() -> None:
    search = layerwise(trials=4, layers=3)
    strategy = make_strategy(search, seed=1)
    assert len(strategy.ask()) == 4
    assert planned_trials(search) == (16, False)


def test_same_seed_same_stages(drive_batches) -> None:
    one = drive_batches(make_strategy(layerwise(trials=3), seed=5), objective)
    two = drive_batches(make_strategy(layerwise(trials=3), seed=5), objective)
    assert [[c.params for c, _ in b] for b in one] == [[c.params for c, _ in b] for b in two]


def test_asking_twice_before_telling_is_refused() -> None:
    strategy = make_strategy(layerwise(), seed=0)
    strategy.ask()
    with pytest.raises(RuntimeError, match="tell the stage"):
        strategy.ask()


def test_each_stage_is_told_apart_with_its_dimensions_named_per_layer(drive) -> None:
    """`told_stages` gives each stage's results with its dimensions under their parameter
    names, and the one border function, given one stage, checks the value that stage chose
    against the values it tried: layer 1 chose noise 0.1 (the lowest) and pt_lr 0.01 (inside),
    layer 2 pt_lr 0.001 (the lowest) and noise 0.3 (the highest), the fine-tuning lr 0.05."""
    from runtime.search import border_report
    from runtime.search.layerwise import told_stages
    search = layerwise()
    history = drive(make_strategy(search, seed=0), objective)
    stages = told_stages(search, history)
    assert [(s.step, s.layer, s.metric) for s in stages] == [
        ("layer 1", 1, "pretrain_dense0_valid_error"),
        ("layer 2", 2, "pretrain_dense1_valid_error"), ("fine-tune", None, "")]
    assert [[d.name for d in s.dims] for s in stages] == [["pt_lr@1", "noise@1"],
                                                          ["pt_lr@2", "noise@2"], ["lr"]]
    assert [len(s.results) for s in stages] == [6, 6, 3]
    assert stages[1].best().params["pt_lr@2"] == 0.001
    borders = {}
    for stage in stages:
        borders.update(border_report(replace(search, dims=stage.dims), list(stage.results)))
    assert borders == {"pt_lr@1": None, "noise@1": "low", "pt_lr@2": "low", "noise@2": "high",
                       "lr": None}
