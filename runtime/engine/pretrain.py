"""Greedy layer-wise unsupervised pre-training of the hidden dense layers (Bengio 2012, sec. 4).

Each hidden dense layer in turn is trained, alone, to model its input: the training inputs passed
through the already pre-trained layers below it (dropout layers are skipped: identity). Its W and b
are then the starting point of supervised fine-tuning. Plain SGD at `lr` on mini-batches of
`batch` for `epochs` epochs, from the fit's one random generator.

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
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from runtime.engine.activations import sigmoid
from runtime.engine.layers import Dense
from runtime.engine.network import Network
from spec_lang.config import Pretrain

Step = Callable[[Dense, np.ndarray, np.ndarray, Pretrain, np.random.Generator, bool], None]


def encode(layer: Dense, x: np.ndarray) -> np.ndarray:
    """f(x W + b) (n, n_out), a new array."""
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


STEPS: dict[str, Step] = {"autoencoder": autoencoder_step, "denoising": autoencoder_step,
                          "rbm": rbm_step}


def pretrain_layer(layer: Dense, x: np.ndarray, spec: Pretrain,
                   rng: np.random.Generator) -> dict[str, Any]:
    """Pre-train one dense layer on its inputs x (n, n_in); the reconstruction error before,
    after, and after each epoch ("epochs")."""
    if spec.method not in STEPS:
        raise ValueError(f"Unknown pre-training '{spec.method}'. Known: {', '.join(STEPS)}.")
    binary = bool(x.min(initial=0) >= 0 and x.max(initial=0) <= 1)   # rbm visible units
    c = np.zeros(layer.n_in, dtype=x.dtype)
    before = reconstruction_error(layer, c, x, spec.method, binary)
    step, batch = STEPS[spec.method], max(1, spec.batch)
    errors = []
    for _ in range(spec.epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            step(layer, c, x[order[start:start + batch]], spec, rng, binary)
        errors.append(reconstruction_error(layer, c, x, spec.method, binary))
    after = errors[-1] if errors else before
    return {"before": before, "after": after, "epochs": errors}


def pretrain(net: Network, X: np.ndarray, spec: Pretrain,
             rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """Greedy layer-wise pre-training of net's hidden dense layers on X (n, d), in place.
    Returns {"dense0": {"before": error, "after": error, "epochs": [error per epoch]}, ...}."""
    report, x = {}, np.asarray(X, dtype=net.dtype)
    hidden = net.layers[:-1]
    for name, layer in zip(net.names, [lay for lay in hidden if isinstance(lay, Dense)]):
        with np.errstate(over="ignore", invalid="ignore"):
            report[name] = pretrain_layer(layer, x, spec, rng)
        x = encode(layer, x)
    return report
