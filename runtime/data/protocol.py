"""Evaluation protocols: which rows train, validate and test, for holdout, k-fold and nested CV.

All splits are scikit-learn's splitters (`runtime.data.splits`, the same indices without
importing it) shuffled with the split seed (`split_seed`: the protocol's own `seed`, else the
first training seed), so the same seed gives the same folds.
Classification is stratified when the protocol says so; regression and multilabel never are.
Index arrays are sorted int64; the three parts of a Fold are disjoint, and no test row ever
appears in its fold's train or valid part. The rows of a fixed validation or test file
(`Dataset.fixed_valid`, `fixed_test`: after the data file's rows) are that part of every fold;
the protocol splits only the data file's rows. scikit-learn is not imported.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from runtime.data import splits
from runtime.errors import DataError
from runtime.types import Dataset, Fold
from spec_lang.config import Holdout, KFold, Nested, Protocol

EMPTY = np.empty(0, dtype=np.int64)
FRACTION_TOLERANCE = 1e-6


def split_seed(protocol: Protocol, first_seed: int) -> int:
    """The seed the protocol splits with: its own `seed`, else the first training seed."""
    own = getattr(protocol, "seed", None)
    return int(first_seed if own is None else own)


def make_folds(protocol: Protocol, dataset: Dataset, seed: int) -> list[Fold]:
    """Split `dataset` as `protocol` says, shuffling with `seed` (the split seed); folds
    ordered by (outer, fold).

    Raises ValueError for impossible settings (fractions that do not sum to 1, k < 2, a
    fraction for a part a fixed file gives) and DataError when the data are too small for them
    (an empty part, a class too rare to stratify).
    """
    maker = PROTOCOLS.get(type(protocol))
    if maker is None:
        raise TypeError(f"unknown protocol {protocol!r}")
    labels = _strata(protocol, dataset)
    return maker(protocol, dataset, labels, seed)


def _own_rows(dataset: Dataset) -> np.ndarray:
    """The data file's rows: what the protocol splits (fixed valid / test rows come after)."""
    return np.arange(len(dataset.y) - dataset.fixed_valid - dataset.fixed_test, dtype=np.int64)


def _fixed(dataset: Dataset, part: str) -> np.ndarray:
    """The rows of the fixed `part` ("valid" or "test") file; empty without one."""
    n, n_valid, n_test = len(dataset.y), dataset.fixed_valid, dataset.fixed_test
    if part == "valid":
        return np.arange(n - n_test - n_valid, n - n_test, dtype=np.int64)
    return np.arange(n - n_test, n, dtype=np.int64)


def _strata(protocol: Protocol, dataset: Dataset) -> np.ndarray | None:
    """The labels to stratify on: classification only, and only when asked."""
    if protocol.stratified and dataset.task == "classification":
        return np.asarray(dataset.y)
    return None


# ---------------------------------------------------------------------------------------- holdout
def _holdout(p: Holdout, dataset: Dataset, labels: np.ndarray | None, seed: int) -> list[Fold]:
    _check_fractions(p, dataset)
    idx = _own_rows(dataset)
    sub = None if labels is None else labels[idx]
    rest, test = _split_off(idx, sub, p.test, seed, dataset, "test")
    if dataset.fixed_test:
        test = _fixed(dataset, "test")
    sub = None if labels is None else labels[rest]
    if dataset.fixed_valid:
        train, valid = rest, _fixed(dataset, "valid")
    else:
        train, valid = _split_off(rest, sub, p.valid / (p.train + p.valid), seed, dataset,
                                  "valid")
    return [Fold(0, _sorted(train), _sorted(valid), _sorted(test))]


def _check_fractions(p: Holdout, dataset: Dataset) -> None:
    """Fractions sum to 1; valid must be > 0 because model selection and early stopping score
    it, unless a fixed file is the validation part (then its fraction is 0, as a fixed test
    file's)."""
    total = p.train + p.valid + p.test
    if abs(total - 1.0) > FRACTION_TOLERANCE:
        raise ValueError(f"holdout fractions must sum to 1; train {p.train} + valid {p.valid} + "
                         f"test {p.test} = {total:g}")
    for part, rows in (("valid", dataset.fixed_valid), ("test", dataset.fixed_test)):
        if rows and getattr(p, part) != 0:
            raise ValueError(f"the {part} part is a fixed file, so its fraction must be 0; "
                             f"got {part} {getattr(p, part)}")
    if p.train <= 0 or (p.valid <= 0 and not dataset.fixed_valid) or p.test < 0:
        raise ValueError(f"holdout needs train > 0 and valid > 0 (the search and early stopping "
                         f"score the valid part) and test >= 0; got train {p.train}, valid "
                         f"{p.valid}, test {p.test}")


