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
import time
from typing import Any

import numpy as np

from runtime.engine.epochs import Curves, Loop, Pretrained, Progress, Stopping, Verdict
from runtime.engine.network import Network
from runtime.engine.optimizers import make_optimizer
from runtime.engine.pretrain import pretrain, stack_of
from runtime.engine.schedules import make_schedule
from runtime.engine.warm_start import Checkpoint, Stack, Start
from runtime.engine.stopping import check_bounds
from runtime.sparse import as_csr, is_sparse
from runtime.types import FitResult, PruneBounds, TrainData
from spec_lang.config import Auto, Config

INITIAL_LOSS_ROWS = 512


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


def inputs(X: Any, dtype: np.dtype) -> Any:
    """Features in the network's dtype: C-contiguous, or canonical CSR when sparse (a sparse
    training set stays sparse all the way to the first layer: `runtime.sparse`)."""
    return as_csr(X, dtype) if is_sparse(X) else np.ascontiguousarray(X, dtype=dtype)


def build_network(config: Config, data: TrainData, rng: np.random.Generator) -> Network:
    """The initialized network for `config` on `data` (draws the initial weights from rng)."""
    return Network.build(config, data.task, data.n_classes, data.X_train, data.y_train, rng,
                         data.w_train, data.targets)


def initial_loss(net: Network, X: np.ndarray, Y: np.ndarray,
                 W: np.ndarray | None = None) -> float:
    """The data loss of `net` (no dropout) on an evenly strided subset of at most 512 rows
    (weighted by W (n, 1) when given and the subset's weights are not all zero)."""
    rows = slice(None, None, max(1, math.ceil(X.shape[0] / INITIAL_LOSS_ROWS)))
    w = None if W is None else W[rows]
    w = w / w.mean() if w is not None and w.sum() > 0 else None
    sparse = is_sparse(X)
    ws = net.workspace(len(Y[rows]), w is not None, sparse)
    if sparse:
        ws.a[0] = X[rows]
    else:
        ws.a[0][...] = X[rows]
    ws.y[...] = Y[rows]
    if w is not None and ws.w is not None:
        ws.w[...] = w
    return net.head.loss_grad(net.forward(ws, False, None), ws.y, ws.d[-1], 1.0, ws.w)


