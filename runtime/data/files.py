"""Data files: CSV (header row, named target, text columns one-hot encoded or refused), `.npz`
(arrays X and y, or a sparse X as `scipy.sparse.save_npz` writes it; read without pickle) and
svmlight/libsvm. svmlight files and sparse `.npz` stay sparse (CSR, `runtime.sparse`). Each reader
returns a `Raw` table for `runtime.data.sources.finish`; every problem is a `DataError` naming the
file and column.
"""
from __future__ import annotations

import csv
import difflib
import itertools
import math
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import numpy as np

from runtime.errors import DataError, first_line
from runtime.sparse import as_csr, is_sparse
from spec_lang.config import FILE_FORMATS, DataSpec
from spec_lang.values import is_number

if TYPE_CHECKING:
    import pandas as pd      # imported where a CSV is read: 0.4 s a worker never needs for .npz

SPARSE_NPZ_KEYS = {"format", "shape", "data", "indices", "indptr"}   # scipy.sparse.save_npz's


EXTENSIONS = {".csv": "csv", ".npz": "npz", ".svm": "svmlight", ".svmlight": "svmlight",
              ".libsvm": "svmlight", ".txt": "svmlight"}


class Raw(NamedTuple):
    """What a source yields before validation: features, target and how to name them."""

    X: Any                           # np.ndarray, or a CSR matrix for sparse files
    y: np.ndarray
    feature_names: tuple[str, ...]
    where: str                       # file or source name, for messages
    target: str = "y"                # target column name, for messages
    task: str | None = None          # the source's own task (bundled sets, generators)
    classes: tuple[Any, ...] = ()    # original class names when y is already 0..K-1
    columns: tuple[str, ...] = ()    # a file's own columns, before encoding (CSV: the header)
    categories: tuple[tuple[str, tuple[str, ...]], ...] = ()   # CSV text column -> its values
    file: Path | None = None         # the file read
    format: str = ""                 # its format
    targets: tuple[str, ...] = ()    # several target columns (CSV): y is (n, T) of objects


def load_file(spec: DataSpec, base_dir: Path, like: Raw | None = None) -> Raw:
    """Read the data file `spec.path` (relative to `base_dir`). With `like` (the data file's
    Raw), the file is a fixed validation or test file: it must have the same columns, and its
    text columns are encoded with the data file's categories (a value the data file lacks
    gets zeros, as `nnspec predict` encodes it)."""
    if not spec.path:
        raise DataError("data source 'file' needs a path")
    path = base_dir / spec.path
    if not path.is_file():
        raise missing_file(path, spec.path)
    fmt = spec.format or _format_from_extension(path, spec.path)
    if like is not None and like.format != fmt:
        raise DataError(f"a {fmt} file, but the data file {like.where} is {like.format}: "
                        "the fixed valid and test files take the data file's format",
                        path=spec.path)
    if fmt != "csv" and spec.target is not None:
        raise DataError(f"'target' names a CSV column, but this is a {fmt} file (its target is "
                        f"{'the y array' if fmt == 'npz' else 'the label of each line'}): "
                        "remove 'target'", path=spec.path)
    reader = FILE_READERS.get(fmt)
    if reader is None:
        raise DataError(f"unknown format '{fmt}'{did_you_mean(fmt, FILE_FORMATS)}; "
                        f"known formats: {', '.join(FILE_FORMATS)}", path=spec.path)
    return reader(path, spec, like)._replace(file=path, format=fmt)


def missing_file(path: Path, shown: str) -> DataError:
    """The error for a data file that is not there: `shown` is its path as the user wrote it;
    the folder looked in is absolute, and the hint names the closest file in that folder."""
    if path.is_dir():
        return DataError("is a folder, not a data file", path=shown)
    folder = path.parent.resolve()
    if not folder.is_dir():
        return DataError(f"file not found: there is no folder {folder}", path=shown)
    try:        # a few thousand names are enough to find a near miss in a data folder
        names = [p.name for p in itertools.islice(folder.iterdir(), 5000) if p.is_file()]
    except OSError:
        names = []
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    if not close:      # the file in a folder below (`data "plants.csv"` for data/plants.csv)
        below = itertools.chain(folder.glob(f"*/{path.name}"), folder.glob(f"*/*/{path.name}"))
        close = [str(p.relative_to(folder)) for p in itertools.islice(below, 1)]
    prefix = shown[:len(shown) - len(path.name)] if shown.endswith(path.name) else ""
    return DataError(f"file not found (looked in {folder})", path=shown,
                     hint=f'did you mean "{prefix}{close[0]}"?' if close else "")


