"""Sparse inputs from loading to preprocessing: svmlight files and scipy.sparse .npz files stay
CSR (named by the file's own indices), `make_sparse` generates a CSR bag of words, `standardize`
on sparse inputs scales without centering (as StandardScaler(with_mean=False)) and the steps
that would densify are refused with a message."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file, load_svmlight_file
from sklearn.preprocessing import StandardScaler

from runtime.data.preprocess import fit_preprocess
from runtime.data.sources import load_dataset
from runtime.data.sparse_text import make_sparse
from runtime.errors import DataError
from runtime.execution.keys import data_identity
from spec_lang.config import PCA, DataSpec, Log, Quantile, Standardize


def random_csr(n: int = 50, d: int = 300, seed: int = 0) -> sp.csr_matrix:
    return sp.random(n, d, density=0.05, format="csr", random_state=seed) * 10


def test_a_one_based_svmlight_file_is_read_as_it_is_written(tmp_path: Path) -> None:
    X, y = random_csr(), np.arange(50) % 3
    dump_svmlight_file(X, y, str(tmp_path / "d.svm"), zero_based=False)
    data = load_dataset(DataSpec("file", "d.svm"), tmp_path)
    assert data.X.format == "csr" and data.X.shape[0] == 50
    expected, _ = load_svmlight_file(str(tmp_path / "d.svm"))      # sklearn's own reading
    np.testing.assert_array_equal(data.X.toarray(), expected.toarray()[:, :data.X.shape[1]])
    assert data.feature_names[:3] == ("x1", "x2", "x3")              # the file's indices
    assert data.n_classes == 3


def test_a_zero_based_svmlight_file_keeps_its_column_zero(tmp_path: Path) -> None:
    (tmp_path / "z.svm").write_text("1 0:2 3:1\n0 1:1\n1 0:1\n")
    data = load_dataset(DataSpec("file", "z.svm"), tmp_path)
    assert data.feature_names == ("x0", "x1", "x2", "x3")
    np.testing.assert_array_equal(data.X.toarray(), [[2, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]])


def test_a_scipy_sparse_npz_is_read_sparse(tmp_path: Path) -> None:
    X = random_csr(seed=1)
    sp.save_npz(tmp_path / "x.npz", X)
    np.savez(tmp_path / "d.npz", y=np.arange(50) % 2, **np.load(tmp_path / "x.npz"))
    data = load_dataset(DataSpec("file", "d.npz"), tmp_path)
    assert data.X.format == "csr" and data.X.shape == (50, 300)
    np.testing.assert_array_equal(data.X.toarray(), X.toarray())


def test_a_sparse_npz_without_labels_says_how_to_add_them(tmp_path: Path) -> None:
    sp.save_npz(tmp_path / "x.npz", random_csr())
    with pytest.raises(DataError) as info:
        load_dataset(DataSpec("file", "x.npz"), tmp_path)
    assert "x.npz" in str(info.value) and "np.savez" in str(info.value)


def test_non_finite_sparse_values_name_their_column_and_row(tmp_path: Path) -> None:
    (tmp_path / "bad.svm").write_text("1 1:1 4:2\n0 2:1\n1 3:inf\n")
    with pytest.raises(DataError, match=r"bad.svm: column 'x3'.*data row 3"):
        load_dataset(DataSpec("file", "bad.svm"), tmp_path)


def test_make_sparse_is_a_deterministic_csr_bag_of_words() -> None:
    spec = DataSpec(source="make_sparse", samples=400, features=5000, classes=4, nonzeros=20)
    X, y = make_sparse(spec)
    again, y_again = make_sparse(spec)
    assert X.format == "csr" and X.shape == (400, 5000)
    assert (X != again).nnz == 0 and np.array_equal(y, y_again)
    per_row = np.diff(X.indptr)
    assert per_row.max() <= 20 and per_row.mean() > 12             # repeated words add up
    assert set(np.unique(X.data)) <= set(range(1, 61)) and set(y) == {0, 1, 2, 3}
    other, _ = make_sparse(DataSpec(source="make_sparse", samples=400, features=5000,
                                    classes=4, seed=1))
    assert (X != other).nnz > 0


def test_make_sparse_through_the_loader_and_its_errors() -> None:
    data = load_dataset(DataSpec(source="make_sparse", samples=300, features=2000, classes=3),
                        Path("."))
    assert data.X.format == "csr" and data.task == "classification" and data.n_classes == 3
    with pytest.raises(DataError, match="nonzeros"):
        load_dataset(DataSpec(source="make_sparse", samples=10, features=5, nonzeros=20),
                     Path("."))


def test_nonzeros_is_part_of_the_data_identity_for_make_sparse_only() -> None:
    assert "nonzeros" not in data_identity(DataSpec(source="digits"), ".")
    sparse = data_identity(DataSpec(source="make_sparse", nonzeros=30), ".")
    assert sparse["nonzeros"] == 30


def test_standardize_on_sparse_inputs_scales_like_standard_scaler_without_mean() -> None:
    X = random_csr(n=80, d=50, seed=2)
    prep = fit_preprocess((Standardize(),), X)
    out = prep.transform(X)
    assert sp.issparse(out) and out.nnz == X.nnz                     # zeros stay zeros
    expected = StandardScaler(with_mean=False).fit(X).transform(X)
    np.testing.assert_allclose(out.toarray(), expected.toarray(), rtol=1e-12)
    w = np.random.default_rng(0).random(80) + 0.5                  # weighted: repeated rows
    weighted = fit_preprocess((Standardize(),), X, sample_weight=w).transform(X)
    expected = StandardScaler(with_mean=False).fit(X, sample_weight=w).transform(X)
    np.testing.assert_allclose(weighted.toarray(), expected.toarray(), rtol=1e-10)


def test_a_sparse_model_transforms_dense_rows_the_same_way() -> None:
    X = random_csr(n=80, d=50, seed=3)
    prep = fit_preprocess((Standardize(),), X)
    np.testing.assert_allclose(prep.transform(X.toarray()), prep.transform(X).toarray())


@pytest.mark.parametrize("step, name", [(PCA(), "pca"), (Quantile(), "quantile"),
                                        (Log(), "log")])
def test_steps_that_would_densify_sparse_inputs_are_refused(step, name) -> None:
    with pytest.raises(DataError, match=f"preprocess {name} would make the sparse features "
                                        "dense.*standardize"):
        fit_preprocess((Standardize(), step), random_csr())