class Trainer:
    """The epoch loop of one fit: batches, updates, schedule, evaluation, stopping."""

    def __init__(self, config: Config, net: Network, rng: np.random.Generator, n: int,
                 weighted: bool = False, sparse: bool = False,
                 stop_after: int | None = None) -> None:
        self.config, self.net, self.rng, self.train = config, net, rng, config.train
        self.sparse = sparse          # CSR inputs: batches are CSR, the first layer row-sparse
        self.batch = n if self.train.batch is None else max(1, min(self.train.batch, n))
        self.per_epoch = math.ceil(n / self.batch)
        total = self.train.epochs * self.per_epoch
        self.cap = total if self.train.updates is None else min(total, self.train.updates)
        opt = self.train.optimizer
        if isinstance(opt.lr, Auto):   # never train (or store) a trial whose rate is unknown
            raise ValueError("lr auto is chosen by the learning-rate range test before the "
                             "search (runtime.run, runtime.execution.lr_auto); this "
                             "configuration still says auto")
        self.lr_at = make_schedule(self.train.schedule, opt.lr, self.per_epoch, self.cap)
        self.optimizer = make_optimizer(opt, net.params.size, net.dtype, net.lr_scales())
        self.ws = net.workspace(self.batch, weighted, sparse)
        self.updates = 0
        self.stop_after = stop_after       # epochs to stop after, if fewer than the cap's

    def epoch(self, X: np.ndarray, Y: np.ndarray, W: np.ndarray | None = None) -> float:
        """One pass over (X, Y) in shuffled mini-batches; the mean of the batch losses weighted by
        the batch sizes (by the batches' sample-weight sums with sample weights W (n, 1), mean 1:
        the weighted mean of the examples' losses); nan at the first non-finite batch loss, which
        ends the pass. Stops early at the update cap."""
        net, train, opt, ws_full, B = self.net, self.train, self.optimizer, self.ws, self.batch
        n = X.shape[0]
        order = self.rng.permutation(n)
        total, seen = 0.0, 0
        weights = ws_full.w            # the batch weights' buffer (None: unweighted)
        total_w = 0.0
        for start in range(0, n, B):
            if self.updates >= self.cap:
                break
            idx = order[start:start + B]
            ws = ws_full if len(idx) == B else ws_full.rows(len(idx))
            if self.sparse:
                ws.a[0] = X[idx]
            else:
                X.take(idx, axis=0, out=ws.a[0], mode="clip")    # valid: clip skips a check
            Y.take(idx, axis=0, out=ws.y, mode="clip")
            if W is not None and weights is not None:
                W.take(idx, axis=0, out=ws.w, mode="clip")
            lr = self.lr_at(self.updates)
            loss = net.loss_grad(ws, self.rng, train.l2, train.l1, train.activity_l1,
                                 opt.grad_scale(lr))
            if not math.isfinite(loss):
                return math.nan
            self._update(lr)
            self.updates += 1
            total += loss * len(idx)
            if weights is None:
                seen += len(idx)
            else:                      # the weights' sum: the weighted mean over the epoch
                total_w += float(np.add.reduce(weights[:len(idx)], axis=None))
        if weights is None:
            return total / max(seen, 1)
        return total / total_w if total_w > 0 else 0.0

    def _update(self, lr: float) -> None:
        """The optimizer's step: on the whole vector, or, on sparse inputs, with the first
        layer's gradient on the rows of the batch's features only."""
        net = self.net
        if not self.sparse:
            self.optimizer.update(net.params, net.grads, lr)
            return
        first = net.dense[0]
        self.optimizer.update_rows(net.params, net.grads, lr, net.slices[0][0], first.n_out,
                                   first.rows, first.g_rows)

    def run(self, X: np.ndarray, Y: np.ndarray, data: TrainData, progress: Progress | None,
            prune: PruneBounds | None = None, W: np.ndarray | None = None,
            resume: Checkpoint | None = None, pretrained: Pretrained = Pretrained()
            ) -> FitResult:
        """Epochs until the epoch or update cap, early stopping, divergence, a stall or
        pruning; W (n, 1) the training sample weights divided by their mean, or None;
        `pretrained` what pre-training adds to the result."""
        if W is not None:
            W = np.ascontiguousarray(W, dtype=self.net.dtype).reshape(-1, 1)
            if self.ws.w is None:                     # built unweighted: add the weight buffer
                self.ws = self.net.workspace(self.batch, True, self.sparse)
        X_valid = inputs(data.X_valid, self.net.dtype)
        loop = Loop(X, Y, W, X_valid, data, progress,
                    Stopping(self.config, data, prune, X_valid.shape[0] > 0), Curves())
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return self._run(loop, resume, pretrained)

    def _run(self, loop: Loop, resume: Checkpoint | None, pretrained: Pretrained) -> FitResult:
        """The epoch loop: an epoch, then `Stopping`'s verdict, until an end or a cap; then
        the checkpoint (a complete fit's) and the result."""
        verdict, epoch = self._start(loop, resume)
        last = self.train.epochs if self.stop_after is None else \
            min(self.train.epochs, self.stop_after)
        while not verdict.ends and epoch < last and self.updates < self.cap:
            epoch += 1
            verdict = self._epoch_and_verdict(loop, epoch)
        checkpoint = None
        if verdict.state == "complete":     # a cap stopped it (it may go on) or early stopping
            checkpoint = self._checkpoint(loop, epoch, verdict.patience_out, pretrained)
        return self._result(loop, verdict, epoch, checkpoint, resume, pretrained)

    def _start(self, loop: Loop, resume: Checkpoint | None) -> tuple[Verdict, int]:
        """A fresh fit measures the initial loss; a warm start loads every part's state from
        `resume`. Starts the clock; returns the verdict so far and the epoch."""
        if resume is None:
            loop.stopping.start_loss = initial_loss(self.net, loop.X, loop.Y, loop.W)
            loop.clock = time.perf_counter()
            return Verdict(), 0
        self.load_state({"params": resume.params, "optimizer": resume.optimizer,
                         "rng": resume.rng, "updates": resume.updates})
        loop.stopping.load_state({"start_loss": resume.start_loss, "best": resume.best,
                                  "stall": resume.stall})
        loop.curves.load_state(resume.curves)
        loop.clock = time.perf_counter() - resume.seconds
        return Verdict(patience_out=resume.finished), resume.epoch   # finished: nothing left

    def _epoch_and_verdict(self, loop: Loop, epoch: int) -> Verdict:
        """Train one epoch, evaluate, record its curve row, report it, and judge it."""
        train_loss = self.epoch(loop.X, loop.Y, loop.W)
        data = loop.data
        metrics = self.net.evaluate(data.task, data.y_valid, loop.X_valid, data.w_valid) \
            if loop.X_valid.shape[0] else {}
        row = self._row(epoch, train_loss, metrics, time.perf_counter() - loop.clock)
        loop.curves.add(row)
        if loop.progress is not None:
            loop.progress(epoch, row)
        # The weights that diverged come from the last update made: its rate, not the next one's.
        where = f"in epoch {epoch} (after {self.updates} updates, lr {self.last_lr():.3g})"
        last = epoch >= self.train.epochs or self.updates >= self.cap
        return loop.stopping.after(epoch, row, metrics, self.net.params, where, last)

    def state(self) -> dict[str, Any]:
        """Copies of what the trainer carries between epochs: the network's live weights
        (`params`), the optimizer's state, the generator's state (`rng`) and `updates`."""
        return {"params": self.net.params.copy(), "optimizer": self.optimizer.state(),
                "rng": dict(self.rng.bit_generator.state), "updates": self.updates}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from `state()` of an earlier fit of the same configuration."""
        np.copyto(self.net.params, state["params"])
        self.optimizer.load(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.updates = state["updates"]

    def _checkpoint(self, loop: Loop, epoch: int, finished: bool,
                    pretrained: Pretrained) -> Checkpoint:
        """Every part's state after `epoch` (`finished`: early stopping ended the fit), the
        pre-training curves after the loop's."""
        stopping = loop.stopping.state()
        curves = loop.curves.state() | {k: list(v) for k, v in pretrained.curves.items()}
        return Checkpoint(**self.state(), epoch=epoch, start_loss=stopping["start_loss"],
                          seconds=time.perf_counter() - loop.clock, best=stopping["best"],
                          curves=curves, stall=stopping["stall"], finished=finished)

    def _result(self, loop: Loop, verdict: Verdict, epoch: int, checkpoint: Checkpoint | None,
                resume: Checkpoint | None, pretrained: Pretrained) -> FitResult:
        """Restore the best epoch's weights (if any epoch counted) and make the result; a fit
        complete but for a pre-trained layer that blew up is diverged."""
        best = loop.stopping.best
        if best.params is not None:
            self.net.params[...] = best.params
        state, reason = verdict.state, verdict.reason
        if state == "complete" and pretrained.failure:
            state, reason = "diverged", pretrained.failure
        return FitResult(state=state, model=self.net, best_epoch=best.epoch, epochs=epoch,
                         updates=self.updates, train_loss=best.row.get("train_loss", math.nan),
                         valid_loss=best.row.get("valid_loss", math.nan),
                         valid_metrics=dict(best.metrics),
                         curves=loop.curves.columns | pretrained.curves, reason=reason,
                         checkpoint=checkpoint, resumed_at=0 if resume is None else resume.epoch,
                         stack=pretrained.stack)

    def _row(self, epoch: int, train_loss: float, metrics: dict[str, float],
             seconds: float) -> dict[str, float]:
        """One curve row (valid_* are nan without validation data)."""
        row = {"epoch": float(epoch), "train_loss": train_loss,
               "valid_loss": metrics.get("loss", math.nan)}
        row.update({f"valid_{k}": v for k, v in metrics.items() if k != "loss"})
        row.update({"lr": self.last_lr(), "time_s": seconds})
        return row

    def last_lr(self) -> float:
        """The rate of the last update made (the first update's before any)."""
        return self.lr_at(max(self.updates - 1, 0))