def same_columns(columns: tuple[str, ...], like: Raw, where: str) -> None:
    """A fixed valid / test file has the data file's columns (in any order); DataError, one
    line naming the file and the columns that differ, otherwise."""
    missing = [c for c in like.columns if c not in columns]
    extra = [c for c in columns if c not in like.columns]
    if missing or extra:
        parts = ([f"missing {_quoted(missing)}"] if missing else []) + \
            ([f"not in the data file: {_quoted(extra)}"] if extra else [])
        raise DataError(f"the columns differ from those of the data file {like.where}: "
                        f"{'; '.join(parts)}", path=where)


def _quoted(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _format_from_extension(path: Path, shown: str) -> str:
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"cannot tell the format from the extension '{path.suffix}' "
                        f"(known: {', '.join(EXTENSIONS)}); set 'format' to one of "
                        f"{', '.join(FILE_FORMATS)}", path=shown)
    return fmt


def _read_csv(path: Path, spec: DataSpec, like: Raw | None = None) -> Raw:
    import pandas as pd
    where = spec.path or str(path)
    try:
        df = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty (a CSV file needs a header row and data rows)",
                        path=where) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"cannot read this as CSV: {first_line(exc)}", path=where) from None
    _check_csv_shape(df, where)
    _check_header(path, where)
    if like is None:              # the default target is the file's last column, dropped or not
        targets = target_columns(spec.target, df, where)
        df = _drop(df, spec.drop, targets, where)
    else:                         # a fixed file may lack a dropped column
        df = df.drop(columns=[c for c in spec.drop if c in df.columns])
        same_columns(tuple(str(c) for c in df.columns), like, where)
        df = df[list(like.columns)]                     # the data file's column order
        targets = target_columns(spec.target, df, where)
    target = targets[0]
    features = df.drop(columns=list(targets))
    if features.shape[1] == 0:
        raise DataError(f"the target{'s are' if len(targets) > 1 else ' is'} the only "
                        "column(s): there are no features (nnspec reads comma-separated files; "
                        "is this one separated by ';' or tabs?)", path=where, column=target)
    # every column whose missing values no later check names (the numbers' NaN are named
    # by check_finite), all in one message
    text = [c for c in features.columns if not (pd.api.types.is_numeric_dtype(features[c]) or
                                                pd.api.types.is_bool_dtype(features[c]))]
    _check_missing(df[list(targets) + text], where)
    if like is None:
        _check_embedded(df, tuple(spec.embed), tuple(targets), where)
        X, names, categories = _encode_features(features, spec.categorical, where,
                                                tuple(spec.embed))
    else:
        categories = like.categories
        X, names = _encode_like(features, dict(categories), where, like.where,
                                like.feature_names)
    if len(targets) > 1:          # one object column per target, text or numbers as read
        y = np.column_stack([_target_values(df[t]).astype(object) for t in targets])
    else:
        y = _target_values(df[target])
    return Raw(X, y, names, where, target, columns=tuple(str(c) for c in df.columns),
               categories=categories, targets=targets if len(targets) > 1 else ())


def _target_values(series: pd.Series) -> np.ndarray:
    """A target column's values: numbers as read, anything else as text."""
    import pandas as pd
    y = series.to_numpy()
    return y if pd.api.types.is_numeric_dtype(series) else y.astype(str)


