"""`search auto`'s space: what the spec leaves to its default is opened, what it writes is kept,
and a `$name` of the spec's goes to the stage of the setting it feeds."""
from __future__ import annotations

import pytest

import spec_lang
from spec_lang import config as c
from spec_lang.errors import SpecValidationError
from runtime.search.space import representative

PLAIN = "data iris\nsearch auto\n"


def _dims(exp) -> dict[str, c.Dim]:
    return {d.name: d for d in exp.search.dims}


def test_a_spec_that_writes_nothing_opens_rate_network_decay_and_batch():
    exp = spec_lang.loads(PLAIN)
    dims = _dims(exp)
    assert {n: d.stage for n, d in dims.items()} == {
        "lr": "lr", "depth": "capacity", "width": "capacity", "dropout": "capacity",
        "l2": "capacity", "batch": "batch"}
    assert all(d.opened for d in dims.values())
    assert exp.search.extend == 0 and exp.search.min_fidelity == pytest.approx(30 / 1000)


def test_the_representative_point_is_the_defaults_the_spec_left_open():
    exp = spec_lang.loads(PLAIN)
    cfg = exp.bind(representative(exp.search))
    default = c.Config()
    assert cfg.train.optimizer == c.Optimizer("adam", lr=0.001)   # auto's optimizer, its defaults
    assert cfg.train.l2 == default.train.l2 and cfg.train.batch == default.train.batch
    dense = [layer for layer in cfg.network if isinstance(layer, c.Dense)]
    assert [(d.width, d.activation) for d in dense] == \
        [(layer.width, layer.activation) for layer in c.DEFAULT_NETWORK]
    assert all(layer.rate == 0.0 for layer in cfg.network if isinstance(layer, c.Dropout))


def test_every_setting_the_spec_writes_is_kept():
    exp = spec_lang.loads("data iris\nnetwork\n    dense 32 tanh\ntrain\n    sgd lr 0.05\n"
                          "    batch 64\n    l2 1e-4\nsearch auto\n")
    assert exp.search.dims == ()
    assert exp.config.train.optimizer.lr == 0.05 and exp.config.train.batch == 64
    assert exp.config.train.l2 == 1e-4 and exp.config.network[0] == c.Dense(32, "tanh")


def test_a_written_optimizer_without_a_rate_opens_the_rate_around_its_own_default():
    exp = spec_lang.loads("data iris\ntrain\n    adam\nsearch auto\n")
    lr = _dims(exp)["lr"]
    assert lr.default == pytest.approx(0.001) and lr.low == pytest.approx(1e-4)


def test_without_an_optimizer_line_auto_tunes_adam_and_a_written_one_is_kept():
    plain = spec_lang.loads(PLAIN)
    assert plain.config.train.optimizer.name == "adam"
    assert _dims(plain)["lr"].default == pytest.approx(0.001)
    written = spec_lang.loads("data iris\ntrain\n    sgd momentum 0.5\n    l2 1e-4\n"
                              "search auto\n")
    assert written.config.train.optimizer == c.Optimizer("sgd", lr=c.Param("lr"), momentum=0.5)
    assert _dims(written)["lr"].default == pytest.approx(0.01)
    # a train block without an optimizer line leaves the optimizer open too
    other = spec_lang.loads("data iris\ntrain\n    epochs 50\nsearch auto\n")
    assert other.config.train.optimizer.name == "adam"


def test_the_specs_own_names_go_to_the_stage_of_their_setting():
    exp = spec_lang.loads("data iris\nnetwork\n    dense $w relu\ntrain\n    sgd lr $rate\n"
                          "    batch $b\nsearch auto\n    rate ~ log_uniform 1e-3 .. 1\n"
                          "    w in 16, 64\n    b in 16, 64\n")
    dims = _dims(exp)
    assert (dims["rate"].stage, dims["w"].stage, dims["b"].stage) == \
        ("lr", "capacity", "batch")
    assert not dims["rate"].opened
    assert "lr" not in dims and "batch" not in dims and "width" not in dims
    assert dims["l2"].opened                         # the one setting left to its default


def test_an_opened_setting_whose_name_is_taken_is_renamed():
    exp = spec_lang.loads("data iris\ntrain\n    epochs $width\nsearch auto\n"
                          "    width in 10, 20\n")
    dims = _dims(exp)
    assert dims["width"].stage == "capacity" and not dims["width"].opened
    assert dims["auto_width"].opened


def test_auto_takes_no_extend():
    with pytest.raises(SpecValidationError, match="takes no 'extend'"):
        spec_lang.loads("data iris\nsearch auto extend 2\n")


def test_the_check_prints_the_plan_with_the_budget_split():
    from spec_lang.auto import plan_lines
    exp = spec_lang.loads(PLAIN + "budget 100 seconds\n")
    text = "\n".join(plan_lines(exp.search, exp.config.train.optimizer.name))
    for stage in ("1. lr", "2. capacity", "3. border", "4. batch", "5. seeds"):
        assert stage in text
    assert "[until 15 s of 100 s]" in text and "[until 60 s of 100 s]" in text
    assert "s/100 (adam); 1 seed each" in text
    assert "a draw only when its first rung fits 1/3 of the stage's time left" in text
    epochs = spec_lang.loads(PLAIN + "budget epochs 5000\n")
    assert "first rung fits" not in "\n".join(plan_lines(epochs.search, "adam"))


def test_a_networks_work_is_depth_times_width_squared_of_the_network_auto_opened():
    from spec_lang.auto import network_work
    dims = _dims(spec_lang.loads("data iris\nsearch auto\n")).values()
    assert network_work(dims, {"depth": 3, "width": 100}) == 3 * 100 ** 2
    assert network_work(dims, {}) == 2 * 256 ** 2            # the defaults: the centre
    renamed = _dims(spec_lang.loads("data iris\ntrain\n    epochs $width\nsearch auto\n"
                                    "    width in 10, 20\n")).values()
    assert network_work(renamed, {"width": 20, "auto_width": 64, "depth": 1}) == 64 ** 2
    written = _dims(spec_lang.loads("data iris\nnetwork\n    dense 32 relu\nsearch auto\n"))
    assert network_work(written.values(), {"width": 512}) == 1.0    # the spec's own network
