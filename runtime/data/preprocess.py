"""Preprocessing fitted on the training split only: standardize, PCA, quantiles, log1p.

Each step is fitted with the scikit-learn transformer named in the design and then reduced to its
fitted arrays; `transform` is computed from those arrays, so a Preprocessor restored from
`state()` (plain numeric/unicode arrays, safe for `np.savez` + `allow_pickle=False`) transforms
exactly like the one that was fitted.
"""
from __future__ import annotations

import difflib
from typing import Any, Callable

import numpy as np
from sklearn.decomposition import PCA as SkPCA
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from runtime.data.files import check_magnitude
from runtime.errors import DataError
from spec_lang.config import PCA, Log, PreprocessStep, Quantile, Standardize

SKEW_THRESHOLD = 2.0      # Log with no columns: log1p the non-negative columns skewed beyond this
Arrays = dict[str, np.ndarray]


# ------------------------------------------------------------------------------ fit: step -> arrays
def _fit_standardize(step: Standardize, X: np.ndarray, names: tuple[str, ...]) -> Arrays:
    scaler = StandardScaler().fit(X)
    return {"mean": scaler.mean_, "scale": scaler.scale_}


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
    pca = SkPCA(n_components=keep, whiten=step.whiten, svd_solver="full").fit(X)
    scale = np.sqrt(pca.explained_variance_) if step.whiten else np.ones(pca.n_components_)
    scale = np.maximum(scale, np.finfo(np.float64).eps)   # as sklearn: no division by ~0
    return {"mean": pca.mean_, "components": pca.components_, "scale": scale,
            "explained_variance_ratio": pca.explained_variance_ratio_}


def _fit_quantile(step: Quantile, X: np.ndarray, names: tuple[str, ...]) -> Arrays:
    if step.output not in ("uniform", "normal"):
        raise DataError(f"quantile output must be uniform or normal; got '{step.output}'")
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

    def __init__(self, kinds: list[str], arrays: list[Arrays], n_features_in: int) -> None:
        self.kinds = kinds
        self.arrays = arrays
        self.n_features_in = n_features_in

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Apply every fitted step to X (n, n_features_in); float64, C-contiguous."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in:
            raise ValueError(f"expected an array of shape (n, {self.n_features_in}); "
                             f"got {X.shape}")
        for kind, arrays in zip(self.kinds, self.arrays):
            X = APPLY[kind](arrays, X)
        return np.ascontiguousarray(X, dtype=np.float64)

    def names_out(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The names of `transform`'s columns given those of its input: PCA's are pc0, pc1..."""
        if "pca" not in self.kinds:
            return tuple(names)
        width = next(a["components"].shape[0] for k, a in zip(self.kinds, self.arrays)
                     if k == "pca")
        return tuple(f"pc{j}" for j in range(width))

    def state(self) -> dict[str, np.ndarray]:
        """Every fitted array under `"<i>.<name>"`, plus `steps` and `n_features_in`."""
        out: dict[str, np.ndarray] = {"steps": np.array(self.kinds, dtype=np.str_),
                                      "n_features_in": np.array(self.n_features_in)}
        for i, arrays in enumerate(self.arrays):
            out.update({f"{i}.{name}": np.asarray(value) for name, value in arrays.items()})
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
        return cls(kinds, arrays, int(state["n_features_in"]))


def fit_preprocess(steps: tuple[PreprocessStep, ...], X_train: np.ndarray,
                   feature_names: tuple[str, ...] = (),
                   sample_weight: np.ndarray | None = None) -> Preprocessor:
    """Fit `steps` in order on the training features only and return the fitted Preprocessor.

    `feature_names` lets Log name its columns; they follow the data through every step except PCA
    (whose outputs are `pc0`, `pc1`, ...). `sample_weight` (n,) weights the rows of standardize's
    mean and variance (as repeated rows would); the other steps are fitted unweighted.
    """
    X = np.asarray(X_train, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"cannot fit preprocessing on training features of shape {X.shape}")
    names = tuple(feature_names) or tuple(f"x{j}" for j in range(X.shape[1]))
    kinds, fitted = [], []
    for step in steps:
        kind, fit = STEPS[type(step)]
        if kind == "standardize" and sample_weight is not None:
            scaler = StandardScaler().fit(X, sample_weight=sample_weight)
            arrays = {"mean": scaler.mean_, "scale": scaler.scale_}
        else:
            arrays = fit(step, X, names)
        X = APPLY[kind](arrays, X)    # the next step is fitted on this step's training output
        kinds.append(kind)
        fitted.append(arrays)
        names = names if kind != "pca" else tuple(f"pc{j}" for j in range(X.shape[1]))
    return Preprocessor(kinds, fitted, np.asarray(X_train).shape[1])


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
