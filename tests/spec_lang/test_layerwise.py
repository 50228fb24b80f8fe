"""`search layerwise`: its parameters bind each hidden layer's pre-training and cut a stage's
network; the checker refuses what it cannot run, at the strategy's position."""
from __future__ import annotations

import pytest

from spec_lang import loads
from spec_lang.config import Dense, Dropout, Pretrain
from spec_lang.errors import SpecValidationError
from spec_lang.layerwise import LAYERS

SPEC = """data iris
network
    dense 16 tanh
    dropout 0.2
    dense 8 relu
pretrain denoising epochs $pt_epochs lr $pt_lr noise 0.2
train
    sgd lr $lr
    epochs 30
search layerwise 4 {options}
    pt_lr ~ log_uniform 1e-3 .. 1e-1
    pt_epochs in 2, 5
    lr in 0.1, 0.01
"""


def experiment(options: str = ""):
    return loads(SPEC.format(options=options))


def test_the_validator_names_the_pretrained_dimensions_and_counts_the_layers() -> None:
    search = experiment().search
    assert search.strategy == "layerwise" and search.trials == 4
    assert search.pretrained == ("pt_epochs", "pt_lr") and search.layers == 2
    assert search.criterion == "reconstruction"
    assert experiment("criterion supervised").search.criterion == "supervised"


def test_per_layer_values_bind_each_layer_and_the_rest_binds_as_usual() -> None:
    config = experiment().bind({"pt_lr@1": 0.05, "pt_epochs@1": 2, "pt_lr@2": 0.002,
                                "pt_epochs@2": 5, "lr": 0.1})
    assert config.pretrain.layers == (
        Pretrain("denoising", epochs=2, lr=0.05, noise=0.2),
        Pretrain("denoising", epochs=5, lr=0.002, noise=0.2))
    assert config.pretrain.of_layer(1).lr == 0.002 and config.train.optimizer.lr == 0.1
    assert len(config.network) == 3 and config.train.epochs == 30


def test_a_reconstruction_stage_cuts_the_network_and_trains_no_supervised_epoch() -> None:
    config = experiment().bind({"pt_lr@1": 0.05, "pt_epochs@1": 2, LAYERS: 1})
    assert config.network == (Dense(16, "tanh"), Dropout(0.2))     # its dropout kept
    assert config.train.epochs == 0
    assert config.pretrain.layers == (Pretrain("denoising", epochs=2, lr=0.05, noise=0.2),)


def test_a_supervised_stage_fine_tunes_the_cut_network() -> None:
    config = experiment("criterion supervised").bind({"pt_lr@1": 0.05, "pt_epochs@1": 2,
                                                      LAYERS: 1})
    assert [type(layer) for layer in config.network] == [Dense, Dropout]
    assert config.train.epochs == 30


def test_a_bad_per_layer_value_is_a_bind_error() -> None:
    from spec_lang.experiment import BindError
    with pytest.raises(BindError, match="lr"):
        experiment().bind({"pt_lr@1": -1.0, "pt_epochs@1": 2, LAYERS: 1})


BASE = "data iris\nnetwork\n    dense 8 tanh\n"


@pytest.mark.parametrize("body, message", [
    ("train\n    sgd lr $lr\nsearch layerwise 2\n    lr in 0.1, 0.01\n",
     "there is no `pretrain` statement"),
    ("pretrain autoencoder lr 0.1\ntrain\n    sgd lr $lr\nsearch layerwise 2\n"
     "    lr in 0.1, 0.01\n", "`pretrain` searches no value"),
    ("pretrain autoencoder lr $lr\ntrain\n    sgd lr $lr\nsearch layerwise 2\n"
     "    lr in 0.1, 0.01\n", "'$lr' is used in `pretrain` and elsewhere"),
    ("pretrain autoencoder lr $p\nsearch layerwise 2\n    p in 0.1, 0.01\nprune median\n",
     "does not go with `prune`"),
    ("pretrain autoencoder lr $p\nsearch layerwise 2 extend\n    p in 0.1, 0.01\n",
     "does not widen its intervals"),
    ("pretrain autoencoder lr $p\ntrain\n    sgd lr $lr\nsearch layerwise 2\n"
     "    p in 0.1, 0.01\n    lr in 0.1, 0.2 if p == 0.1\n", "belongs to the other stage"),
    ("pretrain autoencoder lr $p\nsearch random 2 criterion supervised\n    p in 0.1, 0.01\n",
     "'criterion' applies to layerwise search"),
])
def test_what_layerwise_cannot_run_is_refused_where_it_is_written(body, message) -> None:
    with pytest.raises(SpecValidationError) as info:
        loads(BASE + body)
    text = BASE + body
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("search"))
    assert message in str(info.value) and f"<string>:{line}:" in str(info.value)


def test_a_searched_number_of_layers_is_refused() -> None:
    text = ("data iris\nnetwork\n    repeat $d\n        dense 8 tanh\n"
            "pretrain autoencoder lr $p\nsearch layerwise\n    p in 0.1, 0.01\n    d in 1, 2\n")
    with pytest.raises(SpecValidationError, match="fixed number of hidden layers") as info:
        loads(text)
    assert "<string>:6:8:" in str(info.value)


def test_the_lower_stage_of_a_stage_drops_its_own_layer_and_is_cut_below() -> None:
    """Stage k's configuration continues from the stage k-1 configuration it was built on:
    the same values without layer k's, cut after layer k - 1."""
    from spec_lang.layerwise import lower_stage
    two = {"lr": 0.1, "p@1": 0.01, "n@1": 0.2, "p@2": 0.03, "n@2": 0.1, "@layers": 2}
    assert lower_stage(two) == {"lr": 0.1, "p@1": 0.01, "n@1": 0.2, "@layers": 1}
    assert lower_stage({"lr": 0.1, "p@1": 0.01, "@layers": 1}) is None
    assert lower_stage({"lr": 0.1, "p@1": 0.01, "p@2": 0.03}) is None   # the fine-tuning's
