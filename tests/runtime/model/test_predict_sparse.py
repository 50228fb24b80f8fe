"""A run on sparse data (an svmlight file) saves a model that predicts sparse files: svmlight
rows found by the file's own feature indices, new indices ignored with a warning, and a
scipy.sparse .npz, each equal to the network's output on the same CSR rows."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

import runtime
from runtime.cli.command import main
from runtime.data.sparse_text import make_sparse
from runtime.model.predict import predict_data
from spec_lang.config import DataSpec


@pytest.fixture(scope="module")
def sparse_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, sp.csr_matrix, np.ndarray]:
    folder = tmp_path_factory.mktemp("sparse_run")
    X, y = make_sparse(DataSpec(source="make_sparse", samples=700, features=4000, classes=3))
    X[:, 3999] = 1.0                     # the last index occurs: the file's width is known
    X = X.tocsr()
    dump_svmlight_file(X[:500], y[:500], str(folder / "train.svm"), zero_based=False)
    (folder / "s.spec").write_text(
        'experiment sparse_model\ndata "train.svm"\nsplit train 0.6 valid 0.2 test 0.2\n'
        "network\n    dense 16 relu\ntrain\n    adam lr 0.003\n    epochs 10\nseeds 1\n")
    runtime.run(folder / "s.spec", out=folder / "run", jobs=1)
    return folder, X[500:], y[500:]


def test_the_run_trained_on_csr_and_saved_its_model(sparse_run) -> None:
    folder, _, _ = sparse_run
    best = json.loads((folder / "run" / "best.json").read_text())
    assert (folder / "run" / "model.npz").is_file()
    assert best["test"]["test_accuracy"] > 0.6          # three classes: chance is about 0.33


def test_an_svmlight_file_is_predicted_by_its_own_indices(sparse_run, tmp_path) -> None:
    folder, X, y = sparse_run
    dump_svmlight_file(X, y, str(tmp_path / "new.svm"), zero_based=False)
    model = runtime.load_model(folder / "run")
    expected = model.predict_output(X)
    got = predict_data(folder / "run", tmp_path / "new.svm", proba=True)
    np.testing.assert_allclose(got.frame.filter(like="p_").to_numpy(), expected, rtol=1e-6)
    assert got.metrics["accuracy"] > 0.6


def test_indices_the_model_never_saw_are_ignored_with_a_warning(sparse_run, tmp_path) -> None:
    folder, X, y = sparse_run
    wider = sp.hstack([X, sp.csr_matrix(np.ones((X.shape[0], 1)))], format="csr")
    dump_svmlight_file(wider, y, str(tmp_path / "wider.svm"), zero_based=False)
    with pytest.warns(UserWarning, match="1 feature index"):
        got = predict_data(folder / "run", tmp_path / "wider.svm", proba=True)
    same = predict_data(folder / "run", _dumped(tmp_path, X, y), proba=True)
    assert got.frame.equals(same.frame)


def _dumped(tmp_path: Path, X: sp.csr_matrix, y: np.ndarray) -> Path:
    path = tmp_path / "same.svm"
    dump_svmlight_file(X, y, str(path), zero_based=False)
    return path


def test_a_sparse_npz_is_predicted_like_the_svmlight_file(sparse_run, tmp_path, capsys) -> None:
    folder, X, y = sparse_run
    svm = _dumped(tmp_path, X, y)
    # the model's columns are x1..x4000 (index j + 1 of the 1-based file is X's column j)
    sp.save_npz(tmp_path / "x.npz", X)
    np.savez(tmp_path / "new.npz", y=y, **np.load(tmp_path / "x.npz"))
    assert main(["predict", str(folder / "run"), str(svm)]) == 0
    from_svm = capsys.readouterr().out
    assert main(["predict", str(folder / "run"), str(tmp_path / "new.npz")]) == 0
    captured = capsys.readouterr()
    assert captured.out == from_svm and "Traceback" not in captured.err
