"""Data sources: every source loads with the right task and shape; broken data is a DataError that
names the file and the column."""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from runtime.data import files as datafiles
from runtime.data.sources import infer_task, load_dataset
from runtime.errors import DataError
from runtime.types import Dataset
from spec_lang.config import DataSpec

SHIPPED = Path(__file__).resolve().parents[3] / "specs" / "data"


def load_file(base: Path, path: str, **kw: object) -> Dataset:
    return load_dataset(DataSpec(source="file", path=path, **kw), base)


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def error_of(base: Path, path: str, **kw: object) -> str:
    with pytest.raises(DataError) as info:
        load_file(base, path, **kw)
    return str(info.value)


# ------------------------------------------------------------------------------- working sources
@pytest.mark.parametrize("source, task, shape, n_classes", [
    ("digits", "classification", (1797, 64), 10),
    ("iris", "classification", (150, 4), 3),
    ("wine", "classification", (178, 13), 3),
    ("breast_cancer", "classification", (569, 30), 2),
    ("diabetes", "regression", (442, 10), 0),
])
def test_bundled(source: str, task: str, shape: tuple[int, int], n_classes: int) -> None:
    ds = load_dataset(DataSpec(source=source), Path("."))
    assert (ds.task, ds.X.shape, ds.n_classes) == (task, shape, n_classes)
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous
    assert len(ds.feature_names) == shape[1]
    if task == "classification":
        assert ds.y.dtype == np.int64 and set(ds.y) == set(range(n_classes))


def test_bundled_class_names() -> None:
    assert load_dataset(DataSpec(source="iris"), Path(".")).classes == (
        "setosa", "versicolor", "virginica")


@pytest.mark.parametrize("source, task, n_features, y_shape, n_classes", [
    ("make_classification", "classification", 8, (120,), 3),
    ("make_regression", "regression", 8, (120,), 0),
    ("make_multilabel", "multilabel", 8, (120, 3), 3),
    ("make_moons", "classification", 2, (120,), 2),
    ("make_circles", "classification", 2, (120,), 2),
    ("make_friedman1", "regression", 8, (120,), 0),
])
def test_generators(source: str, task: str, n_features: int, y_shape: tuple[int, ...],
                    n_classes: int) -> None:
    spec = DataSpec(source=source, samples=120, features=8, classes=3, noise=0.1, seed=3)
    ds = load_dataset(spec, Path("."))
    assert (ds.task, ds.X.shape, ds.y.shape, ds.n_classes) == (task, (120, n_features), y_shape,
                                                               n_classes)
    again = load_dataset(spec, Path("."))
    assert np.array_equal(ds.X, again.X) and np.array_equal(ds.y, again.y)


def test_generator_seed_changes_data() -> None:
    a = load_dataset(DataSpec(source="make_moons", samples=50, seed=0), Path("."))
    b = load_dataset(DataSpec(source="make_moons", samples=50, seed=1), Path("."))
    assert not np.array_equal(a.X, b.X)


def test_generator_bad_parameters_are_data_errors() -> None:
    with pytest.raises(DataError, match="make_classification"):
        load_dataset(DataSpec(source="make_classification", features=4, informative=9),
                     Path("."))
    with pytest.raises(DataError, match="make_friedman1"):
        load_dataset(DataSpec(source="make_friedman1", features=3), Path("."))


def test_shipped_csv_one_hot() -> None:
    ds = load_file(SHIPPED, "plants.csv", target="species")
    assert ds.task == "classification" and ds.classes == ("fern", "moss", "palm")
    assert ds.X.shape == (300, 7)
    assert ds.feature_names == ("height_cm", "leaf_width_mm", "leaf_count", "rainfall_mm",
                                "soil=clay", "soil=loam", "soil=sand")
    assert np.array_equal(ds.X[:, 4:].sum(axis=1), np.ones(300))
    assert load_file(SHIPPED, "plants.csv").feature_names == ds.feature_names  # last column


