"""scikit-learn estimators built from a spec: `SpecClassifier` and `SpecRegressor`.

The spec gives the preprocessing, the network and the training settings; its `data`, protocol
and `search` blocks say nothing about the estimator's data. Two things are read from them: the
validation share of the protocol (the part of `X` held out for early stopping) and the search
dimensions, each of which becomes an estimator parameter:

    >>> clf = SpecClassifier(SPEC)                                    # doctest: +SKIP
    >>> GridSearchCV(clf, {"lr": [1e-3, 1e-2]}).fit(X, y)             # doctest: +SKIP

sklearn's `clone` rebuilds an estimator from `get_params(deep=False)` through the constructor,
whose signature cannot vary with the spec. So the constructor takes `spec`, `params`, `seed`
and `random_state` (scikit-learn's name for the seed: when set, it is the seed) only;
`get_params(deep=True)` adds one entry per spec dimension and per training setting of
`SETTINGS` (`epochs`, `batch`, `optimizer`, ...: the spec's fixed values, outside its search
block), and `set_params(lr=..., epochs=...)` stores the value into `params` (a new dict), which
`get_params(deep=False)`, and so `clone`, carries along. A name that is both a dimension and a
setting (`lr` when the spec says `sgd lr $lr`) is the dimension.

`fit(X, y, sample_weight=None)`: the weights (checked by scikit-learn's `_check_sample_weight`:
finite, >= 0, one per row, not all zero) follow their rows into both parts of the hold-out; they
weight the standardization, the training loss (`runtime.engine.losses`) and the validation
metrics that select the epoch (`runtime.engine.metrics`). Each part must keep some weight.

After that fit, the estimator refits, as `nnspec run` does (the protocol's `refit`, on unless the
spec says `refit false`): the preprocessing and the network are trained again on every row of
`X`, the hold-out included, for the epochs early stopping chose (`best_epoch_`), on the same plan
in epochs; `refitted_` says whether it did (not when the fit did not complete).

`X` may be a `scipy.sparse` matrix of any format: it is converted to CSR and stays sparse through
the preprocessing (`standardize` scales without centring; `pca`, `quantile` and `log` are
refused) to the first layer (`runtime.sparse`).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

import spec_lang
from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.data.preprocess import fit_preprocess
from runtime.engine.training import fit as fit_network, refit_config
from runtime.model.saved import normalized
from runtime.types import TrialState
from runtime.search.space import interval, representative
from runtime.threads import one_blas_thread
from runtime.types import TrainData

OWN = ("params", "random_state", "seed", "spec")   # constructor parameters, never dimensions
SpecLike = str | Path | Experiment
# Training settings outside the search block, by their estimator name: the path of the value
# in the experiment (`Experiment.replace`), checked as the spec's text is.
SETTINGS = {
    "epochs": "train__epochs", "batch": "train__batch", "updates": "train__updates",
    "optimizer": "train__optimizer__name", "lr": "train__optimizer__lr",
    "momentum": "train__optimizer__momentum", "schedule": "train__schedule__name",
    "l2": "train__l2", "l1": "train__l1", "activity_l1": "train__activity_l1",
    "dtype": "train__dtype",
}


def load_spec(spec: SpecLike) -> Experiment:
    """An Experiment from spec text (it contains a newline), a `.spec` path or an Experiment."""
    if isinstance(spec, Experiment):
        return spec
    if isinstance(spec, str) and "\n" in spec:
        return _parse(spec, "<string>", ".")
    path = Path(spec)
    return _parse(spec_lang.read(path), str(path), str(path.parent))   # one-line SpecError


@functools.lru_cache(maxsize=32)
def _parse(text: str, filename: str, base_dir: str) -> Experiment:
    """Parsed once per text: get_params is called often (clone, GridSearchCV, repr)."""
    return spec_lang.loads(text, filename, base_dir)


def _setting(exp: Experiment, name: str) -> Any:
    """The spec's value of the training setting `name` (its path in `SETTINGS`)."""
    value: Any = exp.config
    for part in SETTINGS[name].split("__"):
        value = getattr(value, part)
    return value


