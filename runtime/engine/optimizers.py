"""Update rules on the flat parameter vector. Each optimizer holds its state and has one method,
`update(params, grads, lr)`, which changes `params` in place (it may overwrite `grads`), plus
`grad_scale(lr)`: the factor the gradient must arrive multiplied by. SGD asks for -lr g, which the
network folds into its output delta for free (back-propagation is linear), saving a pass over all
parameters per update; the adaptive rules ask for g itself (factor 1).

With g the gradient of the training criterion and lr the scheduled learning rate of this update:

  sgd           w <- w - lr g                                      (momentum 0)
  momentum      v <- mu v - lr g;   w <- w + v                     (classical, Polyak)
  nesterov      v <- mu v - lr g;   w <- w + mu v - lr g  =  w + mu^2 v_prev - (1 + mu) lr g
  adagrad       G <- G + g^2;       w <- w - lr g / (sqrt(G) + eps)
  rmsprop       E <- rho E + (1 - rho) g^2;   w <- w - lr g / (sqrt(E) + eps)
  adam          m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;  t <- t + 1
                w <- w - lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)

Nesterov: the accelerated gradient v' = mu v - lr grad(theta + mu v), theta' = theta + v' needs
the gradient at the look-ahead point theta + mu v. Tracking w = theta + mu v instead (the point
where the gradient is taken) gives w' = theta' + mu v' = w - mu v + (1 + mu) v', which is the rule
above (Bengio, Boulanger-Lewandowski & Pascanu 2013; scikit-learn's form).

Per-layer learning-rate multipliers (`lr_scale`) come as a flat vector `scale` (None when all 1)
and multiply the step, so they act the same way for every rule.
"""
from __future__ import annotations

import numpy as np

from spec_lang.config import Optimizer as OptimizerSpec


class UpdateRule:
    """Base: state lives in subclasses; gradients arrive unscaled. `STATE` names the
    attributes that carry over from one update to the next (what a warm start restores);
    `ARRAYS` those of them that are per-parameter vectors (what a row update gathers)."""

    STATE: tuple[str, ...] = ()
    ARRAYS: tuple[str, ...] = ()
    SCRATCH: tuple[str, ...] = ()     # per-parameter buffers whose values do not carry over
    scale: np.ndarray | None = None

    def state(self) -> dict[str, np.ndarray | int]:
        """Copies of the state carried between updates."""
        out: dict[str, np.ndarray | int] = {}
        for name in self.STATE:
            value = getattr(self, name)
            out[name] = value.copy() if isinstance(value, np.ndarray) else int(value)
        return out

    def load(self, state: dict[str, np.ndarray | int]) -> None:
        """Continue from `state` (as `state()` gave it)."""
        for name in self.STATE:
            current = getattr(self, name)
            if isinstance(current, np.ndarray):
                np.copyto(current, state[name])
            else:
                setattr(self, name, int(state[name]))

    def grad_scale(self, lr: float) -> float:
        """1: `update` wants the plain gradient g."""
        return 1.0

    def update(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        """Apply one step to `params` in place (`grads` may be overwritten)."""
        self._tick()
        self._step(params, grads, lr, self._views(slice(None)), self.scale)

    def update_rows(self, params: np.ndarray, grads: np.ndarray, lr: float, block: slice,
                    width: int, rows: np.ndarray, g_rows: np.ndarray) -> None:
        """One step where the weights params[block] (a (-1, width) matrix: a first layer on
        sparse inputs) have a gradient only on `rows` (sorted, unique), `g_rows` (k, width),
        and the rest of the vector its full gradient in `grads`. Lazy, as PyTorch's SparseAdam
        and TensorFlow's LazyAdam: the block's other rows, and their optimizer state, are left
        as they are (plain SGD: exactly the full update, their gradient being 0)."""
        self._tick()
        for part in (slice(0, block.start), slice(block.stop, params.size)):
            if part.stop > part.start:
                self._step(params[part], grads[part], lr, self._views(part),
                           None if self.scale is None else self.scale[part])
        as_rows = lambda v: v[block].reshape(-1, width)               # noqa: E731
        W = as_rows(params)
        w = W[rows]
        state = {name: as_rows(getattr(self, name))[rows] for name in self.ARRAYS}
        state.update({name: np.empty_like(w) for name in self.SCRATCH})
        scale = None if self.scale is None else as_rows(self.scale)[rows]
        self._step(w, g_rows, lr, state, scale)
        W[rows] = w
        for name in self.ARRAYS:
            as_rows(getattr(self, name))[rows] = state[name]

    def _tick(self) -> None:
        """Count one update (Adam's bias correction)."""

    def _views(self, part: slice) -> dict[str, np.ndarray]:
        """The per-parameter state and scratch arrays restricted to `part` (views)."""
        return {name: getattr(self, name)[part] for name in self.ARRAYS + self.SCRATCH}

    def _step(self, params: np.ndarray, grads: np.ndarray, lr: float,
              state: dict[str, np.ndarray], scale: np.ndarray | None) -> None:
        """The rule on matching arrays: params, grads (overwritten), the state arrays and the
        learning-rate multipliers (None: all 1)."""
        raise NotImplementedError


class SGD(UpdateRule):
    """Plain, classical-momentum or Nesterov SGD (see the module docstring)."""

    STATE = ARRAYS = ("velocity",)
    SCRATCH = ("tmp",)

    def __init__(self, size: int, dtype: np.dtype, momentum: float = 0.0, nesterov: bool = False,
                 scale: np.ndarray | None = None) -> None:
        self.momentum, self.nesterov, self.scale = momentum, nesterov, scale
        self.velocity = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size if nesterov else 0, dtype=dtype)

    def grad_scale(self, lr: float) -> float:
        """-lr: `update` wants the step direction -lr g."""
        return -lr

    def _step(self, params: np.ndarray, grads: np.ndarray, lr: float,
              state: dict[str, np.ndarray], scale: np.ndarray | None) -> None:
        """One step from grads = -lr g (see grad_scale); grads is overwritten."""
        if scale is not None:
            grads *= scale
        if self.momentum == 0.0:
            params += grads
            return
        v = state["velocity"]
        v *= self.momentum
        v += grads                                  # v = mu v - lr g
        if not self.nesterov:
            params += v
            return
        tmp = state["tmp"]
        np.multiply(v, self.momentum, out=tmp)
        tmp += grads                                # mu v - lr g
        params += tmp


