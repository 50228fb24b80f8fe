"""Several targets end to end: the data they load as, a run's per-target columns and test
scores, the saved model's predictions of every target, the estimators' refusal."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import runtime
import spec_lang
from runtime.data.sources import load_dataset
from runtime.errors import DataError
from runtime.model.predict import predict_data
from runtime.model.saved import SavedModel
from spec_lang.config import DataSpec

SHIPPED = Path(__file__).resolve().parents[3] / "specs" / "data"
SPEC = ('data "houses.csv" target "price", "rooms" weights 1, 0.5\nmetric error "rooms"\n'
        'network\n    dense 16 relu\ntrain\n    adam lr 0.01\n    epochs 25\nseeds 1\n')


def test_targets_load_as_one_matrix_with_their_own_tasks() -> None:
    data = load_dataset(DataSpec("file", "houses.csv", target=("price", "rooms")), SHIPPED)
    assert data.task == "multitarget" and data.y.shape == (300, 2)
    assert [(t.name, t.task) for t in data.targets] == [("price", "regression"),
                                                       ("rooms", "classification")]
    assert data.targets[1].classes == (1, 2, 3, 4, 5)
    assert set(np.unique(data.y[:, 1])) == {0, 1, 2, 3, 4}       # class codes
    assert "price" not in data.feature_names and "rooms" not in data.feature_names


@pytest.mark.parametrize("target, message", [(("price", "romos"), "no such target column"),
                                             (("price", "price"), "names this column twice")])
def test_a_bad_target_is_a_data_error(target: tuple[str, ...], message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_dataset(DataSpec("file", "houses.csv", target=target), SHIPPED)


def test_a_run_has_every_targets_columns_and_the_model_predicts_them(tmp_path: Path) -> None:
    exp = spec_lang.loads(SPEC, filename="houses.spec", base_dir=SHIPPED)
    table = runtime.run(exp, out=tmp_path, jobs=1)
    assert (table["state"] == "complete").all()
    for column in ("valid_loss", "valid_price_mse", "valid_price_r2", "valid_rooms_error",
                   "valid_rooms_loss"):
        assert table[column].notna().all(), column
    row = table.iloc[0]
    assert row["valid_price_r2"] > 0.5 and row["valid_rooms_error"] < 0.6    # both learn
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["metric"] == "valid_rooms_error"
    assert {"test_loss", "test_price_mse", "test_rooms_error"} <= set(best["test"])
    model = SavedModel.load(tmp_path)
    assert [t.name for t in model.targets] == ["price", "rooms"]
    rows = pd.read_csv(SHIPPED / "houses.csv").iloc[:20]
    predicted = model.predict(rows.drop(columns=["price", "rooms"]))
    assert predicted.shape == (20, 2) and set(predicted[:, 1]) <= {1, 2, 3, 4, 5}
    csv = tmp_path / "few.csv"
    rows.to_csv(csv, index=False)
    result = predict_data(tmp_path, csv, proba=True)
    frame = result.frame
    assert list(frame.columns[:2]) == ["prediction_price", "prediction_rooms"]
    np.testing.assert_allclose(frame["prediction_price"], predicted[:, 0].astype(float))
    np.testing.assert_allclose(frame[[f"p_rooms_{k}" for k in range(1, 6)]].sum(axis=1), 1.0)
    assert {"loss", "price_mse", "rooms_error"} <= set(result.metrics)
    error = np.mean(frame["prediction_rooms"].to_numpy() != rows["rooms"].to_numpy())
    assert result.metrics["rooms_error"] == pytest.approx(error)


def test_the_estimators_refuse_several_targets(tmp_path: Path) -> None:
    from runtime.model.estimator import SpecRegressor
    spec = tmp_path / "h.spec"
    spec.write_text(f'data "{SHIPPED / "houses.csv"}" target "price", "rooms"\n')
    X = np.zeros((10, 3))
    with pytest.raises(ValueError, match="several targets"):
        SpecRegressor(str(spec)).fit(X, np.arange(10.0))


def test_task_does_not_go_with_several_targets() -> None:
    with pytest.raises(DataError, match="applies to one target"):
        load_dataset(DataSpec("file", "houses.csv", target=("price", "rooms"),
                              task="regression"), SHIPPED)


def test_a_fixed_test_file_is_encoded_per_target(tmp_path: Path) -> None:
    rows = pd.read_csv(SHIPPED / "houses.csv")
    rows.iloc[:250].to_csv(tmp_path / "train.csv", index=False)
    rows.iloc[250:].to_csv(tmp_path / "test.csv", index=False)
    data = load_dataset(DataSpec("file", "train.csv", target=("rooms", "price"),
                                 test="test.csv"), tmp_path)
    assert data.fixed_test == 50 and data.y.shape == (300, 2)
    classes = data.targets[0].classes
    np.testing.assert_array_equal(np.asarray(classes)[data.y[250:, 0].astype(int)],
                                  rows["rooms"].iloc[250:])
    np.testing.assert_allclose(data.y[250:, 1], rows["price"].iloc[250:])
    rows.iloc[250:].assign(rooms=9).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="label.* that the data file"):
        load_dataset(DataSpec("file", "train.csv", target=("rooms", "price"),
                              test="bad.csv"), tmp_path)


def test_a_targets_metric_must_suit_its_column_before_anything_trains() -> None:
    from runtime.cli.checks import run_checks
    exp = spec_lang.loads(SPEC.replace('metric error "rooms"', 'metric mse "rooms"'),
                          filename="houses.spec", base_dir=SHIPPED)
    with pytest.raises(DataError, match="column 'rooms': metric 'mse' does not apply"):
        run_checks(exp)
