"""Trial keys hold a new configuration field only where a spec uses it: a spec without
`search layerwise` or several targets keeps the keys (and so the stored results) it had."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import spec_lang
from runtime.execution import keys

SPECS = Path(__file__).resolve().parents[3] / "specs"
PRETRAIN = ("data iris\nnetwork\n    dense 8 tanh\n    dense 4 tanh\npretrain autoencoder lr $p\n"
            "search {strategy}\n    p in 0.1, 0.01\nseeds 1\n")


def content(exp: spec_lang.Experiment, params: dict[str, Any], monkeypatch) -> dict:
    seen: list = []
    real = keys.canonical_text
    monkeypatch.setattr(keys, "canonical_text", lambda v: seen.append(v) or real(v))
    keys.trial_key(exp, params, 0, 0, None, 1.0)
    return seen[-1]["config"]


def test_a_plain_spec_keys_neither_per_layer_pretraining_nor_target_weights(monkeypatch):
    config = content(spec_lang.loads(PRETRAIN.format(strategy="grid")), {"p": 0.1},
                     monkeypatch)
    assert "layers" not in config["pretrain"] and "target_weights" not in config


def test_per_layer_values_are_part_of_a_layerwise_key(monkeypatch):
    exp = spec_lang.loads(PRETRAIN.format(strategy="layerwise 2"))
    one = {"p@1": 0.1, "p@2": 0.01}
    config = content(exp, one, monkeypatch)
    assert [layer["lr"] for layer in config["pretrain"]["layers"]] == [0.1, 0.01]
    key = keys.trial_key(exp, one, 0, 0, None, 1.0)
    assert key != keys.trial_key(exp, {"p@1": 0.01, "p@2": 0.1}, 0, 0, None, 1.0)
    assert key != keys.trial_key(exp, {"p@1": 0.1, "@layers": 1}, 0, 0, None, 1.0)


def test_target_weights_are_part_of_a_multi_target_key(monkeypatch):
    exp = spec_lang.load(SPECS / "multitarget.spec")
    config = content(exp, {"w": 0.5}, monkeypatch)
    assert config["target_weights"] == [1, 0.5] or config["target_weights"] == (1, 0.5)
    assert keys.trial_key(exp, {"w": 0.5}, 0, 0, None, 1.0) != \
        keys.trial_key(exp, {"w": 2}, 0, 0, None, 1.0)


PRUNED = ("data iris\ntrain\n    sgd lr $lr\nsearch random 3\n    lr ~ log_uniform 1e-3 .. 1\n"
          "{prune}\n")


def test_how_the_engine_prunes_is_keyed_with_the_rule_and_only_there(monkeypatch):
    """A change in how bounds are applied (PRUNE_REVISION) retrains pruned searches, and only
    them; halving's eta is keyed, median's key has none."""
    median = spec_lang.loads(PRUNED.format(prune="prune median"))
    halving = spec_lang.loads(PRUNED.format(prune="prune halving eta 2"))
    plain = spec_lang.loads(PRUNED.format(prune=""))
    before = {name: keys.trial_key(exp, {"lr": 0.1}, 0, 0, None, 1.0)
              for name, exp in (("median", median), ("halving", halving), ("plain", plain))}
    monkeypatch.setattr(keys, "PRUNE_REVISION", keys.PRUNE_REVISION + 1)
    after = {name: keys.trial_key(exp, {"lr": 0.1}, 0, 0, None, 1.0)
             for name, exp in (("median", median), ("halving", halving), ("plain", plain))}
    assert after["plain"] == before["plain"]
    assert after["median"] != before["median"] and after["halving"] != before["halving"]
    seen: list = []
    real = keys.canonical_text
    monkeypatch.setattr(keys, "canonical_text", lambda v: seen.append(v) or real(v))
    keys.trial_key(median, {"lr": 0.1}, 0, 0, None, 1.0)
    keys.trial_key(halving, {"lr": 0.1}, 0, 0, None, 1.0)
    assert "eta" not in seen[0]["prune"] and seen[1]["prune"]["eta"] == 2.0


ASHA = ("data iris\ntrain\n    sgd lr $lr\n    epochs 30\nsearch asha 9 fidelity {kind}\n"
        "    lr ~ log_uniform 1e-3 .. 1\n")


def test_a_low_fidelity_key_holds_the_epochs_it_trains(monkeypatch):
    """How a fraction becomes whole epochs is part of the key (it changed from rounding up to
    the nearest): 1/27 of 30 epochs is 1 epoch, keyed so; full fidelity and fidelity in data
    keep the keys they had."""
    seen: list = []
    real = keys.canonical_text
    monkeypatch.setattr(keys, "canonical_text", lambda v: seen.append(v) or real(v))
    epochs = spec_lang.loads(ASHA.format(kind="epochs"))
    keys.trial_key(epochs, {"lr": 0.1}, 0, 0, None, 1 / 27)
    assert seen[-1]["fidelity_train"] == {"epochs": 1, "updates": None}
    keys.trial_key(epochs, {"lr": 0.1}, 0, 0, None, 1 / 9)
    assert seen[-1]["fidelity_train"]["epochs"] == 3
    keys.trial_key(epochs, {"lr": 0.1}, 0, 0, None, 1.0)
    assert "fidelity_train" not in seen[-1]
    keys.trial_key(spec_lang.loads(ASHA.format(kind="data")), {"lr": 0.1}, 0, 0, None, 1 / 27)
    assert "fidelity_train" not in seen[-1]


def test_how_pre_training_draws_is_keyed_where_a_spec_pre_trains_and_only_there(monkeypatch):
    """Each layer's pre-training draws from its own stream now (PRETRAIN_REVISION 2): a trial
    stored with the one stream of before is not served as this one; a spec without
    `pretrain` keeps its keys."""
    pretrained = spec_lang.loads(PRETRAIN.format(strategy="grid"))
    plain = spec_lang.loads(PRUNED.format(prune=""))
    before = (keys.trial_key(pretrained, {"p": 0.1}, 0, 0, None, 1.0),
              keys.trial_key(plain, {"lr": 0.1}, 0, 0, None, 1.0))
    monkeypatch.setattr(keys, "PRETRAIN_REVISION", 1)
    after = (keys.trial_key(pretrained, {"p": 0.1}, 0, 0, None, 1.0),
             keys.trial_key(plain, {"lr": 0.1}, 0, 0, None, 1.0))
    assert after[0] != before[0] and after[1] == before[1]
