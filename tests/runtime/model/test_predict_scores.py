"""`nnspec predict RUN DATA` on data that holds the target: every metric of the task, checked
against scikit-learn's metrics computed independently from the printed predictions; `--json`,
`--proba`, and what is refused (one line)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_diabetes

from runtime.cli.command import main
from runtime.model.predict import predict_data

PLANTS_CSV = Path(__file__).resolve().parents[3] / "specs" / "data" / "plants.csv"

DIABETES = """experiment diabetes_model
data diabetes
network
    dense 8 tanh
train
    adam lr 0.01
    epochs 20
seeds 2
"""


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_classification_metrics_match_scikit_learn(plants_run, tmp_path, capsys) -> None:
    out = tmp_path / "p.csv"
    status, printed, _ = run_cli(capsys, plants_run, PLANTS_CSV, "--out", out, "--proba")
    assert status == 0
    frame, truth = pd.read_csv(out), pd.read_csv(PLANTS_CSV)["species"]
    classes = [c[2:] for c in frame.columns if c.startswith("p_")]
    proba = frame[[f"p_{c}" for c in classes]].to_numpy()
    status, text, _ = run_cli(capsys, plants_run, PLANTS_CSV, "--json")
    assert status == 0
    result = json.loads(text)
    assert result["n"] == len(truth) and result["target"] == "species"
    scores = result["metrics"]
    assert set(scores) == {"loss", "error", "accuracy", "f1"}
    assert scores["accuracy"] == skm.accuracy_score(truth, frame["prediction"])
    assert scores["error"] == 1 - skm.accuracy_score(truth, frame["prediction"])
    assert scores["f1"] == pytest.approx(
        skm.f1_score(truth, frame["prediction"], average="macro"), abs=1e-15)
    assert scores["loss"] == pytest.approx(skm.log_loss(truth, proba, labels=classes),
                                           rel=1e-6)
    line, = printed.strip().splitlines()           # with --out: the metrics on stdout
    assert line.startswith(f"metrics on {len(truth)} examples (species): loss ")


def test_regression_metrics_match_scikit_learn(tmp_path_factory, capsys) -> None:
    import runtime
    folder = tmp_path_factory.mktemp("diabetes")
    (folder / "d.spec").write_text(DIABETES)
    runtime.run(folder / "d.spec", out=folder / "run", jobs=1)
    bunch = load_diabetes(as_frame=True)
    data = folder / "diabetes.csv"
    bunch.frame.iloc[:80].to_csv(data, index=False)          # features and 'target'
    result = predict_data(folder / "run", data)
    predicted, truth = result.frame["prediction"].to_numpy(), bunch.target[:80].to_numpy()
    assert set(result.metrics) == {"loss", "mse", "mae", "r2"}
    assert result.metrics["mse"] == pytest.approx(skm.mean_squared_error(truth, predicted),
                                                  rel=1e-12)
    assert result.metrics["loss"] == result.metrics["mse"]
    assert result.metrics["mae"] == pytest.approx(skm.mean_absolute_error(truth, predicted),
                                                  rel=1e-12)
    assert result.metrics["r2"] == pytest.approx(skm.r2_score(truth, predicted), rel=1e-12)
    status, out, err = run_cli(capsys, folder / "run", data)
    assert status == 0 and out.splitlines()[0] == "prediction" and len(out.splitlines()) == 81
    assert err.startswith("metrics on 80 examples (target): loss ")   # the CSV stays clean


def test_an_npz_with_y_is_scored(iris_run, tmp_path) -> None:
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    result = predict_data(iris_run, tmp_path / "d.npz")
    names = np.array(["setosa", "versicolor", "virginica"])
    assert result.target == "y"
    assert result.metrics["accuracy"] == skm.accuracy_score(
        y, np.searchsorted(names, result.frame["prediction"]))


def test_paths_may_be_strings(iris_run, tmp_path) -> None:
    """The Python API takes str paths as the command line does (it raised AttributeError)."""
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    by_str = predict_data(str(iris_run), str(tmp_path / "d.npz"))
    by_path = predict_data(iris_run, tmp_path / "d.npz")
    pd.testing.assert_frame_equal(by_str.frame, by_path.frame)
    assert by_str.metrics == by_path.metrics


def test_without_the_target_there_are_no_metrics(plants_run, tmp_path, capsys) -> None:
    data = tmp_path / "new.csv"
    pd.read_csv(PLANTS_CSV).drop(columns=["species"]).to_csv(data, index=False)
    status, out, err = run_cli(capsys, plants_run, data)
    assert status == 0 and err == "" and out.splitlines()[0] == "prediction"
    status, out, err = run_cli(capsys, plants_run, data, "--json")
    assert status == 1 and out == ""
    line, = err.strip().splitlines()
    assert "new.csv: no target to score" in line and "--json" in line


def test_a_label_the_model_does_not_know_is_one_line(plants_run, tmp_path, capsys) -> None:
    data = tmp_path / "new.csv"
    pd.read_csv(PLANTS_CSV).assign(species="cactus").to_csv(data, index=False)
    status, out, err = run_cli(capsys, plants_run, data)
    line, = err.strip().splitlines()
    assert status == 1 and "Traceback" not in err
    assert "new.csv: column 'species'" in line and "'cactus'" in line and "classes are" in line
