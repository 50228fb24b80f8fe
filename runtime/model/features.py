"""The feature matrix a saved model reads, from what a user has: an array whose columns are in
the training order, or a table (pandas DataFrame, CSV) whose columns are found by name.

Training (`runtime.data.files`) keeps numeric columns as they are and one-hot encodes a text
column `col` into one feature `col=value` per value it saw. A table is encoded the same way: a
feature `name` is the column `name`, read as numbers; a feature `col=value` is 1 where the text
column `col` holds `value` (the text compared as training compares it: `str`, stripped of
leading spaces as the CSV reader does), else 0. Other columns (the target, anything extra) are
ignored. A value of a text column that training never saw gets zeros in all of that column's
features, which no network was trained on: `UnseenCategoryWarning` says so, once per call.

An embedded text column `col` (`embed columns "col"`) is the one feature `col#code`: 1 + the
index of its value among the data file's sorted values (`categories`), 0 for a value the data
file never held. The member's preprocessing renumbers the codes over its training rows and sends
any other to the embedding's "unknown" row; a value the data file never held is named by
`UnseenCategoryWarning` as well (it is looked up as "unknown").
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from runtime.data.files import CODE_MARK, category_codes, check_finite
from runtime.errors import DataError
from runtime.sparse import as_csr, is_sparse

SHOWN = 3                     # unseen values named in a warning, per column
Categories = tuple[tuple[str, tuple[str, ...]], ...]     # text column -> its sorted values


class UnseenCategoryWarning(UserWarning):
    """A text column holds values that training never saw (encoded as all zeros)."""


def is_table(X: Any) -> bool:
    """Whether X is a DataFrame whose columns are all named by strings (scikit-learn's rule
    for using feature names; other DataFrames are read by position)."""
    columns = getattr(X, "columns", None)
    return columns is not None and hasattr(X, "iloc") and \
        all(isinstance(c, str) for c in columns)


def feature_matrix(X: Any, feature_names: tuple[str, ...], n_features: int,
                   where: str = "X", categories: Categories = ()) -> np.ndarray:
    """The float64 matrix (n, n_features) of X for a model trained on `feature_names` (may be
    () when unknown): a table by name, anything else by position; `categories` are the sorted
    values of the embedded text columns. DataError (naming `where`, the column and the row) for
    a missing column, a wrong width or a non-finite value."""
    if is_table(X) and feature_names:
        matrix = _from_table(X, feature_names, where, dict(categories))
    else:
        matrix = _from_array(X, n_features, feature_names, where)
    names = feature_names or tuple(f"x{j}" for j in range(matrix.shape[1]))
    check_finite(matrix, names, where)
    return matrix


def _from_array(X: Any, n_features: int, feature_names: tuple[str, ...],
                where: str) -> np.ndarray:
    """X as a float64 (n, n_features) matrix, columns in the training order (a sparse X
    stays sparse: canonical CSR)."""
    try:
        matrix = as_csr(X) if is_sparse(X) else np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"the features must be numbers ({exc}); a DataFrame with the training "
                        "columns' names may hold the text columns", path=where) from None
    if matrix.ndim == 1 and n_features == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[1] != n_features:
        named = f" ({_listed(feature_names)})" if feature_names else ""
        raise DataError(f"the features have shape {matrix.shape}; the model takes "
                        f"{n_features} column(s){named}, one row per example", path=where)
    return matrix


def _from_table(frame: Any, feature_names: tuple[str, ...], where: str,
                categories: dict[str, tuple[str, ...]] | None = None) -> np.ndarray:
    """The features of a DataFrame by column name, text columns one-hot or as codes (embedded
    ones) as in training."""
    categories = categories or {}
    missing = sorted({_base(n, frame.columns) for n in feature_names} - set(frame.columns))
    if missing:
        raise DataError(f"the model needs the column(s) {_listed(tuple(missing))}, which the "
                        f"data lacks (it has: {_listed(tuple(map(str, frame.columns)))})",
                        path=where, column=missing[0] if len(missing) == 1 else None)
    needed = {_base(n, frame.columns) for n in feature_names}
    repeated = sorted(c for c in needed if list(frame.columns).count(c) > 1)
    if repeated:
        raise DataError("the data has more than one column of this name", path=where,
                        column=repeated[0])
    columns, unseen = [], []
    for name in feature_names:
        if name in frame.columns:
            columns.append(_numbers(frame[name], where))
            continue
        if _embedded(name, frame.columns, categories):
            base = name[:-len(CODE_MARK)]
            columns.append(category_codes(_text(frame[base], where).to_numpy(),
                                          categories[base]))
            continue
        base, _, level = name.partition("=")
        columns.append((_text(frame[base], where) == level).to_numpy(np.float64))
    for base in dict.fromkeys(_base(n, frame.columns) for n in feature_names):
        if base in categories and base + CODE_MARK in feature_names:     # embedded
            unseen += _unseen(frame[base], tuple(f"{base}={v}" for v in categories[base]),
                              base, where)
        elif base not in feature_names:                  # a one-hot encoded text column
            unseen += _unseen(frame[base], feature_names, base, where)
    if unseen:
        warnings.warn(f"{where}: values that training never saw, encoded as all zeros or, "
                      "in an embedded column, as its unknown row (the network has not learnt "
                      f"what they mean): {'; '.join(unseen)}",
                      UnseenCategoryWarning, stacklevel=_caller_level())
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def _numbers(series: Any, where: str) -> np.ndarray:
    """A numeric column's values as float64 (missing ones NaN); text in it is an error."""
    import pandas as pd
    values = pd.to_numeric(series, errors="coerce")
    text = (values.isna() & series.notna()).to_numpy()
    if text.any():
        first = int(np.argmax(text))
        raise DataError(f"holds text such as '{series.iloc[first]}' (first at data row "
                        f"{first + 1}); the model was trained on numbers in this column",
                        path=where, column=str(series.name))
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _caller_level() -> int:
    """The `stacklevel` of the first caller outside nnspec's runtime package, for a warning
    issued by the function that calls this one (so it points at the user's line)."""
    inside = str(Path(__file__).resolve().parents[1])
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


