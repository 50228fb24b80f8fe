"""Sanity checks of a compiled network: gradients against finite differences, and "can it
overfit a tiny subset" (Bengio 2012, sec. 3.1.3 and 3.1.4).

gradient_check builds the network in float64, draws the dropout masks once and keeps them fixed,
and compares the back-propagated gradient of the full training criterion
    data loss + l2/2 sum ||W||^2 + l1 sum |W| + activity_l1 sum_hidden mean_n sum |a|
on n training examples with the fourth-order central difference
    (8 (J(w + h) - J(w - h)) - (J(w + 2h) - J(w - 2h))) / (12 h),   h = 1e-4,
whose error (~1e-12 here) is far below the plain two-point formula's. Per parameter tensor it
reports the worst relative error |a - f| / max(|a| + |f|, 1e-8) over up to `entries` entries
(all of them for small tensors, an evenly spread sample otherwise). Correct gradients give ~1e-9
or less; kinks (relu at 0, l1 at 0) within 2h of a sampled point can give isolated large values.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from runtime.engine.layers import Dense
from runtime.engine.metrics import evaluate
from runtime.engine.network import Network, Workspace
from runtime.engine.training import build_network, fit
from runtime.types import TrainData
from spec_lang.config import Config, Dropout, Schedule

STEP = 1e-4
FLOOR = 1e-8


@dataclass(frozen=True)
class OverfitReport:
    """Result of `overfit_check`: training loss on the subset before and after."""

    initial_loss: float
    final_loss: float
    passed: bool
    epochs: int


def criterion(net: Network, ws: Workspace, l2: float, l1: float, activity_l1: float) -> float:
    """The training criterion at the current weights on the batch in ws (dropout masks fixed)."""
    z = net.forward(ws, True, None)
    value = net.head.criterion(z, ws.y)
    w = net.params[:net.n_weights]
    value += 0.5 * l2 * float(w @ w) + l1 * float(np.abs(w).sum())
    for i, layer in enumerate(net.layers[:-1]):
        if isinstance(layer, Dense):
            value += activity_l1 * float(np.abs(ws.a[i + 1]).sum()) / ws.n
    return value


def numeric_gradient(net: Network, ws: Workspace, flat_index: int, penalties: tuple) -> float:
    """Fourth-order central difference of the criterion along one parameter."""
    w = net.params
    saved = w[flat_index]
    values = []
    for step in (STEP, -STEP, 2 * STEP, -2 * STEP):
        w[flat_index] = saved + step
        values.append(criterion(net, ws, *penalties))
    w[flat_index] = saved
    return (8 * (values[0] - values[1]) - (values[2] - values[3])) / (12 * STEP)


def gradient_check(config: Config, data: TrainData, seed: int, n: int = 8,
                   entries: int = 64) -> dict[str, float]:
    """Worst relative error between back-propagated and finite-difference gradients per parameter
    tensor ("dense0.W", "dense0.b", ..., "output.W", "output.b"), in float64 on n examples."""
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, dtype="float64"))
    rng = np.random.default_rng(seed)
    net = build_network(config, data, rng)
    rows = np.sort(rng.choice(len(data.X_train), size=min(n, len(data.X_train)), replace=False))
    ws = net.workspace(len(rows))
    ws.a[0][...] = np.asarray(data.X_train, dtype=np.float64)[rows]
    ws.y[...] = net.head.encode(np.asarray(data.y_train)[rows], net.dtype)
    penalties = (config.train.l2, config.train.l1, config.train.activity_l1)
    net.forward(ws, True, rng)                               # draws the dropout masks, once
    net.loss_grad(ws, None, *penalties)
    analytic = net.grads.copy()
    worst = {}
    for name, view in net.tensors().items():
        start = _start(net, view)
        picks = np.unique(np.linspace(0, view.size - 1, min(entries, view.size)).astype(int))
        errors = []
        for k in picks:
            a, f = analytic[start + k], numeric_gradient(net, ws, start + k, penalties)
            errors.append(abs(a - f) / max(abs(a) + abs(f), FLOOR))
        worst[name] = float(max(errors))
    return worst


def _start(net: Network, view: np.ndarray) -> int:
    """Offset of a tensor view in the network's flat parameter vector."""
    return (view.ctypes.data - net.params.ctypes.data) // net.params.itemsize


def overfit_check(config: Config, data: TrainData, seed: int, n: int = 20,
                  epochs: int = 1000) -> OverfitReport:
    """Train on n training examples for `epochs` epochs at the optimizer's constant rate without
    regularization (no penalties, dropout, pre-training, early stopping or update cap); passed
    when the training loss falls below 5% of its initial value, or (classification,
    multilabel) no training example is wrong."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(data.X_train))[:n]
    X, y = data.X_train[rows], np.asarray(data.y_train)[rows]
    subset = TrainData(X, y, X, y, data.task, data.n_classes)
    # A constant rate: the 1/T schedule's auto tau (10 epochs) would be 10 updates on so few
    # examples, and the check would fail for a schedule, not for the network.
    train = dataclasses.replace(config.train, epochs=epochs, updates=None, early_stop=None,
                                l2=0.0, l1=0.0, activity_l1=0.0,
                                schedule=dataclasses.replace(config.train.schedule,
                                                             name="constant", warmup=0))
    network = tuple(layer for layer in config.network if not isinstance(layer, Dropout))
    config = dataclasses.replace(config, network=network, train=train, pretrain=None)
    untrained = build_network(config, subset, np.random.default_rng(seed))
    initial = evaluate(data.task, y, untrained.predict(X))["loss"]
    result = fit(config, subset, seed)
    final = evaluate(data.task, y, result.model.predict(X))
    fitted = final["loss"] < 0.05 * initial or (data.task != "regression" and final["error"] == 0)
    return OverfitReport(initial_loss=float(initial), final_loss=float(final["loss"]),
                         passed=bool(result.state == "complete" and fitted),
                         epochs=result.epochs)
