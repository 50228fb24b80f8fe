"""Data sources: bundled scikit-learn sets, synthetic generators and files (CSV, .npz, svmlight).

`load_dataset` is the one entry point (the file readers live in `runtime.data.files`). Every
problem with the data is a `DataError` that names the file (or source) and the column, raised
before any training starts: a person's mistake in their data never surfaces as a traceback.
Bundled sets are read from the files scikit-learn ships, without importing it (a second of
start-up, SciPy with it), exactly as its `load_*` functions read them; scikit-learn's
`datasets` is imported when a generator runs.
"""
from __future__ import annotations

import csv
import gzip
import importlib.util
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from runtime.data.files import Raw, check_magnitude, data_row, did_you_mean, load_file
from runtime.data.sparse_text import make_sparse
from runtime.errors import DataError
from runtime.sparse import as_csr, is_sparse
from runtime.types import Dataset, Target
from spec_lang.config import BUNDLED, GENERATORS, TASKS, DataSpec

# Every statistic of the raw data (preprocessing, the regression target's scaling, metrics in the
# target's units) is computed in float64, whatever dtype the network trains in.
RESCALE = "rescale the column (another unit, or its log) or drop those rows"
MAX_CLASSES = 50                     # inference: at most this many distinct integer values ...
CLASS_RATIO = 5                      # ... and fewer than n / CLASS_RATIO of them -> classification

LOADERS: dict[str, str] = {          # bundled set -> its loader in sklearn.datasets
    "digits": "load_digits", "iris": "load_iris", "wine": "load_wine",
    "breast_cancer": "load_breast_cancer", "diabetes": "load_diabetes",
}
BUNDLED_TASKS = {"digits": "classification", "iris": "classification", "wine": "classification",
                 "breast_cancer": "classification", "diabetes": "regression"}


def load_dataset(spec: DataSpec, base_dir: Path) -> Dataset:
    """Load, validate and encode the data a spec names.

    Features come back float64, 2-D and C-contiguous; classification labels as 0..K-1 (the
    originals in `Dataset.classes`). Raises `DataError` for anything wrong with the data.
    """
    if spec.source in BUNDLED:
        raw = _load_bundled(spec.source)
    elif spec.source in GENERATORS:
        raw = _generate(spec)
    elif spec.source == "file":
        return _load_files(spec, Path(base_dir))
    else:
        known = (*BUNDLED, *GENERATORS, "file")
        raise DataError(f"unknown data source '{spec.source}'{did_you_mean(spec.source, known)}"
                        f"; known sources: {', '.join(known)}")
    return finish(raw, spec.task)


# ---------------------------------------------------------------------------------------- files
def _load_files(spec: DataSpec, base_dir: Path) -> Dataset:
    """The data file, then the fixed valid and test files (same columns, the data file's
    encoding): their rows follow the data file's in one Dataset (`fixed_valid`, `fixed_test`
    count them) so that the protocol splits only the data file's rows. The task and the
    classes come from the data file alone."""
    raw = load_file(spec, base_dir)
    data = finish(raw, spec.task)
    parts = {part: load_file(replace(spec, path=getattr(spec, part)), base_dir, like=raw)
             for part in ("valid", "test") if getattr(spec, part, None)}
    if not parts:
        return data
    X, y = [data.X], [data.y]
    for extra in parts.values():
        features = _features(extra.X)
        check_magnitude(features, extra.feature_names, extra.where, dtype="float64",
                        advice=RESCALE)
        X.append(features)
        y.append(conform_target(extra, data))
    return replace(data, X=_stacked(X), y=np.concatenate(y),
                   fixed_valid=parts["valid"].X.shape[0] if "valid" in parts else 0,
                   fixed_test=parts["test"].X.shape[0] if "test" in parts else 0)


def _features(X: Any) -> Any:
    """Features as float64: C-contiguous if dense, canonical CSR if sparse."""
    return as_csr(X) if is_sparse(X) else np.ascontiguousarray(X, dtype=np.float64)