def target_columns(target: str | tuple[str, ...] | None, df: pd.DataFrame,
                   where: str) -> tuple[str, ...]:
    """The target column(s) a spec names (None: the last column), each present once."""
    named = (target,) if isinstance(target, str) else tuple(target or (str(df.columns[-1]),))
    cols = [str(c) for c in df.columns]
    for name in named:
        if name not in cols:
            raise DataError(f"no such target column; the columns are: {', '.join(cols)}",
                            path=where, column=name, hint=suggestion(name, cols))
        if named.count(name) > 1:
            raise DataError("the target names this column twice; name each target once",
                            path=where, column=name)
    return named


def _drop(df: pd.DataFrame, names: tuple[str, ...], targets: tuple[str, ...], where: str
          ) -> pd.DataFrame:
    """The table without the columns `drop` names, each a column of it and not a target."""
    cols = [str(c) for c in df.columns]
    for name in names:
        if name not in cols:
            raise DataError(f"drop names no column of this file; the columns are: "
                            f"{', '.join(cols)}", path=where, column=name,
                            hint=suggestion(name, cols))
        if name in targets:
            raise DataError("drop names the target column", path=where, column=name,
                            hint="name another target, or drop another column")
    return df.drop(columns=list(names))


def _check_csv_shape(df: pd.DataFrame, where: str) -> None:
    if df.shape[0] == 0:
        raise DataError("the file has a header row but no data rows", path=where)
    if all(is_number(str(c)) for c in df.columns):
        raise DataError(f"the first row ({', '.join(map(str, df.columns[:4]))}, ...) looks like "
                        "data: a CSV file needs a header row naming the columns", path=where)


