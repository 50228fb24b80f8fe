"""What a process keeps for the jobs it trains: the loaded data sets (loaded once, loaded
again when their file changes), their folds, and each fold's preprocessed arrays. Every job of a
search on the same data, fold and preprocessing shares them, so only the first pays."""
from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spec_lang.config import Config
from spec_lang.experiment import Experiment

from runtime.types import Dataset, Fold, TrainData

if TYPE_CHECKING:
    from runtime.execution.job import Job


_LOADED: dict[tuple[Any, str, tuple[Any, ...]], Dataset] = {}   # (spec, folder, file stamp) -> data
_SHIPPED: dict[tuple[Any, str], Dataset] = {}         # (spec, folder) -> data sent to us
KEPT_DATASETS = 4


def dataset(spec: Any, base_dir: str) -> Dataset:
    """The loaded data set, cached per process (loaded once, shared by the trials) and loaded
    again when its file changes. A data set shipped to this process (`provide_dataset`) is used
    as it is: no file is read, or even looked at."""
    if (spec, base_dir) in _SHIPPED:
        return _SHIPPED[(spec, base_dir)]
    key = (spec, base_dir, _stamp(spec, base_dir))
    if key not in _LOADED:
        from runtime.data.sources import load_dataset
        _keep(_LOADED, key, load_dataset(spec, Path(base_dir)))
    return _LOADED[key]


SHIPPED_BYTES = 64 * 2 ** 20   # a larger loaded set is read again by each worker from its file


@dataclass(frozen=True)
class Shipment:
    """A data set this process loaded, with the key it is cached under (its file's stamp at
    loading), to be adopted by a local worker (`adopt`) instead of reading and parsing the
    file again: a CSV's pandas, an svmlight file's or a bundled set's scikit-learn import is
    then paid by the main process alone (2.1 s a worker for svmlight on this machine)."""

    key: tuple[Any, str, tuple[Any, ...]]
    data: Dataset


def shipment(spec: Any, base_dir: str) -> Shipment | None:
    """The newest loaded data set of (`spec`, `base_dir`) in this process, if it is small
    enough to send to each worker once (None: not loaded here, or larger than SHIPPED_BYTES)."""
    keys = [key for key in _LOADED if key[:2] == (spec, base_dir)]
    if not keys or _array_bytes(_LOADED[keys[-1]].X) > SHIPPED_BYTES:
        return None
    return Shipment(keys[-1], _LOADED[keys[-1]])


def adopt(shipped: Shipment) -> None:
    """Cache a shipped data set under the key it was loaded with: `dataset` uses it while the
    file keeps that stamp, and reads the file again if it has changed since."""
    if shipped.key not in _LOADED:
        _keep(_LOADED, shipped.key, shipped.data)


def provide_dataset(spec: Any, base_dir: str, data: Dataset) -> None:
    """Make `data` the data set of (`spec`, `base_dir`) in this process: how a Dask worker
    gets the data the client loaded, without files or a working folder of its own."""
    _keep(_SHIPPED, (spec, base_dir), data)


def _stamp(spec: Any, base_dir: str) -> tuple[Any, ...]:
    """The data files' sizes and modification times, the fixed valid and test files' too
    (empty for bundled sets and generators)."""
    if getattr(spec, "source", None) != "file" or not spec.path:
        return ()
    paths = [spec.path, getattr(spec, "valid", None), getattr(spec, "test", None)]
    try:
        stats = [(Path(base_dir) / p).stat() for p in paths if p]
    except OSError:
        return ()                                      # load_dataset says what is wrong
    return tuple((stat.st_size, stat.st_mtime_ns) for stat in stats)


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if key not in cache and len(cache) >= KEPT_DATASETS:
        cache.pop(next(iter(cache)))                   # the oldest
    cache[key] = value


_FOLDS: dict[tuple[Any, int, int], tuple[Dataset, tuple[Fold, ...]]] = {}


def folds(protocol: Any, spec: Any, base_dir: str, seed: int) -> tuple[Fold, ...]:
    """Every fold of the protocol, the same for all trials (split by the protocol's own seed,
    else `seed`, the experiment's first seed: `runtime.data.protocol.split_seed`); made once
    per loaded data set (keyed by its identity: arrays are not hashable)."""
    from runtime.data.protocol import make_folds, split_seed
    data = dataset(spec, base_dir)
    seed = split_seed(protocol, seed)
    key = (protocol, id(data), seed)
    if key not in _FOLDS or _FOLDS[key][0] is not data:
        _keep(_FOLDS, key, (data, tuple(make_folds(protocol, data, seed))))
    return _FOLDS[key][1]


REFIT_FOLD = -1      # the development rows of an outer fold: what a refit trains on


def _outer_folds(config: Config, exp: Experiment, outer: int | None) -> list[Fold]:
    """The folds of outer fold `outer` (every fold unless the protocol is nested)."""
    return [f for f in folds(config.protocol, config.data, str(exp.base_dir), exp.seed_start)
            if f.outer == outer]