def test_shipped_npz_and_svmlight() -> None:
    blobs = load_file(SHIPPED, "blobs.npz")
    assert (blobs.X.shape, blobs.task, blobs.n_classes) == ((240, 5), "classification", 3)
    assert blobs.feature_names == ("f0", "f1", "f2", "f3", "f4")
    sparse = load_file(SHIPPED, "sparse.svm")
    assert (sparse.X.shape, sparse.task, sparse.classes) == ((200, 40), "classification",
                                                             (-1.0, 1.0))
    assert sparse.X.format == "csr" and sparse.X.dtype == np.float64     # never densified
    assert sparse.X.has_canonical_format


def test_make_data_is_deterministic(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_data", SHIPPED / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path in module.write_all(tmp_path):
        assert path.read_bytes() == (SHIPPED / path.name).read_bytes(), path.name


def test_csv_named_target_and_regression(tmp_path: Path) -> None:
    rows = "\n".join(f"{i * 0.37:.2f},{i},{(i * 7) % 5}" for i in range(60))
    base = write(tmp_path, "t.csv", "price,a,b\n" + rows + "\n")
    ds = load_file(base, "t.csv", target="price")
    assert ds.task == "regression" and ds.feature_names == ("a", "b")
    assert ds.y.dtype == np.float64
    assert load_file(base, "t.csv").task == "classification"        # b: 5 integer values
    assert load_file(base, "t.csv", task="regression").task == "regression"


def test_explicit_format_overrides_extension(tmp_path: Path) -> None:
    base = write(tmp_path, "data.dat", "1 1:0.5\n0 2:1.5\n1 1:2\n0 2:1\n")
    ds = load_file(base, "data.dat", format="svmlight")
    assert ds.X.shape == (4, 2) and ds.task == "classification"


def test_npz_images_flattened_and_multilabel(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "m.npz", X=rng.random((30, 2, 3)), y=rng.integers(0, 2, (30, 4)))
    ds = load_file(tmp_path, "m.npz")
    assert ds.X.shape == (30, 6) and ds.task == "multilabel" and ds.n_classes == 4


@pytest.mark.parametrize("y, task", [
    (np.array(["a", "b"] * 10), "classification"),
    (np.array([0, 1] * 5), "classification"),
    (np.arange(100) % 4, "classification"),
    (np.arange(100) % 30, "regression"),               # 30 values in 100 rows: too many
    (np.linspace(0, 1, 100), "regression"),
    (np.array([[0, 1], [1, 1], [0, 0]]), "multilabel"),
    (np.array([[0.5, 1], [1, 2], [0, 3]]), "regression"),
])
def test_infer_task(y: np.ndarray, task: str) -> None:
    assert infer_task(y) == task


# ------------------------------------------------------------------------------------ broken data
def test_missing_file(tmp_path: Path) -> None:
    assert "nope.csv" in error_of(tmp_path, "nope.csv")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    assert "d.csv: is a folder, not a data file" in error_of(tmp_path, "d.csv")


def test_unknown_extension(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "x.xlsx", "a,b\n1,2\n"), "x.xlsx")
    assert "x.xlsx" in message and "format" in message


@pytest.mark.parametrize("text, expected", [
    ("", "empty"),
    ("a,b,c\n", "no data rows"),
    ("1,2,3\n4,5,6\n", "header"),
    ("a,b\n1,2\n3,4,5,6\n", "cannot read"),
])
def test_unreadable_csv(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(write(tmp_path, "bad.csv", text), "bad.csv")
    assert "bad.csv" in message and expected in message


def test_binary_file_as_csv(tmp_path: Path) -> None:
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81\x82" * 50)
    assert "bin.csv" in error_of(tmp_path, "bin.csv")


def test_repeated_column_name(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "bad.csv", "a,b,a,y\n1,2,3,0\n4,5,6,1\n"), "bad.csv")
    assert "bad.csv" in message and "column 'a'" in message and "2 times" in message