def _check_header(path: Path, where: str) -> None:
    """Repeated column names are refused (pandas would silently rename them 'a.1')."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    names = [h.strip() for h in header]
    repeated = sorted({h for h in names if names.count(h) > 1})
    if repeated:
        raise DataError(f"the header names this column {names.count(repeated[0])} times; "
                        "column names must be unique", path=where, column=repeated[0])


def _encode_features(df: pd.DataFrame, categorical: str, where: str, embed: tuple[str, ...] = ()
                     ) -> tuple[np.ndarray, tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """Numeric columns as they are; text columns one-hot (`col=value`) or rejected; the
    `embed` columns last, in that order, as category codes (`code_name(col)`, see
    `category_codes`). Also each text column's categories (to encode a fixed valid / test file
    the same way)."""
    import pandas as pd
    blocks: list[np.ndarray] = []
    names: list[str] = []
    categories: list[tuple[str, tuple[str, ...]]] = []
    _check_stray_text(df.drop(columns=list(embed)), where)
    for col in df.columns:
        series = df[col]
        if str(col) in embed:
            continue
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            blocks.append(series.to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
            names.append(str(col))
            continue
        _check_text_column(series, categorical, where)
        cats = sorted(series.astype(str).unique())
        blocks.append(_one_hot(series, cats))
        names.extend(f"{col}={c}" for c in cats)
        categories.append((str(col), tuple(cats)))
    for col in embed:
        _check_missing(df[[col]], where)
        cats = sorted(df[col].astype(str).unique())
        blocks.append(category_codes(df[col].astype(str).to_numpy(), tuple(cats))[:, None])
        names.append(code_name(col))
        categories.append((col, tuple(cats)))
    X = np.hstack(blocks) if blocks else np.empty((len(df), 0))
    check_finite(X, tuple(names), where)
    return X, tuple(names), tuple(categories)


CODE_MARK = "#code"       # the feature name of an embedded column's codes: "city#code"


def code_name(column: str) -> str:
    """The feature name of the category codes of the embedded text column `column`."""
    return f"{column}{CODE_MARK}"


def category_codes(values: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    """float64 codes of text `values`: 1 + the index of each in the sorted `categories`, and 0
    (the embedding's "unknown" row) for a value not among them."""
    cats = np.asarray(categories, dtype=str)
    at = np.clip(np.searchsorted(cats, values), 0, max(len(cats) - 1, 0))
    known = cats[at] == values if len(cats) else np.zeros(len(values), dtype=bool)
    return np.where(known, at + 1, 0).astype(np.float64)


def _check_embedded(df: pd.DataFrame, embed: tuple[str, ...], targets: tuple[str, ...],
                    where: str) -> None:
    """The embedded columns exist, are not a target and hold text (the spec's checker says
    the same at file:line:col when it can read the file)."""
    import pandas as pd
    for col in embed:
        if col not in df.columns:
            cols = [str(c) for c in df.columns]
            raise DataError(f"embed names no column of this file{did_you_mean(col, cols)}; the "
                            f"columns are: {', '.join(cols)}", path=where, column=col)
        if col in targets:
            raise DataError("embed names the target column; only inputs can be embedded",
                            path=where, column=col)
        if pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            raise DataError("embed needs a text column, but this one holds numbers",
                            path=where, column=col)
        if code_name(col) in df.columns:
            raise DataError(f"the file also has a column '{code_name(col)}', the name nnspec "
                            "gives the embedded column's codes: rename it", path=where,
                            column=col)


def _one_hot(series: pd.Series, cats: Any) -> np.ndarray:
    return (series.astype(str).to_numpy()[:, None] == np.array(cats)[None, :]).astype(np.float64)


def _encode_like(df: pd.DataFrame, categories: dict[str, tuple[str, ...]], where: str,
                 data_file: str, like_names: tuple[str, ...] = ()
                 ) -> tuple[np.ndarray, tuple[str, ...]]:
    """A fixed valid / test file's features encoded as the data file's were (`like_names`):
    its text columns one-hot with the data file's categories, or as their codes (last) when
    embedded (a value the data file lacks: 0, unknown), its numeric columns as numbers."""
    import pandas as pd
    blocks: list[np.ndarray] = []
    names: list[str] = []
    embedded = [n[:-len(CODE_MARK)] for n in like_names if n.endswith(CODE_MARK)
                and n[:-len(CODE_MARK)] in categories]
    for col in df.columns:
        series = df[col]
        if str(col) in embedded:
            continue
        if str(col) in categories:
            _check_missing(series.to_frame(), where)
            cats = categories[str(col)]
            blocks.append(_one_hot(series, cats))
            names.extend(f"{col}={c}" for c in cats)
        elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            blocks.append(series.to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
            names.append(str(col))
        else:
            raise DataError(f"holds text such as '{series.dropna().astype(str).iloc[0]}', but the "
                            f"column holds numbers in the data file {data_file}", path=where,
                            column=str(col))
    for col in embedded:
        _check_missing(df[[col]], where)
        blocks.append(category_codes(df[col].astype(str).to_numpy(), categories[col])[:, None])
        names.append(code_name(col))
    X = np.hstack(blocks)
    check_finite(X, tuple(names), where)
    return X, tuple(names)


STRAY_SHOWN = 8        # columns named in one message; a file with more says how many more


def _check_stray_text(df: pd.DataFrame, where: str) -> None:
    """Columns of numbers with stray text in them (`?`, `12mm`): one error naming every one,
    with its first bad value and data row (pandas reads such a column as text)."""
    import pandas as pd
    stray: list[tuple[str, str, int]] = []
    for col in df.columns:
        series = df[col].dropna()
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        numeric = pd.to_numeric(series.astype(str), errors="coerce")
        if numeric.notna().sum() > len(series) / 2:      # mostly numbers: the text is stray
            bad = series[numeric.isna()]
            stray.append((str(col), str(bad.iloc[0]), data_row(df.index.get_loc(bad.index[0]))))
    if len(stray) == 1:
        (col, value, row), = stray
        raise DataError(f"holds numbers but also text such as '{value}' (first at data row "
                        f"{row}): fix or remove those values", path=where, column=col)
    if stray:
        listed = ", ".join(f"'{c}' ('{v}' at data row {r})" for c, v, r in stray[:STRAY_SHOWN])
        more = f" and {len(stray) - STRAY_SHOWN} more" if len(stray) > STRAY_SHOWN else ""
        raise DataError(f"{len(stray)} columns hold numbers but also text: {listed}{more}; "
                        "fix or remove those values", path=where)


def _check_text_column(series: pd.Series, categorical: str, where: str) -> None:
    col = str(series.name)
    _check_missing(series.to_frame(), where)
    values = series.astype(str)
    if categorical == "reject":
        raise DataError(f"holds text (e.g. '{values.iloc[0]}') and categorical is 'reject'",
                        path=where, column=col, hint="encode it as numbers, set categorical to "
                        f"onehot, or leave it out: {drop_hint(col)}")
    n_distinct = values.nunique()
    if n_distinct > 20 and n_distinct > len(values) / 2:
        raise DataError(f"holds {n_distinct} distinct text values in {len(values)} rows (an "
                        "identifier or free text?): one-hot encoding it makes no sense",
                        path=where, column=col, hint=f"leave it out: {drop_hint(col)}")


def drop_hint(column: str) -> str:
    """How a spec leaves `column` out (the `drop` option of the data statement)."""
    return f'add drop "{column}" to the data line'


def _check_missing(df: pd.DataFrame, where: str) -> None:
    """Missing values (empty cells, NA) in any column of `df` are an error naming every such
    column, its count and first data row: nnspec never imputes."""
    found = []
    for col in df.columns:
        missing = df[col].isna().to_numpy()
        if missing.any():
            found.append((str(col), int(missing.sum()), data_row(int(np.argmax(missing)))))
    if len(found) == 1:
        (col, count, row), = found
        raise DataError(f"{count} missing value(s) (first at data row {row}): nnspec does not "
                        "impute; fill or drop them", path=where, column=col)
    if found:
        listed = ", ".join(f"'{c}' ({n}, first at data row {r})" for c, n, r in
                           found[:STRAY_SHOWN])
        more = f" and {len(found) - STRAY_SHOWN} more" if len(found) > STRAY_SHOWN else ""
        raise DataError(f"{len(found)} columns have missing values: {listed}{more}; nnspec does "
                        "not impute: fill or drop them", path=where)


def _read_npz(path: Path, spec: DataSpec, like: Raw | None = None) -> Raw:
    where = spec.path or str(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:     # object arrays would need pickle: never allowed
        raise DataError(f"cannot read this .npz safely ({first_line(exc)}): arrays must be "
                        "numeric (object arrays are refused)", path=where) from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"not a readable .npz file ({first_line(exc)})", path=where) from None
    if not arrays:
        raise DataError("the archive holds no arrays (an .npz needs arrays X and y)", path=where)
    if SPARSE_NPZ_KEYS <= arrays.keys():
        return _sparse_npz(path, arrays, where, like)
    for key in ("X", "y"):
        if key not in arrays:
            raise DataError(f"no array named '{key}'{did_you_mean(key, list(arrays))}; the file "
                            f"holds: {', '.join(arrays)}", path=where, column=key)
    X, y = arrays["X"], arrays["y"]
    for key, array in (("X", X), ("y", y)):
        if np.iscomplexobj(array):    # a float cast would drop the imaginary part silently
            raise DataError(f"holds complex numbers ({array.dtype}); nnspec trains on real "
                            "values: store the real and imaginary parts as separate columns",
                            path=where, column=key)
    if X.ndim < 2 or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"X must be a numeric array of shape (examples, features); got "
                        f"{X.dtype} of shape {X.shape}", path=where, column="X")
    if X.shape[0] == 0 or X.size == 0:
        raise DataError(f"X holds no {'examples' if X.shape[0] == 0 else 'features'} (shape "
                        f"{X.shape})", path=where, column="X")
    X = X.reshape(X.shape[0], -1)    # images (n, h, w) become (n, h*w) feature vectors
    names = _npz_names(arrays, X.shape[1], where)
    if like is not None:
        same_columns(names, like, where)
        X = X[:, [names.index(n) for n in like.columns]]      # the data file's order
        names = like.columns
    check_finite(X.astype(np.float64), names, where)
    return Raw(X, y, names, where, "y", columns=names)


def _sparse_npz(path: Path, arrays: dict[str, np.ndarray], where: str, like: Raw | None) -> Raw:
    """An archive written by `scipy.sparse.save_npz` (the features, kept CSR) that also holds
    the labels `y` (and optionally `feature_names`)."""
    import scipy.sparse as sp
    if "y" not in arrays:
        raise DataError("holds a sparse matrix (scipy.sparse.save_npz) but no labels 'y': add "
                        "them with np.savez(path, y=y, **np.load(path))", path=where, column="y")
    try:
        X = as_csr(sp.load_npz(path))
    except (ValueError, NotImplementedError) as exc:
        raise DataError(f"cannot read its sparse matrix ({first_line(exc)})", path=where,
                        column="X") from None
    if X.shape[0] == 0 or X.shape[1] == 0:
        empty = "examples" if X.shape[0] == 0 else "features"
        raise DataError(f"the sparse matrix holds no {empty} (shape {X.shape})", path=where,
                        column="X")
    names = _npz_names(arrays, X.shape[1], where)
    if like is not None:
        same_columns(names, like, where)
        X = as_csr(X[:, [names.index(n) for n in like.columns]])
        names = like.columns
    check_finite(X, names, where)
    return Raw(X, arrays["y"], names, where, "y", columns=names)


def _npz_names(arrays: dict[str, np.ndarray], width: int, where: str) -> tuple[str, ...]:
    """An optional `feature_names` array of strings names the columns of X."""
    check_width(width, where)
    if "feature_names" not in arrays:
        return tuple(f"x{j}" for j in range(width))
    names = arrays["feature_names"]
    if names.shape != (width,):
        raise DataError(f"feature_names has shape {names.shape} but X has {width} columns",
                        path=where, column="feature_names")
    return tuple(str(n) for n in names)


def _read_svmlight(path: Path, spec: DataSpec, like: Raw | None = None) -> Raw:
    where = spec.path or str(path)
    try:     # a fixed valid / test file: read with the data file (same width, same base)
        files = [path] if like is None or like.file is None else [like.file, path]
        read, base = read_svmlight(files)
        X, y = read[-1]
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read this as svmlight/libsvm: {first_line(exc)}",
                        path=where) from None
    n, d = X.shape
    if n == 0:
        raise DataError("the file holds no examples", path=where)
    if X.nnz == 0:
        raise DataError(f"the file holds {n} labels but no feature values (index:value pairs)",
                        path=where)
    check_width(d, where)
    names = tuple(f"x{j + base}" for j in range(d))     # the file's own feature indices
    if like is not None:     # more features, or indices read 0-based only with this file
        same_columns(names, like, where)
    check_finite(X, names, where)
    return Raw(X, y, names, where, "label", columns=names)