def dimension_default(dim: c.Dim) -> Any:
    """The value a dimension takes when nobody set it: the default of the setting it stands
    for when the space lists it (`momentum in 0, 0.5, 0.9` takes 0.9) or a range holds it
    strictly inside (`lr in log 1e-3 .. 1e-1` is not Adam's 0.001 on its edge); else the
    centre of the space on the setting's scale: a range's middle, or among listed numbers the
    one nearest the middle of their interval, the larger on a tie (`width in 4, 16, 64` takes
    16, `width in 1, 100` 100); names without a listed default: the first. Never an extreme
    just because it is listed first: an estimator fitted with its defaults trains where the
    author centred the search."""
    if dim.kind == "choice":
        if dim.default is not None and dim.default in dim.values:
            return dim.default
        numbers = [v for v in dim.values if isinstance(v, (int, float)) and
                   not isinstance(v, bool)]
        if len(numbers) != len(dim.values):
            return dim.values[0]
        log = dim.scale == "log" and min(numbers) > 0
        at = (lambda v: math.log(v)) if log else (lambda v: float(v))    # noqa: E731
        middle = (at(min(numbers)) + at(max(numbers))) / 2
        # distances to 12 significant digits: a tie is a tie, not a rounding accident
        return min(sorted(numbers, reverse=True),
                   key=lambda v: float(f"{abs(at(v) - middle):.12g}"))
    low, high = interval(dim)
    if isinstance(dim.default, (int, float)) and not isinstance(dim.default, bool) \
            and low < dim.default < high:
        return dim.default
    alone = c.Search(dims=(dataclasses.replace(dim, condition=None),))
    return representative(alone)[dim.name]


def active_values(search: c.Search, params: dict[str, Any]) -> dict[str, Any]:
    """One point of the space: `params` where given, defaults elsewhere, and only the
    dimensions whose condition holds under the values chosen before them."""
    values: dict[str, Any] = {}
    for dim in search.dims:
        cond = dim.condition
        if cond and (values.get(cond.param) == cond.value) != (cond.op == "=="):
            continue
        values[dim.name] = params[dim.name] if dim.name in params else dimension_default(dim)
    return values


def valid_fraction(protocol: Any) -> float:
    """The share of the estimator's data held out for early stopping: what the protocol
    validates on relative to what it trains and validates on."""
    if isinstance(protocol, c.Holdout):
        return protocol.valid / (protocol.train + protocol.valid)
    if isinstance(protocol, c.KFold):
        return 1.0 / protocol.k
    if isinstance(protocol, c.Nested):
        return 1.0 / protocol.inner
    return 0.25


def _validate(est: BaseEstimator, X: Any, y: Any = "no_validation", **kw: Any) -> Any:
    """sklearn's `validate_data` (>= 1.6), or the method it replaced (a y of None in fit
    raises sklearn's "requires y" error); a DataFrame with text columns is a ValueError naming
    them (scikit-learn's is a bare "could not convert string to float")."""
    _check_numeric_columns(est, X)
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return est._validate_data(X, y, **kw)
    return validate_data(est, X, y, **kw)


TEXT_SHOWN = 8         # text columns a message names; more are counted


