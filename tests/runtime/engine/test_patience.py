"""Early stopping's patience: epochs, and by default at least 300 updates, so that a small
training set (an epoch of a few updates) is not stopped after a few dozen updates."""
import pytest
from sklearn.datasets import load_iris

from runtime.engine.training import fit
from spec_lang.config import (DEFAULT_PATIENCE, DEFAULT_PATIENCE_UPDATES, Config, Dense,
                              EarlyStop)

from .test_training import split, with_train


@pytest.mark.parametrize("stop, per_epoch, epochs", [
    (EarlyStop(), 3, 100),                          # 300 updates of 3 an epoch
    (EarlyStop(), 7, 43),                           # ceil(300 / 7)
    (EarlyStop(), 15, DEFAULT_PATIENCE),            # 20 epochs are 300 updates
    (EarlyStop(), 400, DEFAULT_PATIENCE),
    (EarlyStop(patience=5), 3, 5),                  # written: exactly the epochs written
    (EarlyStop(patience_updates=60), 1, 60),
    (EarlyStop(patience_updates=60), 30, DEFAULT_PATIENCE),
    (EarlyStop(patience=2, patience_updates=30), 4, 8),
    (EarlyStop(patience_updates=0), 1, DEFAULT_PATIENCE),
])
def test_patience_is_epochs_and_at_least_the_updates(stop, per_epoch, epochs) -> None:
    assert stop.patience_for(per_epoch) == epochs


# A margin no improvement can beat (min_delta 1 on the error): the metric improves once, in
# epoch 1, and patience alone ends the fit, patience epochs later.
NEVER_BETTER = dict(min_delta=1.0, stall=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return split(X, y, "classification", n_classes=3)[0]   # 90 training rows


def test_a_small_training_set_waits_300_updates_for_an_improvement(iris) -> None:
    config = with_train(Config(network=(Dense(16, "relu"),)), batch=32, epochs=1000)
    per_epoch = 3                                   # ceil(90 / 32)
    assert len(iris.y_train) == 90
    default = fit(with_train(config, early_stop=EarlyStop(**NEVER_BETTER)), iris, seed=0)
    assert default.state == "complete" and default.best_epoch == 1
    assert default.epochs == 1 + DEFAULT_PATIENCE_UPDATES // per_epoch == 101
    written = fit(with_train(config, early_stop=EarlyStop(patience=20, **NEVER_BETTER)), iris,
                  seed=0)
    assert written.epochs == 21                     # 60 updates: the patience written
    updates = fit(with_train(config, early_stop=EarlyStop(patience_updates=90, **NEVER_BETTER)),
                  iris, seed=0)
    assert updates.epochs == 31


def test_the_spec_says_it(iris) -> None:
    import spec_lang
    head = "data iris\ntrain\n    epochs 1000"
    assert spec_lang.loads(head + "\n").config.train.early_stop.patience_for(3) == 100
    written = spec_lang.loads(head + " early_stop patience 7\n").config.train.early_stop
    assert written.patience_for(3) == 7
    both = spec_lang.loads(head + " early_stop patience 7 patience_updates 60\n")
    assert both.config.train.early_stop.patience_for(3) == 20
