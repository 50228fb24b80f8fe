"""Evaluation metrics of predictions, per task, and which one selects models.

`evaluate(task, y_true, output, logits=None)` reads what `Network.predict` returns (and, for
the loss, the logits `Network.scored` gives alongside):
  classification  y_true int labels (n,), output class probabilities (n, K), logits the class
                  logits (n, K): loss (mean cross-entropy), error, accuracy, f1 (macro over the
                  labels present in y_true or in the predictions, as scikit-learn's f1_score)
  multilabel      y_true 0/1 (n, L), output probabilities (n, L), threshold 0.5, logits the
                  label logits (n, L): loss (mean binary cross-entropy over n x L), error
                  (Hamming loss), accuracy (exact match of all labels), f1 (macro over labels)
  regression      y_true (n,) or (n, m), output the same shape, original units:
                  loss (= mse, mean over n x m), mse, mae, r2 (mean over outputs)
With logits the cross-entropy is exact, in float64 (log-softmax, log-sigmoid): a confidently
wrong example costs about its |logit|. Without them it is computed from the probabilities, as
scikit-learn's log_loss does (clipped at the smallest normal float64), which rounded float32
probabilities make inexact for confident examples. `ensemble_logits` gives the logits of
several networks' averaged probabilities, so an ensemble's loss is exact too.
An F1 with no true and no predicted positives counts 0 (scikit-learn's zero_division).

`evaluate(..., weights=w)` weights every example by w_i >= 0 (n,) (not all zero), so that an
integer weight equals that many copies of the example and a weight 0 its absence: each mean
becomes sum w_i v_i / sum w_i (loss, error, accuracy, mse, mae; multilabel error and loss average
the row's labels first), F1 counts tp, fp and fn as weight sums and averages over the labels of
positive weight in y_true or in the predictions (scikit-learn's f1_score would also count a class
seen only in examples of weight 0; multilabel F1 averages over every label, as unweighted), and r2 is 1 - sum w r^2 / sum w (y - weighted mean)^2 per
output, as scikit-learn's r2_score with sample_weight. weights None is the unweighted path.
"""
from __future__ import annotations

import numpy as np

from spec_lang.config import MAXIMIZED_METRICS

DEFAULT_METRIC = {"classification": "error", "multilabel": "error", "regression": "loss",
                  "multitarget": "loss"}


def selection_metric(task: str, metric: str | None) -> str:
    """The validation metric that selects epochs and models: `metric`, or the task's default
    (error for classification and multilabel, loss for regression, the weighted loss for
    several targets; one target's metric is `<target>_<metric>`, "rooms_error")."""
    return metric if metric is not None else DEFAULT_METRIC[task]


def metric_parts(metric: str) -> tuple[str, str]:
    """A metric's name split into (target, metric): "rooms_error" -> ("rooms", "error"), a
    target's metric with several targets; "error" -> ("", "error"). Metric names hold no '_',
    target names may."""
    target, _, base = metric.rpartition("_")
    return target, base


def is_maximized(metric: str) -> bool:
    """Whether larger is better (accuracy, f1, r2; a target's "rooms_accuracy" too)."""
    return metric_parts(metric)[1] in MAXIMIZED_METRICS


def evaluate(task: str, y_true: np.ndarray, output: np.ndarray,
             logits: np.ndarray | None = None,
             weights: np.ndarray | None = None) -> dict[str, float]:
    """The task's metrics of `output` against `y_true`; the cross-entropy from `logits` when
    given; every example weighted by `weights` when given (see the module docstring)."""
    y, out = np.asarray(y_true), np.asarray(output)
    w = None if weights is None else _check_weights(weights, len(y))
    if task == "classification":
        loss = _cross_entropy(y, out, w) if logits is None else _softmax_loss(y, logits, w)
        return {"loss": loss, **_classification(y, out, w)}
    if task == "multilabel":
        loss = _binary_loss(y, out, w) if logits is None else _sigmoid_loss(y, logits, w)
        return {"loss": loss, **_multilabel(y, out, w)}
    if task == "regression":
        return _regression(y, out, w)
    raise ValueError(f"Unknown task '{task}'. Known: classification, multilabel, regression.")


