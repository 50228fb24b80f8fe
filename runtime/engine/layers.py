"""Layers: dense (fully connected + activation) and inverted dropout.

Layers own their parameters as *views* into the network's one flat parameter vector (and their
gradients as views into the flat gradient vector), so an optimizer updates every layer with a
handful of whole-vector NumPy calls. They own no activation buffers: the network's `Workspace`
passes preallocated (rows, width) arrays in, so nothing is allocated per batch and the same layer
serves training batches, the last smaller batch (views of the same buffers) and prediction.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from runtime.engine.activations import get_activation


class Dense:
    """a = f(x W + b): x (n, n_in), W (n_in, n_out), b (n_out,), a (n, n_out).

    `W`, `b`, `gW`, `gb` are bound by the network (`bind`) to views of its flat vectors.
    """

    kind = "dense"

    def __init__(self, n_in: int, n_out: int, activation: str, lr_scale: float = 1.0) -> None:
        self.n_in, self.n_out = n_in, n_out
        self.activation = activation
        self.act = get_activation(activation)
        self.lr_scale = lr_scale
        self.rate = 0.0
        self.W = self.b = self.gW = self.gb = np.empty(0)
        self.rows = np.empty(0, dtype=np.int64)   # a sparse batch's gradient (_sparse_backward)
        self.g_rows = np.empty((0, n_out))

    def bind(self, W: np.ndarray, b: np.ndarray, gW: np.ndarray, gb: np.ndarray) -> None:
        """Use these arrays (views of the network's flat vectors) as parameters and gradients."""
        self.W, self.b, self.gW, self.gb = W, b, gW, gb

    def forward(self, x: Any, out: np.ndarray, mask: np.ndarray | None, train: bool,
                rng: np.random.Generator | None) -> np.ndarray:
        """out <- f(x W + b), returns out; x dense, or a CSR batch for the first layer of a
        network on sparse inputs (a sparse x dense product). (mask, train, rng: unused, same
        signature as Dropout.)"""
        if type(x) is np.ndarray:
            np.dot(x, self.W, out=out)
        else:
            out[...] = x @ self.W
        out += self.b
        self.act.forward(out)
        return out

    def backward(self, x: np.ndarray, a: np.ndarray, delta: np.ndarray, dx: np.ndarray | None,
                 scratch: np.ndarray | None) -> None:
        """delta (n, n_out) holds dJ/da on entry and dJ/dz after; writes gW = x^T delta,
        gb = column sums of delta and, unless dx is None, dx = delta W^T (n, n_in)."""
        if scratch is None:
            raise ValueError("a dense layer's backward pass needs a scratch buffer")
        self.act.backward(a, delta, scratch)
        if type(x) is not np.ndarray:
            self._sparse_backward(x, delta, dx)
            return
        np.dot(x.T, delta, out=self.gW)
        np.add.reduce(delta, axis=0, out=self.gb)       # = np.sum, minus its Python wrapper
        if dx is not None:
            np.dot(delta, self.W.T, out=dx)

    def _sparse_backward(self, x: Any, delta: np.ndarray, dx: np.ndarray | None) -> None:
        """The gradient on a CSR batch x (n, n_in): only the rows of W whose features occur in
        the batch can be non-zero, so they are computed alone, as `rows` (k,) (sorted feature
        indices) and `g_rows` (k, n_out) = x[:, rows]^T delta; `gW` is left untouched (the
        optimizer updates those rows: `runtime.engine.optimizers.UpdateRule.update_rows`)."""
        if dx is not None:
            raise ValueError("a dense layer reading sparse inputs must be the first layer")
        import scipy.sparse as sp
        self.rows, local = np.unique(x.indices, return_inverse=True)
        compact = sp.csr_matrix((x.data, local.reshape(-1), x.indptr),
                                shape=(x.shape[0], len(self.rows)))
        self.g_rows = np.asarray(compact.T @ delta, dtype=delta.dtype)
        np.add.reduce(delta, axis=0, out=self.gb)


class Dropout:
    """Inverted dropout on (n, width): while training, each unit is kept with probability
    1 - rate and scaled by 1 / (1 - rate), so nothing changes at prediction (identity)."""

    kind = "dropout"

    def __init__(self, width: int, rate: float) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"The 'rate' of dropout must be in [0, 1). Got {rate}.")
        self.n_in = self.n_out = width
        self.rate = rate
        self.activation = ""
        self.lr_scale = 1.0

    def forward(self, x: np.ndarray, out: np.ndarray, mask: np.ndarray | None, train: bool,
                rng: np.random.Generator | None) -> np.ndarray:
        """Training: out <- x * mask, a fresh mask drawn from `rng` unless rng is None (then the
        mask already in `mask` is reused: a fixed mask). Prediction: returns x itself."""
        if not train or self.rate == 0.0:
            return x
        if mask is None:
            raise ValueError("dropout while training needs a mask buffer")
        if rng is not None:
            rng.random(dtype=mask.dtype, out=mask)
            np.greater_equal(mask, self.rate, out=mask)
            mask *= 1.0 / (1.0 - self.rate)
        np.multiply(x, mask, out=out)
        return out

    def backward(self, x: np.ndarray, a: np.ndarray, delta: np.ndarray, dx: np.ndarray | None,
                 mask: np.ndarray | None) -> None:
        """dx <- delta * mask (the same mask as the forward pass)."""
        if dx is None:
            return
        if self.rate == 0.0:
            np.copyto(dx, delta)
        elif mask is None:
            raise ValueError("dropout's backward pass needs the forward pass's mask")
        else:
            np.multiply(delta, mask, out=dx)


Layer = Dense | Dropout