def _stacked(parts: list[Any]) -> Any:
    """The rows of `parts` one after another (CSR if any part is sparse)."""
    if any(is_sparse(p) for p in parts):
        import scipy.sparse as sp
        return as_csr(sp.vstack([as_csr(p) for p in parts], format="csr"))
    return np.ascontiguousarray(np.vstack(parts))


def conform_target(raw: Raw, data: Dataset) -> np.ndarray:
    """A fixed valid / test file's target encoded as the data file's (`data`): labels as the
    data file's class codes (a class it lacks is an error), 0/1 matrices and values of the
    same width."""
    if data.targets:
        return np.column_stack([conform_target(
            raw._replace(y=_column(np.asarray(raw.y)[:, j]), target=t.name, targets=()),
            replace(data, task=t.task, classes=t.classes, y=data.y[:, j], targets=()))
            for j, t in enumerate(data.targets)]).astype(np.float64)
    y = np.asarray(raw.y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape[0] != raw.X.shape[0]:
        raise DataError(f"the target has shape {y.shape} but there are {raw.X.shape[0]} "
                        "examples", path=raw.where, column=raw.target)
    _check_target_values(y, raw)
    width = data.y.shape[1] if data.y.ndim == 2 else 0
    if data.task == "classification":
        return _class_codes(y, raw, data)
    if (y.shape[1] if y.ndim == 2 else 0) != width:
        raise DataError(f"the target has shape {y.shape}; the data file's has "
                        f"{width or 1} column(s)", path=raw.where, column=raw.target)
    if data.task == "multilabel":
        return _encode_multilabel(y, raw)[0]
    values = _encode_regression(y, raw)[0]
    check_magnitude(values.reshape(len(values), -1), (raw.target,) * max(width, 1), raw.where,
                    dtype="float64", advice=RESCALE)
    return values


def _class_codes(y: np.ndarray, raw: Raw, data: Dataset) -> np.ndarray:
    """Labels as indices into the data file's sorted classes; DataError for another class."""
    if y.ndim != 1:
        raise DataError(f"classification needs one label per example; the target has shape "
                        f"{y.shape}", path=raw.where, column=raw.target)
    classes = np.asarray(data.classes)
    try:
        at = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        known = classes[at] == y
    except (TypeError, ValueError):        # text labels against numbers (or the reverse)
        at, known = np.zeros(len(y), dtype=np.int64), np.zeros(len(y), dtype=bool)
    if not np.all(known):
        first = int(np.argmax(~known))
        raise DataError(f"{int((~known).sum())} label(s) that the data file {data.name} does "
                        f"not have, such as {y[first].item()!r} (first at data row "
                        f"{data_row(first)}); its classes are "
                        f"{', '.join(map(repr, data.classes))}", path=raw.where,
                        column=raw.target)
    return at.astype(np.int64)


# ----------------------------------------------------------------------------- bundled, synthetic
def _skd() -> Any:
    """scikit-learn's `datasets` module, imported on first use by a generator (it imports
    SciPy and most of scikit-learn: 1.5 s)."""
    from sklearn import datasets
    return datasets


def _load_bundled(name: str) -> Raw:
    read = BUNDLED_READERS[name]
    where = _bundled_dir()
    try:
        X, y, names, classes = read(where) if where is not None else _from_sklearn(name)
    except OSError:                  # files moved in some scikit-learn: ask its loader
        X, y, names, classes = _from_sklearn(name)
    return Raw(X, y, names, name, "target", BUNDLED_TASKS[name], classes)


Bundled = tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[Any, ...]]


def _from_sklearn(name: str) -> Bundled:
    bunch = getattr(_skd(), LOADERS[name])()
    return (bunch.data, bunch.target, tuple(str(f) for f in bunch.feature_names),
            tuple(np.asarray(getattr(bunch, "target_names", ())).tolist()))


