"""The learning-rate range test: `range_test(config, data, seed)` -> RangeTest.

Bengio (2012, sections 3.1.1 and 4): the learning rate is the hyper-parameter worth tuning
first, and its best value is often close to half the largest rate that does not cause
divergence. This test finds that rate for the network `config` describes on `data`.

Method (a restart per rate, not Smith's single sweep). The rates form a geometric grid,
`per_decade` per decade from `low` to `high` (5 per decade from 1e-6 to 10 by default: 1e-6,
1.58e-6, 2.51e-6, 3.98e-6, 6.31e-6, 1e-5, ...; each rate 1.585 x the one before). At each rate,
from the same initial weights (pre-trained once first when the spec pre-trains) and with the
same batches (one seeded generator per rate), the engine's own `Trainer` makes `updates`
updates at that constant rate (the spec's optimizer, batch, penalties, dropout and dtype; not
its schedule or warm-up: a rate is lr_0; no early stopping). Smith's 2017 test instead trains
one network while the rate grows every update; the loss at a rate then carries the history of
every smaller rate and blows up some updates after the rate that caused it, so the rate it
reports depends on the sweep's speed. Restarting measures the chapter's quantity directly:
whether training at this rate diverges.

Each rate records two losses: `train_loss`, the engine's smoothed training loss (the mean of
the batch losses of the last pass, weighted by batch size, as `fit`'s curves report it), and
`loss`, the data loss of the weights reached, on the engine's fixed initial-loss subset (up to
512 evenly strided training rows, no dropout): an average over hundreds of examples with the
same rows at every rate, which the plot shows.

Divergence. A rate diverges by the engine's own rule (`Trainer`: a non-finite batch loss, or a
pass's training loss above `train.divergence` x the initial loss), or when `loss` is
non-finite or above `rise` x the initial loss: the training criterion went up, not down (the
chapter's sense of divergence). `rise` is 1 by default; `rise=None` leaves the engine's rule
alone (a limit of `train.divergence`, 1000 by default). Why the stricter default: on digits
(one hidden layer of 100 relu, sgd with momentum 0.9) the engine's rule alone let through a
rate whose loss grew 250-fold in 100 updates, and half of that rate trains far worse than
half the largest rate that still lowers the loss (bench/lr_range.py compares the two).

The test stops at the first rate that diverges: the rate before it is the largest stable
rate; the suggestion is half of it (the chapter), rounded to 3 significant digits; the
suggested search interval is suggestion / 10 .. largest stable.

Cost: at most (rates) x `updates` updates, usually about 30 x 100; the rates above the first
divergence are not trained.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from runtime.engine.pretrain import pretrain
from runtime.engine.trainer import Trainer, initial_loss, inputs
from runtime.engine.training import build_network, training_weights
from runtime.sparse import is_sparse
from runtime.types import TrainData, TrialState
from spec_lang import config as c

LOW, HIGH, PER_DECADE, UPDATES, RISE = 1e-6, 10.0, 5, 100, 1.0
SUGGESTION_DIGITS = 3      # the suggestion is rounded to 3 significant digits: a readable rate


@dataclass(frozen=True)
class RangeTest:
    """The outcome of a range test. `rates` are the rates trained (increasing; the last one
    diverged unless `capped`), with per rate the `loss` after the updates (see the module
    docstring), the smoothed `train_loss` and whether it `diverged`. `largest_stable` is None
    when even the smallest rate diverged; `capped` means no rate up to `high` diverged (the
    largest stable rate is then at least the top of the grid)."""

    rates: tuple[float, ...]
    losses: tuple[float, ...]
    train_losses: tuple[float, ...]
    diverged: tuple[bool, ...]
    initial_loss: float
    divergence: float          # the loss limit's factor: a loss above it x initial diverged
    updates: int
    largest_stable: float | None
    suggestion: float | None
    interval: tuple[float, float] | None
    capped: bool = False
    reason: str = ""           # why the first diverging rate diverged

    def describe(self) -> str:
        """One line: the largest stable rate, the suggestion and the interval (or why none)."""
        if self.largest_stable is None:
            return (f"every rate diverged, even the smallest ({self.rates[0]:.3g}): "
                    f"{self.reason} Check the data's scale, the initialization and the "
                    f"optimizer's other settings")
        at_least = "at least " if self.capped else ""
        assert self.suggestion is not None and self.interval is not None
        return (f"largest stable rate {at_least}{self.largest_stable:.3g}; suggestion "
                f"{self.suggestion:.3g} (half of it); search interval "
                f"{self.interval[0]:.3g} .. {self.interval[1]:.3g}")


def rate_grid(low: float = LOW, high: float = HIGH, per_decade: int = PER_DECADE
              ) -> tuple[float, ...]:
    """The geometric grid 10^(k / per_decade) from `low` to `high` (both rounded to the grid,
    `low` up, `high` down); each rate is computed from its integer k, so the grid is exact
    and the same on every machine. ValueError on an empty grid."""
    if not (0 < low < high) or per_decade < 1:
        raise ValueError(f"a rate grid needs 0 < low < high and per_decade >= 1; got low "
                         f"{low:g}, high {high:g}, per_decade {per_decade}")
    first = math.ceil(round(math.log10(low) * per_decade, 9))
    last = math.floor(round(math.log10(high) * per_decade, 9))
    return tuple(10.0 ** (k / per_decade) for k in range(first, last + 1))


def range_test(config: c.Config, data: TrainData, seed: int, *, low: float = LOW,
               high: float = HIGH, per_decade: int = PER_DECADE, updates: int = UPDATES,
               rise: float | None = RISE) -> RangeTest:
    """Train `config`'s network on `data` for `updates` updates at each rate of
    `rate_grid(low, high, per_decade)` until one diverges (see the module docstring).
    Deterministic: the same seed and data give the same result. The optimizer's own `lr` is
    ignored (it may be `auto`)."""
    if updates < 1 or (rise is not None and not rise >= 1):
        raise ValueError(f"a range test needs updates >= 1 and rise >= 1; got updates "
                         f"{updates}, rise {rise}")
    rng = np.random.default_rng(seed)
    W = training_weights(data)
    net = build_network(config, data, rng)
    X = inputs(data.X_train, net.dtype)             # CSR stays CSR
    n = X.shape[0]
    Y = net.head.encode(data.y_train, net.dtype)
    if config.pretrain is not None:
        pretrain(net, X, config.pretrain, seed)
    start = net.params.copy()
    no_valid = TrainData(X[:0], data.y_train[:0], X[:0], data.y_train[:0], data.task,
                         data.n_classes, targets=data.targets)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        first = initial_loss(net, X, Y, W)
        factor = config.train.divergence if rise is None else rise
        limit = factor * first
        points: list[tuple[float, float, float, bool]] = []
        reason = ""
        for rate in rate_grid(low, high, per_decade):
            net.params[...] = start
            trainer = Trainer(_at_rate(config, rate, updates, n), net,
                              np.random.default_rng(seed), n, W is not None, is_sparse(X))
            fitted = trainer.run(X, Y, no_valid, None, W=W)
            loss = initial_loss(net, X, Y, W)
            diverged = fitted.state == TrialState.DIVERGED or not math.isfinite(loss) \
                or loss > limit
            points.append((rate, loss, fitted.train_loss, diverged))
            if diverged:
                reason = fitted.reason or (f"The loss {loss:.4g} after {updates} updates at "
                                           f"lr {rate:.3g} exceeds {factor:g}"
                                           f" x the initial loss {first:.4g}.")
                break
    return _outcome(points, first, factor, updates, reason)


def _at_rate(config: c.Config, rate: float, updates: int, n: int) -> c.Config:
    """`config` training `updates` updates at the constant rate `rate`, no early stopping
    (pre-training is done once, before every rate)."""
    train = config.train
    per_epoch = math.ceil(n / (n if train.batch is None else max(1, min(train.batch, n))))
    train = dataclasses.replace(
        train, optimizer=dataclasses.replace(train.optimizer, lr=rate),
        schedule=c.Schedule("constant"), epochs=math.ceil(updates / per_epoch),
        updates=updates, early_stop=None)
    return dataclasses.replace(config, train=train, pretrain=None)


def _outcome(points: list[tuple[float, float, float, bool]], first: float, divergence: float,
             updates: int, reason: str) -> RangeTest:
    """The RangeTest of the rates trained, in order."""
    rates, losses, train_losses, diverged = (tuple(col) for col in zip(*points))
    stable = [r for r, d in zip(rates, diverged) if not d]
    largest = stable[-1] if stable else None
    suggestion = None if largest is None else float(f"{largest / 2:.{SUGGESTION_DIGITS}g}")
    interval = None if suggestion is None or largest is None else (suggestion / 10, largest)
    return RangeTest(rates=rates, losses=losses, train_losses=train_losses,
                     diverged=tuple(bool(d) for d in diverged), initial_loss=first,
                     divergence=divergence, updates=updates, largest_stable=largest,
                     suggestion=suggestion, interval=interval,
                     capped=largest is not None and not any(diverged), reason=reason)
