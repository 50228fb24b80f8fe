"""Several targets in one network (Bengio 2012, section 5.3): one output head per target over
column slices of the output layer's logits, and a weighted sum of their losses as the criterion.

Targets arrive as one float matrix y (n, T): a class target's column holds its class indices
0..K-1, a regression target's column its values. Head t reads the logits z[:, s_t] (s_t its
slice: K columns for a softmax, 1 for a binary sigmoid or a regression value) and contributes
w_t J_t to the criterion, J_t its own mean loss (cross-entropy; 0.5 x the mean squared error of the
standardized target), so dJ/dz[:, s_t] = w_t dJ_t/dz[:, s_t]: each head writes its gradient into
its slice of delta with its weight folded into the scale.

The loss a multi-target fit reports (train_loss, valid_loss) is that criterion, sum_t w_t J_t;
`evaluate` adds every target's own metrics as `<target>_<metric>` (`price_mse`, `rooms_error`),
in the units a one-target fit reports them (mse in the target's units).
"""
from __future__ import annotations

import numpy as np

from runtime.engine.losses import (Head, SoftmaxCrossEntropy, SquaredError, head_from_state,
                                   make_head)
from runtime.engine.metrics import ensemble_logits, evaluate, metric_parts
from runtime.errors import DataError
from runtime.types import Dataset, Target
from spec_lang.config import METRICS


def task_of(head: Head) -> str:
    """The task a one-target head serves: regression (squared) or classification."""
    return "regression" if isinstance(head, SquaredError) else "classification"


