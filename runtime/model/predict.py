"""`nnspec predict RUN DATA`: the chosen configuration's model applied to new examples.

DATA is a CSV file (columns found by name, text columns one-hot encoded as in training) or an
`.npz` holding an array `X` (columns in the training order). Every problem is one `DataError`
or `NnspecError` naming the file (and the column and row): a missing or unreadable file, a file
that is not UTF-8, a missing column, a wrong width, a value that is missing, not a number or
not finite. Values of a text column that training never saw are said once, on stderr.
"""
from __future__ import annotations

import sys
import warnings
import zipfile
from pathlib import Path
import numpy as np
import pandas as pd

from runtime.errors import DataError
from runtime.model.features import UnseenCategoryWarning
from runtime.model.saved import SavedModel


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
        raise DataError(f"cannot read this as CSV: {_first_line(exc)}", path=str(path)) from None
    frame.columns = [str(c) for c in frame.columns]
    if not model.feature_names:
        raise DataError("the model does not know its columns' names (it was saved without "
                        "them): give the features as an .npz array X", path=str(path))
    return model.features(frame, where=str(path))


def features_from_npz(path: Path, model: SavedModel) -> np.ndarray:
    """The model's feature matrix from the array `X` of an `.npz` (columns in training order;
    (n, h, w) images are flattened as in training)."""
    _check_file(path)
    if not zipfile.is_zipfile(path):
        raise DataError("not a readable .npz file (an .npz is a zip of .npy arrays, as "
                        "numpy.savez writes it)", path=str(path))
    try:
        with np.load(path, allow_pickle=False) as arrays:
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
        raise DataError(f"not a readable .npz file ({_first_line(exc)})",
                        path=str(path)) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable .npz file ({_first_line(exc)})",
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


def predict_file(run_dir: Path, data: Path) -> pd.DataFrame:
    """Predictions for every row of `data` (CSV or `.npz` with an array `X`); `run_dir` is a
    run folder (its `model.npz`) or a model file."""
    model = SavedModel.load(run_dir)
    read = features_from_npz if data.suffix.lower() == ".npz" else features_from_csv
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnseenCategoryWarning)
        X = read(data, model)
    for warning in caught:              # one line each, as the command's other messages
        if issubclass(warning.category, UnseenCategoryWarning):
            print(f"nnspec predict: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    return frame_of(model, model.output_of(X), len(X))


def frame_of(model: SavedModel, output: np.ndarray, n: int) -> pd.DataFrame:
    """The predictions table: `prediction` and `p_<class>` (classification), `label_<i>`
    (multilabel) or `prediction`/`prediction_<i>` (regression)."""
    if model.task == "classification":
        frame = pd.DataFrame({"prediction": model.decide(output)})
        for i, label in enumerate(model.classes):
            frame[f"p_{label}"] = output[:, i]
        return frame
    if model.task == "multilabel":
        return pd.DataFrame(model.decide(output),
                            columns=[f"label_{i}" for i in range(output.shape[1])])
    values = output.reshape(n, -1)
    names = ["prediction"] if values.shape[1] == 1 else \
        [f"prediction_{i}" for i in range(values.shape[1])]
    return pd.DataFrame(values, columns=names)


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
    if path.is_dir():
        raise DataError("is a folder, not a data file", path=str(path))
    if not path.is_file():
        raise DataError(f"file not found (looked for {path.resolve()})", path=str(path))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
