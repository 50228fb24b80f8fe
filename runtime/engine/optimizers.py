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
    attributes that carry over from one update to the next (what a warm start restores)."""

    STATE: tuple[str, ...] = ()

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
        """Apply one step to `params` in place."""
        raise NotImplementedError


class SGD(UpdateRule):
    """Plain, classical-momentum or Nesterov SGD (see the module docstring)."""

    STATE = ("velocity",)

    def __init__(self, size: int, dtype: np.dtype, momentum: float = 0.0, nesterov: bool = False,
                 scale: np.ndarray | None = None) -> None:
        self.momentum, self.nesterov, self.scale = momentum, nesterov, scale
        self.velocity = np.zeros(size, dtype=dtype)
        self.step = np.empty(size, dtype=dtype) if nesterov else None

    def grad_scale(self, lr: float) -> float:
        """-lr: `update` wants the step direction -lr g."""
        return -lr

    def update(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        """One step from grads = -lr g (see grad_scale); grads is overwritten."""
        if self.scale is not None:
            grads *= self.scale
        if self.momentum == 0.0:
            params += grads
            return
        v = self.velocity
        v *= self.momentum
        v += grads                                  # v = mu v - lr g
        if not self.nesterov:
            params += v
            return
        np.multiply(v, self.momentum, out=self.step)
        self.step += grads                          # mu v - lr g
        params += self.step


class AdaGrad(UpdateRule):
    """Per-parameter rate lr / sqrt(sum of past squared gradients) (Duchi et al. 2011)."""

    STATE = ("acc",)

    def __init__(self, size: int, dtype: np.dtype, eps: float = 1e-8,
                 scale: np.ndarray | None = None) -> None:
        self.eps, self.scale = eps, scale
        self.acc = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size, dtype=dtype)

    def update(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        """One step; `grads` is overwritten."""
        np.multiply(grads, grads, out=self.tmp)
        self.acc += self.tmp
        _scaled_step(params, grads, self.acc, lr, self.eps, self.tmp, self.scale)


class RMSProp(UpdateRule):
    """lr / sqrt(running mean of squared gradients), decay rho (Tieleman & Hinton 2012)."""

    STATE = ("acc",)

    def __init__(self, size: int, dtype: np.dtype, rho: float = 0.9, eps: float = 1e-8,
                 scale: np.ndarray | None = None) -> None:
        self.rho, self.eps, self.scale = rho, eps, scale
        self.acc = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size, dtype=dtype)

    def update(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        """One step; `grads` is overwritten."""
        np.multiply(grads, grads, out=self.tmp)
        self.acc *= self.rho
        self.tmp *= 1.0 - self.rho
        self.acc += self.tmp
        _scaled_step(params, grads, self.acc, lr, self.eps, self.tmp, self.scale)


class Adam(UpdateRule):
    """Bias-corrected moment estimates (Kingma & Ba 2015)."""

    STATE = ("m", "s", "t")

    def __init__(self, size: int, dtype: np.dtype, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, scale: np.ndarray | None = None) -> None:
        self.beta1, self.beta2, self.eps, self.scale = beta1, beta2, eps, scale
        self.m = np.zeros(size, dtype=dtype)
        self.s = np.zeros(size, dtype=dtype)
        self.tmp = np.empty(size, dtype=dtype)
        self.t = 0

    def update(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        """One step; `grads` is overwritten."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.m *= b1
        np.multiply(grads, 1.0 - b1, out=self.tmp)
        self.m += self.tmp
        np.multiply(grads, grads, out=self.tmp)
        self.s *= b2
        self.tmp *= 1.0 - b2
        self.s += self.tmp
        # w -= lr_t m / (sqrt(s) + eps_t) with lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) and
        # eps_t = eps sqrt(1 - b2^t): algebraically the bias-corrected rule above.
        c2 = np.sqrt(1.0 - b2 ** self.t)
        np.copyto(grads, self.m)
        _scaled_step(params, grads, self.s, lr * c2 / (1.0 - b1 ** self.t), self.eps * c2,
                     self.tmp, self.scale)


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
