"""`nnspec predict RUN DATA`: the chosen configuration's model applied to new examples.

DATA is a CSV file (columns found by name, text columns one-hot encoded as in training), an
`.npz` holding an array `X` (columns in the training order) or a sparse matrix as
`scipy.sparse.save_npz` writes it, or an svmlight/libsvm file (kept sparse). Every problem is one `DataError`
or `NnspecError` naming the file (and the column and row): a missing or unreadable file, a file
that is not UTF-8, a missing column, a wrong width, a value that is missing, not a number or
not finite. Values of a text column that training never saw are said once, on stderr.

When DATA also holds the training target (the CSV column the model was trained to predict, or an
`.npz` array `y`), `predict_data` scores the model's prediction on it with every metric of the
task, as the run scores its test part (`ensemble_test_<metric>`: the members' averaged
prediction, its cross-entropy exact from their logits).
"""
from __future__ import annotations

import sys
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runtime.data.files import SPARSE_NPZ_KEYS, missing_file
from runtime.errors import DataError, first_line
from runtime.sparse import as_csr
from runtime.model.features import UnseenCategoryWarning
from runtime.model.saved import SavedModel, normalized


def features_from_csv(path: Path, model: SavedModel) -> np.ndarray:
    """The model's feature matrix from a CSV with a header row (other columns are ignored)."""
    _check_file(path)
    try:
        frame = pd.read_csv(path, skipinitialspace=True, encoding="utf-8")   # as training reads
    except UnicodeDecodeError:
        raise DataError(f"not UTF-8 text ({_first_non_utf8(path)}); save the CSV as UTF-8",
                        path=str(path)) from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty (a CSV file needs a header row)",
                        path=str(path)) from None
    except (OSError, pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"cannot read this as CSV: {first_line(exc)}", path=str(path)) from None
    frame.columns = [str(c) for c in frame.columns]
    if not model.feature_names:
        raise DataError("the model does not know its columns' names (it was saved without "
                        "them): give the features as an .npz array X", path=str(path))
    return model.features(frame, where=str(path))


SVMLIGHT = (".svm", ".svmlight", ".libsvm", ".txt")      # as training reads them


def features_from_svmlight(path: Path, model: SavedModel) -> Any:
    """The model's (sparse, CSR) feature matrix from an svmlight/libsvm file (`read_svmlight`)."""
    return model.features(read_svmlight(path, model)[0], where=str(path))


def read_svmlight(path: Path, model: SavedModel) -> tuple[Any, np.ndarray]:
    """(X, labels) of an svmlight/libsvm file: X CSR with the model's columns, found by the
    file's own feature indices (a model trained on svmlight names its features x<index>, so a
    0- or 1-based file is read as training read its own). Indices the model never saw (a word
    new since training) are left out, with a warning; a model whose features are not named by
    index reads the file by position."""
    from runtime.data.files import read_svmlight as read_files
    _check_file(path)
    try:
        [(X, y)], base = read_files([path])
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read this as svmlight/libsvm: {first_line(exc)}",
                        path=str(path)) from None
    wanted = _file_indices(model.feature_names)
    if wanted is None:
        return X, y
    X = _widened(X, base, int(wanted.max()) + 1)
    unseen = X.shape[1] - len(wanted)
    known = np.zeros(X.shape[1], dtype=bool)
    known[wanted] = True
    extra = np.flatnonzero(~known[np.unique(X.indices)]) if unseen else np.empty(0)
    if extra.size:
        warnings.warn(UnseenCategoryWarning(
            f"{path}: {extra.size} feature index(es) the model was not trained on are ignored"))
    return as_csr(X[:, wanted]), y


def _file_indices(names: tuple[str, ...]) -> np.ndarray | None:
    """The file indices of features named x<index> (svmlight training), else None."""
    if not names or not all(n[:1] == "x" and n[1:].isdigit() for n in names):
        return None
    return np.array([int(n[1:]) for n in names], dtype=np.int64)


