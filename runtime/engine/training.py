"""Supervised training: `fit(config, data, seed)` -> FitResult.

One seeded `np.random.Generator` drives everything random, in this order: weight initialization,
then per epoch the shuffle of the training examples and the dropout masks; pre-training (if any)
draws from a stream of its own per layer, derived from the same seed (`pretrain.layer_rng`).
Same seed, same data => bit-identical weights and curves (time_s aside).

Per epoch the examples are visited in a fresh random order in mini-batches of `train.batch`
(None: the whole set; 1: online); the last, smaller batch is used, through views of the batch
buffers. Each batch is gathered with one contiguous `np.take`. After each epoch the network is
evaluated on the validation set and a curve row is recorded:
  epoch, train_loss, valid_loss, valid_<metric> for every metric of the task, lr, time_s
where train_loss is the data loss over the epoch's examples as measured while training: the mean
of the batch losses weighted by their sizes, so every example counts once even when the last batch
is smaller (dropout on, weights moving, penalties excluded; in `evaluate`'s units, so regression
reports mse in original target units), valid_loss the cross-entropy from the logits (exact, see
`runtime.engine.metrics`), lr the rate of the epoch's last update and time_s the seconds since
supervised training started.

Sample weights (`data.w_train` / `data.w_valid`, None: unweighted): the training weights are
divided once by their mean and gathered with each batch (`runtime.engine.losses`), so
train_loss is the weighted mean of the examples' losses; the validation metrics, the selection
and the stall baseline are weighted by w_valid. Pre-training ignores the weights.

Divergence: a non-finite batch loss, an epoch's train_loss above `train.divergence` x the initial
loss (the untrained network's loss on up to 512 evenly strided training examples), or a
non-finite validation loss ends training with state "diverged" and a reason naming the rate of
the last update made (the one that diverged); nothing is raised.

Early stopping (`train.early_stop`, with validation data): an epoch is the new best when its
selection metric beats the best by the margins of `EarlyStop.margins()` (0.1% of the distance
from a perfect score by default), or ties it with a lower validation loss; patience counts the
epochs since the metric last improved (a tie won on the loss moves the best epoch only).
Stall (`EarlyStop.stall` epochs, default 10): a fit that has not been
better than the constant predictor of `runtime.engine.stopping` at any epoch of the warm-up, or
whose best epoch is not when patience runs out, ends with state "stalled". Pruning (`prune`,
with validation data, early stopping on or off): a fit whose metric at epoch e is worse than a
finite `prune.bounds[e-1]` ends with state "pruned". In one epoch divergence comes first, then a
stall, then pruning; every end restores the best epoch's weights and reports its metrics.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from runtime.engine.epochs import Pretrained, Progress
from runtime.engine.network import Network
from runtime.engine.pretrain import pretrain, stack_of
from runtime.engine.stopping import check_bounds
from runtime.engine.trainer import Trainer, inputs
from runtime.engine.warm_start import Checkpoint, Stack, Start
from runtime.sparse import is_sparse
from runtime.types import FitResult, PruneBounds, TrainData
from spec_lang.config import Config


def fit(config: Config, data: TrainData, seed: int, *, progress: Progress | None = None,
        prune: PruneBounds | None = None, resume: Start | None = None,
        stop_after: int | None = None) -> FitResult:
    """Train the network `config` describes on `data` with `seed` (see the module docstring);
    `prune` bounds the validation metric per epoch. Returns the best epoch's (restored) network
    and metrics, with state complete, diverged, stalled or pruned (and then a reason), and,
    when the epoch or update cap stopped it, the `checkpoint` a longer fit can `resume` from
    (`runtime.engine.warm_start`: the same seed, data and configuration but for the caps).
    `resume` may also be a `warm_start.Stack`: the pre-trained lower layers, loaded instead of
    pre-trained again (the same result); the fit's own pre-trained stack is in `stack`.
    `stop_after`: end after that many epochs, the schedule still planned over the caps (a
    refit stops where early stopping chose, on the plan the search trained with).
    Raises ValueError when `prune` is in a metric the task does not have."""
    if prune is not None:
        check_bounds(prune, data.task)
    check_lengths(data)
    rng = np.random.default_rng(seed)
    W = training_weights(data)
    net = build_network(config, data, rng)
    X = inputs(data.X_train, net.dtype)
    Y = net.head.encode(data.y_train, net.dtype)
    layers, stack, lower = {}, None, resume if isinstance(resume, Stack) else None
    checkpoint = resume if isinstance(resume, Checkpoint) else None
    if config.pretrain is not None and checkpoint is None:   # its effect is in its params
        layers = pretrain(net, X, config.pretrain, seed, data.X_valid, lower)
        stack = stack_of(net, layers)
    trainer = Trainer(config, net, rng, X.shape[0], W is not None, is_sparse(X), stop_after)
    return trainer.run(X, Y, data, progress, prune, W, checkpoint,
                       pretrained(config, layers, stack))


def pretrained(config: Config, layers: dict[str, dict[str, Any]],
               stack: Stack | None) -> Pretrained:
    """What pre-training adds to the fit's result: the reconstruction error of each
    pre-trained layer, before and after each of its epochs, on the training and the validation
    inputs (curves: a warm start's checkpoint keeps them, it skips pre-training), and the
    reason it diverged when a layer's error became non-finite."""
    curves: dict[str, list[float]] = {}
    for name, errors in layers.items():
        curves[f"pretrain_{name}"] = [errors["before"], *errors["epochs"]]
        if "valid" in errors:
            curves[f"pretrain_{name}_valid"] = list(errors["valid"])
    blown = [i for i, errors in enumerate(layers.values()) if not math.isfinite(errors["after"])]
    failure = ""
    if blown and config.pretrain is not None:
        # `epochs 0` (a layerwise stage) trains nothing that would notice the blown weights
        name, lr = list(layers)[blown[0]], config.pretrain.of_layer(blown[0]).lr
        failure = f"Pre-training of layer {name} diverged: its reconstruction error " \
            f"became non-finite (pre-training lr {lr:g})."
    return Pretrained(curves, failure, stack)


def refit_config(config: Config, ratio: float) -> Config:
    """The configuration a refit trains on `ratio` times the search's training rows: the same
    plan in epochs, so every count of updates the spec gives (an `updates` cap, the schedule's
    `tau`, `every` and `warmup`) is scaled by `ratio` (counts left to their default are in
    epochs already). The refit then stops after the chosen epochs (`fit(stop_after=)`), where
    the search's network stood on that plan: a cosine schedule is not squeezed into them."""
    def scaled(count: Any) -> Any:
        return None if count is None else max(1, math.floor(count * ratio + 0.5))
    train, schedule = config.train, config.train.schedule
    schedule = dataclasses.replace(schedule, tau=scaled(schedule.tau),
                                   every=scaled(schedule.every),
                                   warmup=scaled(schedule.warmup) if schedule.warmup else 0)
    return dataclasses.replace(config, train=dataclasses.replace(
        train, updates=scaled(train.updates), schedule=schedule))


def check_lengths(data: TrainData) -> None:
    """ValueError unless the training and the validation inputs each have one target per row
    (a mismatch would otherwise surface as an IndexError deep in the metrics)."""
    for part, X, y in (("train", data.X_train, data.y_train),
                       ("valid", data.X_valid, data.y_valid)):
        if X.shape[0] != len(y):
            raise ValueError(f"TrainData: X_{part} has {X.shape[0]} rows but y_{part} has "
                             f"{len(y)}")


def training_weights(data: TrainData) -> np.ndarray | None:
    """data.w_train divided by its mean as a float64 column (n, 1), None when unweighted.
    ValueError unless both weight vectors are finite, >= 0, one per row, not all 0."""
    for name, w, n in (("w_train", data.w_train, data.X_train.shape[0]),
                       ("w_valid", data.w_valid, data.X_valid.shape[0])):
        if w is None or (n == 0 and np.size(w) == 0):
            continue
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"TrainData.{name} has shape {w.shape}; expected ({n},)")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(f"TrainData.{name}: sample weights must be finite and >= 0, "
                             f"and not all zero")
    if data.w_train is None:
        return None
    w = np.asarray(data.w_train, dtype=np.float64)
    return (w / w.mean()).reshape(-1, 1)


def build_network(config: Config, data: TrainData, rng: np.random.Generator) -> Network:
    """The initialized network for `config` on `data` (draws the initial weights from rng)."""
    return Network.build(config, data.task, data.n_classes, data.X_train, data.y_train, rng,
                         data.w_train, data.targets)
