"""NumPy splits and bundled sets without scikit-learn: equal to scikit-learn's, index for index
and bit for bit, so folds and trial keys do not depend on which ran; and the main process of a
run on a bundled set never imports scikit-learn."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import datasets
from sklearn.model_selection import KFold as SkKFold
from sklearn.model_selection import StratifiedKFold
from sklearn.model_selection import train_test_split as sk_train_test_split
from sklearn.utils.extmath import _approximate_mode

from runtime.data import splits
from runtime.data.protocol import make_folds
from runtime.data.sources import BUNDLED_READERS, LOADERS, _bundled_dir, load_dataset
from runtime.execution.keys import sklearn_version
from spec_lang.config import DataSpec, Holdout, KFold

ROOT = Path(__file__).resolve().parents[3]
SEEDS = range(21)
# (rows, classes, imbalanced): the smallest leave ties in the class shares (approximate_mode's
# random tie-breaking), the imbalanced ones classes of 2-3 rows.
CASES = [(7, 2, False), (30, 3, False), (31, 3, True), (101, 5, True), (300, 10, False),
         (300, 10, True), (1797, 10, False)]
TEST_SIZES = [1, 2, 5, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.9]


def labels(n: int, n_classes: int, imbalanced: bool, seed: int) -> np.ndarray:
    weights = np.linspace(1, 6, n_classes) if imbalanced else np.ones(n_classes)
    return np.random.default_rng(seed).choice(n_classes, size=n, p=weights / weights.sum())


def same(ours: list | tuple, theirs: list | tuple) -> bool:
    """Equal index arrays, order and dtype included."""
    return len(ours) == len(theirs) and all(
        np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(ours, theirs))


def sklearn_or_none(make):  # type: ignore[no-untyped-def]
    """scikit-learn's result, or None where it refuses the setting (then we are not compared)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return make()
        except ValueError:
            return None


# ----------------------------------------------------------------------------- splits, exactly
@pytest.mark.parametrize("seed", SEEDS)
def test_train_test_split_is_sklearns(seed: int) -> None:
    compared = 0
    for n, n_classes, imbalanced in CASES:
        idx = np.arange(n, dtype=np.int64) * 3 + 7          # global rows, not positions
        y = labels(n, n_classes, imbalanced, seed)
        for size in TEST_SIZES:
            for strata in (None, y):
                theirs = sklearn_or_none(lambda: sk_train_test_split(
                    idx, test_size=size, random_state=seed, shuffle=True, stratify=strata))
                if theirs is None:
                    continue
                assert same(splits.train_test_split(idx, size, seed, stratify=strata), theirs), \
                    (n, n_classes, imbalanced, size, strata is not None)
                compared += 1
    assert compared > 80                                   # most settings were compared


@pytest.mark.parametrize("seed", SEEDS)
def test_kfolds_are_sklearns(seed: int) -> None:
    compared = 0
    for n, n_classes, imbalanced in CASES:
        y = labels(n, n_classes, imbalanced, seed)
        X = np.zeros((n, 1))
        for k in (2, 3, 5, 7, 10):
            theirs = sklearn_or_none(
                lambda: list(SkKFold(k, shuffle=True, random_state=seed).split(X)))
            if theirs is not None:
                assert same([p for fold in splits.kfold(n, k, seed) for p in fold],
                            [p for fold in theirs for p in fold]), (n, k)
                compared += 1
            theirs = sklearn_or_none(
                lambda: list(StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y)))
            if theirs is not None:
                assert same([p for fold in splits.stratified_kfold(y, k, seed) for p in fold],
                            [p for fold in theirs for p in fold]), (n, n_classes, imbalanced, k)
                compared += 1
    assert compared > 50


def test_stratified_kfold_orders_classes_by_first_appearance() -> None:
    """Text labels whose sorted order differs from their order of appearance."""
    y = np.array(["z", "a", "m", "a", "z", "m", "z", "a", "m", "z", "a", "z"])
    for seed in SEEDS:
        theirs = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(y, y))
        assert same([p for f in splits.stratified_kfold(y, 3, seed) for p in f],
                    [p for f in theirs for p in f])