def read_svmlight(paths: list[Path]) -> tuple[list[tuple[Any, np.ndarray]], int]:
    """(X, labels) of each svmlight/libsvm file, read together, and the index of the first
    feature: 1 (libsvm's convention) unless a file uses index 0 (scikit-learn's rule for
    zero_based="auto"). Each X is CSR float64 of one width; its column j holds the files'
    feature index j + that base."""
    from runtime.data.svmlight import read
    loaded = [read(path) for path in paths]
    base = 0 if any(X.nnz and X.indices.min() == 0 for X, _ in loaded) else 1
    width = max(X.shape[1] for X, _ in loaded)
    return [(as_csr(_with_width(X, width)[:, base:]), y) for X, y in loaded], base


def _with_width(X: Any, width: int) -> Any:
    """A CSR matrix with `width` columns, its own first (files read together share a width)."""
    import scipy.sparse as sp
    if X.shape[1] == width:
        return X
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], width))


FILE_READERS: dict[str, Callable[[Path, DataSpec, Raw | None], Raw]] = {
    "csv": _read_csv, "npz": _read_npz, "svmlight": _read_svmlight}


def check_width(features: int, where: str) -> None:
    """More features than this machine can hold (an svmlight index of 2000000000 makes that
    many columns): refused before anything per column is made."""
    from spec_lang.limits import features_problem
    problem = features_problem(features)
    if problem:
        raise DataError(f"{problem}: is a feature index wrong?", path=where)


