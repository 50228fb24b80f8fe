"""Preprocessing: fitted on the training split only, each step's defining property, Log column
detection, and an exact round trip through np.savez / np.load(allow_pickle=False)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA
from sklearn.preprocessing import QuantileTransformer

from runtime.errors import DataError
from runtime.data.preprocess import Preprocessor, detect_heavy_tails, fit_preprocess
from spec_lang.config import PCA, Log, Quantile, Standardize


def correlated(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(5, 5)) + 3 * np.eye(5)
    return rng.normal(size=(n, 5)) @ mixing + np.arange(5)


def skewed(n: int = 400, seed: int = 0) -> np.ndarray:
    """Columns: normal, lognormal (heavy tail), negative lognormal, exponential**3 (heavy)."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.normal(size=n), rng.lognormal(0, 1.2, n),
                            -rng.lognormal(0, 1.2, n), rng.exponential(size=n) ** 3])


def test_fitted_on_train_only() -> None:
    X = correlated()
    train, rest = X[:100], X[100:] + 50.0          # the rest is shifted: a leak would show
    pre = fit_preprocess((Standardize(),), train)
    assert np.allclose(pre.arrays[0]["mean"], train.mean(axis=0))
    assert not np.allclose(pre.arrays[0]["mean"], X.mean(axis=0))
    out = pre.transform(train)
    assert np.allclose(out.mean(axis=0), 0) and np.allclose(out.std(axis=0), 1)
    assert pre.transform(rest).mean() > 10


def test_empty_steps_is_identity() -> None:
    X = correlated()
    out = fit_preprocess((), X).transform(X)
    assert np.array_equal(out, X) and out.dtype == np.float64 and out.flags.c_contiguous


@pytest.mark.parametrize("whiten", [False, True])
def test_pca_decorrelates_and_whitens(whiten: bool) -> None:
    X = correlated()
    pre = fit_preprocess((PCA(whiten=whiten),), X)
    cov = np.cov(pre.transform(X).T)
    assert np.allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-8)
    if whiten:
        assert np.allclose(cov, np.eye(5), atol=1e-8)
    reference = SkPCA(whiten=whiten, svd_solver="full").fit(X)
    assert np.allclose(pre.transform(X[:7]), reference.transform(X[:7]))


def test_pca_components_and_variance() -> None:
    X = correlated()
    assert fit_preprocess((PCA(components=2),), X).transform(X).shape == (300, 2)
    pre = fit_preprocess((PCA(variance=0.9),), X)
    ratios = pre.arrays[0]["explained_variance_ratio"]
    full = SkPCA(svd_solver="full").fit(X).explained_variance_ratio_
    k = len(ratios)
    assert ratios.sum() >= 0.9 > full[: k - 1].sum() and pre.transform(X).shape == (300, k)
    with pytest.raises(DataError, match="between 1 and"):
        fit_preprocess((PCA(components=9),), X)


def test_quantile_uniform_and_normal() -> None:
    X = skewed()
    train, other = X[:200], X[200:]
    pre = fit_preprocess((Quantile(),), train)
    out = pre.transform(train)
    assert out.min() >= 0 and out.max() <= 1 and np.allclose(out.min(axis=0), 0)
    assert np.allclose(out.max(axis=0), 1)
    assert len(pre.arrays[0]["references"]) == 200       # n_quantiles = min(1000, n_train)
    reference = QuantileTransformer(n_quantiles=200).fit(train)
    assert np.allclose(pre.transform(other), reference.transform(other))
    normal = fit_preprocess((Quantile(output="normal", quantiles=50),), train).transform(train)
    assert abs(np.median(normal)) < 0.1 and np.all(np.isfinite(normal))


def test_log_detects_heavy_tails_on_train_and_freezes() -> None:
    X = skewed()
    assert list(detect_heavy_tails(X)) == [1, 3]
    rare = (np.arange(400) % 20 == 0).astype(float)[:, None]     # a one-hot column: skew > 2
    assert list(detect_heavy_tails(np.hstack([X, rare]))) == [1, 3]
    pre = fit_preprocess((Log(),), X[:200])
    assert list(pre.arrays[0]["columns"]) == [1, 3]
    normalish = np.abs(np.random.default_rng(5).normal(size=(50, 4)))   # not skewed any more
    out = pre.transform(normalish)
    assert np.allclose(out[:, [1, 3]], np.log1p(normalish[:, [1, 3]]))
    assert np.array_equal(out[:, [0, 2]], normalish[:, [0, 2]])


def test_log_columns_by_index_and_name() -> None:
    X = np.abs(skewed())
    names = ("a", "b", "c", "d")
    by_name = fit_preprocess((Log(columns=("c", "a")),), X, names).transform(X)
    by_index = fit_preprocess((Log(columns=(2, 0)),), X).transform(X)
    assert np.array_equal(by_name, by_index)
    assert np.allclose(by_name[:, [0, 2]], np.log1p(X[:, [0, 2]]))
    with pytest.raises(DataError, match="did you mean 'b'"):
        fit_preprocess((Log(columns=("bb",)),), X, names)


def test_log_rejects_negative_values() -> None:
    X = skewed()
    with pytest.raises(DataError, match=r"column 'income'.*negative"):
        fit_preprocess((Log(columns=("income",)),), X, ("x", "y", "income", "z"))
    pre = fit_preprocess((Log(columns=(1,)),), X, ("x", "rain", "income", "z"))
    with pytest.raises(DataError, match=r"column 'rain'"):
        pre.transform(-X)
    with pytest.raises(DataError, match="negative"):      # after standardize: put log first
        fit_preprocess((Standardize(), Log(columns=(1,))), X)


def test_steps_apply_in_order() -> None:
    X = correlated()
    chained = fit_preprocess((Standardize(), PCA(components=3)), X).transform(X)
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    assert np.allclose(chained, SkPCA(3, svd_solver="full").fit_transform(standardized))


def test_state_round_trip_is_exact(tmp_path: Path) -> None:
    X = np.abs(skewed())
    steps = (Log(), Quantile(output="normal", quantiles=100), Standardize(),
             PCA(variance=0.95, whiten=True))
    pre = fit_preprocess(steps, X[:300], ("a", "b", "c", "d"))
    state = pre.state()
    assert all(a.dtype != object for a in state.values())
    np.savez(tmp_path / "pre.npz", **state)
    with np.load(tmp_path / "pre.npz", allow_pickle=False) as npz:
        restored = Preprocessor.from_state(dict(npz))
    assert restored.kinds == ["log", "quantile", "standardize", "pca"]
    assert np.array_equal(restored.transform(X[300:]), pre.transform(X[300:]))


def test_transform_checks_width() -> None:
    pre = fit_preprocess((Standardize(),), correlated())
    with pytest.raises(ValueError, match=r"\(n, 5\)"):
        pre.transform(np.ones((3, 4)))


def test_a_quantile_step_transforms_no_rows_to_no_rows() -> None:
    # a refit's validation part is empty; scikit-learn's QuantileTransformer refuses 0 rows
    X = np.random.default_rng(0).normal(size=(40, 3))
    prep = fit_preprocess((Quantile(),), X, ("a", "b", "c"))
    out = prep.transform(X[:0])
    assert out.shape == (0, 3) and out.dtype == np.float64
    assert prep.transform(X).shape == (40, 3)
