"""When a fit stops before its caps, besides divergence: what counts as an improvement (the best
epoch and early stopping's margins), the constant-predictor baseline and the stall check, and
pruning against bounds the runner computes.

Margins. A value v of a metric improves on the best b when it beats it by more than
  max(min_delta, min_rel_delta * |b - perfect|)
where perfect is the metric's perfect score (0 for error, loss, mse, mae; 1 for accuracy, f1, r2):
a relative margin on the distance still to go, so 0.1% means the same on an error of 0.5 as on
one of 0.01, and on r2 it is the relative margin on the mse.

Stall. The baseline is the best constant predictor fitted on the training targets and scored
on the validation targets by `evaluate`: the training class priors (classification), each
label's training prior (multilabel), the training mean (regression; the median for mae). A fit
beats it at an epoch when its selection metric, or its validation loss, is better than the
baseline's by more than max(STALL_MARGIN, min_rel_delta) of the baseline's distance from a
perfect score, by min_delta on the selection metric, and for an error rate (or accuracy) by its
standard error sqrt(p (1 - p) / n) at the baseline's rate: a predictor at chance wobbles by that
much from one epoch to the next. The loss counts too because a network
that is learning an imbalanced problem lowers its loss below the prior's before its error leaves
the majority class's; a network at chance does neither. A fit that has not beaten it after the
warm-up still goes on while it improves (`StallCheck.improving`): stalled means at chance and
not learning.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from runtime.engine.metrics import evaluate, is_maximized, metric_parts
from runtime.types import PruneBounds, TrainData
from spec_lang.config import METRICS, EarlyStop

PERFECT = {"error": 0.0, "loss": 0.0, "mse": 0.0, "mae": 0.0, "accuracy": 1.0, "f1": 1.0,
           "r2": 1.0}


def perfect_score(metric: str) -> float:
    """The best value a metric can take; a target's metric ("rooms_error") has its metric's."""
    return PERFECT[metric_parts(metric)[1]]


# How much of the baseline's distance from a perfect score a fit must close to count as better
# than a constant: 1% is 38 examples of 4000 at a 26-class chance error of 0.96, a nudge of the
# loss a network at chance does not make, and far less than any learning network gains.
STALL_MARGIN = 0.01


def _gap(value: float, metric: str) -> float:
    """|value - perfect| (0 when value is not finite: no relative margin from infinity)."""
    gap = abs(value - perfect_score(metric))
    return gap if math.isfinite(gap) else 0.0


@dataclass
class Best:
    """The best epoch so far by (selection score, validation loss), and its weights."""

    epoch: int = 0
    score: float = math.inf
    loss: float = math.inf
    params: np.ndarray | None = None
    row: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    # The last epoch whose score itself improved (a tie won on the loss moves `epoch`, the
    # weights kept, but not this): early stopping's patience counts from here.
    improved: int = 0

    def offer(self, epoch: int, score: float, loss: float, min_delta: float,
              params: np.ndarray, row: dict[str, float], metrics: dict[str, float], *,
              rel_delta: float = 0.0, perfect: float = 0.0) -> bool:
        """Keep this epoch if its score (minimized; `perfect` is a perfect score) beats the best
        by more than max(min_delta, rel_delta * |best - perfect|), or ties it with a validation
        loss lower by more than rel_delta * best loss; returns whether it was kept."""
        gap = abs(self.score - perfect)
        margin = max(min_delta, rel_delta * gap) if math.isfinite(gap) else min_delta
        loss_margin = rel_delta * abs(self.loss) if math.isfinite(self.loss) else 0.0
        better = score < self.score - margin
        if not (better or (score == self.score and loss < self.loss - loss_margin)):
            return False
        if better:
            self.improved = epoch
        self.epoch, self.score, self.loss, self.row, self.metrics = epoch, score, loss, row, metrics
        if self.params is None:
            self.params = params.copy()
        else:
            np.copyto(self.params, params)
        return True

    def state(self) -> dict[str, Any]:
        """A copy of what this best epoch holds (for a checkpoint): epoch, score, loss, params
        (None before any epoch counted), row, metrics and improved."""
        return {"epoch": self.epoch, "score": self.score, "loss": self.loss,
                "params": None if self.params is None else self.params.copy(),
                "row": dict(self.row), "metrics": dict(self.metrics), "improved": self.improved}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from `state()` of an earlier fit (copies it)."""
        params = state["params"]
        self.epoch, self.score, self.loss = state["epoch"], state["score"], state["loss"]
        self.params = None if params is None else params.copy()
        self.row, self.metrics = dict(state["row"]), dict(state["metrics"])
        self.improved = state["improved"]


@dataclass(frozen=True)
class Baseline:
    """The validation metrics of the best constant predictor and, per metric, what it
    predicts in words ("predicting the class prior")."""

    metrics: dict[str, float]
    what: dict[str, str]