def _check_numeric_columns(est: BaseEstimator, X: Any) -> None:
    """The columns of a DataFrame `X` that hold text (object, string or category dtypes), in
    a ValueError that says what to do with them; nothing for other inputs."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns") or getattr(dtypes, "ndim", 0) != 1:
        return
    import pandas as pd
    text = [str(col) for col, dtype in zip(X.columns, dtypes)
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]
    if not text:
        return
    shown = ", ".join(f"'{t}'" for t in text[:TEXT_SHOWN])
    more = f" and {len(text) - TEXT_SHOWN} more" if len(text) > TEXT_SHOWN else ""
    raise ValueError(f"{type(est).__name__} trains on numbers, but column(s) {shown}{more} of X "
                     "hold text: encode them as numbers (a ColumnTransformer with a "
                     "OneHotEncoder before the estimator in a Pipeline) or drop them "
                     f"(X.drop(columns=[{', '.join(repr(t) for t in text[:TEXT_SHOWN])}]))")


def _weights(sample_weight: Any, X: np.ndarray) -> np.ndarray | None:
    """The checked float64 copy of `sample_weight` (scikit-learn's ValueErrors for a wrong
    length or shape, negative, non-finite or all-zero weights), None when not given."""
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True,
                                copy=True)


class SpecEstimator(BaseEstimator):
    """What the classifier and the regressor share: the spec, its parameters, the fit."""

    _task = ""

    def __init__(self, spec: SpecLike, params: dict[str, Any] | None = None,
                 seed: int = 0, random_state: Any = None) -> None:
        self.spec = spec
        self.params = params
        self.seed = seed
        self.random_state = random_state

    # ----------------------------------------------------------------------------- parameters
    def dimension_names(self) -> tuple[str, ...]:
        """The spec's search dimensions exposed as estimator parameters."""
        return tuple(n for n in load_spec(self.spec).param_names if n not in OWN)

    def setting_names(self) -> tuple[str, ...]:
        """The training settings (`SETTINGS`) exposed as estimator parameters: those that are
        not a dimension's name and that the spec does not search (`epochs $ep`)."""
        exp = load_spec(self.spec)
        return tuple(n for n in SETTINGS if n not in exp.param_names
                     and not isinstance(_setting(exp, n), (c.Param, c.Pick)))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """`spec`, `params`, `seed`, `random_state`; with `deep`, also each spec dimension's
        and each training setting's current value."""
        out = super().get_params(deep=False)
        if deep:
            exp, given = load_spec(self.spec), dict(self.params or {})
            for dim in exp.search.dims:
                if dim.name not in OWN:
                    out[dim.name] = given.get(dim.name, dimension_default(dim))
            for name in self.setting_names():
                out[name] = given.get(name, _setting(exp, name))
        return out

    def set_params(self, **values: Any) -> "SpecEstimator":
        """Set `spec`, `params`, `seed`, `random_state`, spec dimensions and training settings
        (these two stored into a new `params`)."""
        for name in OWN:
            if name in values:
                setattr(self, name, values.pop(name))
        if values:
            names = (*self.dimension_names(), *self.setting_names())
            unknown = sorted(set(values) - set(names))
            if unknown:
                raise ValueError(f"Invalid parameter {unknown[0]!r} for estimator "
                                 f"{type(self).__name__}. Valid parameters are: "
                                 f"{sorted([*OWN, *names])!r}.")
            self.params = {**(self.params or {}), **values}
        return self

    def seed_used(self) -> int:
        """The seed of the hold-out and the training: `random_state` when it is set (an int,
        or a `numpy.random.RandomState` drawn from, as scikit-learn does), else `seed`."""
        if self.random_state is None:
            return int(self.seed)
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(
                self.random_state, bool):
            return int(self.random_state)
        from sklearn.utils import check_random_state
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def bound_config(self) -> c.Config:
        """The spec's configuration with the current parameter values."""
        exp = load_spec(self.spec)
        given = dict(self.params or {})
        settings = {k: v for k, v in given.items() if k in self.setting_names()}
        given = {k: v for k, v in given.items() if k not in settings}
        unknown = sorted(set(given) - set(exp.param_names))
        if unknown:
            raise ValueError(f"params: {unknown[0]!r} is not a hyper-parameter of the spec "
                             f"(it has: {', '.join(exp.param_names) or 'none'}) nor one of the "
                             f"training settings ({', '.join(self.setting_names())})")
        if settings:
            exp = exp.replace(**{SETTINGS[k]: v for k, v in settings.items()})
        config = exp.bind(active_values(exp.search, given))
        if isinstance(config.data.target, tuple):
            raise ValueError(f"the spec has several targets ({', '.join(config.data.target)}): "
                             "a scikit-learn estimator fits one y; run the spec with `nnspec "
                             "run`, or name one target in it")
        if config.metric is not None and config.metric not in c.METRICS[self._task]:
            config = dataclasses.replace(config, metric=None)   # the task's default metric
        return config

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True      # scipy.sparse X stays CSR to the first layer
        return tags

    # ------------------------------------------------------------------------------------ fit
    def _fit(self, X: np.ndarray, y: np.ndarray, n_classes: int,
             w: np.ndarray | None = None) -> "SpecEstimator":
        """Hold out the validation part, fit the preprocessing on the rest, train (with the
        checked sample weights w, split with their rows). The column names of a DataFrame given
        to `fit` (`feature_names_in_`) name the preprocessing's columns (`log columns
        "leaf_count"`); scikit-learn checks that `predict` gets the same columns in the same
        order."""
        config = self.bound_config()
        if config.embed:       # the estimators take numeric arrays: no text column to embed
            columns = ", ".join(col for e in config.embed for col in e.columns)
            raise ValueError(f"{type(self).__name__}: the spec embeds the CSV text columns "
                             f"{columns} (`embed`), but an estimator takes numeric arrays only: "
                             "remove `embed` and encode those columns in the Pipeline "
                             "(sklearn.preprocessing.OneHotEncoder), or train with `nnspec run`")
        X_train, X_valid, y_train, y_valid, w_train, w_valid = self._holdout(X, y, w, config)
        names = tuple(str(n) for n in getattr(self, "feature_names_in_", ()))
        prep = fit_preprocess(config.preprocess, X_train, names, w_train)
        X_train = prep.transform(X_train)
        X_valid = prep.transform(X_valid) if X_valid.shape[0] else \
            np.empty((0, X_train.shape[1]))
        data = TrainData(X_train, y_train, X_valid, y_valid, self._task, n_classes,
                         w_train, w_valid)
        with one_blas_thread():
            result = fit_network(config, data, self.seed_used())
        if result.state != TrialState.COMPLETE:
            what = result.reason if result.state == TrialState.STALLED else \
                f"training diverged: {result.reason}"    # a stall's reason starts "Stalled"
            warnings.warn(f"{type(self).__name__}: {what}",
                          ConvergenceWarning, stacklevel=3)
        self.preprocessor_, self.network_ = prep, result.model
        self.best_epoch_, self.n_epochs_, self.n_updates_ = (
            result.best_epoch, result.epochs, result.updates)
        self.curves_, self.state_ = result.curves, result.state
        self.refitted_ = False
        if config.protocol.refit and result.state == TrialState.COMPLETE and X_valid.shape[0] and \
                result.best_epoch > 0:
            self._refit(config, X, y, n_classes, w, names, X_train.shape[0], result.best_epoch)
        return self

    def _refit(self, config: c.Config, X: Any, y: np.ndarray, n_classes: int,
               w: np.ndarray | None, names: tuple[str, ...], n_trained: int,
               epochs: int) -> None:
        """Train again on every row (the hold-out included) for the epochs early stopping
        chose, on the same plan in epochs (`refit_config`), as `nnspec run` refits its chosen
        configuration; kept unless that training diverges."""
        prep = fit_preprocess(config.preprocess, X, names, w)
        X_all = prep.transform(X)
        data = TrainData(X_all, y, X_all[:0], y[:0], self._task, n_classes, w,
                         None if w is None else w[:0])
        plan = refit_config(config, X.shape[0] / n_trained)
        with one_blas_thread():
            result = fit_network(plan, data, self.seed_used(), stop_after=epochs)
        if result.state == TrialState.COMPLETE:
            self.preprocessor_, self.network_, self.refitted_ = prep, result.model, True

    def _holdout(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None,
                 config: c.Config) -> tuple:
        """(X_train, X_valid, y_train, y_valid, w_train, w_valid), the w parts None when w is;
        nothing is held out without early stopping. A part whose weights are all zero is a
        ValueError."""
        if config.train.early_stop is None:
            return X, X[:0], y, y[:0], w, None if w is None else w[:0]
        share = valid_fraction(config.protocol)
        arrays = (X, y) if w is None else (X, y, w)
        parts = train_test_split(*arrays, test_size=share, random_state=self.seed_used(),
                                 stratify=self._stratify(y))
        if w is None:
            return (*parts, None, None)
        for part, what in ((parts[4], "training part"), (parts[5], "validation part")):
            if not part.sum() > 0:
                raise ValueError(f"{type(self).__name__}: the sample weights of the {what} of "
                                 f"the hold-out ({share:.0%} of the rows held out for early "
                                 f"stopping, split with seed {self.seed_used()}) are all zero;"
                                 f" give those rows weight, or use another random_state")
        return parts

    def _stratify(self, y: np.ndarray) -> np.ndarray | None:
        """The labels to stratify the hold-out by (none for regression)."""
        return None

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's float64 predictions for X (validated as scikit-learn does)."""
        check_is_fitted(self, "network_")
        X = _validate(self, X, reset=False, dtype=np.float64, accept_sparse="csr")
        return self.network_.predict(self.preprocessor_.transform(X)).astype(np.float64)