def _base(name: str, columns: Any) -> str:
    """The table column a feature comes from: itself, `col` for a one-hot `col=value` or for
    an embedded column's codes `col#code`."""
    if name in columns:
        return name
    if name.endswith(CODE_MARK) and "=" not in name:
        return name[:-len(CODE_MARK)]
    return name if "=" not in name else name.partition("=")[0]


def _embedded(name: str, columns: Any, categories: dict[str, tuple[str, ...]]) -> bool:
    """Whether feature `name` is the codes of an embedded column the table holds."""
    return name.endswith(CODE_MARK) and name[:-len(CODE_MARK)] in categories and \
        name[:-len(CODE_MARK)] in columns


def _text(series: Any, where: str) -> Any:
    """A text column's values as training compared them; missing values are an error."""
    missing = series.isna().to_numpy()
    if missing.any():
        raise DataError(f"{int(missing.sum())} missing value(s) (first at data row "
                        f"{int(np.argmax(missing)) + 1}): nnspec does not impute; fill or drop "
                        "them", path=where, column=str(series.name))
    return series.astype(str).str.lstrip(" ")


def _unseen(series: Any, feature_names: tuple[str, ...], base: str, where: str) -> list[str]:
    """'col': n row(s), e.g. 'v' — for the values of `col` no feature `col=v` encodes."""
    known = {n.partition("=")[2] for n in feature_names if "=" in n and n.partition("=")[0] == base}
    values = _text(series, where)
    new = ~values.isin(known).to_numpy()
    if not new.any():
        return []
    shown = ", ".join(f"'{v}'" for v in sorted(set(values[new]))[:SHOWN])
    return [f"column '{base}': {int(new.sum())} row(s) (first at data row "
            f"{int(np.argmax(new)) + 1}) hold {shown}"]


def _listed(names: tuple[str, ...], limit: int = 8) -> str:
    """'a', 'b', ... (and N more)."""
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