def constant_baseline(data: TrainData) -> Baseline:
    """The constant predictor fitted on data's training targets, scored on its validation
    targets with `evaluate` (see the module docstring); weighted by the sample weights
    data.w_train / w_valid when set (the mae's median stays unweighted)."""
    task, y_train, y_valid = data.task, np.asarray(data.y_train), np.asarray(data.y_valid)
    wt, wv = data.w_train, data.w_valid
    if task == "multitarget":
        return _per_target_baseline(data)
    if task == "classification":
        k = max(data.n_classes, int(max(y_train.max(initial=0), y_valid.max(initial=0))) + 1)
        prior = np.bincount(y_train.astype(np.int64), minlength=k) / len(y_train) if wt is None \
            else np.bincount(y_train.astype(np.int64), wt, minlength=k) / np.sum(wt)
        metrics = evaluate(task, y_valid, np.broadcast_to(prior, (len(y_valid), k)), weights=wv)
        return Baseline(metrics, dict.fromkeys(metrics, "predicting the class prior"))
    if task == "multilabel":
        prior = np.average(y_train.astype(np.float64), axis=0, weights=wt)
        metrics = evaluate(task, y_valid, np.broadcast_to(prior, y_valid.shape), weights=wv)
        return Baseline(metrics, dict.fromkeys(metrics, "predicting each label's prior"))
    y64 = y_train.astype(np.float64)
    constant = lambda c: np.broadcast_to(c, y_valid.shape)            # noqa: E731
    metrics = evaluate(task, y_valid, constant(np.average(y64, axis=0, weights=wt)), weights=wv)
    what = dict.fromkeys(metrics, "predicting the training mean")
    metrics["mae"] = evaluate(task, y_valid, constant(np.median(y64, axis=0)), weights=wv)["mae"]
    what["mae"] = "predicting the training median"
    return Baseline(metrics, what)


def _per_target_baseline(data: TrainData) -> Baseline:
    """Every target's constant predictor, its metrics named `<target>_<metric>`."""
    metrics, what = {}, {}
    for j, target in enumerate(data.targets):
        codes = target.task == "classification"
        column = lambda y: np.asarray(y)[:, j].astype(np.int64 if codes else np.float64)  # noqa: E731
        own = constant_baseline(replace(data, y_train=column(data.y_train),
                                        y_valid=column(data.y_valid), task=target.task,
                                        n_classes=len(target.classes), targets=()))
        metrics.update({f"{target.name}_{k}": v for k, v in own.metrics.items()})
        what.update({f"{target.name}_{k}": f"{v} of {target.name}" for k, v in own.what.items()})
    return Baseline(metrics, what)


def checked_metrics(data: TrainData, metric: str) -> list[str]:
    """The metrics a stall check compares with the baseline: the selection metric and the
    validation loss (the loss alone when they are the same). Several targets: the weighted loss
    has no constant baseline (it depends on the weights), so it is each target's own loss that
    must beat its constant predictor's, along with a target's selection metric."""
    if data.task == "multitarget":
        losses = [f"{t.name}_loss" for t in data.targets]
        return losses if metric == "loss" else [metric] + [m for m in losses if m != metric]
    same_as_loss = metric == "loss" or (metric == "mse" and data.task == "regression")
    return [metric] if same_as_loss else [metric, "loss"]