def _widened(X: Any, base: int, width: int) -> Any:
    """X (columns from index `base`) as columns from index 0, at least `width` wide."""
    import scipy.sparse as sp
    left = sp.csr_matrix((X.shape[0], base))
    right = sp.csr_matrix((X.shape[0], max(0, width - base - X.shape[1])))
    return as_csr(sp.hstack([left, X, right], format="csr"))


def features_from_npz(path: Path, model: SavedModel) -> np.ndarray:
    """The model's feature matrix from the array `X` of an `.npz` (columns in training order;
    (n, h, w) images are flattened as in training)."""
    _check_file(path)
    if not zipfile.is_zipfile(path):
        raise DataError("not a readable .npz file (an .npz is a zip of .npy arrays, as "
                        "numpy.savez writes it)", path=str(path))
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if SPARSE_NPZ_KEYS <= set(arrays.files):      # scipy.sparse.save_npz's arrays
                import scipy.sparse as sp
                return model.features(sp.load_npz(path), where=str(path))
            if "X" not in arrays.files:
                raise DataError(f"no array named 'X'; the file holds: "
                                f"{', '.join(arrays.files) or 'nothing'}", path=str(path))
            X = arrays["X"]
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):        # object arrays: never unpickled
            raise DataError("cannot read this .npz safely: arrays must be numeric (object "
                            "arrays are refused)", path=str(path)) from None
        raise DataError(f"not a readable .npz file ({first_line(exc)})",
                        path=str(path)) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable .npz file ({first_line(exc)})",
                        path=str(path)) from None
    if not isinstance(X, np.ndarray):     # NpzFile hands back the bytes of a member no .npy
        raise DataError("not a readable .npz file (its member 'X' is not a .npy array)",
                        path=str(path))
    if X.ndim < 1 or not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)
                          or X.dtype == bool):
        raise DataError(f"X must be a real numeric array of shape (examples, features); got "
                        f"{X.dtype} of shape {X.shape}", path=str(path), column="X")
    if X.ndim > 2:
        X = X.reshape(X.shape[0], -1)
    return model.features(X, where=str(path))


@dataclass
class Prediction:
    """What `predict_data` returns: the predictions table and, when the data held the target,
    every metric of the task (`metrics`, empty otherwise) over `n` examples."""

    frame: pd.DataFrame
    metrics: dict[str, float] = field(default_factory=dict)
    target: str = ""                   # the column (or array) the metrics were scored on

    @property
    def n(self) -> int:
        """The number of examples predicted."""
        return len(self.frame)


def predict_file(run_dir: str | Path, data: str | Path, proba: bool = True) -> pd.DataFrame:
    """Predictions for every row of `data` (CSV or `.npz` with an array `X`); `run_dir` is a
    run folder (its `model.npz`) or a model file. `proba`: with the probability columns."""
    return predict_data(run_dir, data, proba=proba).frame


