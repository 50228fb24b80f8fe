"""Fixed validation and test files (`data "train.csv" test "test.csv"`): the protocol splits only
the data file, the files are the valid / test parts, encoded as the data file, checked to have
its columns; and the split's own seed (`split ... seed N`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import spec_lang
from runtime.cli.command import main
from runtime.data.protocol import make_folds, split_seed
from runtime.data.sources import load_dataset
from runtime.errors import DataError
from spec_lang import SpecError
from spec_lang.config import DataSpec, Holdout, KFold

NET = "network\n    dense 4 tanh\ntrain\n    sgd lr 0.05\n    epochs 3\nseeds 1\n"


def table(n: int, seed: int, soils: tuple[str, ...] = ("clay", "loam", "sand")) -> pd.DataFrame:
    """A small CSV table: two numeric columns (the first marks the file: its own range), a text
    column and a text label."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"mark": seed * 1000 + np.arange(n, dtype=float),
                         "height": rng.normal(size=n).round(3),
                         "soil": rng.choice(soils, size=n),
                         "label": rng.choice(["a", "b"], size=n)})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    table(60, 1).to_csv(tmp_path / "train.csv", index=False)
    table(20, 2).to_csv(tmp_path / "valid.csv", index=False)
    table(15, 3, soils=("clay", "peat")).to_csv(tmp_path / "test.csv", index=False)
    return tmp_path


