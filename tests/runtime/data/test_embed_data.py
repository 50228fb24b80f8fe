"""Embedded CSV text columns as data: read as category codes (last, `col#code`), renumbered
over the training rows by the preprocessing (a category training lacks -> 0, the unknown row),
a fixed test file's unseen value -> 0; end to end, a searched `dim`, and the saved model
predicting a CSV and a DataFrame with unseen categories (a warning, the unknown row)."""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import runtime
import spec_lang
from runtime.data.files import code_name
from runtime.data.preprocess import Preprocessor, fit_preprocess
from runtime.data.sources import load_dataset
from runtime.errors import DataError
from runtime.execution import keys
from runtime.model.features import UnseenCategoryWarning
from runtime.model.predict import predict_data
from runtime.model.saved import SavedModel
from spec_lang.config import DataSpec, Standardize

CITIES = ("Lille", "Lyon", "Nice")
SHOPS = tuple(f"s{i}" for i in range(8))


def shops_frame(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """footfall, city (text), shop (text), kind (text, one-hot), sales: a city and a shop effect."""
    rng = np.random.default_rng(seed)
    shop = rng.integers(0, len(SHOPS), n)
    city = shop % len(CITIES)
    effect = np.random.default_rng(99).normal(0, 10, len(SHOPS))     # the same in every draw
    footfall = rng.normal(100, 20, n).round(1)
    sales = (50 + 20 * city + effect[shop] + 0.2 * footfall + rng.normal(0, 1, n)).round(2)
    return pd.DataFrame({"footfall": footfall, "city": np.array(CITIES)[city],
                         "shop": np.array(SHOPS)[shop], "kind": np.where(shop < 4, "a", "b"),
                         "sales": sales})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shops_frame().to_csv(tmp_path / "shops.csv", index=False)
    return tmp_path


def load(folder: Path, name: str = "shops.csv", **kw: object):
    return load_dataset(DataSpec(source="file", path=name, target="sales", **kw), folder)


def test_embedded_columns_are_codes_last_in_statement_order(folder: Path) -> None:
    data = load(folder, embed=("shop", "city"))
    assert data.feature_names == ("footfall", "kind=a", "kind=b", "shop#code", "city#code")
    frame = pd.read_csv(folder / "shops.csv")
    np.testing.assert_array_equal(data.X[:, -1], [CITIES.index(c) + 1 for c in frame["city"]])
    np.testing.assert_array_equal(data.X[:, -2], [SHOPS.index(s) + 1 for s in frame["shop"]])
    assert dict(data.categories)["city"] == CITIES and dict(data.categories)["shop"] == SHOPS
    assert code_name("city") == "city#code"
    plain = load(folder)                                     # without embed: one-hot as before
    assert "city=Lille" in plain.feature_names and "city#code" not in plain.feature_names


def test_categorical_reject_still_takes_the_embedded_columns(folder: Path) -> None:
    data = load(folder, embed=("city", "shop", "kind"), categorical="reject")
    assert data.feature_names == ("footfall", "city#code", "shop#code", "kind#code")
    with pytest.raises(DataError, match="kind"):
        load(folder, embed=("city", "shop"), categorical="reject")


@pytest.mark.parametrize("embed, phrase", [
    (("citty",), "did you mean 'city'"),
    (("footfall",), "holds numbers"),
    (("sales",), "the target"),
])
def test_the_loader_refuses_a_column_it_cannot_embed(folder: Path, embed, phrase) -> None:
    with pytest.raises(DataError, match=phrase) as info:
        load(folder, embed=embed)
    assert "shops.csv" in str(info.value) and embed[0] in str(info.value)


def test_a_column_named_like_the_codes_is_refused(tmp_path: Path) -> None:
    shops_frame().assign(**{"city#code": 1.0}).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match="rename it"):
        load(tmp_path, "s.csv", embed=("city",))


def test_codes_are_renumbered_over_the_training_rows(folder: Path) -> None:
    data = load(folder, embed=("city", "shop"))
    shop = data.X[:, -1]
    train = np.flatnonzero(shop != SHOPS.index("s3") + 1)    # training never sees s3
    prep = fit_preprocess((Standardize(),), data.X[train], data.feature_names)
    out = prep.transform(data.X)
    numeric = data.X[train, 0]
    np.testing.assert_allclose(out[:, 0], (data.X[:, 0] - numeric.mean()) / numeric.std())
    np.testing.assert_array_equal(out[:, -2], data.X[:, -2])          # city: all seen
    expected = np.array([0, 1, 2, 3, 0, 4, 5, 6, 7])[shop.astype(int)]  # s3 -> 0, the rest 1..7
    np.testing.assert_array_equal(out[:, -1], expected)
    assert out[train, -1].min() == 1 and out[:, -1].max() == 7
    again = Preprocessor.from_state(prep.state())
    np.testing.assert_array_equal(again.transform(data.X), out)
    assert prep.names_out(data.feature_names)[-2:] == ("city#code", "shop#code")