@pytest.mark.parametrize("counts, draws", [([4, 2], 3), ([5, 2], 4), ([2, 2, 2, 1], 2),
                                           ([3, 3, 3, 3], 6), ([10, 1, 1, 1], 5)])
def test_approximate_mode_breaks_ties_as_sklearn(counts: list[int], draws: int) -> None:
    for seed in SEEDS:
        ours = splits.approximate_mode(np.array(counts), draws, np.random.RandomState(seed))
        theirs = _approximate_mode(np.array(counts), draws, np.random.RandomState(seed))
        assert np.array_equal(ours, theirs) and ours.sum() == draws


def test_make_folds_are_the_sklearn_folds_they_always_were() -> None:
    """The protocol's folds on digits, against the scikit-learn calls it used to make."""
    data = load_dataset(DataSpec(source="digits"), ROOT)
    idx = np.arange(len(data.y))
    for seed in (0, 3):
        [fold] = make_folds(Holdout(0.6, 0.2, 0.2, stratified=True), data, seed)
        rest, test = sk_train_test_split(idx, test_size=360, random_state=seed, stratify=data.y)
        train, valid = sk_train_test_split(rest, test_size=360, random_state=seed,
                                           stratify=data.y[rest])
        assert same([fold.train, fold.valid, fold.test],
                    [np.sort(train), np.sort(valid), np.sort(test)])
        folds = make_folds(KFold(k=5, test=0.2, stratified=True), data, seed)
        rest, test = sk_train_test_split(idx, test_size=360, random_state=seed, stratify=data.y)
        theirs = StratifiedKFold(5, shuffle=True, random_state=seed).split(rest, data.y[rest])
        for fold, (tr, va) in zip(folds, theirs, strict=True):
            assert same([fold.train, fold.valid, fold.test],
                        [np.sort(rest[tr]), np.sort(rest[va]), np.sort(test)])


@pytest.mark.parametrize("call, message", [
    (lambda: splits.train_test_split(np.arange(10), 10, 0), "test_size"),
    (lambda: splits.train_test_split(np.arange(10), 1.0, 0), "test_size"),
    (lambda: splits.train_test_split(np.arange(4), 1, 0, stratify=np.array([0, 0, 1, 1])),
     "classes"),
    (lambda: splits.kfold(3, 4, 0), "folds"),
    (lambda: splits.stratified_kfold(np.array([0, 0, 1]), 3, 0), "folds"),
])
def test_impossible_settings_are_value_errors(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------------------------- bundled sets
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_bundled_set_is_sklearns(name: str) -> None:
    X, y, names, classes = BUNDLED_READERS[name](_bundled_dir())
    bunch = getattr(datasets, LOADERS[name])()
    assert X.dtype == bunch.data.dtype and np.array_equal(X, bunch.data)
    assert y.dtype == bunch.target.dtype and np.array_equal(y, bunch.target)
    assert names == tuple(str(f) for f in bunch.feature_names)
    assert classes == tuple(np.asarray(getattr(bunch, "target_names", ())).tolist())


def test_sklearn_version_is_sklearns() -> None:
    """Trial keys of bundled sets hold it: it must stay what `sklearn.__version__` says."""
    import sklearn
    assert sklearn_version() == sklearn.__version__


MAIN_PROCESS = """
import json, sys
import spec_lang
from runtime.execution import keys, prepared, provenance
for text in (open("specs/quickstart.spec").read(),
             open("specs/quickstart.spec").read().replace(
                 "split train 0.6 valid 0.2 test 0.2 stratified", "kfold 5 test 0.2 stratified")):
    exp = spec_lang.loads(text, base_dir="specs")
    assert len(prepared.folds(exp.config.protocol, exp.config.data, str(exp.base_dir),
                          exp.seed_start)) == (1 if "split train" in text else 5)
    keys.data_digest(exp), provenance.provenance(exp)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy"))))
"""


def test_main_process_of_a_bundled_run_imports_no_sklearn() -> None:
    """What the runner does in the main process for a bundled set (load, split, the data
    identity of the keys, the run's provenance), in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", MAIN_PROCESS], capture_output=True, text=True,
                          timeout=120, check=True, cwd=ROOT)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
