"""Estimator conventions: `random_state` is the seed (scikit-learn's name), and the training
settings outside the search block are estimator parameters (`epochs`, `batch`, `optimizer`, ...)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV

from runtime.model.estimator import SETTINGS, SpecClassifier

SPEC = """network
    dense $width tanh
train
    sgd lr 0.05 momentum 0.9
    batch 16
    epochs 12
search grid
    width in 4, 8
"""
X, Y = load_iris(return_X_y=True)


def test_random_state_is_the_seed() -> None:
    by_seed = SpecClassifier(SPEC, seed=3).fit(X, Y).predict_proba(X[:5])
    by_state = SpecClassifier(SPEC, random_state=3).fit(X, Y).predict_proba(X[:5])
    other = SpecClassifier(SPEC, random_state=4).fit(X, Y).predict_proba(X[:5])
    np.testing.assert_array_equal(by_seed, by_state)
    assert not np.array_equal(by_state, other)
    drawn = SpecClassifier(SPEC, random_state=np.random.RandomState(0))
    assert drawn.seed_used() == np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    assert clone(SpecClassifier(SPEC, random_state=7)).random_state == 7


def test_settings_outside_the_search_are_parameters() -> None:
    params = SpecClassifier(SPEC).get_params()
    assert {k: params[k] for k in ("epochs", "batch", "optimizer", "lr", "momentum")} == \
        {"epochs": 12, "batch": 16, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9}
    assert set(SETTINGS) <= set(params) and params["width"] == 8    # 4, 8: a tie, the larger
    clf = clone(SpecClassifier(SPEC).set_params(epochs=3, batch="all", optimizer="adam",
                                                 lr=0.02, width=8))
    train = clf.bound_config().train
    assert (train.epochs, train.batch, train.optimizer.name, train.optimizer.lr) == \
        (3, None, "adam", 0.02)
    assert clf.bound_config().network[0].width == 8
    assert clf.fit(X, Y).n_epochs_ == 3
    search = GridSearchCV(SpecClassifier(SPEC), {"epochs": [2, 4]}, cv=2).fit(X, Y)
    assert search.best_estimator_.n_epochs_ == search.best_params_["epochs"]


def test_a_searched_setting_is_its_dimension_and_a_bad_value_is_clear() -> None:
    searched = SPEC.replace("sgd lr 0.05", "sgd lr $lr") + "    lr in 0.01, 0.1\n"
    clf = SpecClassifier(searched).set_params(lr=0.1)
    assert clf.params == {"lr": 0.1} and clf.bound_config().train.optimizer.lr == 0.1
    with pytest.raises(ValueError, match="Invalid parameter 'epoch' .* 'epochs'"):
        SpecClassifier(SPEC).set_params(epoch=3)
    from spec_lang import SpecError
    with pytest.raises(SpecError, match="'count' of 'epochs' must be >= 1; got 0"):
        SpecClassifier(SPEC).set_params(epochs=0).fit(X, Y)