def marks(data, rows: np.ndarray) -> set[int]:
    """Which files the rows come from (the thousands of their `mark`)."""
    return set((data.X[rows, 0] // 1000).astype(int))


def test_a_fixed_test_file_is_the_test_part_and_only_the_data_file_is_split(files) -> None:
    data = load_dataset(DataSpec("file", "train.csv", target="label", test="test.csv"), files)
    assert (len(data.y), data.fixed_test, data.fixed_valid) == (75, 15, 0)
    fold, = make_folds(Holdout(0.75, 0.25, 0.0), data, seed=0)
    assert marks(data, fold.test) == {3} and len(fold.test) == 15
    assert marks(data, fold.train) == marks(data, fold.valid) == {1}
    assert len(fold.train) + len(fold.valid) == 60 and len(fold.valid) == 15
    folds = make_folds(KFold(k=3, test=0.0), data, seed=0)
    assert all(np.array_equal(f.test, fold.test) for f in folds)
    assert sorted(np.concatenate([f.valid for f in folds])) == list(range(60))


def test_fixed_valid_and_test_files_leave_the_whole_data_file_to_train(files) -> None:
    spec = DataSpec("file", "train.csv", target="label", valid="valid.csv", test="test.csv")
    data = load_dataset(spec, files)
    fold, = make_folds(Holdout(1.0, 0.0, 0.0), data, seed=0)
    assert [marks(data, p) for p in (fold.train, fold.valid, fold.test)] == [{1}, {2}, {3}]
    assert (len(fold.train), len(fold.valid), len(fold.test)) == (60, 20, 15)


def test_a_test_file_is_encoded_with_the_data_files_categories(files) -> None:
    data = load_dataset(DataSpec("file", "train.csv", target="label", test="test.csv"), files)
    assert data.feature_names == ("mark", "height", "soil=clay", "soil=loam", "soil=sand")
    test = pd.read_csv(files / "test.csv")
    rows = data.X[-15:]
    np.testing.assert_array_equal(rows[:, 2], (test["soil"] == "clay").to_numpy(float))
    assert not rows[(test["soil"] == "peat").to_numpy(), 2:].any()    # unseen: all zeros
    np.testing.assert_array_equal(data.y[-15:], (test["label"] == "b").to_numpy(int))
    assert data.classes == ("a", "b") and data.target == "label"


def test_the_columns_may_come_in_another_order(files) -> None:
    frame = pd.read_csv(files / "test.csv")
    frame[["label", "soil", "height", "mark"]].to_csv(files / "test.csv", index=False)
    data = load_dataset(DataSpec("file", "train.csv", target="label", test="test.csv"), files)
    np.testing.assert_array_equal(data.X[-15:, :2], frame[["mark", "height"]].to_numpy())


def test_a_dropped_column_is_dropped_from_the_fixed_files_too(files) -> None:
    frame = pd.read_csv(files / "test.csv").drop(columns=["mark"])   # the test file lacks it
    frame.to_csv(files / "test.csv", index=False)
    data = load_dataset(DataSpec(source="file", path="train.csv", test="test.csv",
                                 target="label", drop=("mark",)), files)
    assert "mark" not in data.feature_names and data.fixed_test == len(frame)


def test_a_test_file_with_other_columns_is_one_error_at_its_path(files, capsys) -> None:
    frame = pd.read_csv(files / "test.csv").drop(columns=["height"]).assign(colour="red")
    frame.to_csv(files / "test.csv", index=False)
    spec = files / "x.spec"
    spec.write_text(f'data "train.csv" test "test.csv" target "label"\n{NET}')
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[0].startswith(f"{spec}:1:23: error: test.csv: the columns differ")
    assert len(err.splitlines()) == 3 and "Traceback" not in err, err
    assert "test.csv" in err and "missing 'height'" in err and "'colour'" in err
    assert "train.csv" in err


@pytest.mark.parametrize("change, phrases", [
    (lambda f: f.assign(label="c"), ["label(s) that the data file", "'c'", "column 'label'"]),
    (lambda f: f.assign(height="tall"), ["column 'height'", "holds text such as 'tall'"]),
    (lambda f: f.assign(height=np.nan), ["column 'height'", "missing"]),
])
def test_a_bad_test_file_is_a_data_error_naming_it(files, change, phrases) -> None:
    change(pd.read_csv(files / "test.csv")).to_csv(files / "test.csv", index=False)
    with pytest.raises(DataError) as err:
        load_dataset(DataSpec("file", "train.csv", target="label", test="test.csv"), files)
    assert str(err.value).startswith("test.csv") and all(p in str(err.value) for p in phrases)


def test_a_test_file_in_another_format_is_refused(files) -> None:
    np.savez(files / "test.npz", X=np.zeros((3, 4)), y=np.zeros(3))
    with pytest.raises(DataError, match="test.npz: a npz file, but the data file train.csv is csv"):
        load_dataset(DataSpec("file", "train.csv", target="label", test="test.npz"), files)


def test_npz_and_svmlight_test_files(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "a.npz", X=rng.normal(size=(30, 3)), y=np.arange(30) % 2)
    np.savez(tmp_path / "b.npz", X=rng.normal(size=(9, 3)), y=np.arange(9) % 2)
    data = load_dataset(DataSpec("file", "a.npz", test="b.npz"), tmp_path)
    assert data.X.shape == (39, 3) and data.fixed_test == 9
    (tmp_path / "a.svm").write_text("".join(f"{i % 2} 1:{i} 3:1\n" for i in range(20)))
    (tmp_path / "b.svm").write_text("0 2:5\n1 1:1\n")      # narrower, still the same columns
    data = load_dataset(DataSpec("file", "a.svm", test="b.svm"), tmp_path)
    assert data.X.shape == (22, 3)
    np.testing.assert_array_equal(data.X[-2:].toarray(), [[0, 5, 0], [1, 0, 0]])
    (tmp_path / "c.svm").write_text("0 7:5\n")
    with pytest.raises(DataError, match="c.svm: the columns differ .* not in the data file: 'x4'"):
        load_dataset(DataSpec("file", "a.svm", test="c.svm"), tmp_path)


# ------------------------------------------------------------------------------ the language
@pytest.mark.parametrize("text, protocol", [
    ('data "t.csv" test "x.csv"\n', Holdout(0.75, 0.25, 0.0)),
    ('data "t.csv" valid "x.csv"\n', Holdout(0.75, 0.0, 0.25)),
    ('data "t.csv" valid "v.csv" test "x.csv"\n', Holdout(1.0, 0.0, 0.0)),
    ('data "t.csv" test "x.csv"\nsplit train 0.8 valid 0.2 seed 4\n',
     Holdout(0.8, 0.2, 0.0, seed=4)),
    ('data "t.csv" test "x.csv"\nkfold 3\n', KFold(3, 0.0)),
])
def test_fixed_files_take_the_fraction_of_their_part(text, protocol) -> None:
    assert spec_lang.loads(text + NET).config.protocol == protocol


@pytest.mark.parametrize("text, phrase", [
    ('data "t.csv" test "x.csv"\nsplit train 0.6 valid 0.2 test 0.2\n',
     'the test part is the file "x.csv"'),
    ('data "t.csv" test "x.csv"\nsplit train 0.7\n', r"train \+ valid must sum to 1; got 0.95"),
    ('data "t.csv" test "x.csv"\nnested\n', "nested cross-validation makes its own"),
    ('data "t.csv" valid "x.csv"\nkfold 3\n', "kfold makes its own validation parts"),
    ('data iris test "x.csv"\n', "goes with a data file, not with 'iris'"),
    ('split train 0.8 valid 0 test 0.2\n', "valid must be > 0"),
])
def test_fixed_files_that_do_not_fit_the_protocol_are_spec_errors(text, phrase) -> None:
    with pytest.raises(SpecError, match=phrase):
        spec_lang.loads(text + NET)


# ----------------------------------------------------------------------------- the split seed
def test_the_split_seed_defaults_to_the_first_training_seed() -> None:
    assert split_seed(Holdout(), 100) == 100
    assert split_seed(Holdout(seed=7), 100) == 7
    assert split_seed(KFold(seed=0), 100) == 0
    exp = spec_lang.loads("data iris\nsplit seed 3\n" + NET)
    assert exp.config.protocol.seed == 3