def check_finite(X: Any, names: tuple[str, ...], where: str) -> None:
    """NaN or inf in features (dense, or the stored values of a sparse X): name every bad
    column, its count and first row."""
    if is_sparse(X):
        X, names = _bad_columns(X, names, lambda v: ~np.isfinite(v))
    bad = ~np.isfinite(X)
    cols = np.flatnonzero(bad.any(axis=0))
    if cols.size == 0:
        return
    counts = {names[j]: (int(bad[:, j].sum()), data_row(int(np.argmax(bad[:, j])))) for j in cols}
    advice = "nnspec does not impute; fill or drop them"
    if cols.size == 1:
        (name, (count, row)), = counts.items()
        raise DataError(f"{count} missing or infinite value(s) (first at data row {row}): "
                        f"{advice}", path=where, column=name)
    listed = ", ".join(f"'{n}' ({c}, first at data row {r})" for n, (c, r) in counts.items())
    raise DataError(f"missing or infinite values in columns {listed}: {advice}", path=where)


def max_magnitude(dtype: str | np.dtype, n: int) -> float:
    """The largest |value| whose statistics over `n` examples stay finite in `dtype`.

    Means, variances (standardize, PCA, the regression target's scaling), squared-error losses
    and weight gradients each sum `n` squared deviations; a deviation is at most twice the
    largest magnitude M, so n * (2M)**2 must not exceed the dtype's largest number.
    """
    return math.sqrt(float(np.finfo(dtype).max) / max(n, 1)) / 2