class StallCheck:
    """Whether a fit has been better than the constant baseline (see the module docstring):
    `observe` every epoch's validation metrics, then ask `after_warmup` / `at_patience`."""

    def __init__(self, data: TrainData, metric: str, stop: EarlyStop) -> None:
        self.baseline = constant_baseline(data)
        self.epochs = stop.stall
        absolute, relative = stop.margins()
        self.checked = checked_metrics(data, metric)
        self.margin = {m: max(absolute if m == metric else 0.0,
                              max(STALL_MARGIN, relative) * _gap(self.baseline.metrics[m], m),
                              self._noise(m, data)) for m in self.checked}
        self.best = {m: math.nan for m in self.checked}
        self.history: dict[str, list[float]] = {m: [] for m in self.checked}
        self.beaten = False

    def _noise(self, m: str, data: TrainData) -> float:
        """An error rate's (or accuracy's) standard error sqrt(p (1 - p) / n) at the baseline's
        rate p over the n validation examples (n x labels for multilabel), else 0: how far a
        predictor no better than the baseline's wobbles from it by chance alone."""
        target, base = metric_parts(m)
        if base not in ("error", "accuracy") or data.task == "regression":
            return 0.0
        if data.task == "multitarget":           # one class target: one label per example
            p, n = self.baseline.metrics[f"{target}_error"], len(data.y_valid)
            return math.sqrt(p * (1 - p) / n)
        p, n = self.baseline.metrics["error"], np.asarray(data.y_valid).size
        return math.sqrt(p * (1 - p) / n)

    def beats(self, metrics: dict[str, float]) -> bool:
        """Whether these metrics are better than the baseline's on any checked metric."""
        return any(self._better(m, metrics[m]) for m in self.checked)

    def _better(self, m: str, value: float) -> bool:
        base, margin = self.baseline.metrics[m], self.margin[m]
        return value > base + margin if is_maximized(m) else value < base - margin

    def state(self) -> dict[str, Any]:
        """What the check remembers of the epochs so far (for a checkpoint)."""
        return {"best": dict(self.best), "beaten": self.beaten,
                "history": {m: list(v) for m, v in self.history.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from `state()` of an earlier fit of the same data."""
        self.best, self.beaten = dict(state["best"]), bool(state["beaten"])
        kept = state.get("history", {})
        self.history = {m: list(kept.get(m, [])) for m in self.checked}

    def observe(self, metrics: dict[str, float]) -> None:
        """Record one epoch's validation metrics."""
        self.beaten = self.beaten or self.beats(metrics)
        for m in self.checked:
            self.history[m].append(metrics[m])
            best, value = self.best[m], metrics[m]
            if math.isnan(best) or (value > best if is_maximized(m) else value < best):
                self.best[m] = value

    def after_warmup(self, epoch: int) -> str:
        """The reason a fit that has not beaten the baseline by the end of the warm-up, and is
        not improving, stalls, or "". A fit still improving is checked again every epoch
        until it beats the baseline or stops improving."""
        if self.epochs == 0 or epoch < self.epochs or self.beaten or self.improving():
            return ""
        return self._reason(f"after {epoch} epochs", "the best ", self.best)

    def improving(self) -> bool:
        """Whether a checked metric's best over the last half of the warm-up (at least one
        epoch) beats its best before them by more than its margin: a fit whose validation loss
        still falls that much is learning, however far it still is from the baseline (slow
        starts: Adam at its default rate on a regression). A network at chance moves less."""
        recent = max(1, self.epochs // 2)
        for m, values in self.history.items():
            if len(values) <= recent:
                return True
            pick = max if is_maximized(m) else min
            before, last = pick(values[:-recent]), pick(values[-recent:])
            gain = last - before if is_maximized(m) else before - last
            if gain > self.margin[m]:
                return True
        return False

    def at_patience(self, epoch: int, best: dict[str, float]) -> str:
        """The reason a fit whose best epoch (metrics `best`) is no better than the baseline
        when patience runs out in `epoch` stalls, or ""."""
        if self.epochs == 0 or self.beats(best):
            return ""
        return self._reason(f"when patience ran out in epoch {epoch}", "the best epoch's ", best)

    def _reason(self, when: str, whose: str, values: dict[str, float]) -> str:
        """One sentence: "Stalled after 10 epochs: the best valid_error 0.96 is no better than
        predicting the class prior (0.962, margin 0.003), nor is the best valid_loss 3.27
        (3.26, margin 0.0326)." """
        clauses = []
        for i, m in enumerate(self.checked):
            what = self.baseline.what[m]
            same = i > 0 and what == self.baseline.what[self.checked[0]]
            head = f"{whose}valid_{m} {values[m]:.4g}"
            base = f"{self.baseline.metrics[m]:.4g}, margin {self.margin[m]:.3g}"
            clauses.append(f"{head} is no better than {what} ({base})" if i == 0 else
                           f"nor is {head} ({base})" if same else
                           f"nor is {head} better than {what} ({base})")
        return f"Stalled {when}: " + ", ".join(clauses) + "."


def check_bounds(prune: PruneBounds, task: str) -> None:
    """Raise ValueError when the bounds are not in a metric of the task (several targets: the
    weighted loss or a target's `<target>_<metric>`)."""
    if task == "multitarget":
        if metric_parts(prune.metric)[1] not in PERFECT:
            raise ValueError(f"The prune bounds are in '{prune.metric}', which is not a "
                             "metric of a multi-target fit.")
        return
    if prune.metric not in METRICS[task]:
        raise ValueError(f"The prune bounds are in '{prune.metric}', which is not a metric of "
                         f"{task} ({', '.join(METRICS[task])}).")


def pruned(prune: PruneBounds | None, epoch: int, metrics: dict[str, float]) -> str:
    """The reason this epoch's value of the bounds' metric is worse than its finite bound, or
    "" (no bound at this epoch, a nan bound, or not worse)."""
    if prune is None or epoch > len(prune.bounds) or not math.isfinite(prune.bounds[epoch - 1]):
        return ""
    bound, value = prune.bounds[epoch - 1], metrics[prune.metric]
    worse = value < bound if is_maximized(prune.metric) else value > bound
    if not worse:
        return ""
    label = prune.label or "the bound at that epoch"
    return f"Pruned in epoch {epoch}: valid_{prune.metric} {value:.4g} is worse than {label} " \
           f"({bound:.4g})."
