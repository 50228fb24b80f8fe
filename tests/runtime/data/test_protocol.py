"""Protocol splits: disjoint parts, no test leakage, documented coverage, determinism and
stratification for holdout, k-fold and nested cross-validation."""
from __future__ import annotations

import numpy as np
import pytest

from runtime.errors import DataError
from runtime.data.protocol import make_folds
from runtime.types import Dataset, Fold
from spec_lang.config import Holdout, KFold, Nested


def classification(n: int = 200, weights: tuple[float, ...] = (0.6, 0.3, 0.1)) -> Dataset:
    counts = np.round(np.array(weights) * n).astype(int)
    y = np.repeat(np.arange(len(weights)), counts)
    rng = np.random.default_rng(0)
    y = y[rng.permutation(len(y))]
    return Dataset(rng.normal(size=(len(y), 3)), y.astype(np.int64), "classification",
                   len(weights), classes=("a", "b", "c")[: len(weights)], name="toy.csv")


def regression(n: int = 100) -> Dataset:
    rng = np.random.default_rng(1)
    return Dataset(rng.normal(size=(n, 2)), rng.normal(size=n), "regression", name="reg")


def assert_clean(fold: Fold) -> None:
    parts = [fold.train, fold.valid, fold.test]
    for part in parts:
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)     # sorted, unique
    assert not set(fold.train) & set(fold.valid)
    assert not set(fold.test) & (set(fold.train) | set(fold.valid))


def proportions(y: np.ndarray, n_classes: int) -> np.ndarray:
    return np.bincount(y, minlength=n_classes) / len(y)


# ---------------------------------------------------------------------------------------- holdout
def test_holdout_sizes_coverage_and_stratification() -> None:
    ds = classification()
    (fold,) = make_folds(Holdout(0.6, 0.2, 0.2), ds, seed=0)
    assert_clean(fold)
    assert fold.fold == 0 and fold.outer is None
    assert (len(fold.train), len(fold.valid), len(fold.test)) == (120, 40, 40)
    assert np.array_equal(np.sort(np.concatenate([fold.train, fold.valid, fold.test])),
                          np.arange(200))
    for part in (fold.train, fold.valid, fold.test):
        assert np.allclose(proportions(ds.y[part], 3), proportions(ds.y, 3), atol=0.03)


def test_holdout_sizes_round_up_exactly() -> None:
    (fold,) = make_folds(Holdout(0.7, 0.2, 0.1), regression(300), seed=0)
    assert (len(fold.train), len(fold.valid), len(fold.test)) == (210, 60, 30)


def test_holdout_deterministic_per_seed() -> None:
    ds = classification()
    a, b, c = (make_folds(Holdout(), ds, s)[0] for s in (5, 5, 6))
    assert all(np.array_equal(x, y) for x, y in zip((a.train, a.valid, a.test),
                                                    (b.train, b.valid, b.test)))
    assert not np.array_equal(a.test, c.test)


def test_holdout_without_test() -> None:
    (fold,) = make_folds(Holdout(0.75, 0.25, 0.0), classification(), seed=0)
    assert len(fold.test) == 0 and len(fold.train) + len(fold.valid) == 200


def test_holdout_regression_and_multilabel_unstratified() -> None:
    (fold,) = make_folds(Holdout(), regression(), seed=0)
    assert_clean(fold)
    assert len(fold.train) == 60
    y = np.random.default_rng(0).integers(0, 2, (50, 3)).astype(float)
    ml = Dataset(np.zeros((50, 2)), y, "multilabel", 3, name="ml")
    assert_clean(make_folds(Holdout(), ml, seed=0)[0])


@pytest.mark.parametrize("protocol", [Holdout(0.5, 0.2, 0.2), Holdout(0.8, 0.0, 0.2),
                                      Holdout(1.0, 0.0, 0.0)])
def test_holdout_bad_fractions(protocol: Holdout) -> None:
    with pytest.raises(ValueError):
        make_folds(protocol, classification(), seed=0)


