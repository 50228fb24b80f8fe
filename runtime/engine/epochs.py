"""The pieces of the epoch loop (`runtime.engine.trainer.Trainer`), each with one job: the
curves (`Curves`: one row per epoch), what ends a fit after an epoch (`Stopping`: divergence,
the best epoch and early stopping's patience, a stall, pruning; see `training` for the rules
and their order) and its answer (`Verdict`); `Loop` holds them with the fit's inputs, and
`Pretrained` what pre-training adds to the result. Each keeps its own state and gives it as
`state()` / takes it back with `load_state()`, which is what a `warm_start.Checkpoint` holds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from runtime.engine.metrics import is_maximized, selection_metric
from runtime.engine.stopping import Best, StallCheck, perfect_score, pruned
from runtime.engine.warm_start import Stack
from runtime.types import PruneBounds, TrainData, TrialState
from spec_lang.config import Config

Progress = Callable[[int, dict[str, float]], None]


class Curves:
    """The per-column curve lists, one row per epoch (see `training` for the columns)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[float]] = {}

    def add(self, row: dict[str, float]) -> None:
        """Add one row."""
        for key, value in row.items():
            self.columns.setdefault(key, []).append(float(value))

    def state(self) -> dict[str, list[float]]:
        """A copy of the curves so far."""
        return {k: list(v) for k, v in self.columns.items()}

    def load_state(self, state: dict[str, list[float]]) -> None:
        """Continue from `state()` of an earlier fit (copies it)."""
        self.columns = {k: list(v) for k, v in state.items()}


@dataclass(frozen=True)
class Verdict:
    """What an epoch decided: the fit's state (complete: it may go on), the reason for any
    other state, and whether early stopping's patience ran out (the fit ends, complete)."""

    state: TrialState = TrialState.COMPLETE
    reason: str = ""
    patience_out: bool = False

    @property
    def ends(self) -> bool:
        """Whether the fit ends with this epoch."""
        return self.patience_out or self.state != TrialState.COMPLETE


class Stopping:
    """Whether a fit goes on after an epoch: divergence first, then the offer of the epoch as
    the best (and early stopping's patience), then a stall, then pruning."""

    def __init__(self, config: Config, data: TrainData, prune: PruneBounds | None,
                 validating: bool, per_epoch: int) -> None:
        self.train, self.stop = config.train, config.train.early_stop
        self.per_epoch = per_epoch                  # updates an epoch (patience's minimum)
        self.metric = selection_metric(data.task, config.metric)
        self.sign = -1.0 if is_maximized(self.metric) else 1.0
        self.selecting = self.stop is not None and validating          # else: the last epoch
        self.stall = StallCheck(data, self.metric, self.stop) \
            if self.selecting and self.stop and self.stop.stall else None
        self.prune = prune if validating else None
        self.best = Best()
        self.start_loss = math.nan      # the untrained network's loss (`training.initial_loss`)

    def after(self, epoch: int, row: dict[str, float], metrics: dict[str, float],
              params: np.ndarray, where: str, last: bool) -> Verdict:
        """The verdict on `epoch` (its curve `row`, validation `metrics`, the live `params`);
        `where` names the epoch, updates and rate for a divergence, `last` says the caps end
        the fit with this epoch anyway (then it is never pruned: that would save nothing, yet
        rank it after every complete fit)."""
        why = self.divergence(row["train_loss"], metrics.get("loss"), where)
        if why:
            return Verdict(TrialState.DIVERGED, why)
        score = self.sign * metrics[self.metric] if self.selecting else -float(epoch)
        patience_out = self._offer(epoch, score, row, metrics, params)
        why = self._stalled(epoch, metrics, patience_out)
        if why:
            return Verdict(TrialState.STALLED, why, patience_out)
        why = "" if patience_out or last else pruned(self.prune, epoch, metrics)
        return Verdict(TrialState.PRUNED if why else TrialState.COMPLETE, why, patience_out)

    def divergence(self, train_loss: float, valid_loss: float | None, where: str) -> str:
        """Why training diverged this epoch, or "" if it did not."""
        if not math.isfinite(train_loss):
            return f"The training loss became non-finite {where}."
        limit, start = self.train.divergence * self.start_loss, self.start_loss
        if start > 0 and train_loss > limit:
            return (f"The training loss {train_loss:.4g} {where} exceeds "
                    f"{self.train.divergence:g} x the initial loss {start:.4g}.")
        if valid_loss is not None and not math.isfinite(valid_loss):
            return f"The validation loss became non-finite {where}."
        return ""

    def _offer(self, epoch: int, score: float, row: dict[str, float],
               metrics: dict[str, float], params: np.ndarray) -> bool:
        """Offer this epoch as the best; True when early stopping's patience has run out."""
        stop, selecting = self.stop, self.selecting
        absolute, relative = stop.margins() if selecting and stop is not None else (0.0, 0.0)
        self.best.offer(epoch, score, row["valid_loss"], absolute, params, row, metrics,
                        rel_delta=relative, perfect=self.sign * perfect_score(self.metric))
        # patience counts from the last epoch the metric improved: a validation loss that
        # creeps down while the error stays put (small, saturated validation sets) chooses
        # which of those epochs is kept, but does not keep the fit going to the cap
        return stop is not None and selecting and \
            epoch - self.best.improved >= stop.patience_for(self.per_epoch)

    def _stalled(self, epoch: int, metrics: dict[str, float], patience_out: bool) -> str:
        """Why the fit stalls with this epoch (warm-up over, or patience out, and no better
        than the constant baseline), or ""."""
        if self.stall is None:
            return ""
        self.stall.observe(metrics)
        return self.stall.at_patience(epoch, self.best.metrics) if patience_out else \
            self.stall.after_warmup(epoch)

    def state(self) -> dict[str, Any]:
        """The initial loss, the best epoch's and the stall check's states."""
        return {"start_loss": self.start_loss, "best": self.best.state(),
                "stall": None if self.stall is None else self.stall.state()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from `state()` of an earlier fit of the same data."""
        self.start_loss = state["start_loss"]
        self.best.load_state(state["best"])
        if self.stall is not None and state["stall"] is not None:
            self.stall.load_state(state["stall"])


@dataclass
class Loop:
    """One fit's epoch loop beside the trainer: its inputs (X, Y, W as `Trainer.epoch` takes
    them, the validation inputs in the network's dtype), the progress callback, the stopping
    rules, the curves and the clock's origin (`time.perf_counter()` when training began)."""

    X: Any
    Y: np.ndarray
    W: np.ndarray | None
    X_valid: Any
    data: TrainData
    progress: Progress | None
    stopping: Stopping
    curves: Curves
    clock: float = 0.0


@dataclass(frozen=True)
class Pretrained:
    """What pre-training adds to a fit's result: each layer's reconstruction-error curves
    (after the loop's, in the result and its checkpoint), why it blew up ("": it did not; a
    fit otherwise complete is then diverged) and the pre-trained `Stack`."""

    curves: dict[str, list[float]] = field(default_factory=dict)
    failure: str = ""
    stack: Stack | None = None