class SpecClassifier(ClassifierMixin, SpecEstimator):
    """A classifier trained as the spec says (any labels, strings too)."""

    _task = "classification"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "SpecClassifier":
        """Train on (X, y), each row weighted by `sample_weight` (n,) when given (see the
        module docstring): `classes_` are the sorted distinct labels."""
        X, y = _validate(self, X, y, dtype=np.float64, accept_sparse="csr")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        w = _weights(sample_weight, X)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in "
                             f"the data; got 1 class ({self.classes_[0]!r})")
        labels = encoder.transform(y).astype(np.int64)
        if w is not None and np.count_nonzero(np.bincount(labels, w)) < 2:
            weighted = self.classes_[np.bincount(labels, w) > 0]
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes with "
                             f"a non-zero sample_weight; got 1 class ({weighted.tolist()[0]!r})")
        return self._fit(X, labels, len(self.classes_), w)

    def _stratify(self, y: np.ndarray) -> np.ndarray | None:
        """Stratify the hold-out when every class can be in both parts."""
        return y if np.bincount(y).min() >= 2 else None

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in the order of `classes_`, float64 with
        rows summing to 1 to float64 rounding."""
        return normalized(self._outputs(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label of each row."""
        proba = self.predict_proba(X)                 # raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]


class SpecRegressor(RegressorMixin, SpecEstimator):
    """A regressor trained as the spec says; y of shape (n,) or (n, m)."""

    _task = "regression"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "SpecRegressor":
        """Train on (X, y), each row weighted by `sample_weight` (n,) when given (see the
        module docstring)."""
        X, y = _validate(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True,
                         accept_sparse="csr")
        w = _weights(sample_weight, X)
        return self._fit(X, np.asarray(y, dtype=np.float64), 0, w)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values, shaped like the training targets' rows."""
        return self._outputs(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