def test_holdout_too_few_examples() -> None:
    tiny = Dataset(np.zeros((2, 1)), np.array([0.0, 1.0]), "regression", name="tiny.csv")
    with pytest.raises(DataError, match="tiny.csv.*too few"):
        make_folds(Holdout(0.4, 0.3, 0.3), tiny, seed=0)


def test_holdout_rare_class() -> None:
    ds = classification(100, (0.99, 0.01))
    with pytest.raises(DataError, match=r"toy.csv.*class 'b' has only 1.*stratified false"):
        make_folds(Holdout(), ds, seed=0)
    assert_clean(make_folds(Holdout(stratified=False), ds, seed=0)[0])


# ----------------------------------------------------------------------------------------- k-fold
def test_kfold_structure() -> None:
    ds = classification()
    folds = make_folds(KFold(k=4, test=0.2), ds, seed=0)
    assert [f.fold for f in folds] == [0, 1, 2, 3] and all(f.outer is None for f in folds)
    test = folds[0].test
    assert len(test) == 40 and all(np.array_equal(f.test, test) for f in folds)
    rest = np.setdiff1d(np.arange(200), test)
    assert np.array_equal(np.sort(np.concatenate([f.valid for f in folds])), rest)  # partition
    for f in folds:
        assert_clean(f)
        assert np.array_equal(np.sort(np.concatenate([f.train, f.valid])), rest)
        assert np.allclose(proportions(ds.y[f.valid], 3), proportions(ds.y, 3), atol=0.04)


def test_kfold_no_test_and_determinism() -> None:
    ds = regression()
    a = make_folds(KFold(k=5, test=0.0), ds, seed=1)
    b = make_folds(KFold(k=5, test=0.0), ds, seed=1)
    assert all(len(f.test) == 0 for f in a) and len(a) == 5
    assert all(np.array_equal(x.valid, y.valid) for x, y in zip(a, b))
    assert np.array_equal(np.sort(np.concatenate([f.valid for f in a])), np.arange(100))


def test_kfold_bad_settings() -> None:
    with pytest.raises(ValueError):
        make_folds(KFold(k=1), classification(), seed=0)
    with pytest.raises(DataError, match=r"class 'c' has 3 .* 5 stratified folds need at least 5"):
        make_folds(KFold(k=5, test=0.2), classification(40, (0.5, 0.4, 0.1)), seed=0)
    with pytest.raises(DataError, match="needs at least 10 examples"):
        make_folds(KFold(k=10, test=0.0), regression(6), seed=0)


# ----------------------------------------------------------------------------------------- nested
def test_nested_structure() -> None:
    ds = classification()
    folds = make_folds(Nested(outer=4, inner=3), ds, seed=2)
    assert [(f.outer, f.fold) for f in folds] == [(o, i) for o in range(4) for i in range(3)]
    tests = [folds[3 * o].test for o in range(4)]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(200))   # outer partition
    for o in range(4):
        inner = folds[3 * o: 3 * o + 3]
        outer_train = np.setdiff1d(np.arange(200), tests[o])
        assert np.array_equal(np.sort(np.concatenate([f.valid for f in inner])), outer_train)
        for f in inner:
            assert_clean(f)
            assert np.array_equal(f.test, tests[o])
            assert np.array_equal(np.sort(np.concatenate([f.train, f.valid])), outer_train)
        assert np.allclose(proportions(ds.y[tests[o]], 3), proportions(ds.y, 3), atol=0.03)


def test_nested_deterministic() -> None:
    ds = regression()
    a, b = (make_folds(Nested(3, 2), ds, seed=4) for _ in range(2))
    assert all(np.array_equal(x.train, y.train) and np.array_equal(x.test, y.test)
               for x, y in zip(a, b))


def test_nested_inner_class_too_rare() -> None:
    ds = classification(100, (0.9, 0.1))     # 10 of class 'b': 8 in each outer training part
    assert len(make_folds(Nested(outer=5, inner=5), ds, seed=0)) == 25
    with pytest.raises(DataError, match=r"class 'b' has 8 .*inner .*10 stratified folds"):
        make_folds(Nested(outer=5, inner=10), ds, seed=0)
