"""Output heads: the task's output function, loss, target encoding and decoding.

A head turns the output layer's logits z (n, k) into predictions and into the loss gradient
dJ/dz, computed from the logits directly (softmax + cross-entropy gives p - y, sigmoid + binary
cross-entropy gives p - y, identity + squared error gives r = z - y), divided by the number of
terms averaged. Three heads:

  softmax   multi-class (K > 2): K logits, mean cross-entropy over examples.
  sigmoid   binary (one unit) and multilabel (L units): mean binary cross-entropy over all
            examples x units (so binary and multilabel losses read the same).
  squared   regression (m outputs) on targets standardized with training statistics; the
            criterion is 0.5 * mean over examples x outputs of r^2 (gradient r / (n m)); the loss
            *reported* is the mse in the original target units.

`loss_grad` is the hot path: it overwrites z with the outputs, writes dJ/dz into `delta`, times
an optional `scale` (how an optimizer folds -lr into the backward pass for free) and returns the
reported loss of the batch.

Sample weights: `loss_grad(..., w=)` and `criterion(..., w=)` take a column w (n, 1) of
per-example multipliers, already divided by the mean weight of the whole training set (the
engine does that once, `training.fit`). Each example's loss term and its gradient are multiplied
by w_i and the batch is still divided by its number of terms: the data loss of a batch b is
sum_b w_i l_i / |b| (l_i the example's mean over its units). Over the whole training set that is
sum w_i l_i / sum w_i, the weighted mean, so integer weights equal repeated examples and scaling
every weight changes nothing; over a mini-batch it is an unbiased estimate of it (a batch's own
weight sum would bias it, and would make weights inert under online learning, `batch 1`).
w None is the unweighted code path, untouched. `criterion` is the slow, exact float64 value used by the
gradient check. `loss_logits` gives what `runtime.engine.metrics.evaluate` reads to compute the
loss metric from the logits (log-softmax, log-sigmoid), never from rounded probabilities: a
confidently wrong example costs about |z|, not the log of a clipped probability.
"""
from __future__ import annotations

import numpy as np

from runtime.engine.activations import constant
from runtime.engine.metrics import ensemble_logits, evaluate

# Row sums below this mean some terms lost precision to underflow: tiny / eps of the dtype.
_SAFE_SUM = {np.dtype(t).char: np.finfo(t).tiny / np.finfo(t).eps for t in (np.float32, np.float64)}


def _weighted_mean(terms: np.ndarray, w: np.ndarray | None) -> float:
    """mean over all entries of terms (n, k), each row times w_i (w (n, 1), or None), float64."""
    terms = np.asarray(terms, dtype=np.float64)
    if w is None:
        return float(np.mean(terms))
    return float(np.sum(terms * np.asarray(w, dtype=np.float64).reshape(-1, 1)) / terms.size)


