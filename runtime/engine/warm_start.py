"""Warm starts: a fit that stopped at its epoch cap continues for more epochs.

Everything the epoch loop carries from one epoch to the next is in a `Checkpoint`: the live
weights (not the restored best), the optimizer's buffers, the random generator's state, the
update and epoch counts, the best epoch so far (weights, metrics), the curves, the initial loss
and the stall check's state, each part as its own object's `state()` gives it. The learning rate is a function of the update count alone,
except for the cosine schedule, whose period is the planned number of updates. So, for every
other schedule, continuing a fit of E epochs to E' epochs gives bit for bit the fit a cap of E'
would have given from the start, and a fit that early stopping ended before its cap is already
what any larger cap would give; that is what lets successive halving, ASHA and Hyperband
promote a configuration without training its first epochs again (`resumable`).

A `Stack` is the other thing a fit continues from: the pre-trained lower layers of a network
(each hidden dense layer's W and b right after its pre-training, and its reconstruction
errors). Each layer's pre-training draws from a random stream of its own, derived from the
seed and the layer's index (`pretrain.layer_rng`), and a layer's initial weights are drawn
before those of the layers above it; so the pre-trained layers 1 .. m of a network depend on
the seed, the data, those layers and their settings only, not on what is built above them. A
fit given the stack of its first m layers loads them instead of pre-training them, and gives
bit for bit the fit that pre-trains them: what lets a layerwise search's stage k continue from
the stack stage k-1 chose (`layerwise.lower_stage`) instead of pre-training k layers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from spec_lang.config import Config


def resumable(config: Config) -> bool:
    """Whether a longer fit of `config` repeats a shorter one's epochs exactly (the schedule
    does not depend on the planned updates)."""
    return config.train.schedule.name != "cosine"


# The best epoch's entries (`stopping.Best.state()`) under their names in a checkpoint's file:
# the layout of the arrays is the one every earlier checkpoint was written in.
BEST_NAMES = {"epoch": "best_epoch", "score": "best_score", "loss": "best_loss",
              "row": "best_row", "metrics": "best_metrics", "improved": "improved"}


@dataclass
class Checkpoint:
    """The epoch loop's state at the end of a complete fit, each part as its object gave it
    (the way PyTorch's `state_dict` does): the network's live weights, the optimizer's
    `state()`, the generator's state, the update and epoch counts, the initial loss, the
    seconds trained, the best epoch's `Best.state()`, the curves and the stall check's
    `state()`. When its epoch (or update) cap stopped it, a longer fit continues from here;
    when early stopping did (`finished`), a longer fit would have stopped at the same epoch,
    so continuing trains nothing."""

    params: np.ndarray
    optimizer: dict[str, Any]
    rng: dict[str, Any]
    updates: int
    epoch: int
    start_loss: float
    seconds: float
    best: dict[str, Any]
    curves: dict[str, list[float]] = field(default_factory=dict)
    stall: dict[str, Any] | None = None
    finished: bool = False     # early stopping ended it: a longer cap would stop there too

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (an .npz's members): the weights, the optimizer's buffers and one JSON
        text for the rest."""
        out = {"params": self.params}
        if self.best["params"] is not None:
            out["best_params"] = self.best["params"]
        scalars: dict[str, Any] = {}
        for name, value in self.optimizer.items():
            if isinstance(value, np.ndarray):
                out[f"optimizer_{name}"] = value
            else:
                scalars[name] = value
        best = {BEST_NAMES[k]: self.best[k] for k in BEST_NAMES if k != "improved"}
        meta = {"optimizer": scalars, "rng": self.rng, "updates": self.updates,
                "epoch": self.epoch, "start_loss": self.start_loss, "seconds": self.seconds,
                **best, "curves": self.curves, "stall": self.stall, "finished": self.finished,
                "improved": self.best["improved"]}       # the keys in the order of old files
        out["meta"] = np.array(json.dumps(meta))
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> "Checkpoint":
        """The checkpoint `arrays()` gave (an open .npz, or a dict)."""
        meta = json.loads(str(arrays["meta"][()]))
        optimizer: dict[str, Any] = dict(meta["optimizer"])
        for name in arrays:
            if name.startswith("optimizer_"):
                optimizer[name[len("optimizer_"):]] = np.array(arrays[name])
        best = {k: meta.get(name) for k, name in BEST_NAMES.items()}
        if best["improved"] is None:        # written before patience counted from it
            best["improved"] = best["epoch"]
        best["params"] = np.array(arrays["best_params"]) if "best_params" in arrays else None
        return cls(params=np.array(arrays["params"]), optimizer=optimizer, rng=meta["rng"],
                   updates=meta["updates"], epoch=meta["epoch"], start_loss=meta["start_loss"],
                   seconds=meta["seconds"], best=best, curves=meta["curves"],
                   stall=meta["stall"], finished=bool(meta.get("finished", False)))


@dataclass
class Stack:
    """The pre-trained lower layers of a network, bottom up: each hidden dense layer's W
    (n_in, n_out) and b (n_out,) right after its pre-training, and its report (`pretrain.
    pretrain_layer`'s: the reconstruction errors before, after and per epoch)."""

    weights: list[tuple[np.ndarray, np.ndarray]]
    reports: list[dict[str, Any]]

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (an .npz's members): W<i> and b<i> per layer and one JSON text of
        the reports (`stack`, which also tells a stack from a `Checkpoint`)."""
        out = {"stack": np.array(json.dumps(self.reports))}
        for i, (W, b) in enumerate(self.weights):
            out[f"W{i}"], out[f"b{i}"] = W, b
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> "Stack":
        """The stack `arrays()` gave (an open .npz, or a dict)."""
        reports = json.loads(str(arrays["stack"][()]))
        return cls([(np.array(arrays[f"W{i}"]), np.array(arrays[f"b{i}"]))
                    for i in range(len(reports))], reports)


Start = Union[Checkpoint, Stack]


def start_from(arrays: Any) -> Start:
    """What a job's `start` arrays hold: a lower stack (`Stack`), or a `Checkpoint`."""
    return Stack.from_arrays(arrays) if "stack" in arrays else Checkpoint.from_arrays(arrays)