def fold_of(config: Config, exp: Experiment, fold: int, outer: int | None) -> Fold:
    """The fold numbered `fold` (inside outer fold `outer` for nested protocols); REFIT_FOLD:
    every row its folds train or validate on as one training part, no validation part, the
    same test part."""
    mine = _outer_folds(config, exp, outer)
    if fold == REFIT_FOLD and mine:
        rows = np.unique(np.concatenate([np.concatenate([f.train, f.valid]) for f in mine]))
        return Fold(REFIT_FOLD, rows, np.empty(0, dtype=rows.dtype), mine[0].test, outer)
    for f in mine:
        if f.fold == fold:
            return f
    raise ValueError(f"no fold {fold} (outer {outer}) in the protocol")


def development_ratio(config: Config, exp: Experiment, outer: int | None) -> float:
    """How many times more rows a refit trains on (REFIT_FOLD) than a search trial did (the
    mean of the folds' training parts)."""
    mine = _outer_folds(config, exp, outer)
    trained = sum(len(f.train) for f in mine) / len(mine)
    return len(fold_of(config, exp, REFIT_FOLD, outer).train) / trained


# The preprocessed arrays of the last folds prepared in this process, newest last, up to
# PREPARED_BYTES: every trial of a search on the same fold and preprocessing trains on the same
# arrays, so only the first pays for the indexing and the preprocessing (about 12 ms a trial on
# 12000 x 100: a third of a one-epoch rung's cost). Dense arrays are made read-only, as they are
# shared (a CSR matrix's arrays are shared as they are: the engine only reads them). An entry holds
# its data set weakly: it never keeps a data set alive that the caches above let go of (a
# library user fitting estimator after estimator), and goes with it.
_PREPARED: OrderedDict[tuple[Any, ...], tuple[weakref.ref[Dataset], TrainData, Any]] = \
    OrderedDict()
PREPARED_BYTES = 512 * 2 ** 20


def train_data(config: Config, exp: Experiment, job: Job) -> tuple[TrainData, Any]:
    """Preprocessed arrays of the job's fold (preprocessing fitted on its training part), and
    the fitted preprocessing; the same objects for every job on the same fold, preprocessing
    and training dtype (cached per process: treat them as read-only)."""
    data = dataset(config.data, str(exp.base_dir))
    subset = job.fidelity if exp.search.fidelity == "data" and job.fidelity < 1.0 else None
    key = (id(data), config.protocol, exp.seed_start, job.fold, job.outer, subset,
           config.preprocess, str(config.train.dtype))
    kept = _PREPARED.get(key)
    if kept is not None and kept[0]() is data:
        _PREPARED.move_to_end(key)
        return kept[1], kept[2]
    arrays, prep = _prepare(config, exp, job, data, subset)
    for gone in [k for k, v in _PREPARED.items() if v[0]() is None]:
        del _PREPARED[gone]
    if _nbytes(arrays) <= PREPARED_BYTES:
        for a in (arrays.X_train, arrays.y_train, arrays.X_valid, arrays.y_valid):
            if isinstance(a, np.ndarray):
                a.flags.writeable = False
        _PREPARED[key] = (weakref.ref(data), arrays, prep)
        while sum(_nbytes(v[1]) for v in _PREPARED.values()) > PREPARED_BYTES:
            _PREPARED.popitem(last=False)                  # the least recently used
    return arrays, prep


def _nbytes(arrays: TrainData) -> int:
    """The bytes of the preprocessed features."""
    return _array_bytes(arrays.X_train) + _array_bytes(arrays.X_valid)


def _array_bytes(X: Any) -> int:
    """The bytes of a dense array, or of a CSR matrix's three arrays."""
    if isinstance(X, np.ndarray):
        return X.nbytes
    return sum(getattr(X, part).nbytes for part in ("data", "indices", "indptr"))


def _prepare(config: Config, exp: Experiment, job: Job, data: Dataset, subset: float | None
             ) -> tuple[TrainData, Any]:
    """Index the fold, fit its preprocessing on the training part and transform both parts."""
    from runtime.data.preprocess import check_trainable, fit_preprocess
    fold = fold_of(config, exp, job.fold, job.outer)
    train = fold.train
    if subset is not None:
        rng = np.random.default_rng(exp.seed_start + 7919 * job.fold)
        keep = max(2, math.ceil(len(train) * subset))
        train = np.sort(rng.permutation(train)[:keep])
    prep = fit_preprocess(config.preprocess, data.X[train], data.feature_names)
    X_train = prep.transform(data.X[train])
    # A searched preprocessing may leave values this dtype cannot train on: a row that says so,
    # rather than a trial that "diverges".
    check_trainable(prep, X_train, train, str(config.train.dtype), data.feature_names, data.name)
    arrays = TrainData(X_train, data.y[train],
                       prep.transform(data.X[fold.valid]), data.y[fold.valid],
                       data.task, data.n_classes, targets=data.targets)
    return arrays, prep
