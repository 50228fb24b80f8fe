"""Data types shared across the runtime: what flows between data, protocol, engine and runner."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np


class TrialState(str, Enum):
    """How a trial ended, as the results table, the run store and best.json spell it (a
    `str`: a member equals, hashes, prints and serializes as its value). Ordered from the
    best outcome to the worst: a configuration's state is the last of its rows'."""

    COMPLETE = "complete"       # the epoch cap, the update cap or early stopping ended it
    STALLED = "stalled"         # no better than a constant predictor
    PRUNED = "pruned"           # worse than the pruning bounds it was given
    DIVERGED = "diverged"       # a non-finite loss
    FAILED = "failed"           # could not be trained (an error; the row says which)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


# Ended early, but evaluated: ranked by their last score, after every configuration that
# completed; a network in one of these states can be part of the final model.
EVALUATED_STATES = (TrialState.COMPLETE, TrialState.STALLED, TrialState.PRUNED)
# Deterministic outcomes, kept in the run store and not trained again (a failure is retried).
CACHED_STATES = (TrialState.COMPLETE, TrialState.DIVERGED, TrialState.STALLED,
                 TrialState.PRUNED)


@dataclass(frozen=True)
class Target:
    """One of several targets (`target "price", "rooms"`): its column, its task (classification
    or regression, inferred as for one target) and, for classification, its original labels
    (its column of `Dataset.y` holds indices into them)."""

    name: str
    task: str
    classes: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated data set (features numeric and finite, before preprocessing).

    y: classification -> int64 labels 0..n_classes-1 (original labels in `classes`);
    multilabel -> (n, n_classes) float 0/1; regression -> float (n,) or (n, m);
    multitarget (several targets) -> float (n, T), column t as `targets[t]` says.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    n_classes: int = 0
    feature_names: tuple[str, ...] = ()
    classes: tuple[Any, ...] = ()
    name: str = ""
    fixed_valid: int = 0          # rows of a fixed validation file, after the data file's rows
    fixed_test: int = 0           # rows of a fixed test file, last
    target: str = ""              # the target's column name (CSV), "y" (npz), "label" (svmlight)
    # CSV text column -> its sorted values; an embedded column's code k >= 1 is value k - 1
    categories: tuple[tuple[str, tuple[str, ...]], ...] = ()
    targets: tuple[Target, ...] = ()   # task "multitarget": each target, in y's column order


@dataclass(frozen=True)
class Fold:
    """Row indices of one (outer, fold) split of a Dataset. `test` may be empty.

    Holdout: one Fold(fold=0). KFold: k folds sharing one test part. Nested: `outer` numbers the
    outer fold whose training part the inner folds divide; `test` is that outer fold's test part.
    """

    fold: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    outer: int | None = None


@dataclass(frozen=True)
class TrainData:
    """Preprocessed arrays for one trial (the engine casts X to its dtype). w_train / w_valid:
    per-example sample weights (n,), finite and >= 0 (None: unweighted); see
    `runtime.engine.losses` and `runtime.engine.metrics`."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    task: str
    n_classes: int = 0
    w_train: np.ndarray | None = None
    w_valid: np.ndarray | None = None
    targets: tuple[Target, ...] = ()     # task "multitarget": as Dataset.targets


@dataclass(frozen=True)
class PruneBounds:
    """Per-epoch bounds on the validation selection metric: a fit whose metric at epoch e is
    worse than bounds[e-1] (a finite value) stops as "pruned". `label` says what the bounds are,
    for the reason (e.g. "the median of 5 earlier trials at that epoch")."""

    metric: str                     # the metric the bounds are in, e.g. "error", "loss", "r2"
    bounds: tuple[float, ...]       # nan = no bound at that epoch (warm-up, too few trials)
    label: str = ""


@dataclass(frozen=True)
class FitResult:
    """What training one network returns, made once when the fit ends. Metrics are those of
    the best (restored) epoch.

    state: complete (the epoch cap, the update cap or early stopping's patience ended it),
    diverged, stalled (no better than a constant predictor), pruned (worse than the bounds it
    was given); `reason` says why in one sentence for the last three."""

    state: TrialState                            # complete | diverged | stalled | pruned
    model: Any                                   # runtime.engine.network.Network, best weights
    best_epoch: int = 0
    epochs: int = 0
    updates: int = 0
    train_loss: float = float("nan")
    valid_loss: float = float("nan")
    valid_metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    reason: str = ""                             # why it diverged, stalled or was pruned
    checkpoint: Any = None                       # warm_start.Checkpoint of a complete fit
    resumed_at: int = 0                          # the epoch a warm start continued from
    stack: Any = None                            # warm_start.Stack: the pre-trained layers