def test_missing_target_lists_columns(tmp_path: Path) -> None:
    base = write(tmp_path, "bad.csv", "height,weight,label\n1,2,0\n3,4,1\n")
    message = error_of(base, "bad.csv", target="lable")
    assert "bad.csv" in message and "'lable'" in message
    assert "height, weight, label" in message and "did you mean 'label'" in message


def test_nan_in_feature_names_column_count_and_row(tmp_path: Path) -> None:
    base = write(tmp_path, "bad.csv", "a,b,y\n1,2,0\n3,,1\n5,,0\n7,8,1\n")
    message = error_of(base, "bad.csv")
    assert "bad.csv" in message and "column 'b'" in message
    assert "2 missing" in message and "row 2" in message


def test_inf_in_several_columns(tmp_path: Path) -> None:
    base = write(tmp_path, "bad.csv", "a,b,y\ninf,2,0\n3,-inf,1\n5,6,0\n")
    message = error_of(base, "bad.csv")
    assert "bad.csv" in message and "'a' (1, first at data row 1)" in message
    assert "'b' (1, first at data row 2)" in message


def test_missing_target_value(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "bad.csv", "a,y\n1,0\n2,\n3,1\n"), "bad.csv")
    assert "bad.csv" in message and "column 'y'" in message and "row 2" in message


def test_text_column_rejected(tmp_path: Path) -> None:
    base = write(tmp_path, "bad.csv", "a,color,y\n1,red,0\n2,blue,1\n")
    message = error_of(base, "bad.csv", categorical="reject")
    assert "bad.csv" in message and "column 'color'" in message and "reject" in message


def test_numeric_column_with_stray_text(tmp_path: Path) -> None:
    base = write(tmp_path, "bad.csv", "a,b,y\n1,2,0\n3,?,1\n5,6,0\n7,8,1\n")
    message = error_of(base, "bad.csv")
    assert "column 'b'" in message and "'?'" in message and "row 2" in message


def test_every_numeric_column_with_stray_text_is_named(tmp_path: Path) -> None:
    """A dirty file: every bad column in one message, each with its first bad value and row
    (a column of text, and a column of numbers only, are not named)."""
    base = write(tmp_path, "bad.csv", "a,b,c,d,e,y\n1,2,3,x,9,0\n3,?,4,y,9,1\n5,6,n/k,x,9,0\n"
                 "7,8,9,y,9mm,1\n")
    message = error_of(base, "bad.csv")
    assert message == ("bad.csv: 3 columns hold numbers but also text: 'b' ('?' at data row 2), "
                       "'c' ('n/k' at data row 3), 'e' ('9mm' at data row 4); fix or remove "
                       "those values")


def test_stray_text_in_many_columns_is_capped(tmp_path: Path) -> None:
    names = [f"x{i}" for i in range(12)]
    rows = [",".join(["1"] * 12 + ["0"]), ",".join(["?"] * 12 + ["1"]),
            ",".join(["2"] * 12 + ["0"]), ",".join(["3"] * 12 + ["1"])]
    base = write(tmp_path, "bad.csv", ",".join(names + ["y"]) + "\n" + "\n".join(rows) + "\n")
    message = error_of(base, "bad.csv")
    assert message.startswith("bad.csv: 12 columns hold numbers but also text: 'x0' ('?' at "
                              "data row 2), ")
    assert "'x7' ('?' at data row 2) and 4 more; fix" in message and "'x8'" not in message


def test_identifier_column_rejected(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},id{i},{i % 2}" for i in range(40))
    message = error_of(write(tmp_path, "bad.csv", "a,name,y\n" + rows + "\n"), "bad.csv")
    assert "bad.csv" in message and "column 'name'" in message and "distinct" in message


def test_single_class(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "bad.csv", "a,y\n1,cat\n2,cat\n"), "bad.csv")
    assert "bad.csv" in message and "column 'y'" in message and "single class" in message


