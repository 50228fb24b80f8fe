"""Learning-rate schedules: pure functions of the update count t = 0, 1, 2, ...

The t-th update (counting from 0) uses lr_at(t). With lr0 the optimizer's rate, W = warmup:

  warm-up     t < W:   lr0 (t + 1) / (W + 1)        a straight line from 0 (at t = -1) to lr0
              t >= W:  the schedule below at s = t - W
  constant    lr0
  one_over_t  lr0 tau / max(s, tau)                 Bengio (2012): constant, then 1/t
  exponential lr0 gamma ** (s / every)
  step        lr0 gamma ** floor(s / every)
  cosine      min_lr + (lr0 - min_lr) (1 + cos(pi min(s, T) / T)) / 2,  T = total - W

`tau` and `every` None mean `auto_epochs` epochs' worth of updates; `total` is the planned number
of updates (epochs x updates per epoch, or the update cap if smaller).
"""
from __future__ import annotations

import math
from typing import Callable

from spec_lang.config import Schedule

LrAt = Callable[[int], float]


def constant(lr0: float) -> LrAt:
    """lr0 at every t."""
    return lambda t: lr0


def one_over_t(lr0: float, tau: float) -> LrAt:
    """lr0 * tau / max(t, tau)."""
    return lambda t: lr0 * tau / max(t, tau)


def exponential(lr0: float, gamma: float, every: float) -> LrAt:
    """lr0 * gamma ** (t / every): a factor gamma per `every` updates, smoothly."""
    return lambda t: lr0 * gamma ** (t / every)


def step(lr0: float, gamma: float, every: float) -> LrAt:
    """lr0 * gamma ** floor(t / every): a factor gamma every `every` updates."""
    return lambda t: lr0 * gamma ** math.floor(t / every)


def cosine(lr0: float, min_lr: float, total: int) -> LrAt:
    """Half a cosine from lr0 down to min_lr over `total` updates, min_lr after."""
    total = max(total, 1)
    return lambda t: min_lr + (lr0 - min_lr) * (1 + math.cos(math.pi * min(t, total) / total)) / 2


def warmed_up(base: LrAt, lr0: float, warmup: int) -> LrAt:
    """Linear ramp lr0 (t + 1) / (warmup + 1) for t < warmup, then base(t - warmup)."""
    if warmup <= 0:
        return base
    return lambda t: lr0 * (t + 1) / (warmup + 1) if t < warmup else base(t - warmup)


def make_schedule(spec: Schedule, lr0: float, per_epoch: int, total: int) -> LrAt:
    """lr_at(t) for `spec`, with `per_epoch` updates per epoch and `total` planned updates."""
    auto = spec.auto_epochs * per_epoch
    tau = spec.tau if spec.tau is not None else auto
    every = spec.every if spec.every is not None else auto
    builders: dict[str, Callable[[], LrAt]] = {
        "constant": lambda: constant(lr0),
        "one_over_t": lambda: one_over_t(lr0, max(tau, 1e-12)),
        "exponential": lambda: exponential(lr0, spec.gamma, max(every, 1e-12)),
        "step": lambda: step(lr0, spec.gamma, max(every, 1e-12)),
        "cosine": lambda: cosine(lr0, spec.min_lr, total - spec.warmup),
    }
    if spec.name not in builders:
        raise ValueError(f"Unknown schedule '{spec.name}'. Known: {', '.join(sorted(builders))}.")
    return warmed_up(builders[spec.name](), lr0, spec.warmup)