def _bundled_dir() -> Path | None:
    """scikit-learn's `datasets/data` folder, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def _read_csv_set(file: str, names: tuple[str, ...]) -> Callable[[Path], Bundled]:
    """A reader of a set stored as scikit-learn's `load_csv_data` reads it: a header of
    n_samples, n_features and the class names, then the features and an integer label a row."""
    def read(where: Path) -> Bundled:
        with open(where / file, encoding="utf-8", newline="") as f:
            rows = csv.reader(f)
            header = next(rows)
            n, width = int(header[0]), int(header[1])
            X, y = np.empty((n, width)), np.empty(n, dtype=int)
            for i, row in enumerate(rows):
                X[i] = np.asarray(row[:-1], dtype=np.float64)
                y[i] = np.asarray(row[-1], dtype=int)
        return X, y, names, tuple(header[2:])
    return read


def _read_digits(where: Path) -> Bundled:
    with gzip.open(where / "digits.csv.gz", "rt", encoding="utf-8") as f:
        data = np.loadtxt(f, delimiter=",")
    names = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    return data[:, :-1], data[:, -1].astype(int), names, tuple(range(10))


def _read_diabetes(where: Path) -> Bundled:
    """load_diabetes(scaled=True): each feature centred, scaled to unit variance (as
    `sklearn.preprocessing.scale`, step by step for the same bits), then divided by sqrt(n)."""
    with gzip.open(where / "diabetes_data_raw.csv.gz", "rt", encoding="utf-8") as f:
        X = np.loadtxt(f)
    with gzip.open(where / "diabetes_target.csv.gz", "rt", encoding="utf-8") as f:
        y = np.loadtxt(f)
    mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    X -= mean
    left = np.nanmean(X, axis=0)
    if not np.allclose(left, 0):
        X -= left
    std[std < 10 * np.finfo(std.dtype).eps] = 1.0
    X /= std
    left = np.nanmean(X, axis=0)
    if not np.allclose(left, 0):
        X -= left
    X /= X.shape[0] ** 0.5
    return X, y, ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"), ()


# The feature names are constants in scikit-learn's loaders (datasets/_base.py).
_CANCER = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
           "concave points", "symmetry", "fractal dimension")
BUNDLED_READERS: dict[str, Callable[[Path], Bundled]] = {
    "digits": _read_digits,
    "iris": _read_csv_set("iris.csv", ("sepal length (cm)", "sepal width (cm)",
                                       "petal length (cm)", "petal width (cm)")),
    "wine": _read_csv_set("wine_data.csv", (
        "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
        "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
        "od280/od315_of_diluted_wines", "proline")),
    "breast_cancer": _read_csv_set("breast_cancer.csv", (
        *(f"mean {m}" for m in _CANCER), *(f"{m} error" for m in _CANCER),
        *(f"worst {m}" for m in _CANCER))),
    "diabetes": _read_diabetes,
}


def _default_informative(spec: DataSpec) -> int:
    """Half the features (at least 2, at most all) unless the spec says otherwise."""
    if spec.informative is not None:
        return spec.informative
    return min(spec.features, max(2, spec.features // 2))


def _make_classification(spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    informative = _default_informative(spec)
    # sklearn needs classes * clusters <= 2 ** informative: fall back to one cluster per class.
    clusters = 2 if spec.classes * 2 <= 2 ** min(informative, 30) else 1
    return _skd().make_classification(
        n_samples=spec.samples, n_features=spec.features, n_informative=informative,
        n_redundant=min(2, spec.features - informative), n_classes=spec.classes,
        n_clusters_per_class=clusters, flip_y=spec.noise, random_state=spec.seed)


def _make_regression(spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    return _skd().make_regression(n_samples=spec.samples, n_features=spec.features,
                                  n_informative=_default_informative(spec), noise=spec.noise,
                                  random_state=spec.seed)


def _make_multilabel(spec: DataSpec) -> tuple[np.ndarray, np.ndarray]:
    return _skd().make_multilabel_classification(
        n_samples=spec.samples, n_features=spec.features, n_classes=spec.classes,
        random_state=spec.seed)


GENERATOR_FUNCS: dict[str, tuple[Callable[[DataSpec], tuple[Any, np.ndarray]], str]] = {
    "make_classification": (_make_classification, "classification"),
    "make_regression": (_make_regression, "regression"),
    "make_multilabel": (_make_multilabel, "multilabel"),
    "make_sparse": (make_sparse, "classification"),
    "make_moons": (lambda s: _skd().make_moons(s.samples, noise=s.noise, random_state=s.seed),
                   "classification"),
    "make_circles": (lambda s: _skd().make_circles(s.samples, noise=s.noise, factor=0.5,
                                                   random_state=s.seed), "classification"),
    "make_friedman1": (lambda s: _skd().make_friedman1(s.samples, s.features, noise=s.noise,
                                                       random_state=s.seed), "regression"),
}


def _generate(spec: DataSpec) -> Raw:
    make, task = GENERATOR_FUNCS[spec.source]
    try:
        X, y = make(spec)
    except ValueError as exc:    # sklearn's parameter checks: report them as the user's mistake
        raise DataError(f"cannot generate data: {exc}", path=spec.source) from None
    names = tuple(f"x{j}" for j in range(X.shape[1]))
    return Raw(X, y, names, spec.source, "y", task)


# ------------------------------------------------------------------------- validation, the task
def finish(raw: Raw, task: str | None) -> Dataset:
    """Check a raw source (finite features, a usable target), settle the task, encode labels."""
    X = _features(raw.X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"features must be a non-empty 2-D table; got shape {X.shape}",
                        path=raw.where)
    if raw.targets:
        return _finish_targets(X, raw, task)
    y = np.asarray(raw.y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape[0] != X.shape[0] or y.ndim > 2:
        raise DataError(f"the target has shape {y.shape} but there are {X.shape[0]} examples",
                        path=raw.where, column=raw.target)
    _check_target_values(y, raw)
    check_magnitude(X, raw.feature_names, raw.where, dtype="float64", advice=RESCALE)
    task = task or raw.task or infer_task(y)
    if task not in TASKS:
        raise DataError(f"unknown task '{task}'{did_you_mean(task, TASKS)}", path=raw.where)
    y, classes = TARGET_ENCODERS[task](y, raw)
    if task == "regression":     # labels are only compared; regression targets are squared
        targets = y.reshape(len(y), -1)
        names = (raw.target,) if y.ndim == 1 else tuple(
            f"{raw.target}[{j}]" for j in range(targets.shape[1]))
        check_magnitude(targets, names, raw.where, dtype="float64", advice=RESCALE)
    n_classes = len(classes) if task == "classification" else (
        y.shape[1] if task == "multilabel" else 0)
    return Dataset(X, y, task, n_classes, raw.feature_names,
                   classes if task == "classification" else (), raw.where, target=raw.target,
                   categories=raw.categories)


def _finish_targets(X: np.ndarray, raw: Raw, task: str | None) -> Dataset:
    """Several targets: each column's task inferred (classification or regression, as for one
    target) and encoded; y (n, T) float64, a class target's column holding its class codes."""
    if task is not None:
        raise DataError(f"'task {task}' applies to one target; with several targets each "
                        "target's task is inferred from its column", path=raw.where,
                        column=raw.targets[0])
    check_magnitude(X, raw.feature_names, raw.where, dtype="float64", advice=RESCALE)
    columns, targets = [], []
    for j, name in enumerate(raw.targets):
        y, one = _column(np.asarray(raw.y)[:, j]), raw._replace(target=name, targets=())
        _check_target_values(y, one)
        kind = infer_task(y)
        codes, classes = TARGET_ENCODERS[kind](y, one)
        if kind == "regression":
            check_magnitude(codes.reshape(-1, 1), (name,), raw.where, dtype="float64",
                            advice=RESCALE)
        columns.append(codes.astype(np.float64))
        targets.append(Target(name, kind, classes if kind == "classification" else ()))
    return Dataset(X, np.column_stack(columns), "multitarget", 0, raw.feature_names, (),
                   raw.where, target=",".join(raw.targets), categories=raw.categories,
                   targets=tuple(targets))


