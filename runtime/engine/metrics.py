"""Evaluation metrics of predictions, per task, and which one selects models.

`evaluate(task, y_true, output)` reads what `Network.predict` returns:
  classification  y_true int labels (n,), output class probabilities (n, K):
                  loss (mean cross-entropy), error, accuracy, f1 (macro over the labels present
                  in y_true or in the predictions, as scikit-learn's f1_score)
  multilabel      y_true 0/1 (n, L), output probabilities (n, L), threshold 0.5:
                  loss (mean binary cross-entropy over n x L), error (Hamming loss),
                  accuracy (exact match of all labels), f1 (macro over the L labels)
  regression      y_true (n,) or (n, m), output the same shape, original units:
                  loss (= mse, mean over n x m), mse, mae, r2 (mean over outputs)
An F1 with no true and no predicted positives counts 0 (scikit-learn's zero_division).
"""
from __future__ import annotations

import numpy as np

from spec_lang.config import MAXIMIZED_METRICS

DEFAULT_METRIC = {"classification": "error", "multilabel": "error", "regression": "loss"}


def selection_metric(task: str, metric: str | None) -> str:
    """The validation metric that selects epochs and models: `metric`, or the task's default
    (error for classification and multilabel, loss for regression)."""
    return metric if metric is not None else DEFAULT_METRIC[task]


def is_maximized(metric: str) -> bool:
    """Whether larger is better (accuracy, f1, r2)."""
    return metric in MAXIMIZED_METRICS


def evaluate(task: str, y_true: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """The task's metrics of `output` against `y_true` (see the module docstring)."""
    if task == "classification":
        return _classification(np.asarray(y_true), np.asarray(output))
    if task == "multilabel":
        return _multilabel(np.asarray(y_true), np.asarray(output))
    if task == "regression":
        return _regression(np.asarray(y_true), np.asarray(output))
    raise ValueError(f"Unknown task '{task}'. Known: classification, multilabel, regression.")


def _classification(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Cross-entropy (probabilities clipped at the dtype's tiniest normal), error, f1."""
    y = y.astype(np.int64)
    tiny = np.finfo(proba.dtype).tiny if proba.dtype.kind == "f" else 1e-300
    p_true = np.clip(proba[np.arange(len(y)), y], tiny, None)
    pred = np.argmax(proba, axis=1)
    error = float(np.mean(pred != y))
    k = max(proba.shape[1], int(y.max(initial=0)) + 1)
    present = np.bincount(np.concatenate([y, pred]), minlength=k) > 0
    f1 = _f1_per_label(np.eye(k, dtype=bool)[y], np.eye(k, dtype=bool)[pred])
    return {"loss": float(-np.mean(np.log(p_true.astype(np.float64)))), "error": error,
            "accuracy": 1.0 - error, "f1": float(np.mean(f1[present]))}


def _multilabel(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Mean BCE, Hamming error, exact-match accuracy, macro f1 over labels."""
    y = y.astype(bool)
    p = np.clip(proba.astype(np.float64), 1e-15, 1 - 1e-15)
    loss = -np.mean(np.where(y, np.log(p), np.log1p(-p)))
    pred = proba >= 0.5
    return {"loss": float(loss), "error": float(np.mean(pred != y)),
            "accuracy": float(np.mean(np.all(pred == y, axis=1))),
            "f1": float(np.mean(_f1_per_label(y, pred)))}


def _f1_per_label(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """F1 per column of two (n, L) boolean matrices: 2 tp / (2 tp + fp + fn), 0 when 0 / 0."""
    tp = np.sum(truth & pred, axis=0)
    denominator = truth.sum(axis=0) + pred.sum(axis=0)       # = 2 tp + fp + fn
    return np.divide(2.0 * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)


def _regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """mse, mae and r2 averaged over outputs (r2 of a constant target: 1 if exact, else 0)."""
    y2 = y.astype(np.float64).reshape(len(y), -1)
    p2 = pred.astype(np.float64).reshape(len(y), -1)
    residual = y2 - p2
    mse = float(np.mean(residual ** 2))
    ss_res = np.sum(residual ** 2, axis=0)
    ss_tot = np.sum((y2 - y2.mean(axis=0)) ** 2, axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1),
                  np.where(ss_res == 0, 1.0, 0.0))
    return {"loss": mse, "mse": mse, "mae": float(np.mean(np.abs(residual))),
            "r2": float(np.mean(r2))}