def test_task_does_not_fit_target(tmp_path: Path) -> None:
    base = write(tmp_path, "bad.csv", "a,y\n1,0.5\n2,1.25\n3,2.5\n")
    message = error_of(base, "bad.csv", task="classification")
    assert "bad.csv" in message and "column 'y'" in message and "non-integer" in message
    base = write(tmp_path, "txt.csv", "a,y\n1,cat\n2,dog\n")
    assert "column 'y'" in error_of(base, "txt.csv", task="regression")


def test_npz_problems(tmp_path: Path) -> None:
    X = np.ones((4, 2))
    np.savez(tmp_path / "noy.npz", X=X, Y=np.zeros(4))
    message = error_of(tmp_path, "noy.npz")
    assert "noy.npz" in message and "'y'" in message and "did you mean 'Y'" in message
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}] * 4, dtype=object), y=np.zeros(4))
    assert "obj.npz" in error_of(tmp_path, "obj.npz")
    np.savez(tmp_path / "flat.npz", X=np.ones(4), y=np.zeros(4))
    assert "column 'X'" in error_of(tmp_path, "flat.npz")
    np.savez(tmp_path / "short.npz", X=X, y=np.array([0, 1, 0]))
    assert "short.npz" in error_of(tmp_path, "short.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[1, np.nan], [2, 3]]), y=np.array([0, 1]))
    assert "column 'x1'" in error_of(tmp_path, "nan.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    assert "junk.npz" in error_of(tmp_path, "junk.npz")


def test_target_given_for_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", X=np.ones((4, 2)), y=np.array([0, 1, 0, 1]))
    message = error_of(tmp_path, "d.npz", target="label")
    assert "d.npz" in message and "target" in message


def test_svmlight_problems(tmp_path: Path) -> None:
    base = write(tmp_path, "bad.svm", "1 1:0.5\nthis is not svmlight\n")
    assert "bad.svm" in error_of(base, "bad.svm")
    write(tmp_path, "nan.svm", "1 1:0.5 3:2\n0 2:nan\n")
    message = error_of(tmp_path, "nan.svm")
    assert "nan.svm: column 'x2'" in message and "data row 2" in message


def test_a_wide_svmlight_file_stays_sparse(tmp_path: Path) -> None:
    """Two million columns: a dense copy would take 32 MB; the CSR holds 3 values."""
    write(tmp_path, "wide.svm", "1 5:2 2000000:1\n0 7:0.5\n")
    data = load_file(tmp_path, "wide.svm")
    assert data.X.format == "csr" and data.X.shape == (2, 2_000_000) and data.X.nnz == 3
    assert data.feature_names[4] == "x5" and data.feature_names[-1] == "x2000000"
    assert data.X[0, 4] == 2 and data.X[1, 6] == 0.5


def test_unknown_source() -> None:
    with pytest.raises(DataError, match="did you mean 'iris'"):
        load_dataset(DataSpec(source="irsi"), Path("."))


# ------------------------------------------------------------ magnitudes, complex, empty files
def test_the_magnitude_bound_is_where_a_sum_of_squares_overflows() -> None:
    """Independent check of max_magnitude: n deviations of (just under) twice the bound square
    and sum to a finite number in the dtype; 1% over twice the bound overflows."""
    for dtype, n in (("float64", 150), ("float64", 10**6), ("float32", 1000)):
        deviation = 2 * datafiles.max_magnitude(dtype, n)
        with np.errstate(over="ignore"):
            for factor, finite in ((0.99, True), (1.01, False)):
                values = np.full(n, deviation * factor, dtype=dtype)
                assert np.isfinite(np.sum(values ** 2, dtype=dtype)) == finite


def test_values_too_large_to_train_on_are_refused(tmp_path: Path) -> None:
    """1e308 used to pass the checks, then every trial 'diverged' (a message about the rate)."""
    X = np.random.default_rng(0).standard_normal((50, 2))
    X[7, 1] = 1e308
    np.savez(tmp_path / "big.npz", X=X, y=np.arange(50) % 2)
    message = error_of(tmp_path, "big.npz")
    assert "big.npz: column 'x1': 1 value(s) too large" in message
    assert "data row 8: 1e+308" in message and "float64" in message
    rows = "".join(f"{1e300 if i == 3 else i},{i},{i % 2}\n" for i in range(40))
    message = error_of(write(tmp_path, "big.csv", "a,b,y\n" + rows), "big.csv")
    assert "big.csv: column 'a'" in message and "data row 4" in message
    lines = "".join(f"{i % 2} 1:{1e300 if i == 5 else i} 2:1\n" for i in range(40))
    message = error_of(write(tmp_path, "big.svm", lines), "big.svm")
    # svmlight columns are named by the file's own indices: 1:... is x1
    assert "big.svm: column 'x1'" in message and "data row 6" in message


def test_a_regression_target_too_large_is_refused_but_large_labels_are_not(tmp_path: Path
                                                                            ) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "y.npz", X=rng.standard_normal((60, 2)), y=rng.random(60) * 1e200)
    message = error_of(tmp_path, "y.npz")
    assert "y.npz: column 'y'" in message and "too large" in message
    labels = np.where(np.arange(60) % 2 == 0, 0.0, 1e300)     # two classes: only compared
    np.savez(tmp_path / "labels.npz", X=rng.standard_normal((60, 2)), y=labels)
    assert load_file(tmp_path, "labels.npz").task == "classification"


def test_training_features_are_checked_against_the_training_dtype() -> None:
    """Raw 1e30 is fine for float64 statistics, but squares past float32's range: refused
    without a rescaling step in float32, accepted in float64 or after standardize."""
    from runtime.data.preprocess import check_trainable, fit_preprocess
    from spec_lang.config import Standardize
    X = np.random.default_rng(0).standard_normal((100, 3))
    X[:, 1] *= 1e30
    train = np.arange(10, 100)
    none = fit_preprocess((), X[train])
    with pytest.raises(DataError) as info:
        check_trainable(none, none.transform(X[train]), train, "float32", ("a", "b", "c"),
                        "d.npz")
    message = str(info.value)
    assert message.startswith("d.npz: column 'b': ") and "float32" in message
    assert "data row 11" in message and "dtype float64" in message   # the file's row
    check_trainable(none, none.transform(X[train]), train, "float64", ("a", "b", "c"), "d.npz")
    standardized = fit_preprocess((Standardize(),), X[train])
    check_trainable(standardized, standardized.transform(X[train]), train, "float32",
                    ("a", "b", "c"), "d.npz")


def test_complex_npz_arrays_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "cx.npz", X=rng.random((20, 2)) + 1j, y=np.arange(20) % 2)
    np.savez(tmp_path / "cy.npz", X=rng.random((20, 2)), y=np.arange(20) % 2 + 0j)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # used to be a bare ComplexWarning
        message = error_of(tmp_path, "cx.npz")
        assert "cx.npz: column 'X': holds complex numbers (complex128)" in message
        assert "column 'y': holds complex numbers" in error_of(tmp_path, "cy.npz")