def test_a_fixed_test_file_value_the_data_file_lacks_is_code_zero(tmp_path: Path) -> None:
    frame = shops_frame()
    frame.to_csv(tmp_path / "train.csv", index=False)
    test = shops_frame(20, seed=1)
    test.loc[:4, "shop"] = "brand_new"
    test.to_csv(tmp_path / "test.csv", index=False)
    data = load(tmp_path, "train.csv", embed=("shop",), test="test.csv")
    assert data.fixed_test == 20
    codes = data.X[-20:, -1]
    np.testing.assert_array_equal(codes[:5], 0)
    np.testing.assert_array_equal(codes[5:], [SHOPS.index(s) + 1 for s in test["shop"][5:]])


SPEC = """experiment shops
data "shops.csv" target "sales"
split train 0.6 valid 0.2 test 0.2
network
    embed columns "city" dim auto
    embed columns "shop" dim $d
    dense 16 relu
train
    adam lr 0.01
    epochs 60
search grid
    d in 2, 4
"""


@pytest.fixture
def run_dir(folder: Path) -> Path:
    (folder / "shops.spec").write_text(SPEC)
    table = runtime.run(spec_lang.load(folder / "shops.spec"), out=folder / "run", jobs=1)
    assert (table["state"] == "complete").all(), table[["state", "error"]]
    assert sorted(table["param_d"].unique()) == [2, 4]
    return folder / "run"


def test_a_run_saves_a_model_that_predicts_a_dataframe_with_unseen_categories(
        run_dir: Path) -> None:
    model = SavedModel.load(run_dir)
    assert model.feature_names[-2:] == ("city#code", "shop#code")
    assert dict(model.categories)["shop"] == SHOPS
    net = model.members[0].net
    assert net.embedding is not None and net.embedding.dims[0] == 3      # auto for 3 cities
    frame = shops_frame(6, seed=2).drop(columns="sales")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        known = model.predict(frame)
    assert known.shape == (6,) and np.isfinite(known).all()
    unseen = frame.assign(shop=["new1", "new2", "new3", "new4", "new5", "new6"])
    with pytest.warns(UnseenCategoryWarning, match="shop.*new1"):
        first = model.predict(unseen)
    with pytest.warns(UnseenCategoryWarning):
        other = model.predict(unseen.assign(shop="elsewhere"))
    np.testing.assert_array_equal(first, other)        # every unseen shop reads one row
    assert np.isfinite(first).all() and not np.allclose(first, known)
    with pytest.warns(UnseenCategoryWarning):
        np.testing.assert_array_equal(model.features(unseen)[:, -1], 0)


def test_the_cli_path_predicts_a_csv_and_scores_it(run_dir: Path, tmp_path: Path,
                                                   capsys) -> None:
    frame = shops_frame(30, seed=3)
    frame.loc[0, "city"] = "Paris"
    frame.to_csv(tmp_path / "new.csv", index=False)
    result = predict_data(run_dir, tmp_path / "new.csv")
    assert "column 'city': 1 row(s) (first at data row 1) hold 'Paris'" in capsys.readouterr().err
    assert len(result.frame) == 30 and np.isfinite(result.frame["prediction"]).all()
    assert result.metrics is not None and result.metrics["r2"] > 0.9


def captured_config(exp: spec_lang.Experiment, params: dict, monkeypatch) -> dict:
    seen: list = []
    real = keys.canonical_text
    monkeypatch.setattr(keys, "canonical_text", lambda v: seen.append(v) or real(v))
    keys.trial_key(exp, params, 0, 0, None, 1.0)
    return seen[-1]["config"]


def test_trial_keys_of_specs_without_embed_hold_no_embed_field(folder: Path,
                                                                monkeypatch) -> None:
    plain = spec_lang.loads('data "shops.csv" target "sales"\nnetwork\n    dense 8 relu\n',
                            base_dir=folder)
    content = captured_config(plain, {}, monkeypatch)
    assert "embed" not in content and "embed" not in content["data"]
    (folder / "shops.spec").write_text(SPEC)
    exp = spec_lang.load(folder / "shops.spec")
    content = captured_config(exp, {"d": 2}, monkeypatch)
    assert content["data"]["embed"] == ["city", "shop"] or \
        content["data"]["embed"] == ("city", "shop")
    assert keys.trial_key(exp, {"d": 2}, 0, 0, None, 1.0) != \
        keys.trial_key(exp, {"d": 4}, 0, 0, None, 1.0)
    digest = hashlib.sha256((folder / "shops.csv").read_bytes()).hexdigest()
    assert digest in str(content["data"])                # the data still known by its bytes


def test_the_estimators_refuse_an_embed_spec(folder: Path) -> None:
    (folder / "shops.spec").write_text(SPEC)
    est = runtime.SpecRegressor(str(folder / "shops.spec"), params={"d": 2})
    X = np.random.default_rng(0).integers(1, 4, size=(40, 3)).astype(float)
    with pytest.raises(ValueError, match="embeds the CSV text columns city, shop"):
        est.fit(X, X.sum(axis=1))