def predict_data(run_dir: str | Path, data: str | Path, *, proba: bool = False) -> Prediction:
    """`predict_file`, and the metrics of the predictions when `data` holds the target."""
    run_dir, data = Path(run_dir), Path(data)
    model = SavedModel.load(run_dir)
    suffix = data.suffix.lower()
    is_npz, is_svmlight = suffix == ".npz", suffix in SVMLIGHT
    read = features_from_npz if is_npz else (
        features_from_svmlight if is_svmlight else features_from_csv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnseenCategoryWarning)
        X = read(data, model)
    for warning in caught:              # one line each, as the command's other messages
        if issubclass(warning.category, UnseenCategoryWarning):
            print(f"nnspec predict: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    scored = [m.scored(X) for m in model.members]
    output = np.mean([np.asarray(out, dtype=np.float64) for out, _ in scored], axis=0)
    frame = frame_of(model, normalized(output) if model.task == "classification" else output,
                     X.shape[0], proba=proba)
    labels, target = _npz_target(data) if is_npz else (
        (read_svmlight(data, model)[1], "label") if is_svmlight else _csv_target(data, model))
    if labels is None:
        return Prediction(frame)
    return Prediction(frame, score(model, _encoded(labels, model, data, target), output,
                                   [z for _, z in scored]), target)


def score(model: SavedModel, y: np.ndarray, output: np.ndarray,
          logits: list[np.ndarray | None]) -> dict[str, float]:
    """Every metric of the model's task for its averaged `output` against the encoded `y`;
    the cross-entropy exact from the members' `logits` (as the test part is scored), through
    the members' output head (several targets: each target's metrics)."""
    head = model.members[0].net.head
    exact = model.task != "regression" and all(z is not None for z in logits)
    z = head.ensemble_logits(model.task, logits) if exact else None
    return {k: float(v) for k, v in head.evaluate(model.task, y, output, z).items()}


def _csv_target(path: Path, model: SavedModel) -> tuple[np.ndarray | None, str]:
    """The target column of a CSV, when it has the one the model was trained on."""
    if model.task == "multitarget":
        return _csv_targets(path, model)
    if not model.target or model.task == "multilabel":     # multilabel targets: an .npz y
        return None, ""
    header = pd.read_csv(path, nrows=0, skipinitialspace=True, encoding="utf-8").columns
    if model.target not in [str(c) for c in header]:
        return None, ""
    column = pd.read_csv(path, usecols=[model.target], skipinitialspace=True,
                         encoding="utf-8")[model.target]
    return column.to_numpy(), model.target


def _csv_targets(path: Path, model: SavedModel) -> tuple[np.ndarray | None, str]:
    """Several targets: their columns (n, T) of objects, when the CSV has all of them."""
    names = [t.name for t in model.targets]
    header = pd.read_csv(path, nrows=0, skipinitialspace=True, encoding="utf-8").columns
    if not set(names) <= {str(c) for c in header}:
        return None, ""
    frame = pd.read_csv(path, usecols=names, skipinitialspace=True, encoding="utf-8")
    return np.column_stack([frame[n].to_numpy().astype(object) for n in names]), \
        ", ".join(names)


def _npz_target(path: Path) -> tuple[np.ndarray | None, str]:
    """The array `y` of an `.npz`, when it has one (read without pickle)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return (arrays["y"], "y") if "y" in arrays.files else (None, "")
    except ValueError:             # object arrays: never unpickled
        raise DataError("cannot read the array 'y' safely: arrays must be numeric or text "
                        "(object arrays are refused)", path=str(path), column="y") from None


def _encoded(labels: np.ndarray, model: SavedModel, path: Path, target: str) -> np.ndarray:
    """The target as the metrics read it: class indices into `model.classes`, a 0/1 matrix,
    or values. DataError, naming the file and the column, for a missing value or a label the
    model does not know."""
    y = np.asarray(labels)
    if model.task == "multitarget":
        return np.column_stack([_encoded(y[:, j], replace(
            model, task=t.task, classes=t.classes, targets=()), path, t.name)
            if t.task == "classification" else _values(y[:, j], path, t.name)
            for j, t in enumerate(model.targets)]).astype(np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if model.task == "classification":
        return _class_indices(y, model, path, target)
    values = _values(y, path, target)
    width = model.members[0].net.predict(np.zeros((1, model.n_features))).reshape(1, -1).shape[1]
    if values.reshape(len(values), -1).shape[1] != width:
        raise DataError(f"the target has shape {y.shape}; the model predicts {width} "
                        "value(s) per example", path=str(path), column=target)
    return values


def _values(y: np.ndarray, path: Path, target: str) -> np.ndarray:
    """A regression target's values as float64; DataError for text or a missing value."""
    try:
        values = y.astype(np.float64)
    except ValueError:
        raise DataError("holds text; the model predicts numbers", path=str(path),
                        column=target) from None
    bad = ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
    if bad.any():
        raise DataError(f"{int(bad.sum())} missing or infinite target value(s) (first at data "
                        f"row {int(np.argmax(bad)) + 1}): every row needs its target to be "
                        "scored", path=str(path), column=target)
    return values


def _class_indices(y: np.ndarray, model: SavedModel, path: Path, target: str) -> np.ndarray:
    """Labels as indices into the model's classes: matched as they are, else as text (a CSV
    column of numbers against text classes, or the reverse); integers 0..K-1 against text
    classes are the class indices themselves (what a bundled set's target holds)."""
    series = pd.Series(y)
    if series.isna().any():
        first = int(np.argmax(series.isna().to_numpy()))
        raise DataError(f"{int(series.isna().sum())} missing label(s) (first at data row "
                        f"{first + 1}): every row needs its label to be scored", path=str(path),
                        column=target)
    codes = series.map({c: i for i, c in enumerate(model.classes)})
    unknown = codes.isna()
    if unknown.any():              # the same labels written another way ("1" and 1)
        codes[unknown] = series[unknown].astype(str).map(
            {str(c): i for i, c in enumerate(model.classes)})
    unknown = codes.isna().to_numpy()
    if unknown.all() and _indices(y, model.classes):
        return y.astype(np.int64)
    if unknown.any():
        first = int(np.argmax(unknown))
        raise DataError(f"{int(unknown.sum())} label(s) the model does not know, such as "
                        f"{_plain(y[first])!r} (first at data row {first + 1}); its classes "
                        f"are {', '.join(map(repr, model.classes))}", path=str(path),
                        column=target)
    return codes.to_numpy(dtype=np.int64)


def _indices(y: np.ndarray, classes: tuple[Any, ...]) -> bool:
    """Whether `y` holds class indices 0..K-1 of text `classes`."""
    return np.issubdtype(y.dtype, np.integer) and all(isinstance(c, str) for c in classes) \
        and bool(((y >= 0) & (y < len(classes))).all())


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def frame_of(model: SavedModel, output: np.ndarray, n: int, proba: bool = True
             ) -> pd.DataFrame:
    """The predictions table: `prediction` (classification), `label_<i>` (multilabel) or
    `prediction`/`prediction_<i>` (regression); with `proba`, also the probabilities:
    `p_<class>` (classification), `p_<i>` (multilabel)."""
    if model.task == "classification":
        frame = pd.DataFrame({"prediction": model.decide(output)})
        for i, label in enumerate(model.classes if proba else ()):
            frame[f"p_{label}"] = output[:, i]
        return frame
    if model.task == "multitarget":
        return _targets_frame(model, output, proba)
    if model.task == "multilabel":
        frame = pd.DataFrame(model.decide(output),
                             columns=[f"label_{i}" for i in range(output.shape[1])])
        for i in range(output.shape[1] if proba else 0):
            frame[f"p_{i}"] = output[:, i]
        return frame
    values = output.reshape(n, -1)
    names = ["prediction"] if values.shape[1] == 1 else \
        [f"prediction_{i}" for i in range(values.shape[1])]
    return pd.DataFrame(values, columns=names)


def _targets_frame(model: SavedModel, output: np.ndarray, proba: bool) -> pd.DataFrame:
    """Several targets: `prediction_<target>` each (a class label, or a value in the target's
    units); with `proba`, `p_<target>_<class>` for every class target."""
    frame = pd.DataFrame({f"prediction_{t.name}": values
                          for t, values in zip(model.targets, model.per_target(output))})
    classes = [t for t in model.targets if t.task == "classification"]
    for t, p in zip(classes, model.target_probabilities(output) if proba else []):
        p = normalized(p)
        for i, label in enumerate(t.classes):
            frame[f"p_{t.name}_{label}"] = p[:, i]
    return frame


def _first_non_utf8(path: Path) -> str:
    """Where a file stops being UTF-8: 'line N has the byte 0xXX'."""
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"line {number} has the byte 0x{line[exc.start]:02x}"
    return "an invalid byte sequence"


def _check_file(path: Path) -> None:
    """The data file exists and is a file."""
    if not path.is_file():
        raise missing_file(path, str(path))


