"""The scikit-learn estimators built from a spec: fit/predict, labels, parameters (the spec's
hyper-parameters included), clone, Pipeline, cross_val_score, GridSearchCV, determinism, and
scikit-learn's own estimator checks."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import spec_lang
from runtime.model.estimator import (SpecClassifier, SpecRegressor, active_values,
                                     dimension_default, load_spec)

PLANTS_CSV = Path(__file__).resolve().parents[3] / "specs" / "data" / "plants.csv"

SPEC = """\
experiment est
network
    dense $width tanh
train
    adam lr $lr
    batch 16
    epochs 40 early_stop patience 8
search grid
    lr in log 1e-3 .. 1e-1 count 3
    width in 16, 32
"""
CONDITIONAL = """\
network
    dense 16 relu
train
    optimizer $opt lr 0.01 momentum $momentum
    epochs 5
search grid
    opt in sgd, adam
    momentum in 0.5, 0.9 if opt == sgd
"""


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, ...]:
    X, y = load_iris(return_X_y=True)
    return tuple(train_test_split(X, y, test_size=0.3, random_state=0, stratify=y))


@pytest.fixture(scope="module")
def regression() -> tuple[np.ndarray, ...]:
    X, y = make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)
    return tuple(train_test_split(X, y, test_size=0.3, random_state=0))


# --------------------------------------------------------------------------------- fit/predict
def test_classifier_fits_iris(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris
    clf = SpecClassifier(SPEC).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.85
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.n_features_in_ == 4 and list(clf.classes_) == [0, 1, 2]
    assert 1 <= clf.best_epoch_ <= clf.n_epochs_ <= 40


def test_predict_proba_rows_sum_to_one_in_float64(iris: tuple[np.ndarray, ...]) -> None:
    """float32 outputs summed to 1 only within ~1e-7, and log_loss warned on every call."""
    X_train, X_test, y_train, y_test = iris
    proba = SpecClassifier(SPEC).fit(X_train, y_train).predict_proba(X_test)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4 * np.finfo(float).eps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_loss(y_test, proba)


LOGGED = """\
preprocess
    log columns "leaf_count"
    standardize
network
    dense 16 relu
train
    adam lr 0.01
    epochs 30 early_stop patience 10