class MultiHead(Head):
    """Heads over consecutive column slices of the logits, weighted (see the module docstring)."""

    name = "multi"

    def __init__(self, parts: list[Head], names: tuple[str, ...],
                 weights: tuple[float, ...]) -> None:
        if not len(parts) == len(names) == len(weights) or len(parts) < 2:
            raise ValueError(f"a multi-target head needs two or more heads, each with a name "
                             f"and a weight; got {len(parts)}, {len(names)}, {len(weights)}")
        self.parts, self.names = parts, tuple(names)
        self.weights = tuple(float(w) for w in weights)
        self.tasks = tuple(task_of(p) for p in parts)
        self.slices, self.decoded = [], []
        at = out_at = 0
        for part in parts:
            width = 2 if getattr(part, "binary", False) else part.n_out     # decode's width
            self.slices.append(slice(at, at + part.n_out))
            self.decoded.append(slice(out_at, out_at + width))
            at, out_at = at + part.n_out, out_at + width
        self.n_out = at

    def encode(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """y (n, T) -> the parts' encodings side by side (n, n_out)."""
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return np.ascontiguousarray(np.hstack(
            [p.encode(y2[:, j], dtype).reshape(len(y2), -1) for j, p in enumerate(self.parts)]),
            dtype=dtype)

    def output(self, z: np.ndarray) -> None:
        """Each part's output function on its slice, in place."""
        for part, s in zip(self.parts, self.slices):
            part.output(z[:, s])

    def decode(self, out: np.ndarray) -> np.ndarray:
        """The parts' predictions side by side: class probabilities (K columns; binary 2), a
        regression value in its original units (1 column)."""
        return np.hstack([p.decode(out[:, s]).reshape(len(out), -1)
                          for p, s in zip(self.parts, self.slices)])

    def loss_logits(self, z: np.ndarray) -> np.ndarray:
        """The raw logits (a float64 copy): `evaluate` splits them per target."""
        return np.array(z, dtype=np.float64)

    def loss_grad(self, z: np.ndarray, y: np.ndarray, delta: np.ndarray,
                  scale: float = 1.0, w: np.ndarray | None = None) -> float:
        """sum_t w_t J_t of the batch; each part writes scale w_t dJ_t/dz into its slice."""
        total = 0.0
        for part, s, weight in zip(self.parts, self.slices, self.weights):
            loss = part.loss_grad(z[:, s], y[:, s], delta[:, s], scale * weight, w)
            total += weight * _criterion_units(part, loss)
        return total

    def criterion(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        """sum_t w_t J_t at logits z, float64 (y encoded, as `encode` gives it)."""
        return float(sum(weight * part.criterion(z[:, s], y[:, s], w)
                         for part, s, weight in zip(self.parts, self.slices, self.weights)))

    def evaluate(self, task: str, y: np.ndarray, output: np.ndarray,
                 logits: np.ndarray | None, weights: np.ndarray | None = None
                 ) -> dict[str, float]:
        """`loss` (the weighted criterion) and every target's metrics as `<name>_<metric>`, of
        decoded `output` (n, sum of decoded widths) against y (n, T); logits: raw (n, n_out);
        `task` is "multitarget" (each part's own task is known)."""
        y2 = np.asarray(y).reshape(len(y), -1)
        metrics: dict[str, float] = {"loss": 0.0}
        for j, (part, kind) in enumerate(zip(self.parts, self.tasks)):
            out = output[:, self.decoded[j]]
            truth = y2[:, j].astype(np.int64) if kind == "classification" else y2[:, j]
            z = None if logits is None else part.loss_logits(logits[:, self.slices[j]])
            own = evaluate(kind, truth, out[:, 0] if kind == "regression" else out, z, weights)
            metrics.update({f"{self.names[j]}_{k}": v for k, v in own.items()})
            own_loss = own["loss"] if kind == "classification" else own["mse"]
            metrics["loss"] += self.weights[j] * _criterion_units(part, own_loss)
        return metrics

    def ensemble_logits(self, task: str, members: list[np.ndarray]) -> np.ndarray:
        """Raw-logit equivalents of the members' averaged probabilities, per class part
        (`metrics.ensemble_logits`); regression parts keep the mean (their loss reads none)."""
        z = np.mean([np.asarray(m, dtype=np.float64) for m in members], axis=0)
        for part, s, kind in zip(self.parts, self.slices, self.tasks):
            if kind != "classification":
                continue
            joint = ensemble_logits(kind, [np.asarray(part.loss_logits(m[:, s])) for m in members])
            z[:, s] = joint if isinstance(part, SoftmaxCrossEntropy) else \
                (joint[:, 1] - joint[:, 0])[:, None]
        return z

    def state(self) -> dict[str, np.ndarray]:
        """Each part's state under `head<j>/`, the names and the weights."""
        arrays = {**super().state(), "head_names": np.array(self.names, dtype=str),
                  "head_weights": np.array(self.weights, dtype=np.float64)}
        for j, part in enumerate(self.parts):
            arrays.update({f"head{j}/{k}": v for k, v in part.state().items()})
        return arrays


def _criterion_units(part: Head, loss: float) -> float:
    """A part's reported batch loss as its criterion J_t: cross-entropy as it is; a regression
    part's mse (in the target's units) as 0.5 x the standardized target's."""
    if isinstance(part, SquaredError):
        return 0.5 * loss / float(part.scale[0] ** 2)
    return loss


def make_multi_head(targets: tuple[Target, ...], weights: tuple[float, ...],
                    y_train: np.ndarray, w_train: np.ndarray | None = None) -> MultiHead:
    """One head per target (`losses.make_head` on its column of y_train (n, T)); weights ()
    are all 1."""
    y2 = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    if y2.shape[1] != len(targets):
        raise ValueError(f"{len(targets)} targets but the target matrix has {y2.shape[1]} "
                         "columns")
    weights = tuple(weights) or (1.0,) * len(targets)
    if len(weights) != len(targets):
        raise ValueError(f"{len(weights)} target weights for {len(targets)} targets")
    parts = [make_head(t.task, len(t.classes), y2[:, j].astype(np.int64) if
                       t.task == "classification" else y2[:, j], w_train)
             for j, t in enumerate(targets)]
    return MultiHead(parts, tuple(t.name for t in targets), weights)


def multi_from_state(state: dict[str, np.ndarray]) -> MultiHead:
    """The MultiHead `MultiHead.state()` described."""
    names = tuple(str(s) for s in np.asarray(state["head_names"]).reshape(-1))
    weights = tuple(float(v) for v in np.asarray(state["head_weights"]).reshape(-1))
    parts = [head_from_state({k[len(f"head{j}/"):]: v for k, v in state.items()
                              if k.startswith(f"head{j}/")}) for j in range(len(names))]
    return MultiHead(parts, names, weights)


def check_target_metric(metric: str | None, targets: tuple[Target, ...]) -> None:
    """ValueError unless `metric` (None: the weighted loss) is "loss" or `<target>_<metric>`
    with a metric of that target's task."""
    if metric is None or metric == "loss":
        return
    name, base = metric_parts(metric)
    known = {t.name: t for t in targets}
    if name not in known:
        raise ValueError(f"the selection metric '{metric}' names no target; with several "
                         f"targets it is the weighted loss or one target's metric "
                         f"(targets: {', '.join(known)})")
    task = known[name].task
    if base not in METRICS[task]:
        raise ValueError(f"metric '{base}' does not apply to target '{name}', a {task} target "
                         f"({task} metrics: {', '.join(METRICS[task])})")


def check_data_metric(metric: str | None, data: Dataset) -> None:
    """`check_target_metric` against a loaded data set's targets, as a DataError naming the
    file and the target (what `nnspec check` and `nnspec run` report before training)."""
    try:
        check_target_metric(metric, data.targets)
    except ValueError as exc:
        raise DataError(str(exc), path=data.name,
                        column=metric_parts(metric or "")[0] or None) from None
