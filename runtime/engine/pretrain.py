"""Greedy layer-wise unsupervised pre-training of the hidden dense layers (Bengio 2012, sec. 4).

Each hidden dense layer in turn is trained, alone, to model its input: the training inputs passed
through the already pre-trained layers below it (dropout layers are skipped: identity). Its W and b
are then the starting point of supervised fine-tuning. Plain SGD at `lr` on mini-batches of
`batch` for `epochs` epochs. Each layer draws its shuffles and noise from a random stream of its
own, derived from the fit's seed and the layer's index (`layer_rng`): a layer's pre-trained
weights then do not depend on the layers above it, so the pre-trained stack of a cut network is
that of the whole network (`warm_start.Stack`, which a layerwise stage continues from).

  autoencoder  tied weights: h = f(x W + b), x^ = h W^T + c (linear decoder, so any real-valued
               input can be reconstructed); criterion 0.5 * mean over examples of ||x^ - x||^2.
  denoising    the same, but the encoder reads a corrupted x~ (masking noise: each input set to 0
               with probability `noise`) and reconstructs the clean x (Vincent et al. 2008).
  rbm          a restricted Boltzmann machine trained by contrastive divergence CD-k (`cd`):
               binary (sigmoid) hidden units with p(h | v) = sigmoid(v W + b); visible units
               binary (sigmoid mean) when the inputs lie in [0, 1], else Gaussian with unit
               variance (mean h W^T + c); visible reconstructions are mean-field, hidden states
               sampled. The layer keeps W and b whatever its activation.
The decoder bias c (and the RBM's visible bias) is discarded after pre-training.
Reconstruction error, for every method: 0.5 * mean over examples of ||x^ - x||^2 with x^ the
deterministic reconstruction (autoencoder: clean input; rbm: mean-field up and down once).

Sparse inputs (a CSR X (n, d), d up to 10^5-10^6, `runtime.sparse`): the first layer never sees
a dense (n, d) or (batch, d) matrix. The encoder is the sparse x dense product; the decoder is
evaluated only at a sample of the input columns per mini-batch, reconstruction sampling (Dauphin,
Glorot & Bengio 2011): every column with a non-zero in the batch (k of them) plus s of the
d - k all-zero columns drawn uniformly without replacement, s = min(d - k, max(k, MIN_ZERO_SAMPLE))
(as many zeros as non-zero columns, and at least 64 so that small batches still see the pull of
the zeros towards 0), their squared errors weighted by (d - k) / s. The sampled criterion
is then an unbiased estimate of the full one (and its gradient of the full gradient); only the
rows of W and entries of c in the sample get a gradient. Masking noise zeroes stored values.
The reported reconstruction error is exact, computed without densifying
(`sparse_reconstruction_error`). rbm refuses sparse inputs (`SPARSE_RBM`): its negative phase
needs the mean of every visible unit, a dense (batch, d) matrix, and p(h | v) sums over all of
them, which a column sample does not estimate without bias inside the sigmoid.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from runtime.engine.activations import sigmoid
from runtime.engine.layers import Dense
from runtime.engine.network import Network
from runtime.engine.warm_start import Stack
from runtime.sparse import as_csr, is_sparse
from spec_lang.config import Pretrain

Step = Callable[[Dense, np.ndarray, Any, Pretrain, np.random.Generator, bool], None]
MIN_ZERO_SAMPLE = 64        # zero columns reconstructed per sparse batch, at least
SPARSE_RBM = ("pre-training 'rbm' cannot read sparse inputs: contrastive divergence needs the "
              "mean of all {d} visible units for every example of a batch (a dense matrix); use "
              "`pretrain autoencoder` or `pretrain denoising`, which reconstruct a sample of the "
              "inputs on sparse data")


def encode(layer: Dense, x: Any) -> np.ndarray:
    """f(x W + b) (n, n_out), a new array (x dense or CSR)."""
    h = x @ layer.W + layer.b
    layer.act.forward(h)
    return h


def autoencoder_grads(layer: Dense, c: np.ndarray, x_in: np.ndarray,
                      x_target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Tied autoencoder criterion and gradients (loss, gW (n_in, n_out), gb, gc) for encoder
    input x_in (n, n_in) and reconstruction target x_target (n, n_in)."""
    h = encode(layer, x_in)
    r = h @ layer.W.T + c - x_target
    loss = 0.5 * float(np.sum(r * r)) / len(x_in)
    r /= len(x_in)
    dh = r @ layer.W
    layer.act.backward(h, dh, np.empty_like(dh))
    gW = r.T @ h + x_in.T @ dh                       # decoder part + encoder part (tied)
    return loss, gW, dh.sum(axis=0), r.sum(axis=0)


