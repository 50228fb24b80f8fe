"""What specs mean: defaults from the chapter, values, parameters, binding, conditions."""
from __future__ import annotations

import pytest

import spec_lang
from spec_lang import config as c
from spec_lang.parser import parse
from spec_lang import nodes as n


def test_empty_spec_takes_the_chapters_defaults() -> None:
    exp = spec_lang.loads("")
    train = exp.config.train
    assert train.optimizer == c.Optimizer("sgd", lr=0.01, momentum=0.9)
    assert train.schedule.name == "one_over_t"
    assert train.batch == 32
    assert train.early_stop is not None
    assert exp.config.preprocess == (c.Standardize(),)
    assert exp.config.network == (c.Dense(256, "relu", init="auto"),) * 2    # issue 24
    assert exp.config.protocol == c.Holdout(0.6, 0.2, 0.2, True)
    assert exp.seeds == 3 and exp.search.strategy == "none"


def test_numbers_exponents_and_percentages() -> None:
    spec = parse("split train 60% valid .2 test 2e-1\n")
    values = [a.value for a in spec.statements[0].args if isinstance(a, n.Number)]
    assert values == pytest.approx([0.6, 0.2, 0.2])
    assert spec_lang.loads("split train 60% valid 20% test 20%\n").config.protocol.train == 0.6


def test_spans_point_at_the_source() -> None:
    spec = parse("network\n    dense 64 relu\n")
    dense = spec.statements[0].body[0]
    assert (dense.span.line, dense.span.column) == (2, 5)
    assert (dense.args[0].span.line, dense.args[0].span.column) == (2, 11)


def test_adaptive_optimizers_default_to_their_customary_rate() -> None:
    exp = spec_lang.loads("train\n    adam\n")
    assert exp.config.train.optimizer == c.Optimizer("adam", lr=0.001)


def test_epochs_options_and_switching_early_stopping_off() -> None:
    on = spec_lang.loads("train\n    epochs 200 early_stop patience 15\n").config.train
    assert (on.epochs, on.early_stop) == (200, c.EarlyStop(patience=15))
    off = spec_lang.loads("train\n    epochs 5 early_stop off\n").config.train
    assert off.early_stop is None


def test_batch_all_is_full_batch_and_one_is_online() -> None:
    assert spec_lang.loads("train\n    batch all\n").config.train.batch is None
    assert spec_lang.loads("train\n    batch 1\n").config.train.batch == 1


def test_file_source_and_generators() -> None:
    exp = spec_lang.loads('data "d/x.csv" target "y" categorical reject\n')
    assert exp.config.data == c.DataSpec("file", path="d/x.csv", target="y",
                                         categorical="reject")
    gen = spec_lang.loads("data make_classification samples 500 classes 3 noise 0.1\n")
    assert gen.config.data == c.DataSpec("make_classification", samples=500, classes=3,
                                         noise=0.1)


SEARCHED = """
preprocess
    $scaler
network
    repeat $depth
        dense $width $act
train
    optimizer $opt lr $lr momentum $mom
    epochs 10 early_stop $stop
search random 5
    scaler in standardize, quantile, none
    depth  in 0, 2
    width  ~ 8 .. 64
    act    in relu, tanh
    opt    in sgd, adam
    lr     ~ 1e-4 .. 1
    mom    ~ uniform 0.5 .. 0.99 if opt == sgd
    stop   in true, false
"""


def test_any_value_can_be_searched_and_bind_fills_it() -> None:
    exp = spec_lang.loads(SEARCHED)
    config = exp.bind({"scaler": "quantile", "depth": 2, "width": 16, "act": "tanh",
                       "opt": "adam", "lr": 0.1, "stop": False})
    assert config.preprocess == (c.Quantile(),)
    assert config.network == (c.Dense(16, "tanh"),) * 2
    assert config.train.optimizer.name == "adam" and config.train.optimizer.lr == 0.1
    assert config.train.optimizer.momentum == 0.9     # inactive `mom`: the default
    assert config.train.early_stop is None
    none = exp.bind({"scaler": "none", "depth": 0, "width": 8, "act": "relu", "opt": "sgd",
                     "lr": 0.1, "mom": 0.5, "stop": True})
    assert none.preprocess == () and none.network == ()
    assert none.train.optimizer.momentum == 0.5 and none.train.early_stop is not None


def test_scales_and_integer_priors_follow_the_setting() -> None:
    dims = {d.name: d for d in spec_lang.loads(SEARCHED).search.dims}
    assert dims["lr"].prior == "log_uniform"          # learning rates default to log
    assert dims["width"].prior == "int_uniform" and dims["width"].integer
    assert dims["mom"].prior == "uniform"
    assert dims["mom"].condition == c.Condition("opt", "==", "sgd")
    assert dims["mom"].limits == (0, None)            # momentum's closed lower bound


def test_grid_range_with_count() -> None:
    exp = spec_lang.loads("train\n    sgd lr $lr l2 1\nsearch grid\n    lr in log 1e-4 .. "
                          "1e-1 count 7\n".replace(" l2 1", ""))
    (dim,) = exp.search.dims
    assert (dim.kind, dim.scale, dim.count, dim.low, dim.high) == ("range", "log", 7, 1e-4,
                                                                    0.1)


def test_nested_repeats_expand_in_order() -> None:
    exp = spec_lang.loads("network\n    repeat 2\n        dense 8\n        repeat 2\n"
                          "            dense 4 tanh\n    dropout 0.5\n")
    widths = [getattr(layer, "width", "drop") for layer in exp.bind({}).network]
    assert widths == [8, 4, 4, 8, 4, 4, "drop"]


def test_searched_choice_values_are_checked_against_the_setting() -> None:
    with pytest.raises(spec_lang.SpecValidationError) as info:
        spec_lang.loads("network\n    dense 8 $act\nsearch grid\n    act in relu, tahn\n")
    assert "did you mean 'tanh'?" in str(info.value)


def test_load_resolves_data_paths_next_to_the_spec(tmp_path) -> None:
    path = tmp_path / "x.spec"
    path.write_text("experiment x\ndata iris\n")
    exp = spec_lang.load(path)
    assert exp.base_dir == tmp_path and exp.name == "x"


def test_load_of_a_missing_file_is_a_spec_error(tmp_path) -> None:
    with pytest.raises(spec_lang.SpecError, match="cannot read the spec"):
        spec_lang.load(tmp_path / "none.spec")


def test_tpe_without_optuna_is_rejected_with_the_install_command(monkeypatch) -> None:
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    with pytest.raises(spec_lang.SpecValidationError) as info:
        spec_lang.loads("train\n    sgd lr $lr\nsearch tpe 10\n    lr ~ 1e-4 .. 1\n")
    assert "pip install 'nnspec[tpe]'" in str(info.value)


def test_keywords_in_and_if_do_not_swallow_longer_names() -> None:
    exp = spec_lang.loads("network\n    output init glorot_normal\n    dense 4\nsearch grid\n"
                          "    index in 1, 2\n    iffy in 3 if index == 1\ntrain\n"
                          "    batch $index\n    epochs $iffy\n")
    assert exp.config.output.init == "glorot_normal"
    assert [d.name for d in exp.search.dims] == ["index", "iffy"]
    assert exp.search.dims[1].condition == c.Condition("index", "==", 1)
