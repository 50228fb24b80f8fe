"""Weight initialization schemes, chosen by name or from the layer's activation.

All schemes draw float64 from the one seeded `np.random.Generator` (so float32 and float64 runs
start from the same numbers) and return a (fan_in, fan_out) matrix; the caller casts and scales.
Biases always start at zero.

Glorot & Bengio (2010), the chapter's recommendation: r = sqrt(6 / (fan_in + fan_out)) keeps the
variance of activations and back-propagated gradients about constant for tanh-like units; sigmoid
units need 4x that range (their slope at 0 is 1/4). He et al. (2015): std sqrt(2 / fan_in) for
the ReLU family, which zeroes half its inputs. LeCun: variance 1 / fan_in.

"auto" gives relu and leaky_relu Glorot uniform too, not He, and at half its range
(`AUTO_GAIN`): on bench/quality.py's 16 sets He normal scored lower on 12 of them, by 1.9 points
on average, and on its 26 sets the half range beat the full one by 0.9 points over two layers of
256 (docs/engine.md has the figures). He's doubled variance pays off in deep ReLU stacks, where
Glorot's shrinks the signal by about half per layer; name it there. softplus keeps He normal:
Glorot scored lower there. A named scheme is drawn as named (times `scale`), with no gain.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Initializer = Callable[[int, int, np.random.Generator], np.ndarray]


def glorot_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-r, r), r = sqrt(6 / (fan_in + fan_out))."""
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=(fan_in, fan_out))


def glorot_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def sigmoid_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-4r, 4r), r the Glorot range: Glorot uniform for logistic sigmoid units."""
    r = 4.0 * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=(fan_in, fan_out))


def he_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-r, r), r = sqrt(6 / fan_in) (variance 2 / fan_in)."""
    r = np.sqrt(6.0 / fan_in)
    return rng.uniform(-r, r, size=(fan_in, fan_out))


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / fan_in)."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def lecun_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """U(-r, r), r = sqrt(3 / fan_in) (variance 1 / fan_in)."""
    r = np.sqrt(3.0 / fan_in)
    return rng.uniform(-r, r, size=(fan_in, fan_out))


def lecun_normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 1 / fan_in)."""
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def orthogonal(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """A (semi-)orthogonal matrix: Q of the QR of a Gaussian matrix, signs fixed by diag(R)
    so the result is uniform (Haar) over orthogonal matrices (Saxe et al. 2014)."""
    tall = max(fan_in, fan_out), min(fan_in, fan_out)
    q, r = np.linalg.qr(rng.normal(size=tall))
    q *= np.sign(np.diag(r))
    return q if fan_in >= fan_out else q.T


def zeros(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """All zeros (draws nothing)."""
    return np.zeros((fan_in, fan_out))


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "sigmoid_uniform": sigmoid_uniform,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
    "zeros": zeros,
}

# What init "auto" means for each activation: the chapter's Glorot range, 4x for the logistic
# sigmoid; Glorot for the ReLU family too, by the benchmark's evidence (module docstring).
AUTO_INIT: dict[str, str] = {
    "tanh": "glorot_uniform",
    "softsign": "glorot_uniform",
    "linear": "glorot_uniform",
    "sigmoid": "sigmoid_uniform",
    "relu": "glorot_uniform",
    "leaky_relu": "glorot_uniform",
    "softplus": "he_normal",
}


# The factor "auto" multiplies its scheme's draws by, per activation (1 where not listed): the
# ReLU family starts from half Glorot's range (bench/quality.py, issue 24: smaller initial
# weights let SGD with momentum at the chapter's 0.01 find better minima; PyTorch's default
# U(+-1/sqrt(fan_in)) is about 0.58 of Glorot's range between two layers of 256).
AUTO_GAIN: dict[str, float] = {"relu": 0.5, "leaky_relu": 0.5}


def resolve_init(init: str, activation: str) -> str:
    """The scheme name `init` stands for: "auto" picks from the activation (default Glorot)."""
    if init == "auto":
        return AUTO_INIT.get(activation, "glorot_uniform")
    if init not in INITIALIZERS:
        known = ", ".join(["auto", *sorted(INITIALIZERS)])
        raise ValueError(f"Unknown init '{init}'. Known: {known}.")
    return init


def initial_weights(init: str, activation: str, shape: tuple[int, int], scale: float,
                    rng: np.random.Generator) -> np.ndarray:
    """A float64 (fan_in, fan_out) weight matrix drawn by `init` (resolved) times `scale`, and
    times the activation's `AUTO_GAIN` when `init` is "auto"."""
    fan_in, fan_out = shape
    gain = AUTO_GAIN.get(activation, 1.0) if init == "auto" else 1.0
    return INITIALIZERS[resolve_init(init, activation)](fan_in, fan_out, rng) * (scale * gain)
