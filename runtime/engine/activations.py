"""Hidden-unit activation functions, in place and in numerically stable forms.

Each activation has a forward that overwrites its pre-activation `z` with `f(z)`, and a backward
that multiplies an incoming gradient `delta` (dJ/da) in place by `f'(z)` written as a function of
the *output* `a = f(z)`. Working from the output means the layers never keep the pre-activations:
one buffer per layer is enough (the trick scikit-learn's `_base.py` uses too).

Every function here works on float32 and float64 arrays of any shape and keeps the dtype.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

LEAKY_SLOPE = 0.01

Forward = Callable[[np.ndarray], None]
Backward = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


@dataclass(frozen=True)
class Activation:
    """A named pair of in-place functions.

    forward(z): z <- f(z).  backward(a, delta, scratch): delta <- delta * f'(z), from a = f(z);
    `scratch` is a buffer shaped like `a` that backward may overwrite.
    """

    name: str
    forward: Forward
    backward: Backward


@lru_cache(maxsize=64)
def constant(value: float, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A cached read-only array filled with `value` (few distinct shapes occur per fit)."""
    array = np.full(shape, value, dtype=dtype)
    array.flags.writeable = False
    return array


# ------------------------------------------------------------------------------------ forwards
def relu(z: np.ndarray) -> None:
    """max(z, 0). Against an array of zeros: NumPy's max with a broadcast scalar is ~5x slower."""
    np.maximum(z, constant(0.0, z.shape, z.dtype), out=z)


def leaky_relu(z: np.ndarray) -> None:
    """z for z > 0, 0.01 z otherwise (max(z, 0.01 z) since the slope is < 1)."""
    np.maximum(z, z * LEAKY_SLOPE, out=z)


def tanh(z: np.ndarray) -> None:
    """tanh(z)."""
    np.tanh(z, out=z)


def sigmoid(z: np.ndarray) -> None:
    """1 / (1 + exp(-z)) as (1 + tanh(z / 2)) / 2: never overflows, fast in float32."""
    np.multiply(z, 0.5, out=z)
    np.tanh(z, out=z)
    np.multiply(z, 0.5, out=z)
    np.add(z, 0.5, out=z)


def softsign(z: np.ndarray) -> None:
    """z / (1 + |z|)."""
    np.divide(z, np.abs(z) + 1, out=z)


def softplus(z: np.ndarray) -> None:
    """log(1 + exp(z)) as logaddexp(0, z): no overflow for large z, exact for very negative z."""
    np.logaddexp(0, z, out=z)


def linear(z: np.ndarray) -> None:
    """Identity."""


# ----------------------------------------------------------------------------------- backwards
def relu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    """f' = 1 where a > 0, else 0 (a boolean mask: a quarter of the memory traffic)."""
    np.multiply(delta, a > 0, out=delta)


def leaky_relu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    """f' = 1 where a > 0, else 0.01 (a and z share their sign)."""
    np.greater(a, 0, out=scratch)
    np.multiply(scratch, 1 - LEAKY_SLOPE, out=scratch)
    np.add(scratch, LEAKY_SLOPE, out=scratch)
    np.multiply(delta, scratch, out=delta)


def tanh_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    """f' = 1 - a^2."""
    np.multiply(a, a, out=scratch)
    np.subtract(1, scratch, out=scratch)
    np.multiply(delta, scratch, out=delta)


def sigmoid_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    """f' = a (1 - a)."""
    np.subtract(1, a, out=scratch)
    np.multiply(scratch, a, out=scratch)
    np.multiply(delta, scratch, out=delta)


def softsign_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    """f' = 1 / (1 + |z|)^2 = (1 - |a|)^2."""
    np.abs(a, out=scratch)
    np.subtract(1, scratch, out=scratch)
    np.multiply(scratch, scratch, out=scratch)
    np.multiply(delta, scratch, out=delta)


def softplus_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    """f' = sigmoid(z) = 1 - exp(-a) = -expm1(-a) (exact when a is tiny)."""
    np.negative(a, out=scratch)
    np.expm1(scratch, out=scratch)
    np.multiply(delta, scratch, out=delta)
    np.negative(delta, out=delta)


def linear_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    """f' = 1."""


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", relu, relu_backward),
    "leaky_relu": Activation("leaky_relu", leaky_relu, leaky_relu_backward),
    "tanh": Activation("tanh", tanh, tanh_backward),
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_backward),
    "softsign": Activation("softsign", softsign, softsign_backward),
    "softplus": Activation("softplus", softplus, softplus_backward),
    "linear": Activation("linear", linear, linear_backward),
}


def get_activation(name: str) -> Activation:
    """The registered activation `name`; a ValueError names the known ones otherwise."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"Unknown activation '{name}'. Known: {known}.") from None