class Head:
    """Base class; see the module docstring. Subclasses set `name` and `n_out`."""

    name = ""
    n_out = 0

    def encode(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Targets (n,) or (n, m) -> training matrix (n, n_out) of `dtype`."""
        raise NotImplementedError

    def output(self, z: np.ndarray) -> None:
        """Logits -> outputs (probabilities or standardized values), in place."""

    def decode(self, out: np.ndarray) -> np.ndarray:
        """Outputs (n, n_out) -> what `Network.predict` returns (a new array)."""
        return out.copy()

    def loss_logits(self, z: np.ndarray) -> np.ndarray | None:
        """Logits z (n, n_out) -> the logits `evaluate(..., logits=)` reads: class logits
        (n, K) for classification, label logits (n, L) for multilabel; None for regression."""
        return None

    def loss_grad(self, z: np.ndarray, y: np.ndarray, delta: np.ndarray,
                  scale: float = 1.0, w: np.ndarray | None = None) -> float:
        """Reported batch loss; z <- outputs, delta <- scale * dJ/dz (n, n_out); with w (n, 1)
        each example's term weighted (see the module docstring)."""
        raise NotImplementedError

    def criterion(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        """The training criterion's data term at logits z (not modified), in float64 (w as in
        `loss_grad`)."""
        raise NotImplementedError

    def evaluate(self, task: str, y: np.ndarray, output: np.ndarray,
                 logits: np.ndarray | None, weights: np.ndarray | None = None
                 ) -> dict[str, float]:
        """The metrics of `output` (what `decode` gives) against y: `metrics.evaluate`'s for
        one target (a multi-target head splits them per target)."""
        return evaluate(task, y, output, logits, weights=weights)

    def ensemble_logits(self, task: str, members: list[np.ndarray]) -> np.ndarray:
        """The loss logits of several members' averaged outputs (`metrics.ensemble_logits`)."""
        return ensemble_logits(task, members)

    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays that `head_from_state` rebuilds this head from."""
        return {"head": np.array(self.name), "head_n_out": np.array(self.n_out)}


class SoftmaxCrossEntropy(Head):
    """K-way softmax with mean cross-entropy; targets are labels 0..K-1."""

    name = "softmax"

    def __init__(self, n_classes: int) -> None:
        self.n_out = n_classes

    def encode(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """One-hot rows (n, K)."""
        onehot = np.zeros((len(y), self.n_out), dtype=dtype)
        onehot[np.arange(len(y)), np.asarray(y, dtype=np.int64)] = 1
        return onehot

    def loss_logits(self, z: np.ndarray) -> np.ndarray:
        """The K class logits themselves (a copy)."""
        return np.array(z, dtype=np.float64)

    def output(self, z: np.ndarray) -> None:
        """Softmax with the max subtracted (log-sum-exp trick)."""
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)

    def loss_grad(self, z: np.ndarray, y: np.ndarray, delta: np.ndarray,
                  scale: float = 1.0, w: np.ndarray | None = None) -> float:
        """Mean of log(sum exp z) - z_true; delta = scale (p - y) / n (times w_i per row).

        The logits are shifted by one max over the whole batch, not row by row: a reduction
        along rows of ~10 values is slow in NumPy (20 us at 512 rows) while a full one is not.
        Softmax is shift-invariant, so this is exact unless a row's terms all underflow (its
        max far below the batch max); that shows in the row sums and the batch is redone
        row-wise from the logits saved in `delta`."""
        np.copyto(delta, z)
        z -= np.maximum.reduce(z, axis=None)     # (ufunc.reduce: no Python wrapper, per batch)
        true = self._true(z, y, w)                # sum of the (shifted) true-class logits
        np.exp(z, out=z)
        total = np.dot(z, constant(1.0, (z.shape[1], 1), z.dtype))      # row sums (n, 1)
        if np.minimum.reduce(total, axis=None) < _SAFE_SUM[z.dtype.char]:
            np.copyto(z, delta)
            z -= z.max(axis=1, keepdims=True)
            true = self._true(z, y, w)
            np.exp(z, out=z)
            total = z.sum(axis=1, keepdims=True)
        log_total = np.log(total)
        lse = np.add.reduce(log_total, axis=None) if w is None else np.vdot(w, log_total)
        loss = (lse - true) / z.shape[0]
        z /= total
        np.subtract(z, y, out=delta)
        if w is not None:
            delta *= w
        delta *= scale / z.shape[0]
        return float(loss)

    @staticmethod
    def _true(z: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> np.floating:
        """sum_i w_i z_i,true (w None: all 1) for one-hot y, a scalar of z's dtype."""
        return np.vdot(z, y) if w is None else np.vdot(w, np.einsum("ij,ij->i", z, y))

    def criterion(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        """Mean cross-entropy from the logits (weighted by w)."""
        z = np.asarray(z, dtype=np.float64)
        top = z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
        return _weighted_mean((lse - (z * y).sum(axis=1))[:, None], w)


class SigmoidCrossEntropy(Head):
    """Independent sigmoid units with binary cross-entropy: one unit for a binary task (predict
    returns the (n, 2) class probabilities), L units for multilabel (predict returns (n, L))."""

    name = "sigmoid"

    def __init__(self, n_out: int, binary: bool) -> None:
        self.n_out = n_out
        self.binary = binary

    def encode(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Binary labels -> (n, 1); multilabel 0/1 matrix -> (n, L)."""
        return np.ascontiguousarray(np.asarray(y, dtype=dtype).reshape(len(y), self.n_out))

    def output(self, z: np.ndarray) -> None:
        """Logistic sigmoid, overflow-free as (1 + tanh(z / 2)) / 2."""
        z *= 0.5
        np.tanh(z, out=z)
        z *= 0.5
        z += 0.5

    def decode(self, out: np.ndarray) -> np.ndarray:
        """(n, 1) -> (n, 2) [1 - p, p] for binary; (n, L) as is for multilabel."""
        if self.binary:
            return np.concatenate([1 - out, out], axis=1)
        return out.copy()

    def loss_logits(self, z: np.ndarray) -> np.ndarray:
        """Binary: the class logits [0, z] (their softmax is [1 - sigmoid(z), sigmoid(z)]);
        multilabel: the label logits (a copy)."""
        z = np.asarray(z, dtype=np.float64)
        return np.concatenate([np.zeros_like(z), z], axis=1) if self.binary else z.copy()

    def loss_grad(self, z: np.ndarray, y: np.ndarray, delta: np.ndarray,
                  scale: float = 1.0, w: np.ndarray | None = None) -> float:
        """Mean of softplus(z) - z y (stable BCE); delta = scale (sigmoid(z) - y) / (n L)
        (times w_i per row)."""
        count = z.size
        if w is None:
            loss = (np.logaddexp(0, z).sum() - np.vdot(z, y)) / count
        else:
            terms = np.logaddexp(0, z, out=delta)          # delta: scratch until overwritten
            terms -= z * y
            loss = np.dot(w[:, 0], terms).sum() / count
        self.output(z)
        np.subtract(z, y, out=delta)
        if w is not None:
            delta *= w
        delta *= scale / count
        return float(loss)

    def criterion(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        """Mean binary cross-entropy from the logits (weighted by w)."""
        z = np.asarray(z, dtype=np.float64)
        return _weighted_mean(np.logaddexp(0, z) - z * y, w)

    def state(self) -> dict[str, np.ndarray]:
        """Adds whether this is a binary head."""
        return {**super().state(), "head_binary": np.array(self.binary)}


class SquaredError(Head):
    """Identity output on standardized targets; predictions come back in the original units."""

    name = "squared"

    def __init__(self, mean: np.ndarray, scale: np.ndarray, flat: bool) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.n_out = len(self.mean)
        self.flat = flat                          # the targets were (n,): predict returns (n,)
        self._var: dict[np.dtype, np.ndarray] = {}

    @classmethod
    def fitted(cls, y: np.ndarray, w: np.ndarray | None = None) -> SquaredError:
        """A head standardizing with the mean and std of the training targets y (std 0 -> 1),
        weighted by the sample weights w (n,) when given (as repeated examples would be)."""
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if w is None:
            mean, scale = y2.mean(axis=0), y2.std(axis=0)
        else:
            w64 = np.asarray(w, dtype=np.float64).reshape(-1)
            mean = np.average(y2, axis=0, weights=w64)
            scale = np.sqrt(np.average((y2 - mean) ** 2, axis=0, weights=w64))
        scale[scale == 0] = 1.0
        return cls(mean, scale, flat=np.ndim(y) == 1)

    def encode(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """(y - mean) / scale as (n, m)."""
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), self.n_out)
        return np.ascontiguousarray((y2 - self.mean) / self.scale, dtype=dtype)

    def decode(self, out: np.ndarray) -> np.ndarray:
        """Back to the original units; (n,) when the training targets were 1-D."""
        y = out * self.scale.astype(out.dtype) + self.mean.astype(out.dtype)
        return y[:, 0].copy() if self.flat else y

    def loss_grad(self, z: np.ndarray, y: np.ndarray, delta: np.ndarray,
                  scale: float = 1.0, w: np.ndarray | None = None) -> float:
        """mse in original units; delta = scale (z - y) / (n m) (times w_i per row)."""
        count = z.size
        np.subtract(z, y, out=delta)
        var = self._var.get(z.dtype)
        if var is None:
            var = self._var.setdefault(z.dtype, (self.scale ** 2).astype(z.dtype))
        if w is None:
            loss = np.dot(np.einsum("ij,ij->j", delta, delta), var) / count
        else:
            loss = np.dot(np.einsum("ij,ij,i->j", delta, delta, w[:, 0]), var) / count
            delta *= w
        delta *= scale / count
        return float(loss)

    def criterion(self, z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        """0.5 * mean squared residual in standardized units (weighted by w)."""
        r = np.asarray(z, dtype=np.float64) - y
        return 0.5 * _weighted_mean(r * r, w)

    def state(self) -> dict[str, np.ndarray]:
        """Adds the target statistics."""
        return {**super().state(), "head_mean": self.mean, "head_scale": self.scale,
                "head_flat": np.array(self.flat)}


def make_head(task: str, n_classes: int, y_train: np.ndarray,
              w_train: np.ndarray | None = None) -> Head:
    """The head for `task` (classification with n_classes, multilabel, regression); a
    regression head standardizes with the w_train-weighted target statistics."""
    if task == "classification":
        k = max(int(n_classes), int(np.max(y_train)) + 1 if len(y_train) else 0, 2)
        return SigmoidCrossEntropy(1, binary=True) if k == 2 else SoftmaxCrossEntropy(k)
    if task == "multilabel":
        return SigmoidCrossEntropy(np.shape(y_train)[1], binary=False)
    if task == "regression":
        return SquaredError.fitted(y_train, w_train)
    raise ValueError(f"Unknown task '{task}'. Known: classification, multilabel, regression.")


def head_from_state(state: dict[str, np.ndarray]) -> Head:
    """Rebuild a head from `Head.state()` arrays (one target's; several targets' heads are
    `runtime.engine.multitarget.multi_from_state`'s, and `network` tells them apart)."""
    name = str(state["head"])
    if name == "softmax":
        return SoftmaxCrossEntropy(int(state["head_n_out"]))
    if name == "sigmoid":
        return SigmoidCrossEntropy(int(state["head_n_out"]), bool(state["head_binary"]))
    if name == "squared":
        return SquaredError(state["head_mean"], state["head_scale"], bool(state["head_flat"]))
    raise ValueError(f"Unknown output head '{name}' in a saved network state.")
