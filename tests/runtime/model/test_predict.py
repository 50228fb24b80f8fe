"""`nnspec predict`: CSV columns by name, and every bad input file as one clear line (exit 1)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from runtime.cli.command import main

PLANTS_CSV = Path(__file__).resolve().parents[3] / "specs" / "data" / "plants.csv"


def predict(capsys: pytest.CaptureFixture, run: Path, data: Path) -> tuple[int, str, str]:
    status = main(["predict", str(run), str(data)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(err: str, *phrases: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "allow_pickle" not in err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_a_csv_is_read_by_column_name_whatever_the_order(plants_run, tmp_path, capsys) -> None:
    status, expected, _ = predict(capsys, plants_run, PLANTS_CSV)
    assert status == 0
    shuffled = tmp_path / "shuffled.csv"
    frame = pd.read_csv(PLANTS_CSV)
    frame[frame.columns[::-1]].to_csv(shuffled, index=False)
    status, out, err = predict(capsys, plants_run, shuffled)
    assert status == 0 and out == expected
    assert err.startswith("metrics on 300 examples (species):")    # the target column too


def test_an_unseen_category_is_one_warning_line(plants_run, tmp_path, capsys) -> None:
    frame = pd.read_csv(PLANTS_CSV).head(5).drop(columns=["species"])   # no metrics line
    frame.loc[1, "soil"] = "peat"
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    status, out, err = predict(capsys, plants_run, path)
    assert status == 0 and len(out.strip().splitlines()) == 6
    one_line_error(err, "warning", str(path), "column 'soil'", "'peat'", "all zeros")


def test_a_run_folder_without_a_model(tmp_path, capsys) -> None:
    status, _, err = predict(capsys, tmp_path, PLANTS_CSV)
    assert status == 1
    one_line_error(err, str(tmp_path), "no model.npz")


def _npz(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "new.npz"
    X = load_iris().data[:5].copy()
    if kind == "nan":
        X[3, 1] = np.nan
        np.savez(path, X=X)
    elif kind == "inf":
        X[2, 0] = np.inf
        np.savez(path, X=X)
    elif kind == "narrow":
        np.savez(path, X=X[:, :3])
    elif kind == "no X":
        np.savez(path, features=X)
    elif kind == "objects":
        np.savez(path, X=np.array([[1, "a"]], dtype=object))
    elif kind == "complex":
        np.savez(path, X=X + 1j)
    elif kind == "not zip":
        path.write_text("X\n1,2,3,4\n")
    elif kind == "bad member":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("X.npy", b"\x93NUMPY garbage")
    return path


@pytest.mark.parametrize("kind, phrases", [
    ("nan", ["column 'sepal width (cm)'", "1 missing or infinite value(s) (first at data row 4)"]),
    ("inf", ["column 'sepal length (cm)'", "first at data row 3"]),
    ("narrow", ["shape (5, 3); the model takes 4 column(s)", "'petal width (cm)'"]),
    ("no X", ["no array named 'X'", "features"]),
    ("objects", ["arrays must be numeric"]),
    ("complex", ["real numeric array", "complex128"]),
    ("not zip", ["not a readable .npz file"]),
    ("bad member", ["not a readable .npz file"]),
    ("missing", ["file not found"])])
def test_a_bad_npz_is_one_clear_line(iris_run, tmp_path, capsys, kind, phrases) -> None:
    path = _npz(tmp_path, kind)
    status, out, err = predict(capsys, iris_run, path)
    assert status == 1 and out == ""
    one_line_error(err, str(path), *phrases)


@pytest.mark.parametrize("kind, phrases", [
    ("latin-1", ["not UTF-8 text", "save the CSV as UTF-8"]),
    ("missing column", ["column 'soil'", "the model needs"]),
    ("text in a number column", ["column 'leaf_count'", "holds text such as 'many'",
                                 "data row 2"]),
    ("empty", ["the file is empty"]),
    ("folder", ["is a folder, not a data file"])])
def test_a_bad_csv_is_one_clear_line(plants_run, tmp_path, capsys, kind, phrases) -> None:
    path = tmp_path / "new.csv"
    frame = pd.read_csv(PLANTS_CSV).head(4)
    if kind == "latin-1":
        frame.loc[0, "soil"] = "sablé"
        path.write_bytes(frame.to_csv(index=False).encode("latin-1"))
    elif kind == "missing column":
        frame.drop(columns=["soil"]).to_csv(path, index=False)
    elif kind == "text in a number column":
        frame["leaf_count"] = frame["leaf_count"].astype(object)
        frame.loc[1, "leaf_count"] = "many"
        frame.to_csv(path, index=False)
    elif kind == "empty":
        path.write_text("")
    elif kind == "folder":
        path.mkdir()
    status, out, err = predict(capsys, plants_run, path)
    assert status == 1 and out == ""
    one_line_error(err, str(path), *phrases)


def test_a_malformed_model_file_is_one_clear_line(iris_run, tmp_path, capsys) -> None:
    model = tmp_path / "model.npz"
    np.savez(model, task=np.array(["classification", None], dtype=object))
    data = _npz(tmp_path, "ok")
    np.savez(data, X=load_iris().data[:5])
    status, _, err = predict(capsys, tmp_path, data)
    assert status == 1
    one_line_error(err, str(model), "holds Python objects")
