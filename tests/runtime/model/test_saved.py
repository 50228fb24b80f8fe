"""SavedModel: columns by name, text columns encoded as in training, unseen categories said,
float64 probabilities, run folders, and malformed model files as clear errors."""
from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.metrics import log_loss

import runtime
from runtime.errors import DataError, NnspecError
from runtime.model.features import UnseenCategoryWarning
from runtime.model.saved import SavedModel

PLANTS_CSV = Path(__file__).resolve().parents[3] / "specs" / "data" / "plants.csv"


@pytest.fixture(scope="module")
def iris_frame() -> pd.DataFrame:
    return load_iris(as_frame=True).frame.drop(columns=["target"])


# ------------------------------------------------------------------------ columns by name
def test_a_dataframe_is_read_by_column_name(iris_run: Path, iris_frame: pd.DataFrame) -> None:
    model = runtime.load_model(iris_run)
    assert model.feature_names == tuple(iris_frame.columns)
    shuffled = iris_frame[list(iris_frame.columns[[2, 0, 3, 1]])]
    expected = model.predict_output(iris_frame.to_numpy())
    np.testing.assert_array_equal(model.predict_output(shuffled), expected)
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(iris_frame.to_numpy()))
    # read by position, the shuffled frame would give other predictions (what happened before)
    assert not np.allclose(model.predict_output(shuffled.to_numpy()), expected)


def test_extra_columns_are_ignored_and_missing_ones_named(iris_run: Path,
                                                          iris_frame: pd.DataFrame) -> None:
    model = runtime.load_model(iris_run)
    extra = iris_frame.assign(target=0, note="x")
    np.testing.assert_array_equal(model.predict(extra), model.predict(iris_frame))
    with pytest.raises(DataError, match=r"X: column 'petal width \(cm\)': the model needs"):
        model.predict(iris_frame.drop(columns=["petal width (cm)"]))


def test_an_array_of_the_wrong_width_or_with_nan_is_a_clear_error(iris_run: Path) -> None:
    model = runtime.load_model(iris_run)
    X = load_iris().data[:6].copy()
    with pytest.raises(DataError, match=r"shape \(6, 3\); the model takes 4 column"):
        model.predict(X[:, :3])
    X[4, 2] = np.nan
    with pytest.raises(DataError, match=r"column 'petal length \(cm\)': 1 missing or infinite "
                                        r"value\(s\) \(first at data row 5\)"):
        model.predict(X)


def _one_hot_by_hand(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """The features as training encoded them: numeric columns, then soil == level."""
    return np.column_stack([frame[n].to_numpy(float) if n in frame else
                            (frame[n.split("=")[0]] == n.split("=")[1]).to_numpy(float)
                            for n in names])


def test_text_columns_are_encoded_as_in_training(plants_run: Path) -> None:
    model = runtime.load_model(plants_run)
    frame = pd.read_csv(PLANTS_CSV)                      # species (the target) is ignored
    assert "soil=sand" in model.feature_names
    expected = model.predict_output(_one_hot_by_hand(frame, model.feature_names))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # every soil value was seen: no warning
        got = model.predict_output(frame[frame.columns[::-1]])
    np.testing.assert_array_equal(got, expected)


def test_an_unseen_category_is_said_once(plants_run: Path) -> None:
    model = runtime.load_model(plants_run)
    frame = pd.read_csv(PLANTS_CSV).head(6)
    frame.loc[[2, 4], "soil"] = "peat"
    with pytest.warns(UnseenCategoryWarning) as record:
        labels = model.predict(frame)
    assert len(record) == 1
    message = str(record[0].message)
    assert "column 'soil': 2 row(s) (first at data row 3) hold 'peat'" in message
    assert "all zeros" in message and len(labels) == 6


# -------------------------------------------------------------------------- probabilities
def test_probabilities_are_float64_rows_summing_to_one(iris_run: Path) -> None:
    model = runtime.load_model(iris_run)
    X, y = load_iris(return_X_y=True)
    proba = model.predict_output(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4 * np.finfo(float).eps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # log_loss warns on rows not summing to 1
        log_loss(y, proba)


# ------------------------------------------------------------------------------- loading
def test_load_model_takes_a_run_folder_or_its_file(iris_run: Path, tmp_path: Path) -> None:
    a, b = runtime.load_model(iris_run), runtime.load_model(iris_run / "model.npz")
    X = load_iris().data
    np.testing.assert_array_equal(a.predict_output(X), b.predict_output(X))
    with pytest.raises(NnspecError, match="no model.npz in this folder"):
        runtime.load_model(tmp_path)
    with pytest.raises(NnspecError, match="no such model file or run folder"):
        runtime.load_model(tmp_path / "nowhere")


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _crafted(iris_run: Path, tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "model.npz"
    arrays = _arrays(iris_run / "model.npz")
    if kind == "pickled":
        np.savez(path, task=np.array(["classification", None], dtype=object))
    elif kind == "pickle file":
        import pickle
        path.write_bytes(pickle.dumps({"task": "classification"}))
    elif kind == "text":
        path.write_text("not a model\n")
    elif kind == "npy":
        with path.open("wb") as f:
            np.save(f, np.zeros(3))
    elif kind == "truncated zip":
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    elif kind == "bad member":                           # a zip whose .npy is not one
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("task.npy", b"garbage")
    elif kind == "missing array":
        np.savez(path, **{k: v for k, v in arrays.items() if k != "m1/net/output.W"})
    elif kind == "wrong shape":
        np.savez(path, **{**arrays, "m0/net/dense0.W": arrays["m0/net/dense0.W"][:2]})
    elif kind == "huge layer":
        np.savez(path, **{**arrays, "m0/net/layer_units": np.array([10 ** 12])})
    elif kind == "unknown task":
        np.savez(path, **{**arrays, "task": np.array("ranking")})
    elif kind == "wrong class count":
        np.savez(path, **{**arrays, "classes": np.array(["a", "b"])})
    elif kind == "prep width":
        np.savez(path, **{**arrays, "m1/prep/n_features_in": np.array(7)})
    elif kind == "not a number":
        np.savez(path, **{**arrays, "n_members": np.array("two")})
    return path


@pytest.mark.parametrize("kind, phrase", [
    ("pickled", "holds Python objects"), ("pickle file", "not an .npz archive"),
    ("text", "not an .npz archive"), ("npy", "not an .npz archive"),
    ("truncated zip", "not an .npz archive"), ("bad member", "'task' is not a .npy array"),
    ("missing array", "lacks the array 'm1/net/output.W'"),
    ("wrong shape", "dense0.W has shape (2, 8)"), ("huge layer", "dense0.W"),
    ("unknown task", "unknown task 'ranking'"), ("wrong class count", "predicts 3 classes"),
    ("prep width", "disagree on the number of features"), ("not a number", "two")])
def test_a_malformed_model_file_is_one_clear_error(iris_run: Path, tmp_path: Path, kind: str,
                                                    phrase: str) -> None:
    path = _crafted(iris_run, tmp_path, kind)
    with pytest.raises(NnspecError) as info:
        SavedModel.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and phrase in message
    assert "allow_pickle" not in message and "\n" not in message


def test_the_saved_file_is_a_plain_zip_of_arrays(iris_run: Path) -> None:
    with zipfile.ZipFile(iris_run / "model.npz") as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    assert all(v.dtype != object for v in _arrays(iris_run / "model.npz").values())