@pytest.mark.parametrize("arrays, expected", [
    ({}, "the archive holds no arrays"),
    ({"X": np.zeros((0, 3)), "y": np.zeros(0)}, "column 'X': X holds no examples"),
    ({"X": np.zeros((5, 0)), "y": np.zeros(5)}, "column 'X': X holds no features"),
    ({"X": np.zeros((0, 8, 8)), "y": np.zeros(0)}, "X holds no examples"),
])
def test_empty_npz_files_are_clear_errors(tmp_path: Path, arrays: dict, expected: str) -> None:
    np.savez(tmp_path / "e.npz", **arrays)
    assert expected in error_of(tmp_path, "e.npz")


@pytest.mark.parametrize("text, expected", [
    ("", "no examples"),
    ("# only a comment\n", "no examples"),
    ("1\n0\n1\n", "3 labels but no feature values"),
])
def test_empty_svmlight_files_are_clear_errors(tmp_path: Path, text: str, expected: str
                                               ) -> None:
    message = error_of(write(tmp_path, "e.svm", text), "e.svm")
    assert message.startswith("e.svm: ") and expected in message


@pytest.mark.parametrize("text", ["\n\n", "a,b,y\n\n\n"])
def test_blank_csv_files_are_clear_errors(tmp_path: Path, text: str) -> None:
    message = error_of(write(tmp_path, "e.csv", text), "e.csv")
    assert message.startswith("e.csv: the file ")


