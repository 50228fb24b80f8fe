"""Values set after the text (bound by the search, set from Python) are converted and checked
exactly as written ones: the same conversion, the same constraints, the same messages."""
from __future__ import annotations

import dataclasses

import pytest

import spec_lang
from spec_lang import config as c

SEARCHED = """\
data iris
network
    dense $width $act
train
    optimizer $opt
    batch $b
    epochs 10 early_stop $es
search grid
    width in 8, 16
    act in relu, tanh
    opt in sgd, adam, rmsprop, adagrad
    b in 8, all
    es in true, false
"""
POINT = {"width": 8, "act": "relu", "opt": "sgd", "b": 8, "es": "true"}


@pytest.fixture(scope="module")
def exp() -> spec_lang.Experiment:
    return spec_lang.loads(SEARCHED, filename="searched.spec")


# ------------------------------------------------------------------------ optimizer defaults
@pytest.mark.parametrize("name, lr", [("sgd", 0.01), ("adam", 0.001), ("rmsprop", 0.001),
                                      ("adagrad", 0.01)])
def test_each_optimizer_has_its_own_default_lr_however_named(exp, name: str, lr: float) -> None:
    statement = spec_lang.loads(f"train\n    {name}\n").config.train.optimizer
    named = spec_lang.loads(f"train\n    optimizer {name}\n").config.train.optimizer
    searched = exp.bind({**POINT, "opt": name}).train.optimizer
    assert statement == named == searched
    assert (searched.name, searched.lr) == (name, lr)


def test_a_written_lr_wins_over_the_optimizers_default() -> None:
    exp = spec_lang.loads("train\n    optimizer $opt lr 0.05\nsearch grid\n"
                          "    opt in sgd, adam\n")
    assert exp.bind({"opt": "adam"}).train.optimizer.lr == 0.05


# ---------------------------------------------------------------------- searched conversions
def test_a_searched_all_is_the_whole_training_set(exp) -> None:
    assert exp.bind({**POINT, "b": "all"}).train.batch is None
    assert exp.bind(POINT).train.batch == 8


def test_a_searched_false_turns_early_stopping_off(exp) -> None:
    assert exp.bind({**POINT, "es": "false"}).train.early_stop is None
    assert exp.bind(POINT).train.early_stop == c.EarlyStop()


def test_numbers_are_bound_in_canonical_form() -> None:
    exp = spec_lang.loads("train\n    sgd lr $lr\nsearch grid\n    lr in 1, 0.1\n")
    lr = exp.bind({"lr": 1}).train.optimizer.lr
    assert lr == 1.0 and isinstance(lr, float)


# ---------------------------------------------------------------------------- bind-time checks
def test_a_value_its_setting_refuses_is_the_texts_error() -> None:
    text = spec_lang.loads("data iris\ntrain\n    sgd lr $lr\nsearch grid\n    lr in 0.1, 1\n")
    with pytest.raises(spec_lang.BindError) as info:
        text.bind({"lr": -1.0})
    err = info.value
    assert isinstance(err, spec_lang.SpecValidationError) and isinstance(err, ValueError)
    (diag,) = err.diagnostics
    with pytest.raises(spec_lang.SpecValidationError) as texts:
        spec_lang.loads("data iris\ntrain\n    sgd lr -1.0\n")
    assert diag.message == texts.value.diagnostics[0].message
    assert diag.message == "'lr' of 'sgd' must be > 0; got -1.0"
    assert "$lr" in diag.hint
    assert str(err).startswith("<string>: error: 'lr' of 'sgd'")   # no 0:0 position


def test_every_bad_value_is_reported_at_once(exp) -> None:
    with pytest.raises(spec_lang.BindError) as info:
        exp.bind({**POINT, "width": 0, "act": "relux", "b": "some", "es": "maybe"})
    messages = [d.message for d in info.value.diagnostics]
    assert len(messages) == 4
    assert "'width' of 'dense' must be >= 1; got 0" in messages
    assert "unknown activation 'relux' for 'dense'" in messages
    assert any(d.hint == "the value of $act; did you mean 'relu'?"
               for d in info.value.diagnostics)


def test_a_missing_value_without_default_is_a_bind_error() -> None:
    exp = spec_lang.loads("network\n    dense $w\nsearch grid\n    w in 8, 16\n")
    with pytest.raises(spec_lang.BindError, match="'w' has no value here"):
        exp.bind({})


def test_searched_steps_and_repeats_are_checked() -> None:
    exp = spec_lang.loads("preprocess\n    $step\nnetwork\n    repeat $depth\n        dense 8\n"
                          "search grid\n    step in standardize, none\n    depth in 1, 2\n")
    config = exp.bind({"step": "none", "depth": 2})
    assert config.preprocess == () and len(config.network) == 2
    with pytest.raises(spec_lang.BindError) as info:
        exp.bind({"step": "whiten", "depth": -1})
    assert len(info.value.diagnostics) == 2


# ------------------------------------------------------------------------ changing an experiment
def test_replace_changes_nested_values_and_checks_them() -> None:
    exp = spec_lang.loads("data iris\nnetwork\n    dense 16 tanh\ntrain\n    sgd lr 0.1\n")
    new = exp.replace(seeds=1, train__epochs=5, train__optimizer__lr=0.2,
                      network__0__width=4, metric="loss")
    assert (new.seeds, new.config.train.epochs, new.config.train.optimizer.lr) == (1, 5, 0.2)
    assert new.config.network[0] == c.Dense(4, "tanh") and new.config.metric == "loss"
    assert exp.config.train.epochs == 1000                     # the original is unchanged
    with pytest.raises(spec_lang.SpecValidationError,
                       match="'count' of 'epochs' must be >= 1; got -5"):
        exp.replace(train__epochs=-5)


def test_dataclasses_replace_on_an_experiment_is_checked_too() -> None:
    exp = spec_lang.loads("data iris\n")
    train = dataclasses.replace(exp.config.train, epochs=-5)
    with pytest.raises(spec_lang.SpecValidationError):
        dataclasses.replace(exp, config=dataclasses.replace(exp.config, train=train))
    with pytest.raises(spec_lang.SpecValidationError, match="cannot name a run folder"):
        dataclasses.replace(exp, name="../elsewhere")


def test_replace_names_an_unknown_setting_and_suggests_one() -> None:
    exp = spec_lang.loads("data iris\n")
    with pytest.raises(TypeError, match="train has no setting 'epoch'; did you mean 'epochs'"):
        exp.replace(train__epoch=5)
    with pytest.raises(TypeError, match="network has no setting '3'"):
        exp.replace(network__3__width=5)