def _check_weights(weights: np.ndarray, n: int) -> np.ndarray:
    """The weights as float64 (n,); ValueError unless finite, >= 0, not all 0, n of them."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n or np.ndim(weights) > 1 and np.shape(weights)[1:] != (1,):
        raise ValueError(f"evaluate: {np.shape(weights)} weights for {n} examples")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("evaluate: the weights must be finite and >= 0, and not all zero")
    return w


def _mean(values: np.ndarray, w: np.ndarray | None) -> float:
    """mean of values (n,) weighted by w (None: np.mean itself), float64."""
    if w is None:
        return float(np.mean(values))
    return float(np.dot(w, np.asarray(values, dtype=np.float64)) / w.sum())


def _row_mean(values: np.ndarray, w: np.ndarray | None) -> float:
    """mean over all entries of values (n, k) (w None), or the w-weighted mean of row means."""
    if w is None:
        return float(np.mean(values))
    return _mean(np.asarray(values, dtype=np.float64).reshape(len(w), -1).mean(axis=1), w)


def ensemble_logits(task: str, members: list[np.ndarray]) -> np.ndarray:
    """The logits of the members' averaged probabilities, from each member's logits
    (`Head.loss_logits`), in float64 without rounding the probabilities:
    classification  log mean_m softmax(z_m)  (class logits are defined up to a shift)
    multilabel      log mean_m sigmoid(z_m) - log mean_m sigmoid(-z_m)  per label."""
    z = np.stack([np.asarray(m, dtype=np.float64) for m in members])      # (M, n, K)
    log_m = np.log(len(members))
    if task == "classification":
        return np.logaddexp.reduce(_log_softmax(z), axis=0) - log_m
    if task == "multilabel":
        return np.logaddexp.reduce(-np.logaddexp(0, -z), axis=0) - \
            np.logaddexp.reduce(-np.logaddexp(0, z), axis=0)
    raise ValueError(f"No logits for task '{task}' (classification and multilabel have them).")


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax along the last axis, in float64."""
    z = np.asarray(z, dtype=np.float64)
    top = z.max(axis=-1, keepdims=True)
    shifted = z - np.where(np.isfinite(top), top, 0.0)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _softmax_loss(y: np.ndarray, logits: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean cross-entropy -log softmax(z)_y from the class logits (n, K)."""
    log_p = _log_softmax(logits)
    return -_mean(log_p[np.arange(len(y)), y.astype(np.int64)], w)


def _sigmoid_loss(y: np.ndarray, logits: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean binary cross-entropy softplus(z) - y z from the label logits (n, L)."""
    z = np.asarray(logits, dtype=np.float64)
    return _row_mean(np.logaddexp(0, z) - y.astype(np.float64) * z, w)


def _cross_entropy(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean cross-entropy from class probabilities, clipped at the smallest normal float64."""
    p_true = proba[np.arange(len(y)), y.astype(np.int64)].astype(np.float64)
    return -_mean(np.log(np.clip(p_true, np.finfo(np.float64).tiny, None)), w)


def _binary_loss(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None = None) -> float:
    """Mean binary cross-entropy from probabilities (clipped to [1e-15, 1 - 1e-15], as
    scikit-learn's log_loss)."""
    p = np.clip(proba.astype(np.float64), 1e-15, 1 - 1e-15)
    return -_row_mean(np.where(y.astype(bool), np.log(p), np.log1p(-p)), w)


def _classification(y: np.ndarray, proba: np.ndarray,
                    w: np.ndarray | None = None) -> dict[str, float]:
    """Error, accuracy, macro f1 of the most probable classes."""
    y = y.astype(np.int64)
    pred = np.argmax(proba, axis=1)
    error = _mean(pred != y, w)
    k = max(proba.shape[1], int(y.max(initial=0)) + 1)
    both, w2 = np.concatenate([y, pred]), None if w is None else np.concatenate([w, w])
    present = np.bincount(both, weights=w2, minlength=k) > 0
    f1 = _f1_per_label(np.eye(k, dtype=bool)[y], np.eye(k, dtype=bool)[pred], w)
    return {"error": error, "accuracy": 1.0 - error, "f1": float(np.mean(f1[present]))}


def _multilabel(y: np.ndarray, proba: np.ndarray,
                w: np.ndarray | None = None) -> dict[str, float]:
    """Hamming error, exact-match accuracy, macro f1 over every label (a label with no true
    and no predicted positive counts 0, weighted or not: the columns are there whichever
    examples are, so weights of 1 give the unweighted F1, as scikit-learn's f1_score with
    zero_division=0)."""
    y = y.astype(bool)
    pred = proba >= 0.5
    f1 = _f1_per_label(y, pred, w)
    return {"error": _row_mean(pred != y, w),
            "accuracy": _mean(np.all(pred == y, axis=1), w),
            "f1": float(np.mean(f1)) if len(f1) else 0.0}


def _f1_per_label(truth: np.ndarray, pred: np.ndarray,
                  w: np.ndarray | None = None) -> np.ndarray:
    """F1 per column of two (n, L) boolean matrices: 2 tp / (2 tp + fp + fn), 0 when 0 / 0;
    the counts are weight sums when w (n,) is given."""
    if w is None:
        tp = np.sum(truth & pred, axis=0)
        denominator = truth.sum(axis=0) + pred.sum(axis=0)       # = 2 tp + fp + fn
    else:
        tp, denominator = w @ (truth & pred), w @ truth + w @ pred
    return np.divide(2.0 * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)


def _regression(y: np.ndarray, pred: np.ndarray,
                w: np.ndarray | None = None) -> dict[str, float]:
    """mse, mae and r2 averaged over outputs (r2 of a constant target: 1 if exact, else 0)."""
    y2 = y.astype(np.float64).reshape(len(y), -1)
    p2 = pred.astype(np.float64).reshape(len(y), -1)
    residual = y2 - p2
    if w is not None:
        return _weighted_regression(y2, residual, w)
    mse = float(np.mean(residual ** 2))
    ss_res = np.sum(residual ** 2, axis=0)
    ss_tot = np.sum((y2 - y2.mean(axis=0)) ** 2, axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1),
                  np.where(ss_res == 0, 1.0, 0.0))
    return {"loss": mse, "mse": mse, "mae": float(np.mean(np.abs(residual))),
            "r2": float(np.mean(r2))}


def _weighted_regression(y2: np.ndarray, residual: np.ndarray,
                         w: np.ndarray) -> dict[str, float]:
    """`_regression` with each example weighted by w (n,): means over examples become
    w-weighted means (then averaged over outputs), r2 as scikit-learn's r2_score."""
    mse = _row_mean(residual ** 2, w)
    ss_res = w @ residual ** 2
    ss_tot = w @ (y2 - np.average(y2, axis=0, weights=w)) ** 2
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1),
                  np.where(ss_res == 0, 1.0, 0.0))
    return {"loss": mse, "mse": mse, "mae": _row_mean(np.abs(residual), w),
            "r2": float(np.mean(r2))}