def autoencoder_step(layer: Dense, c: np.ndarray, x: np.ndarray, spec: Pretrain,
                     rng: np.random.Generator, binary: bool = False) -> None:
    """One SGD step of the (denoising when spec.method says so) tied autoencoder."""
    x_in = x
    if spec.method == "denoising" and spec.noise > 0:
        x_in = x * (rng.random(x.shape) >= spec.noise)
    _, gW, gb, gc = autoencoder_grads(layer, c, x_in, x)
    layer.W -= spec.lr * gW
    layer.b -= spec.lr * gb
    c -= spec.lr * gc


def _visible_mean(layer: Dense, h: np.ndarray, c: np.ndarray, binary: bool) -> np.ndarray:
    """E[v | h]: sigmoid(h W^T + c) for binary visible units, h W^T + c for Gaussian ones."""
    v = h @ layer.W.T + c
    if binary:
        sigmoid(v)
    return v


def _hidden_prob(layer: Dense, v: np.ndarray) -> np.ndarray:
    """p(h = 1 | v) = sigmoid(v W + b)."""
    p = v @ layer.W + layer.b
    sigmoid(p)
    return p


def rbm_step(layer: Dense, c: np.ndarray, x: np.ndarray, spec: Pretrain,
             rng: np.random.Generator, binary: bool = False) -> None:
    """One CD-k step: positive phase at the data, negative phase after k Gibbs steps
    (`binary`: Bernoulli visible units, else Gaussian)."""
    p0 = _hidden_prob(layer, x)
    p, v = p0, x
    for _ in range(max(1, spec.cd)):
        h = (rng.random(p.shape) < p).astype(x.dtype)
        v = _visible_mean(layer, h, c, binary)
        p = _hidden_prob(layer, v)
    n = len(x)
    layer.W += spec.lr * (x.T @ p0 - v.T @ p) / n
    layer.b += spec.lr * (p0 - p).mean(axis=0)
    c += spec.lr * (x - v).mean(axis=0)


def reconstruction_error(layer: Dense, c: np.ndarray, x: np.ndarray, method: str,
                         binary: bool = False) -> float:
    """0.5 * mean over rows of ||x^ - x||^2 for the method's deterministic reconstruction."""
    if method == "rbm":
        x_hat = _visible_mean(layer, _hidden_prob(layer, x), c, binary)
    else:
        x_hat = encode(layer, x) @ layer.W.T + c
    return 0.5 * float(np.sum((x_hat - x) ** 2)) / max(len(x), 1)