"""


def test_dataframe_column_names_reach_the_preprocessing() -> None:
    """`log columns "leaf_count"` finds its column by name in a DataFrame given to fit (it
    failed: fit_preprocess got no names); predict takes the same columns."""
    frame = pd.read_csv(PLANTS_CSV)
    X, y = frame[["height_cm", "leaf_width_mm", "leaf_count", "rainfall_mm"]], frame["species"]
    clf = SpecClassifier(LOGGED).fit(X, y)
    log_step = clf.preprocessor_.arrays[clf.preprocessor_.kinds.index("log")]
    assert log_step["columns"].tolist() == [2] and log_step["names"].tolist() == ["leaf_count"]
    assert clf.score(X, y) > 0.8
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X.copy()))
    with pytest.raises(ValueError, match="feature names"):     # scikit-learn's own check
        clf.predict(X[X.columns[::-1]])
    with pytest.raises(Exception, match="leaf_count"):           # no names: nothing to log
        SpecClassifier(LOGGED).fit(X.to_numpy(), y)


def test_a_dataframe_with_text_columns_names_them(regression: tuple[np.ndarray, ...]) -> None:
    """Text in X is a ValueError naming the columns and what to do, in fit and in predict
    (scikit-learn's was a bare "could not convert string to float")."""
    X_train, X_test, y_train, _ = regression
    frame = pd.DataFrame(X_train, columns=[f"x{i}" for i in range(5)]).assign(
        city=np.where(y_train > 0, "Paris", "Nice"), shop="s1")
    with pytest.raises(ValueError) as info:
        SpecRegressor(SPEC).fit(frame, y_train)
    assert str(info.value) == (
        "SpecRegressor trains on numbers, but column(s) 'city', 'shop' of X hold text: encode "
        "them as numbers (a ColumnTransformer with a OneHotEncoder before the estimator in a "
        "Pipeline) or drop them (X.drop(columns=['city', 'shop']))")
    reg = SpecRegressor(SPEC, params={"epochs": 2}).fit(frame.drop(columns=["city", "shop"]),
                                                        y_train)
    test = pd.DataFrame(X_test, columns=[f"x{i}" for i in range(5)]).astype({"x3": str})
    with pytest.raises(ValueError, match=r"^SpecRegressor trains on numbers, but column\(s\) "
                       "'x3' of X hold text"):
        reg.predict(test)
    with pytest.raises(ValueError, match="SpecClassifier trains on numbers"):
        SpecClassifier(SPEC).fit(frame, y_train > 0)


def test_string_labels(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = SpecClassifier(SPEC).fit(X_train, names[y_train])
    assert list(clf.classes_) == list(names)
    assert set(clf.predict(X_test)) <= set(names)
    assert clf.score(X_test, names[y_test]) > 0.85


def test_regressor_1d_and_2d_targets(regression: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = regression
    reg = SpecRegressor(SPEC, params={"lr": 0.03}).fit(X_train, y_train)
    assert reg.predict(X_test).shape == (len(X_test),)
    assert reg.score(X_test, y_test) > 0.9
    two = np.c_[y_train, -2 * y_train]
    reg2 = SpecRegressor(SPEC, params={"lr": 0.03}).fit(X_train, two)
    assert reg2.predict(X_test).shape == (len(X_test), 2)


def test_deterministic_for_a_seed(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, _ = iris
    a = SpecClassifier(SPEC, seed=3).fit(X_train, y_train).predict_proba(X_test)
    b = SpecClassifier(SPEC, seed=3).fit(X_train, y_train).predict_proba(X_test)
    c = SpecClassifier(SPEC, seed=4).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unfitted_and_divergence(iris: tuple[np.ndarray, ...]) -> None:
    X_train, _, y_train, _ = iris
    with pytest.raises(NotFittedError):
        SpecClassifier(SPEC).predict(X_train)
    wild = SPEC.replace("adam lr $lr", "sgd lr 1e6 momentum 0.99").replace(
        "    lr in log 1e-3 .. 1e-1 count 3\n", "")
    with pytest.warns(ConvergenceWarning, match="diverged"):
        SpecClassifier(wild).fit(X_train, y_train)


# ---------------------------------------------------------------------------------- parameters
def test_spec_hyper_parameters_are_estimator_parameters() -> None:
    clf = SpecClassifier(SPEC)
    params = clf.get_params()
    assert params["lr"] == pytest.approx(1e-2) and params["width"] == 32   # the centre, the larger
    assert set(clf.get_params(deep=False)) == {"spec", "params", "seed", "random_state"}
    clf.set_params(lr=0.05, seed=2)
    assert clf.get_params()["lr"] == 0.05 and clf.params == {"lr": 0.05} and clf.seed == 2
    assert clf.bound_config().train.optimizer.lr == 0.05
    with pytest.raises(ValueError, match="Invalid parameter 'depth'"):
        clf.set_params(depth=3)
    with pytest.raises(ValueError, match="not a hyper-parameter"):
        SpecClassifier(SPEC, params={"depth": 3}).bound_config()


def test_a_dimension_nobody_sets_takes_the_setting_default_or_the_centre() -> None:
    """Never the first listed value (issue 24: width 4 and momentum 0 made the README's
    example worse than chance): the setting's default inside the space's extremes, else the
    centre of the space on its scale."""
    dims = {d.name: d for d in load_spec("""\
network
    dense $width relu
    dense $width2 relu
    dropout $drop
train
    optimizer $opt lr $lr momentum $momentum
    l2 $l2
    batch $batch
search grid
    width in 4, 16, 64, 1024
    drop in 0.1, 0.2, 0.4
    width2 in 1, 100
    opt in adam, sgd, rmsprop
    lr in 1, 0.1, 1e-2, 1e-3, 1e-4
    momentum in 0, 0.5, 0.9, 0.95
    l2 in log 1e-6 .. 1e-2 count 5
    batch in 8 .. 512 count 4
""").search.dims}
    assert dimension_default(dims["momentum"]) == 0.9          # the default, listed
    assert dimension_default(dims["lr"]) == 1e-2               # default 0.01, inside
    assert dimension_default(dims["opt"]) == "sgd"             # a name: its default, listed
    assert dimension_default(dims["width"]) == 64              # no default: nearest 514
    assert dimension_default(dims["drop"]) == 0.2              # default 0.5 not listed
    assert dimension_default(dims["width2"]) == 100            # a tie: the larger
    assert dimension_default(dims["l2"]) == pytest.approx(1e-4)  # default 0 is the low end
    assert dimension_default(dims["batch"]) == 32              # the default, inside the range


def test_the_readme_estimator_example_beats_chance_by_far() -> None:
    """README: GridSearchCV(SpecClassifier("specs/iris.spec"), {"lr": [...]}) on iris."""
    X, y = load_iris(return_X_y=True)
    spec = Path(__file__).resolve().parents[3] / "specs" / "iris.spec"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)    # no wall of warnings either
        search = GridSearchCV(SpecClassifier(str(spec)), {"lr": [1e-3, 1e-2]}).fit(X, y)
    assert search.best_score_ >= 0.9


def test_conditional_dimensions_follow_their_condition() -> None:
    search = load_spec(CONDITIONAL).search
    assert active_values(search, {}) == {"opt": "sgd", "momentum": 0.9}
    assert active_values(search, {"opt": "adam", "momentum": 0.9}) == {"opt": "adam"}
    reg = SpecRegressor(CONDITIONAL).set_params(opt="adam")
    assert reg.bound_config().train.optimizer.name == "adam"


def test_spec_as_text_path_or_experiment(tmp_path: Path) -> None:
    path = tmp_path / "est.spec"
    path.write_text(SPEC)
    forms = [SPEC, path, str(path), spec_lang.load(path)]
    params = [SpecClassifier(form).get_params() for form in forms]
    assert all({k: v for k, v in p.items() if k != "spec"} == {
        k: v for k, v in params[0].items() if k != "spec"} for p in params)


def test_clone_keeps_the_spec_hyper_parameters(iris: tuple[np.ndarray, ...]) -> None:
    X_train, _, y_train, _ = iris
    clf = SpecClassifier(SPEC, seed=1).set_params(lr=0.05).fit(X_train, y_train)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert twin.params is not clf.params
    assert not hasattr(twin, "network_")


# --------------------------------------------------------------------------- sklearn machinery
def test_pipeline_and_cross_val_score(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris
    pipe = make_pipeline(StandardScaler(), SpecClassifier(SPEC))
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.85
    assert "specclassifier__lr" in pipe.get_params()
    scores = cross_val_score(pipe, X_train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8


def test_grid_search_over_lr_picks_and_refits(iris: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris
    grid = GridSearchCV(SpecClassifier(SPEC), {"lr": [1e-4, 3e-2]}, cv=3).fit(X_train, y_train)
    assert grid.best_params_ == {"lr": 3e-2}        # 1e-4 barely moves in 40 epochs
    assert grid.best_estimator_.params == {"lr": 3e-2}
    assert grid.best_estimator_.get_params()["lr"] == 3e-2
    assert grid.score(X_test, y_test) > 0.85


def test_grid_search_through_a_pipeline(iris: tuple[np.ndarray, ...]) -> None:
    X_train, _, y_train, _ = iris
    pipe = make_pipeline(StandardScaler(), SpecClassifier(SPEC))
    grid = GridSearchCV(pipe, {"specclassifier__width": [16, 32]}, cv=2).fit(X_train, y_train)
    assert grid.best_estimator_[-1].params == {"width": grid.best_params_[
        "specclassifier__width"]}


def _float32_tolerance(estimator: object) -> dict[str, str]:
    """float32 BLAS products may differ in the last bit with the number of rows predicted at
    once; scikit-learn compares float64 outputs at rtol 1e-7 (a spec can say `dtype float64`)."""
    return {"check_methods_subset_invariance": "float32 network: last-bit differences",
            "check_methods_sample_order_invariance": "float32 network: last-bit differences",
            # n weighted rows and sum(w) repeated ones make different mini-batches (batch 16)
            # and hold-outs; test_sample_weight runs it on a full-batch float64 spec, passing.
            "check_sample_weight_equivalence_on_dense_data":
                "mini-batch SGD and a random hold-out: not a function of the weighted sums",
            "check_sample_weight_equivalence_on_sparse_data":
                "mini-batch SGD and a random hold-out: not a function of the weighted sums"}


@parametrize_with_checks([SpecClassifier(SPEC), SpecRegressor(SPEC)],
                         expected_failed_checks=_float32_tolerance)
def test_sklearn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)


def test_a_sparse_matrix_stays_sparse_and_trains_as_the_dense_one_under_plain_sgd() -> None:
    """Any scipy format is taken (as CSR); plain SGD in float64 makes the same network as the
    densified matrix, and the fitted model predicts sparse and dense rows alike."""
    import scipy.sparse as sp
    from runtime.data.sparse_text import make_sparse
    from spec_lang.config import DataSpec
    X, y = make_sparse(DataSpec(source="make_sparse", samples=600, features=3000, classes=3))
    spec = ("experiment s\npreprocess none\nnetwork\n    dense 16 relu\ntrain\n"
            "    sgd lr 0.05 momentum 0\n    dtype float64\n    epochs 8\n")
    sparse = SpecClassifier(spec).fit(sp.coo_matrix(X[:450]), y[:450])
    dense = SpecClassifier(spec).fit(X[:450].toarray(), y[:450])
    np.testing.assert_allclose(sparse.network_.params, dense.network_.params, rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(X[450:]),
                               sparse.predict_proba(X[450:].toarray()), rtol=1e-10)
    assert sparse.score(X[450:], y[450:]) > 0.6


def test_a_step_that_would_densify_a_sparse_matrix_is_refused() -> None:
    import scipy.sparse as sp
    spec = "experiment s\npreprocess\n    pca\nnetwork\n    dense 8 relu\n"
    X = sp.random(40, 30, density=0.2, format="csr", random_state=0)
    with pytest.raises(Exception, match="preprocess pca would make the sparse features dense"):
        SpecClassifier(spec).fit(X, np.arange(40) % 2)


def test_the_estimator_refits_on_every_row_for_the_chosen_epochs(iris) -> None:
    """After the hold-out fit, the network is the one trained on all of X for best_epoch_
    epochs (checked against an independent fit); `refit false` keeps the hold-out's."""
    from runtime.data.preprocess import fit_preprocess
    from runtime.engine.training import fit, refit_config
    from runtime.types import TrainData
    X_train, X_test, y_train, _ = iris
    clf = SpecClassifier(SPEC, params={"lr": 0.05}).fit(X_train, y_train)
    assert clf.refitted_ and 0 < clf.best_epoch_ < clf.n_epochs_
    config = clf.bound_config()
    prep = fit_preprocess(config.preprocess, X_train, ())
    Z = prep.transform(X_train)
    data = TrainData(Z, y_train, Z[:0], y_train[:0], "classification", 3)
    held = len(X_train) - round(0.25 * len(X_train))           # the hold-out's training rows
    alone = fit(refit_config(config, len(X_train) / held), data, clf.seed_used(),
                stop_after=clf.best_epoch_)
    np.testing.assert_allclose(clf.predict_proba(X_test),
                               alone.model.predict(prep.transform(X_test)), rtol=1e-6)
    kept = SpecClassifier(SPEC.replace("search grid", "split refit false\nsearch grid"),
                          params={"lr": 0.05}).fit(X_train, y_train)
    assert not kept.refitted_
    assert not np.allclose(kept.predict_proba(X_test), clf.predict_proba(X_test))
