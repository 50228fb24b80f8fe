"""The epoch loop of one fit (`Trainer`): batches, updates, the schedule, evaluation, and the
pieces of `runtime.engine.epochs` that record the curves and decide when to stop. The rules it
follows (the order of the random draws, the curve's columns, divergence, early stopping, a
stall, pruning) are in `runtime.engine.training`'s docstring; `training.fit` sets a fit up.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from runtime.engine.epochs import Curves, Loop, Pretrained, Progress, Stopping, Verdict
from runtime.engine.network import Network
from runtime.engine.optimizers import make_optimizer
from runtime.engine.schedules import make_schedule
from runtime.engine.warm_start import Checkpoint
from runtime.sparse import as_csr, is_sparse
from runtime.types import FitResult, PruneBounds, TrainData, TrialState
from spec_lang.config import Auto, Config

INITIAL_LOSS_ROWS = 512


def inputs(X: Any, dtype: np.dtype) -> Any:
    """Features in the network's dtype: C-contiguous, or canonical CSR when sparse (a sparse
    training set stays sparse all the way to the first layer: `runtime.sparse`)."""
    return as_csr(X, dtype) if is_sparse(X) else np.ascontiguousarray(X, dtype=dtype)


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
        stopping = Stopping(self.config, data, prune, X_valid.shape[0] > 0, self.per_epoch)
        loop = Loop(X, Y, W, X_valid, data, progress, stopping, Curves())
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
        if verdict.state == TrialState.COMPLETE:    # a cap stopped it (it may go on), or patience
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
        if state == TrialState.COMPLETE and pretrained.failure:
            state, reason = TrialState.DIVERGED, pretrained.failure
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