# ----------------------------------------------------------------------------- drop (columns left out)
def test_dropped_columns_are_neither_features_nor_encoded(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},person{i},{i % 7},{i % 2}" for i in range(40))
    base = write(tmp_path, "people.csv", "id,name,a,y\n" + rows + "\n")
    data = load_file(base, "people.csv", drop=("id", "name"))
    assert data.feature_names == ("a",)


def test_dropping_a_column_keeps_the_last_column_the_default_target(tmp_path: Path) -> None:
    base = write(tmp_path, "d.csv", "a,b,y\n1,5,0\n2,6,1\n3,7,0\n4,8,1\n")
    assert load_file(base, "d.csv", drop=("b",)).feature_names == ("a",)
    assert "drop names the target column" in error_of(base, "d.csv", drop=("y",))
    message = error_of(base, "d.csv", drop=("bb",))
    assert message.startswith("d.csv: column 'bb': drop names no column of this file")
    assert message.endswith("did you mean 'b'?")


def test_an_identifier_column_is_told_the_drop_keyword(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},id{i},{i % 2}" for i in range(40))
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, "bad.csv", "a,name,y\n" + rows + "\n"), "bad.csv")
    assert info.value.hint == 'leave it out: add drop "name" to the data line'
    with pytest.raises(DataError) as info:
        load_file(write(tmp_path, "t.csv", "a,color,y\n1,red,0\n2,blue,1\n"), "t.csv",
                  categorical="reject")
    assert info.value.hint.endswith('add drop "color" to the data line')


def test_drop_is_part_of_the_data_identity_only_when_set(tmp_path: Path) -> None:
    from runtime.execution.keys import data_identity
    base = write(tmp_path, "d.csv", "a,b,y\n1,5,0\n2,6,1\n")
    plain = data_identity(DataSpec(source="file", path="d.csv"), base)
    assert "drop" not in plain                         # keys made before `drop` still match
    dropped = data_identity(DataSpec(source="file", path="d.csv", drop=("b",)), base)
    assert dropped == {**plain, "drop": ("b",)}


def test_missing_values_in_the_target_and_text_columns_are_named_together(tmp_path: Path
                                                                          ) -> None:
    """Every column with missing values that no later check names, in one message (it named
    the first column only, so a user fixed them one run at a time)."""
    base = write(tmp_path, "gaps.csv", "a,b,c,y\n1,x,,0\n2,,p,1\n3,y,q,0\n4,x,p,1\n5,y,q,0\n"
                 "6,x,p,1\n7,y,,0\n8,x,p,1\n9,y,q,\n10,x,p,1\n")
    assert error_of(base, "gaps.csv") == (
        "gaps.csv: 3 columns have missing values: 'y' (1, first at data row 9), 'b' (1, first "
        "at data row 2), 'c' (2, first at data row 1); nnspec does not impute: fill or drop "
        "them")
    one = write(tmp_path, "gap.csv", "a,b,y\n1,x,0\n2,,1\n3,y,0\n4,x,1\n5,y,0\n6,x,1\n")
    assert error_of(one, "gap.csv") == ("gap.csv: column 'b': 1 missing value(s) (first at "
                                        "data row 2): nnspec does not impute; fill or drop them")