def sample_columns(x: Any, rng: np.random.Generator, zeros: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """The input columns a CSR batch x (m, d) reconstructs: (cols, weights, k) with cols[:k] the
    k columns holding a non-zero in the batch (sorted) and cols[k:] `zeros` (default
    min(d - k, max(k, MIN_ZERO_SAMPLE))) of the other d - k, drawn uniformly without
    replacement (all of them, in order and without a draw, when that is every one); weights
    1 for the first k and (d - k) / zeros for the rest."""
    d = x.shape[1]
    nonzero = np.unique(x.indices)
    k, n_zero = len(nonzero), d - len(nonzero)
    s = min(n_zero, max(k, MIN_ZERO_SAMPLE) if zeros is None else zeros)
    ranks = np.arange(n_zero) if s == n_zero else rng.choice(n_zero, size=s, replace=False)
    # the rank-j zero column is j plus the number of non-zero columns c_i with c_i - i <= j
    zero_cols = ranks + np.searchsorted(nonzero - np.arange(k), ranks, side="right")
    weights = np.ones(k + s, dtype=x.dtype)
    weights[k:] = n_zero / max(s, 1)
    return np.concatenate([nonzero, zero_cols]), weights, k


def _compact(x: Any, nonzero: np.ndarray, width: int) -> Any:
    """x (m, d) with its columns renumbered to their place in the sorted `nonzero` (m, width);
    every stored column of x must be in `nonzero`."""
    import scipy.sparse as sp
    return sp.csr_matrix((x.data, np.searchsorted(nonzero, x.indices), x.indptr),
                         shape=(x.shape[0], width))


def sparse_autoencoder_grads(layer: Dense, c: np.ndarray, x_in: Any, x: Any, cols: np.ndarray,
                             weights: np.ndarray, k: int
                             ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """The sampled tied autoencoder criterion 0.5 / m * sum_i sum_j weights_j (x^_ij - x_ij)^2
    over the columns j = cols (`sample_columns`) and its gradients: (loss, gW (len(cols), n_out)
    for the rows W[cols], gb, gc (len(cols),) for c[cols]). x_in: the encoder's CSR input
    (m, d) (x, or x with stored values zeroed), x: the CSR target, non-zero only in cols[:k]."""
    m = x.shape[0]
    h = encode(layer, x_in)
    W_s = layer.W[cols]
    r = h @ W_s.T + c[cols]
    r -= _compact(x, cols[:k], len(cols)).toarray()          # the target, at the sample only
    wr = r * weights
    loss = 0.5 * float(np.sum(wr * r)) / m
    wr /= m
    dh = wr @ W_s
    layer.act.backward(h, dh, np.empty_like(dh))
    gW = wr.T @ h                                            # decoder part
    gW += np.asarray(_compact(x_in, cols[:k], len(cols)).T @ dh)   # encoder: non-zero rows
    return loss, gW, dh.sum(axis=0), wr.sum(axis=0)


def sparse_autoencoder_step(layer: Dense, c: np.ndarray, x: Any, spec: Pretrain,
                            rng: np.random.Generator, binary: bool = False) -> None:
    """One SGD step of the (denoising) tied autoencoder on a CSR batch x, reconstructing a
    sample of its columns (`sample_columns`); only W[cols], b and c[cols] change."""
    cols, weights, k = sample_columns(x, rng)
    x_in = x
    if spec.method == "denoising" and spec.noise > 0:         # masking noise on stored values
        x_in = x.copy()
        x_in.data *= rng.random(x.nnz) >= spec.noise
    _, gW, gb, gc = sparse_autoencoder_grads(layer, c, x_in, x, cols, weights, k)
    layer.W[cols] -= spec.lr * gW
    layer.b -= spec.lr * gb
    c[cols] -= spec.lr * gc


def sparse_reconstruction_error(layer: Dense, c: np.ndarray, x: Any) -> float:
    """0.5 * mean over rows of ||x^ - x||^2 for the autoencoder on a CSR x (n, d), exact and
    without a dense (n, d): ||x^||^2 = sum_i h_i (W^T W) h_i^T + 2 h W^T c + n ||c||^2 with
    W^T W (n_out, n_out), <x^, x> = sum((x^T h) * W) + (column sums of x) . c."""
    n, h, W = x.shape[0], encode(layer, x), layer.W
    f64 = np.float64
    hat = np.sum((h @ (W.T @ W)) * h, dtype=f64) + 2 * np.sum(h @ (W.T @ c), dtype=f64) \
        + n * float(np.dot(c, c))
    cross = np.sum(np.asarray(x.T @ h) * W, dtype=f64) \
        + float(np.dot(np.asarray(x.sum(axis=0)).ravel(), c))
    total = float(hat - 2 * cross + np.sum(np.square(x.data, dtype=f64)))
    return 0.5 * max(total, 0.0) / max(n, 1)


STEPS: dict[str, Step] = {"autoencoder": autoencoder_step, "denoising": autoencoder_step,
                          "rbm": rbm_step}


def pretrain_layer(layer: Dense, x: Any, spec: Pretrain, rng: np.random.Generator,
                   x_valid: Any = None) -> dict[str, Any]:
    """Pre-train one dense layer on its inputs x (n, n_in), dense or CSR (autoencoder and
    denoising only: reconstruction sampling); the reconstruction error before, after, and after
    each epoch ("epochs"), exact in both cases; with `x_valid` (the validation inputs of the
    layer), their error before and after each epoch too ("valid")."""
    if spec.method not in STEPS:
        raise ValueError(f"Unknown pre-training '{spec.method}'. Known: {', '.join(STEPS)}.")
    sparse = is_sparse(x)
    if sparse and spec.method == "rbm":
        raise ValueError(SPARSE_RBM.format(d=x.shape[1]))
    binary = not sparse and bool(x.min(initial=0) >= 0 and x.max(initial=0) <= 1)   # rbm
    c = np.zeros(layer.n_in, dtype=x.dtype)

    def error(data: Any) -> float:
        if sparse:
            return sparse_reconstruction_error(layer, c, data)
        return reconstruction_error(layer, c, data, spec.method, binary)

    before = error(x)
    valid = [] if x_valid is None else [error(x_valid)]
    step = sparse_autoencoder_step if sparse else STEPS[spec.method]
    n, batch = x.shape[0], max(1, spec.batch)
    errors = []
    for _ in range(spec.epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            step(layer, c, x[order[start:start + batch]], spec, rng, binary)
        errors.append(error(x))
        if x_valid is not None:
            valid.append(error(x_valid))
    after = errors[-1] if errors else before
    report = {"before": before, "after": after, "epochs": errors}
    return report if x_valid is None else {**report, "valid": valid}


def layer_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of hidden dense layer `index`'s pre-training (0-based): its own, from
    the fit's seed, so that a layer's pre-trained weights do not depend on the layers built
    above it (`warm_start.Stack`)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def pretrain(net: Network, X: Any, spec: Pretrain, seed: int, X_valid: Any = None,
             lower: Stack | None = None) -> dict[str, dict[str, Any]]:
    """Greedy layer-wise pre-training of net's hidden dense layers on X (n, d), in place, each
    with its own settings (`spec.of_layer`) and random stream (`layer_rng(seed, index)`); X
    dense or sparse (kept CSR for the first layer, whose outputs are dense; ValueError for
    rbm). The first layers take the `lower` stack's weights and reports instead of being
    pre-trained (the same numbers). Returns {"dense0": {"before": error, "after": error,
    "epochs": [error per epoch], "valid": [validation error before and per epoch, when X_valid
    has rows]}, ...}."""
    report: dict[str, dict[str, Any]] = {}
    x, xv = _as_input(X, net.dtype), None
    if X_valid is not None and X_valid.shape[0]:
        xv = _as_input(X_valid, net.dtype)
    done = [] if lower is None else list(zip(lower.weights, lower.reports))
    for index, (name, layer) in enumerate(zip(net.names, hidden_dense(net))):
        if index < len(done):
            (W, b), report[name] = done[index]
            if W.shape != layer.W.shape or b.shape != layer.b.shape:
                raise ValueError(f"the lower stack's layer {name} is {W.shape}, the "
                                 f"network's {layer.W.shape}")
            layer.W[...], layer.b[...] = W, b
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                report[name] = pretrain_layer(layer, x, spec.of_layer(index),
                                              layer_rng(seed, index), xv)
        x = encode(layer, x)
        xv = None if xv is None else encode(layer, xv)
    return report


def hidden_dense(net: Network) -> list[Dense]:
    """The hidden dense layers of `net`, bottom up (what pre-training trains)."""
    return [lay for lay in net.layers[:-1] if isinstance(lay, Dense)]


def stack_of(net: Network, report: dict[str, dict[str, Any]]) -> Stack:
    """The pre-trained stack of `net` (a copy of its hidden dense layers' weights) and the
    report `pretrain` gave."""
    return Stack([(lay.W.copy(), lay.b.copy()) for lay in hidden_dense(net)],
                 list(report.values()))


def _as_input(X: Any, dtype: np.dtype) -> Any:
    return as_csr(X, dtype) if is_sparse(X) else np.asarray(X, dtype=dtype)