class AdaGrad(UpdateRule):
    """Per-parameter rate lr / sqrt(sum of past squared gradients) (Duchi et al. 2011)."""

    STATE = ARRAYS = ("acc",)
    SCRATCH = ("tmp",)

    def __init__(self, size: int, dtype: np.dtype, eps: float = 1e-8,
                 scale: np.ndarray | None = None) -> None:
        self.eps, self.scale = eps, scale
        self.acc = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size, dtype=dtype)

    def _step(self, params: np.ndarray, grads: np.ndarray, lr: float,
              state: dict[str, np.ndarray], scale: np.ndarray | None) -> None:
        """One step; `grads` is overwritten."""
        acc, tmp = state["acc"], state["tmp"]
        np.multiply(grads, grads, out=tmp)
        acc += tmp
        _scaled_step(params, grads, acc, lr, self.eps, tmp, scale)


class RMSProp(UpdateRule):
    """lr / sqrt(running mean of squared gradients), decay rho (Tieleman & Hinton 2012)."""

    STATE = ARRAYS = ("acc",)
    SCRATCH = ("tmp",)

    def __init__(self, size: int, dtype: np.dtype, rho: float = 0.9, eps: float = 1e-8,
                 scale: np.ndarray | None = None) -> None:
        self.rho, self.eps, self.scale = rho, eps, scale
        self.acc = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size, dtype=dtype)

    def _step(self, params: np.ndarray, grads: np.ndarray, lr: float,
              state: dict[str, np.ndarray], scale: np.ndarray | None) -> None:
        """One step; `grads` is overwritten."""
        acc, tmp = state["acc"], state["tmp"]
        np.multiply(grads, grads, out=tmp)
        acc *= self.rho
        tmp *= 1.0 - self.rho
        acc += tmp
        _scaled_step(params, grads, acc, lr, self.eps, tmp, scale)


class Adam(UpdateRule):
    """Bias-corrected moment estimates (Kingma & Ba 2015)."""

    STATE = ("m", "s", "t")
    ARRAYS = ("m", "s")
    SCRATCH = ("tmp",)

    def __init__(self, size: int, dtype: np.dtype, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, scale: np.ndarray | None = None) -> None:
        self.beta1, self.beta2, self.eps, self.scale = beta1, beta2, eps, scale
        self.m = np.zeros(size, dtype=dtype)
        self.s = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size, dtype=dtype)
        self.t = 0

    def _tick(self) -> None:
        self.t += 1

    def _step(self, params: np.ndarray, grads: np.ndarray, lr: float,
              state: dict[str, np.ndarray], scale: np.ndarray | None) -> None:
        """One step; `grads` is overwritten."""
        b1, b2, m, s, tmp = self.beta1, self.beta2, state["m"], state["s"], state["tmp"]
        m *= b1
        np.multiply(grads, 1.0 - b1, out=tmp)
        m += tmp
        np.multiply(grads, grads, out=tmp)
        s *= b2
        tmp *= 1.0 - b2
        s += tmp
        # w -= lr_t m / (sqrt(s) + eps_t) with lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) and
        # eps_t = eps sqrt(1 - b2^t): algebraically the bias-corrected rule above.
        c2 = np.sqrt(1.0 - b2 ** self.t)
        np.copyto(grads, m)
        _scaled_step(params, grads, s, lr * c2 / (1.0 - b1 ** self.t), self.eps * c2, tmp,
                     scale)


def _scaled_step(params: np.ndarray, grads: np.ndarray, acc: np.ndarray, lr: float, eps: float,
                 tmp: np.ndarray, scale: np.ndarray | None) -> None:
    """params -= lr * scale * grads / (sqrt(acc) + eps), using tmp and grads as scratch."""
    np.sqrt(acc, out=tmp)
    tmp += eps
    np.divide(grads, tmp, out=grads)
    grads *= -lr
    if scale is not None:
        grads *= scale
    params += grads


def make_optimizer(spec: OptimizerSpec, size: int, dtype: np.dtype,
                   scale: np.ndarray | None = None) -> UpdateRule:
    """The optimizer `spec.name` for a flat vector of `size` parameters."""
    if spec.name == "sgd":
        return SGD(size, dtype, spec.momentum, spec.nesterov, scale)
    if spec.name == "adagrad":
        return AdaGrad(size, dtype, spec.eps, scale)
    if spec.name == "rmsprop":
        return RMSProp(size, dtype, spec.rho, spec.eps, scale)
    if spec.name == "adam":
        return Adam(size, dtype, spec.beta1, spec.beta2, spec.eps, scale)
    raise ValueError(f"Unknown optimizer '{spec.name}'. Known: adagrad, adam, rmsprop, sgd.")
