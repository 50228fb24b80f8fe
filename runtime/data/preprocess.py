"""Preprocessing fitted on the training split only: standardize, PCA, quantiles, log1p.

Each step is fitted with the scikit-learn transformer named in the design and then reduced to its
fitted arrays; `transform` is computed from those arrays, so a Preprocessor restored from
`state()` (plain numeric/unicode arrays, safe for `np.savez` + `allow_pickle=False`) transforms
exactly like the one that was fitted. Standardize, the default, is fitted in NumPy with
StandardScaler's own arithmetic (`standardize_stats`: the same bits), and scikit-learn is
imported only by the steps that use it: a worker that trains with standardize never imports it.
"""
from __future__ import annotations

import difflib
from typing import Any, Callable

import numpy as np

from runtime.data.files import CODE_MARK, check_magnitude
from runtime.errors import DataError
from runtime.sparse import as_csr, column_stats, is_sparse
from spec_lang.config import PCA, Log, PreprocessStep, Quantile, Standardize

SKEW_THRESHOLD = 2.0      # Log with no columns: log1p the non-negative columns skewed beyond this
Arrays = dict[str, np.ndarray]


# ------------------------------------------------------------------------------ fit: step -> arrays
def _fit_standardize(step: Standardize, X: np.ndarray, names: tuple[str, ...]) -> Arrays:
    mean, scale = standardize_stats(X)
    return {"mean": mean, "scale": scale}