def _split_off(idx: np.ndarray, labels: np.ndarray | None, fraction: float, seed: int,
               dataset: Dataset, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Split `fraction` of `idx` off as `part` (scikit-learn rounds that part up)."""
    if fraction <= 0:
        return idx, EMPTY
    n_part = math.ceil(fraction * len(idx) - 1e-9)     # 0.1 * 300 is 30.000000000000004
    if n_part >= len(idx):
        raise DataError(f"{len(idx)} examples are too few: the {part} part ({fraction:.3g} of "
                        f"them) leaves nothing to train on; add examples or change the fractions",
                        path=dataset.name)
    if labels is not None:
        _check_holdout_strata(labels, n_part, len(idx) - n_part, dataset, part)
    return splits.train_test_split(idx, n_part, seed, stratify=labels)


def _check_holdout_strata(labels: np.ndarray, n_part: int, n_rest: int, dataset: Dataset,
                          part: str) -> None:
    """A stratified split needs 2 members per class and room for every class on both sides."""
    values, counts = np.unique(labels, return_counts=True)
    rare = int(np.argmin(counts))
    if counts[rare] < 2:
        raise DataError(f"class {_class_name(dataset, values[rare])!s} has only {counts[rare]} "
                        f"example(s) left when splitting off the {part} part; a stratified split "
                        "needs at least 2 per class: add examples or set stratified false",
                        path=dataset.name)
    if min(n_part, n_rest) < len(values):
        raise DataError(f"the {part} split would hold {min(n_part, n_rest)} example(s), fewer "
                        f"than the {len(values)} classes a stratified split must put in it: "
                        "enlarge the fraction, add examples or set stratified false",
                        path=dataset.name)


# ----------------------------------------------------------------------------------- k-fold, nested
def _kfold(p: KFold, dataset: Dataset, labels: np.ndarray | None, seed: int) -> list[Fold]:
    _check_k(p.k, "k")
    if not 0 <= p.test < 1:
        raise ValueError(f"kfold test fraction must be in [0, 1); got {p.test}")
    if dataset.fixed_valid:
        raise ValueError("kfold makes its own validation parts: a fixed validation file "
                         "goes with split")
    if dataset.fixed_test and p.test != 0:
        raise ValueError(f"the test part is a fixed file, so the test fraction must be 0; "
                         f"got {p.test}")
    idx = _own_rows(dataset)
    rest, test = _split_off(idx, None if labels is None else labels[idx], p.test, seed,
                            dataset, "test")
    if dataset.fixed_test:
        test = _fixed(dataset, "test")
    splits = _cv_splits(rest, labels, p.k, seed, dataset, "k-fold")
    return [Fold(i, tr, va, _sorted(test)) for i, (tr, va) in enumerate(splits)]


def _nested(p: Nested, dataset: Dataset, labels: np.ndarray | None, seed: int) -> list[Fold]:
    _check_k(p.outer, "outer")
    _check_k(p.inner, "inner")
    if dataset.fixed_valid or dataset.fixed_test:
        raise ValueError("nested cross-validation makes its own test and validation parts: "
                         "fixed files go with split or kfold")
    idx = np.arange(len(dataset.y))
    folds: list[Fold] = []
    for o, (outer_train, outer_test) in enumerate(
            _cv_splits(idx, labels, p.outer, seed, dataset, "outer")):
        inner = _cv_splits(outer_train, labels, p.inner, seed, dataset, f"inner (outer fold {o})")
        folds.extend(Fold(i, tr, va, outer_test, outer=o) for i, (tr, va) in enumerate(inner))
    return folds


def _check_k(k: int, name: str) -> None:
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"{name} must be an integer >= 2 (each fold validates once); got {k!r}")


def _cv_splits(idx: np.ndarray, labels: np.ndarray | None, k: int, seed: int,
               dataset: Dataset, what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, valid) pairs over `idx` (global indices, sorted), stratified when labels given."""
    if len(idx) < k:
        raise DataError(f"{what} cross-validation with {k} folds needs at least {k} examples; "
                        f"there are {len(idx)}: lower the fold count or add examples",
                        path=dataset.name)
    sub = None if labels is None else labels[idx]
    if sub is not None:
        _check_cv_strata(sub, k, dataset, what)
        parts = splits.stratified_kfold(sub, k, seed)
    else:
        parts = splits.kfold(len(idx), k, seed)
    return [(_sorted(idx[tr]), _sorted(idx[va])) for tr, va in parts]


def _check_cv_strata(labels: np.ndarray, k: int, dataset: Dataset, what: str) -> None:
    """Stratified k folds need k members of every class (one per validation fold)."""
    values, counts = np.unique(labels, return_counts=True)
    rare = int(np.argmin(counts))
    if counts[rare] < k:
        raise DataError(f"class {_class_name(dataset, values[rare])} has {counts[rare]} "
                        f"example(s) in the {what} cross-validation part, but {k} stratified "
                        f"folds need at least {k}: lower the fold count, add examples or set "
                        "stratified false", path=dataset.name)


# ------------------------------------------------------------------------------------------ small
def _sorted(idx: np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(idx, dtype=np.int64))


def _class_name(dataset: Dataset, code: int) -> str:
    """The original label of an encoded class, for messages."""
    if 0 <= int(code) < len(dataset.classes):
        return repr(dataset.classes[int(code)])
    return repr(code.item() if hasattr(code, "item") else code)


PROTOCOLS: dict[type, Callable[..., list[Fold]]] = {
    Holdout: _holdout, KFold: _kfold, Nested: _nested}
