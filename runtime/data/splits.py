"""Shuffled splits in NumPy alone, equal to scikit-learn's (>= 1.6) index for index.

`train_test_split` (ShuffleSplit, or StratifiedShuffleSplit with labels), `kfold` (KFold) and
`stratified_kfold` (StratifiedKFold), all shuffled by an integer seed, draw from
`np.random.RandomState(seed)` in the same order as scikit-learn does (its `check_random_state`
makes that generator from an int), so they give the very same indices, in the same order: the
folds, and every trial key made from them, do not depend on which implementation ran. They exist
so that a run on a bundled set never imports scikit-learn (and SciPy with it: a second of start-up)
in the main process. Arguments are checked by the caller (`runtime.data.protocol`); the checks
here are guards that raise ValueError.
"""
from __future__ import annotations

import math

import numpy as np


def train_test_split(idx: np.ndarray, test_size: int | float, seed: int,
                     stratify: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) parts of `idx`, as `sklearn.model_selection.train_test_split(idx,
    test_size=test_size, random_state=seed, shuffle=True, stratify=stratify)` returns them.

    `test_size` is a count (int) or a fraction in (0, 1), rounded up as scikit-learn does; the
    rest trains. With `stratify` (one label per row of `idx`) each class keeps its share.
    """
    idx = np.asarray(idx)
    n_train, n_test = _sizes(len(idx), test_size)
    rng = np.random.RandomState(seed)
    if stratify is None:
        permutation = rng.permutation(len(idx))
        return idx[permutation[n_test:n_test + n_train]], idx[permutation[:n_test]]
    train, test = _stratified_shuffle(np.asarray(stratify), n_train, n_test, rng)
    return idx[train], idx[test]


def _sizes(n: int, test_size: int | float) -> tuple[int, int]:
    """(n_train, n_test) as scikit-learn's `_validate_shuffle_split` makes them for a test size
    alone: a fraction rounds the test part up, a count is taken as it is."""
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        if not 0 < test_size < n:
            raise ValueError(f"test_size={test_size} must be in (0, {n})")
        n_test = int(test_size)
    else:
        if not 0 < test_size < 1:
            raise ValueError(f"test_size={test_size} must be a fraction in (0, 1)")
        n_test = math.ceil(test_size * n)
    if n - n_test <= 0:
        raise ValueError(f"test_size={test_size} of {n} rows leaves no row to train on")
    return n - n_test, n_test


def _stratified_shuffle(y: np.ndarray, n_train: int, n_test: int,
                        rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the train and test rows, StratifiedShuffleSplit's first split."""
    classes, y_codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() < 2 or min(n_train, n_test) < len(classes):
        raise ValueError(f"a stratified split of {len(y)} rows into {n_train} and {n_test} "
                         f"needs 2 rows per class and room for its {len(classes)} classes")
    members = np.split(np.argsort(y_codes, kind="stable"), np.cumsum(counts)[:-1])
    n_i = approximate_mode(counts, n_train, rng)      # train rows per class, then test rows
    t_i = approximate_mode(counts - n_i, n_test, rng)
    train, test = [], []
    for c, rows in enumerate(members):
        drawn = rows[rng.permutation(counts[c])]
        train.append(drawn[:n_i[c]])
        test.append(drawn[n_i[c]:n_i[c] + t_i[c]])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def approximate_mode(class_counts: np.ndarray, n_draws: int,
                     rng: np.random.RandomState) -> np.ndarray:
    """Draws per class (summing to `n_draws`) closest to each class's share, as scikit-learn's
    `utils.extmath._approximate_mode`: shares rounded down, then the remaining draws go to the
    largest remainders, equal remainders in an order drawn from `rng`."""
    continuous = class_counts / class_counts.sum() * n_draws    # this order: the same bits
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), need)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            need -= now
            if need == 0:
                break
    return floored.astype(int)


def kfold(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, valid) positions of `KFold(n_splits=k, shuffle=True, random_state=seed)` over
    `n` rows: the rows shuffled once, cut into k consecutive parts (the first n % k one row
    longer); each part is returned sorted, as scikit-learn's masks give it."""
    if not 2 <= k <= n:
        raise ValueError(f"{k} folds need 2 <= k <= {n} (the number of rows)")
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)
    sizes = np.full(k, n // k, dtype=int)
    sizes[:n % k] += 1
    folds = np.empty(n, dtype=np.intp)
    for i, (start, stop) in enumerate(zip(np.cumsum(sizes) - sizes, np.cumsum(sizes))):
        folds[order[start:stop]] = i
    return _by_fold(folds, k)


def stratified_kfold(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, valid) positions of `StratifiedKFold(n_splits=k, shuffle=True,
    random_state=seed)` for labels `y`: each class's rows dealt round robin over the folds
    (classes in order of first appearance), that class's fold numbers shuffled."""
    y = np.asarray(y)
    if k < 2 or y.ndim != 1:
        raise ValueError(f"stratified folds need k >= 2 and one label per row; got k {k}, "
                         f"labels of shape {y.shape}")
    _, first, codes = np.unique(y, return_index=True, return_inverse=True)
    _, by_appearance = np.unique(first, return_inverse=True)
    codes = by_appearance[codes]
    if np.all(k > np.bincount(codes)):
        raise ValueError(f"{k} folds are more than the rows of every class")
    n_classes = len(first)
    order = np.sort(codes)
    allocation = np.asarray([np.bincount(order[i::k], minlength=n_classes) for i in range(k)])
    rng = np.random.RandomState(seed)
    folds = np.empty(len(y), dtype="i")
    for c in range(n_classes):
        of_class = np.arange(k).repeat(allocation[:, c])
        rng.shuffle(of_class)
        folds[codes == c] = of_class
    return _by_fold(folds, k)


def _by_fold(folds: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows of other folds, rows of fold i) for each fold number i, both ascending."""
    rows = np.arange(len(folds))
    return [(rows[folds != i], rows[folds == i]) for i in range(k)]