def standardize_stats(X: np.ndarray, sample_weight: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The `mean_` and `scale_` that `StandardScaler().fit(X, sample_weight=...)` gives for a
    float64 X (n, d), bit for bit, computed with its operations in its order: the column sums
    (weighted: `w @ X`), the corrected two-pass variance of Chan, Golub and LeVeque, and scale
    1 for columns indistinguishable from constant (variance within that algorithm's rounding
    bound). A non-finite X (NaN, whose rows StandardScaler skips) is left to StandardScaler."""
    X = np.asarray(X, dtype=np.float64)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

    def column_sum(A: np.ndarray) -> np.ndarray:
        # Its weighted sums multiply a fresh copy of A (np.where of the NaN mask): so here.
        return np.sum(A, axis=0) if w is None else w @ np.where(False, 0.0, A)

    total = column_sum(X)
    if not np.isfinite(total).all():
        from sklearn.preprocessing import StandardScaler
        scaler = StandardScaler().fit(X, sample_weight=sample_weight)
        return scaler.mean_, scaler.scale_
    count = np.full(X.shape[1], float(X.shape[0])) if w is None else \
        np.sum(w[:, None] * np.ones_like(X), axis=0)   # X's layout: its summation order
    mean = (0.0 + total) / count
    temp = X - total / count
    correction = column_sum(temp)
    temp **= 2
    var = (column_sum(temp) - correction**2 / count) / count
    n = count[0]
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    with np.errstate(invalid="ignore"):        # a rounding-negative variance: constant anyway
        scale = np.sqrt(var)
    scale[constant] = 1.0
    return mean, scale


def _fit_pca(step: PCA, X: np.ndarray, names: tuple[str, ...]) -> Arrays:
    limit = min(X.shape)
    if step.components is not None and not 1 <= step.components <= limit:
        raise DataError(f"pca components must be between 1 and min(training examples, features)"
                        f" = {limit}; got {step.components}")
    if step.variance is not None and not 0 < step.variance <= 1:
        raise DataError(f"pca variance must be in (0, 1]; got {step.variance}")
    keep = step.components if step.components is not None else step.variance
    if step.components is None and step.variance == 1:
        keep = None                        # all the variance: every component
    # "full" SVD: deterministic (the randomized solver would depend on an unseeded state).
    from sklearn.decomposition import PCA as SkPCA
    pca = SkPCA(n_components=keep, whiten=step.whiten, svd_solver="full").fit(X)
    scale = np.sqrt(pca.explained_variance_) if step.whiten else np.ones(pca.n_components_)
    scale = np.maximum(scale, np.finfo(np.float64).eps)   # as sklearn: no division by ~0
    return {"mean": pca.mean_, "components": pca.components_, "scale": scale,
            "explained_variance_ratio": pca.explained_variance_ratio_}


def _fit_quantile(step: Quantile, X: np.ndarray, names: tuple[str, ...]) -> Arrays:
    if step.output not in ("uniform", "normal"):
        raise DataError(f"quantile output must be uniform or normal; got '{step.output}'")
    from sklearn.preprocessing import QuantileTransformer
    qt = QuantileTransformer(n_quantiles=max(1, min(step.quantiles, X.shape[0])),
                             output_distribution=step.output, random_state=0).fit(X)
    return {"quantiles": qt.quantiles_, "references": qt.references_,
            "output": np.array(step.output)}


def _fit_log(step: Log, X: np.ndarray, names: tuple[str, ...]) -> Arrays:
    cols = (np.array([_column_index(c, X.shape[1], names) for c in step.columns], dtype=np.int64)
            if step.columns else detect_heavy_tails(X))
    kept = np.array([names[j] for j in cols], dtype=np.str_).reshape(-1)
    _check_non_negative(X, cols, kept, "the training split")
    return {"columns": cols, "names": kept}    # frozen: valid/test use the same columns


def detect_heavy_tails(X: np.ndarray, threshold: float = SKEW_THRESHOLD) -> np.ndarray:
    """Indices of the columns of X that are non-negative with skewness above `threshold`.

    Columns with two or fewer distinct values (0/1 indicators, e.g. one-hot columns of a rare
    category) are skewed but not heavy-tailed: they are left alone.
    """
    centered = X - X.mean(axis=0)
    m2 = (centered**2).mean(axis=0)
    m3 = (centered**3).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(m2 > 0, m3 / np.power(m2, 1.5), 0.0)
    distinct = (np.diff(np.sort(X, axis=0), axis=0) != 0).sum(axis=0) + 1
    chosen = (X.min(axis=0) >= 0) & (skew > threshold) & (distinct > 2)
    return np.flatnonzero(chosen).astype(np.int64)


# ------------------------------------------------------------------------- transform: arrays -> X
def _apply_standardize(a: Arrays, X: np.ndarray) -> np.ndarray:
    return (X - a["mean"]) / a["scale"]


def _apply_pca(a: Arrays, X: np.ndarray) -> np.ndarray:
    return ((X - a["mean"]) @ a["components"].T) / a["scale"]


def _apply_quantile(a: Arrays, X: np.ndarray) -> np.ndarray:
    if not len(X):               # a refit's empty validation part: scikit-learn refuses 0 rows
        return X.copy()
    from sklearn.preprocessing import QuantileTransformer
    qt = QuantileTransformer(n_quantiles=len(a["references"]),
                             output_distribution=str(a["output"]))
    qt.quantiles_, qt.references_ = a["quantiles"], a["references"]
    qt.n_quantiles_, qt.n_features_in_ = len(a["references"]), a["quantiles"].shape[1]
    return qt.transform(X)


def _apply_log(a: Arrays, X: np.ndarray) -> np.ndarray:
    _check_non_negative(X, a["columns"], a["names"], "the data to transform")
    out = X.copy()
    out[:, a["columns"]] = np.log1p(X[:, a["columns"]])
    return out


STEPS: dict[type, tuple[str, Callable[..., Arrays]]] = {
    Standardize: ("standardize", _fit_standardize), PCA: ("pca", _fit_pca),
    Quantile: ("quantile", _fit_quantile), Log: ("log", _fit_log)}
APPLY: dict[str, Callable[[Arrays, np.ndarray], np.ndarray]] = {
    "standardize": _apply_standardize, "pca": _apply_pca, "quantile": _apply_quantile,
    "log": _apply_log}


# ------------------------------------------------------------------------------------ the object
class Preprocessor:
    """A fitted sequence of steps: `transform` applies them in order."""

    def __init__(self, kinds: list[str], arrays: list[Arrays], n_features_in: int,
                 codes: list[np.ndarray] | None = None) -> None:
        self.kinds = kinds
        self.arrays = arrays
        self.n_features_in = n_features_in
        # Embedded columns (the last len(codes)): the steps never see them; codes[j] maps the
        # data file's code of column j to its code among the categories seen in training.
        self.codes = codes or []

    def transform(self, X: Any) -> Any:
        """Apply every fitted step to X (n, n_features_in); float64, C-contiguous (a sparse X
        stays CSR when every step keeps zeros at zero: see `sparse_steps`)."""
        if is_sparse(X):
            return self._transform_sparse(X)
        if self.codes:
            return self._transform_codes(X)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in:
            raise ValueError(f"expected an array of shape (n, {self.n_features_in}); "
                             f"got {X.shape}")
        for kind, arrays in zip(self.kinds, self.arrays):
            X = APPLY[kind](arrays, X)
        return np.ascontiguousarray(X, dtype=np.float64)

    def _transform_sparse(self, X: Any) -> Any:
        """Sparse X through steps that keep it sparse (scaling without centering); any other
        step sees it densified (e.g. a model fitted on dense data predicting sparse rows)."""
        X = as_csr(X)
        if X.shape[1] != self.n_features_in:
            raise ValueError(f"expected an array of shape (n, {self.n_features_in}); "
                             f"got {X.shape}")
        if not all(keeps_sparse(kind, arrays) for kind, arrays in zip(self.kinds, self.arrays)):
            return self.transform(X.toarray())
        for arrays in self.arrays:                 # standardize without centering
            X = X.copy()
            X.data /= arrays["scale"][X.indices]
        return X

    def _transform_codes(self, X: Any) -> np.ndarray:
        """The steps on the numeric columns; the embedded columns' codes mapped to training's
        (`remap_codes`) and kept last."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in:
            raise ValueError(f"expected an array of shape (n, {self.n_features_in}); "
                             f"got {X.shape}")
        k = len(self.codes)
        numeric = Preprocessor(self.kinds, self.arrays, self.n_features_in - k)
        return np.ascontiguousarray(np.hstack([numeric.transform(X[:, :-k]),
                                               remap_codes(self.codes, X[:, -k:])]))

    def names_out(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The names of `transform`'s columns given those of its input: PCA's are pc0, pc1...
        (embedded columns keep theirs, last)."""
        if "pca" not in self.kinds:
            return tuple(names)
        width = next(a["components"].shape[0] for k, a in zip(self.kinds, self.arrays)
                     if k == "pca")
        kept = tuple(names[len(names) - len(self.codes):]) if self.codes else ()
        return tuple(f"pc{j}" for j in range(width)) + kept

    def state(self) -> dict[str, np.ndarray]:
        """Every fitted array under `"<i>.<name>"`, plus `steps` and `n_features_in`."""
        out: dict[str, np.ndarray] = {"steps": np.array(self.kinds, dtype=np.str_),
                                      "n_features_in": np.array(self.n_features_in)}
        for i, arrays in enumerate(self.arrays):
            out.update({f"{i}.{name}": np.asarray(value) for name, value in arrays.items()})
        if self.codes:
            out["n_codes"] = np.array(len(self.codes))
            out.update({f"codes.{j}": np.asarray(m) for j, m in enumerate(self.codes)})
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> Preprocessor:
        """Rebuild a Preprocessor from `state()` (e.g. loaded with `np.load(allow_pickle=False)`)."""
        kinds = [str(k) for k in np.asarray(state["steps"]).reshape(-1)]
        arrays: list[Arrays] = [{} for _ in kinds]
        for key in state:
            index, dot, name = key.partition(".")
            if dot and index.isdigit():
                arrays[int(index)][name] = np.asarray(state[key])
        codes = [np.asarray(state[f"codes.{j}"], dtype=np.int64)
                 for j in range(int(state["n_codes"]) if "n_codes" in state else 0)]
        return cls(kinds, arrays, int(state["n_features_in"]), codes)


def fit_preprocess(steps: tuple[PreprocessStep, ...], X_train: np.ndarray,
                   feature_names: tuple[str, ...] = (),
                   sample_weight: np.ndarray | None = None) -> Preprocessor:
    """Fit `steps` in order on the training features only and return the fitted Preprocessor.

    `feature_names` lets Log name its columns; they follow the data through every step except PCA
    (whose outputs are `pc0`, `pc1`, ...). `sample_weight` (n,) weights the rows of standardize's
    mean and variance (as repeated rows would); the other steps are fitted unweighted.
    """
    if is_sparse(X_train):
        return _fit_sparse(steps, as_csr(X_train), sample_weight)
    k = sum(1 for name in feature_names if name.endswith(CODE_MARK))
    if k:
        return _fit_with_codes(steps, np.asarray(X_train, dtype=np.float64),
                               tuple(feature_names), sample_weight, k)
    X = np.asarray(X_train, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"cannot fit preprocessing on training features of shape {X.shape}")
    names = tuple(feature_names) or tuple(f"x{j}" for j in range(X.shape[1]))
    kinds, fitted = [], []
    for step in steps:
        kind, fit = STEPS[type(step)]
        if kind == "standardize" and sample_weight is not None:
            mean, scale = standardize_stats(X, sample_weight)
            arrays = {"mean": mean, "scale": scale}
        else:
            arrays = fit(step, X, names)
        X = APPLY[kind](arrays, X)    # the next step is fitted on this step's training output
        kinds.append(kind)
        fitted.append(arrays)
        names = names if kind != "pca" else tuple(f"pc{j}" for j in range(X.shape[1]))
    return Preprocessor(kinds, fitted, np.asarray(X_train).shape[1])


def _fit_sparse(steps: tuple[PreprocessStep, ...], X: Any,
                sample_weight: np.ndarray | None) -> Preprocessor:
    """Preprocessing of sparse training features, which must stay sparse: `standardize`
    divides each column by its standard deviation (the implicit zeros counted) without
    subtracting the mean (centering would make every zero non-zero, as scikit-learn's
    StandardScaler(with_mean=False)); the other steps would densify, so they are refused."""
    if X.shape[0] == 0:
        raise DataError(f"cannot fit preprocessing on training features of shape {X.shape}")
    arrays = []
    for step in steps:
        kind = STEPS[type(step)][0]
        if kind != "standardize":
            raise DataError(f"preprocess {kind} would make the sparse features dense ("
                            f"{X.shape[1]} columns); on sparse inputs nnspec scales only: use "
                            "'preprocess standardize' (no centering) or 'preprocess none'")
        _, var = column_stats(X, sample_weight)
        scale = np.sqrt(var)
        scale[scale == 0] = 1.0                    # as StandardScaler: constant columns as they are
        arrays.append({"mean": np.zeros(X.shape[1]), "scale": scale})
    return Preprocessor(["standardize"] * len(arrays), arrays, X.shape[1])


def keeps_sparse(kind: str, arrays: Arrays) -> bool:
    """Whether a fitted step maps zeros to zeros (so a sparse input can stay sparse): a
    standardize step fitted without centering."""
    return kind == "standardize" and not np.any(arrays["mean"])


def _fit_with_codes(steps: tuple[PreprocessStep, ...], X: np.ndarray, names: tuple[str, ...],
                    sample_weight: np.ndarray | None, k: int) -> Preprocessor:
    """The steps fitted on the numeric columns only (none when every column is embedded), and
    each of the last `k` columns' (embedded, `runtime.data.files.code_name`) category codes
    renumbered 1..m over the m categories its training rows hold; any other code (a category
    seen in validation or test only) becomes 0, the embedding's "unknown" row."""
    if X.ndim != 2 or X.shape[0] == 0 or not all(n.endswith(CODE_MARK) for n in names[-k:]):
        raise DataError(f"cannot fit preprocessing on training features of shape {X.shape} "
                        "with the embedded columns last")
    numeric = X[:, :-k]
    inner = fit_preprocess(steps, numeric, names[:-k], sample_weight) if numeric.shape[1] \
        else Preprocessor([], [], 0)
    maps = []
    for j in range(k):
        seen = np.unique(X[:, X.shape[1] - k + j].astype(np.int64))
        seen = seen[seen >= 1]
        mapping = np.zeros(int(seen.max(initial=0)) + 1, dtype=np.int64)
        mapping[seen] = np.arange(1, len(seen) + 1)
        maps.append(mapping)
    return Preprocessor(inner.kinds, inner.arrays, X.shape[1], maps)


def remap_codes(maps: list[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """Column j of `codes` (n, len(maps)) through maps[j]; codes it does not cover -> 0."""
    out = np.zeros(codes.shape, dtype=np.float64)
    for j, mapping in enumerate(maps):
        c = codes[:, j].astype(np.int64)
        inside = (c >= 0) & (c < len(mapping))
        out[:, j] = np.where(inside, mapping[np.where(inside, c, 0)], 0)
    return out


def check_trainable(prep: Preprocessor, transformed: np.ndarray, train: np.ndarray, dtype: str,
                    feature_names: tuple[str, ...], where: str) -> None:
    """Refuse training features whose magnitude after `prep` (`transformed`, the rows `train`
    of the data set) the network cannot train on in `dtype`
    (`runtime.data.files.max_magnitude`): e.g. raw values of 1e30 without standardize in
    float32. Raises DataError naming the column and the file's row."""
    steps = ", ".join(prep.kinds) or "none"
    advice = ("standardize it (preprocess standardize)" if dtype == "float64" else
              "standardize it (preprocess standardize) or train in float64 (dtype float64)")
    check_magnitude(transformed, prep.names_out(feature_names), where,
                    dtype=dtype, advice=advice, rows=train,
                    stage=f" for {dtype} training after preprocessing ({steps})")


# ------------------------------------------------------------------------------------------ small
def _column_index(column: Any, width: int, names: tuple[str, ...]) -> int:
    """A Log column given as an index or a feature name, checked."""
    if isinstance(column, str):
        if column in names:
            return names.index(column)
        close = difflib.get_close_matches(column, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(f"log: no feature named '{column}'{hint}", column=column)
    if not -width <= int(column) < width:
        raise DataError(f"log: column index {column} is out of range for {width} features")
    return int(column) % width


def _check_non_negative(X: np.ndarray, cols: np.ndarray, names: np.ndarray,
                        where: str) -> None:
    """log1p is for non-negative data: name the first column that has a negative value."""
    for j, label in zip(cols, names):
        negative = X[:, j] < 0
        if negative.any():
            raise DataError(f"log: {int(negative.sum())} negative value(s) in {where} (e.g. "
                            f"{X[negative, j][0]:g}); log1p needs values >= 0 (put log before "
                            "standardize or pca)", column=str(label))