def _column(values: np.ndarray) -> np.ndarray:
    """One target column of objects as numbers when every value is one (integers as int64,
    so that class labels read 3, not 3.0), else as text."""
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return values.astype(np.int64)
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        return values.astype(str)


def infer_task(y: np.ndarray) -> str:
    """The task a target implies.

    Text (or bool) labels -> classification. A 2-D 0/1 matrix -> multilabel (other 2-D ->
    multi-output regression). Integer-valued numbers with 2 distinct values, or with at most
    `MAX_CLASSES` distinct values and fewer than n / `CLASS_RATIO` of them -> classification.
    Everything else -> regression.
    """
    if y.ndim == 2:
        return "multilabel" if _is_binary(y) else "regression"
    if not np.issubdtype(y.dtype, np.number):
        return "classification"
    if not np.all(y == np.round(y)):
        return "regression"
    distinct = len(np.unique(y))
    if distinct == 2 or (distinct <= MAX_CLASSES and distinct < len(y) / CLASS_RATIO):
        return "classification"
    return "regression"


def _check_target_values(y: np.ndarray, raw: Raw) -> None:
    if not np.issubdtype(y.dtype, np.number):
        return
    bad = ~np.isfinite(y.astype(np.float64)).reshape(len(y), -1).all(axis=1)
    if bad.any():
        raise DataError(f"{int(bad.sum())} missing or infinite target value(s) (first at row "
                        f"{data_row(int(np.argmax(bad)))})", path=raw.where, column=raw.target)