def check_magnitude(X: Any, names: tuple[str, ...], where: str, *, dtype: str,
                    advice: str, stage: str = "", rows: np.ndarray | None = None) -> None:
    """Refuse values beyond `max_magnitude(dtype, len(X))`: name the first such column, how
    many values, the first data row and the bound. `X` is finite, (n, d); `stage` says where;
    `rows` are the file's row indices of X's rows (default: X is the whole file)."""
    bound = max_magnitude(dtype, X.shape[0])
    if is_sparse(X):        # only stored values can be large: the columns holding one
        X, names = _bad_columns(X, names, lambda v: np.abs(v) > bound)
    bad = np.abs(X) > bound
    cols = np.flatnonzero(bad.any(axis=0))
    if cols.size == 0:
        return
    j = int(cols[0])
    at = np.flatnonzero(bad[:, j])
    row = int(at[np.argmin(rows[at])] if rows is not None else at[0])   # first in the file
    shown = data_row(int(rows[row]) if rows is not None else row)
    more = f" (and {cols.size - 1} more column(s))" if cols.size > 1 else ""
    raise DataError(f"{int(bad[:, j].sum())} value(s) too large{stage} (first at data row "
                    f"{shown}: {X[row, j]:.3g}){more}: over {X.shape[0]} examples, the "
                    f"squares of values beyond {bound:.2g} sum past {dtype}'s largest number, "
                    f"so variances and losses overflow; {advice}", path=where,
                    column=names[j] if j < len(names) else f"x{j}")


def _bad_columns(X: Any, names: tuple[str, ...], is_bad: Callable[[np.ndarray], np.ndarray]
                 ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The columns of sparse X holding a stored value `is_bad` says is bad, dense, with their
    names: the dense checks then name the same columns, counts and rows ((n, 0) when none is)."""
    csr = as_csr(X)
    cols = np.unique(csr.indices[is_bad(csr.data)])
    return csr[:, cols].toarray(), tuple(names[j] if j < len(names) else f"x{j}" for j in cols)



def data_row(index: int) -> int:
    """1-based data row (the header is not counted) of a 0-based position."""
    return int(index) + 1


def did_you_mean(word: str, choices: Any) -> str:
    """" (did you mean 'x'?)" for the choice closest to `word`, or ""."""
    hint = suggestion(word, choices)
    return f" ({hint})" if hint else ""


def suggestion(word: str, choices: Any) -> str:
    """"did you mean 'x'?" for the choice closest to `word` (case differences count as
    close), or ""."""
    by_lower = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return f"did you mean '{by_lower[close[0]]}'?" if close else ""