def _encode_classification(y: np.ndarray, raw: Raw) -> tuple[np.ndarray, tuple[Any, ...]]:
    if y.ndim != 1:
        raise DataError(f"classification needs one label per example; the target has shape "
                        f"{y.shape} (did you mean task multilabel?)", path=raw.where,
                        column=raw.target)
    if np.issubdtype(y.dtype, np.floating) and not np.all(y == np.round(y)):
        example = y[y != np.round(y)][0]
        raise DataError(f"classification needs labels, but the target holds non-integer "
                        f"numbers such as {example:g} (did you mean task regression?)",
                        path=raw.where, column=raw.target)
    values, codes = np.unique(y, return_inverse=True)
    if len(values) < 2:
        raise DataError(f"the target has a single class ({values.tolist()[0]!r}): classification needs "
                        "at least two", path=raw.where, column=raw.target)
    classes = raw.classes if len(raw.classes) == len(values) else tuple(values.tolist())
    return codes.astype(np.int64), classes


def _encode_multilabel(y: np.ndarray, raw: Raw) -> tuple[np.ndarray, tuple[Any, ...]]:
    if y.ndim != 2 or not _is_binary(y):
        raise DataError(f"multilabel needs a 0/1 matrix (examples x labels); the target has "
                        f"shape {y.shape}", path=raw.where, column=raw.target)
    return y.astype(np.float64), ()


def _encode_regression(y: np.ndarray, raw: Raw) -> tuple[np.ndarray, tuple[Any, ...]]:
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        raise DataError(f"regression needs numbers, but the target holds text such as "
                        f"'{y.flat[0]}'", path=raw.where, column=raw.target)
    return y.astype(np.float64), ()


TARGET_ENCODERS = {"classification": _encode_classification, "multilabel": _encode_multilabel,
                   "regression": _encode_regression}


# ---------------------------------------------------------------------------------------- small
def _is_binary(y: np.ndarray) -> bool:
    numeric = np.issubdtype(y.dtype, np.number) or y.dtype == bool
    return numeric and bool(np.isin(y, (0, 1)).all())


