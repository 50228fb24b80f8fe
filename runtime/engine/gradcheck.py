"""Sanity checks of a compiled network: gradients against finite differences, and "can it
overfit a tiny subset" (Bengio 2012, sec. 3.1.3 and 3.1.4).

gradient_check builds the network in float64, draws the dropout masks once and keeps them fixed,
and compares the back-propagated gradient of the full training criterion
    data loss + l2/2 sum ||W||^2 + l1 sum |W| + activity_l1 sum_hidden mean_n sum |a|
on n training examples with the fourth-order central difference
    (8 (J(w + h) - J(w - h)) - (J(w + 2h) - J(w - 2h))) / (12 h),   h = 1e-4,
whose error (~1e-12 here) is far below the plain two-point formula's. Per parameter tensor it
reports the worst relative error |a - f| / max(|a| + |f|, 1e-8) over a random sample of
`entries` entries (all of them for a tensor that small), drawn with the seed.

The cost is bounded whatever the network's size: 4 x `entries` evaluations per tensor, each
from the perturbed layer on (the layers below it are unchanged), all of a tensor's evaluations
stacked as the rows of one forward pass (in chunks of at most CHUNK_VALUES activations), and
the weight penalty updated by the one entry that moves instead of summed again. Correct
gradients give ~1e-9 or less; kinks (relu at 0, l1 at 0) within 2h of a sampled point can give
isolated large values.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from runtime.engine.layers import Dense, Dropout as DropoutLayer
from runtime.engine.network import Network, Workspace
from runtime.engine.training import build_network, fit
from runtime.sparse import as_csr, is_sparse
from runtime.types import TrainData, TrialState
from spec_lang.config import Config, Dropout

STEP = 1e-4
FLOOR = 1e-8
STEPS = np.array([STEP, -STEP, 2 * STEP, -2 * STEP])
CHUNK_VALUES = 1 << 22           # activations per stacked forward pass (32 MB in float64)


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
    value += _weight_penalty(net, l2, l1)
    for i, layer in enumerate(net.layers[:-1]):
        if isinstance(layer, Dense):
            value += activity_l1 * float(np.abs(ws.a[i + 1]).sum()) / ws.n
    return value


def perturbed_criteria(net: Network, ws: Workspace, layer: int, flat: np.ndarray,
                       steps: np.ndarray, penalties: tuple,
                       weight_penalty: float | None = None) -> np.ndarray:
    """The criterion with parameter `flat[p]` (flat indices into net.params, all in dense layer
    `layer`) moved by `steps[p]`, for every p: what `criterion` gives after that move, from one
    stacked forward pass of the layers from `layer` on (ws holds the unperturbed pass).
    `weight_penalty`: that of the unperturbed weights, if already known."""
    l2, l1, activity_l1 = penalties
    x, dense = ws.inputs[layer], net.layers[layer]
    if not isinstance(dense, Dense):
        raise ValueError(f"layer {layer} is a {dense.kind} layer: it has no parameters")
    w_slice, b_slice = net.slices[net.dense.index(dense)]
    z = np.repeat((x @ dense.W + dense.b)[None], len(flat), axis=0)      # (P, n, n_out)
    is_weight = flat < w_slice.stop
    local = np.where(is_weight, flat - w_slice.start, flat - b_slice.start)
    rows, cols = np.divmod(local, dense.n_out)
    shift = np.where(is_weight[:, None], x.T[np.where(is_weight, rows, 0)], 1.0) * steps[:, None]
    z[np.arange(len(flat)), :, np.where(is_weight, cols, local)] += shift
    dense.act.forward(z)
    value = _stacked_rest(net, ws, layer, z, activity_l1)
    if weight_penalty is None:
        weight_penalty = _weight_penalty(net, l2, l1)
    value += weight_penalty
    old = np.where(is_weight, net.params[flat], 0.0)
    new = old + np.where(is_weight, steps, 0.0)
    value += 0.5 * l2 * (new * new - old * old) + l1 * (np.abs(new) - np.abs(old))
    return value


def _weight_penalty(net: Network, l2: float, l1: float) -> float:
    """l2/2 sum ||W||^2 + l1 sum |W| at the current weights."""
    w = net.params[:net.n_weights]
    return 0.5 * l2 * float(w @ w) + l1 * float(np.abs(w).sum())


def _stacked_rest(net: Network, ws: Workspace, layer: int, a: np.ndarray,
                  activity_l1: float) -> np.ndarray:
    """Data term plus activity penalty per block of `a` (P, n, width): the output of `layer`,
    run through the layers above it with ws's dropout masks."""
    P, n = a.shape[:2]
    activity = np.zeros(P)
    for i, lay in enumerate(net.layers[:-1]):
        if isinstance(lay, Dense) and i < layer:     # below the perturbed layer: unchanged
            activity += float(np.abs(ws.a[i + 1]).sum()) / n
    flat_a = a.reshape(P * n, -1)
    for i in range(layer, len(net.layers)):
        lay = net.layers[i]
        if i > layer:
            mask = np.tile(ws.masks[i], (P, 1)) if isinstance(lay, DropoutLayer) else None
            flat_a = lay.forward(flat_a, np.empty((P * n, lay.n_out)), mask, True, None)
        if isinstance(lay, Dense) and i < len(net.layers) - 1:
            activity += np.abs(flat_a.reshape(P, n, -1)).sum(axis=(1, 2)) / n
    logits = flat_a.reshape(P, n, -1)
    data = np.array([net.head.criterion(logits[p], ws.y) for p in range(P)])
    return data + activity_l1 * activity


def gradient_check(config: Config, data: TrainData, seed: int, n: int = 8,
                   entries: int = 16) -> dict[str, float]:
    """Worst relative error between back-propagated and finite-difference gradients per parameter
    tensor ("dense0.W", "dense0.b", ..., "output.W", "output.b", the embedding tables
    "embed0.table", ...), in float64 on n examples, over
    a random sample of `entries` entries of each tensor (see the module docstring)."""
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, dtype="float64"))
    rng = np.random.default_rng(seed)
    net = build_network(config, data, rng)
    n_rows = data.X_train.shape[0]
    rows = np.sort(rng.choice(n_rows, size=min(n, n_rows), replace=False))
    sparse = is_sparse(data.X_train)
    ws = net.workspace(len(rows), sparse=sparse)
    if sparse:
        ws.a[0] = as_csr(data.X_train[rows], np.float64)
    else:
        ws.a[0][...] = np.asarray(data.X_train, dtype=np.float64)[rows]
    ws.y[...] = net.head.encode(np.asarray(data.y_train)[rows], net.dtype)
    penalties = (config.train.l2, config.train.l1, config.train.activity_l1)
    net.forward(ws, True, rng)                               # draws the dropout masks, once
    net.loss_grad(ws, None, *penalties)
    analytic = net.grads.copy()
    if sparse:
        ws = _densified(net, ws, analytic)
    net.forward(ws, True, None)             # ws: the unperturbed pass the stacked ones start from
    weight_penalty = _weight_penalty(net, *penalties[:2])    # once: O(all weights)
    worst = {}
    for name, dense in zip(net.names, net.dense):
        layer = net.layers.index(dense)
        for suffix, view in (("W", dense.W), ("b", dense.b)):
            cells = np.arange(view.size)
            if sparse and layer == 0 and suffix == "W":      # the rows the batch touches
                cells = (dense.rows[:, None] * dense.n_out + np.arange(dense.n_out)).ravel()
            picks = _start(net, view) + np.sort(rng.choice(cells, min(entries, cells.size),
                                                           replace=False))
            numeric = _numeric(net, ws, layer, picks, penalties, weight_penalty)
            errors = np.abs(analytic[picks] - numeric) / np.maximum(
                np.abs(analytic[picks]) + np.abs(numeric), FLOOR)
            worst[f"{name}.{suffix}"] = float(errors.max())
    if net.embedding is not None:
        worst.update(_embedding_errors(net, ws, analytic, rng, entries, penalties))
    return worst


def _embedding_errors(net: Network, ws: Workspace, analytic: np.ndarray,
                      rng: np.random.Generator, entries: int, penalties: tuple
                      ) -> dict[str, float]:
    """Worst relative error per embedding table ("embed0.table", ...) over `entries` entries
    of the rows the batch looks up (the others' data gradient is 0 by construction), each
    from four full forward passes with that entry moved (a table feeds the first layer)."""
    assert net.embedding is not None
    worst = {}
    codes = net.embedding.codes(ws.a[0])
    for j, table in enumerate(net.embedding.tables):
        used = np.unique(codes[:, j])
        cells = (used[:, None] * table.shape[1] + np.arange(table.shape[1])).reshape(-1)
        picks = _start(net, table) + np.sort(rng.choice(cells, min(entries, cells.size),
                                                        replace=False))
        numeric = np.empty(len(picks))
        for i, p in enumerate(picks):
            old, values = net.params[p], []
            for h in STEPS:
                net.params[p] = old + h
                values.append(criterion(net, ws, *penalties))
            net.params[p] = old
            numeric[i] = (8 * (values[0] - values[1]) - (values[2] - values[3])) / (12 * STEP)
        errors = np.abs(analytic[picks] - numeric) / np.maximum(
            np.abs(analytic[picks]) + np.abs(numeric), FLOOR)
        worst[f"embed{j}.table"] = float(errors.max())
    net.forward(ws, True, None)                  # ws as it was: the unperturbed pass
    return worst


def _densified(net: Network, ws: Workspace, analytic: np.ndarray) -> Workspace:
    """For a CSR batch: the first layer's row gradient (`Dense.g_rows`) written into `analytic`
    (zeros elsewhere in its W), and a dense workspace holding the same batch, targets and masks
    for the finite differences (n rows of the input densified: n is small)."""
    first, (w_slice, _) = net.dense[0], net.slices[0]
    gW = analytic[w_slice].reshape(first.n_in, first.n_out)
    gW[...] = 0.0
    gW[first.rows] = first.g_rows
    dense = net.workspace(ws.n)
    dense.a[0][...] = ws.a[0].toarray()
    dense.y[...] = ws.y
    for mine, theirs in zip(dense.masks, ws.masks):
        if mine is not None:
            mine[...] = theirs
    return dense


def _numeric(net: Network, ws: Workspace, layer: int, picks: np.ndarray, penalties: tuple,
             weight_penalty: float) -> np.ndarray:
    """Fourth-order central differences along each flat parameter index in `picks`."""
    width = max(lay.n_out for lay in net.layers[layer:])
    per_chunk = max(1, CHUNK_VALUES // (len(STEPS) * ws.n * width))
    out = []
    for start in range(0, len(picks), per_chunk):
        chunk = picks[start:start + per_chunk]
        values = perturbed_criteria(net, ws, layer, np.repeat(chunk, len(STEPS)),
                                    np.tile(STEPS, len(chunk)), penalties,
                                    weight_penalty).reshape(-1, 4)
        out.append((8 * (values[:, 0] - values[:, 1]) - (values[:, 2] - values[:, 3]))
                   / (12 * STEP))
    return np.concatenate(out)


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
    rows = rng.permutation(data.X_train.shape[0])[:n]
    X, y = data.X_train[rows], np.asarray(data.y_train)[rows]
    subset = TrainData(X, y, X, y, data.task, data.n_classes, targets=data.targets)
    # A constant rate: the 1/T schedule's auto tau (30 epochs) would be 30 updates on so few
    # examples, and the check would fail for a schedule, not for the network.
    train = dataclasses.replace(config.train, epochs=epochs, updates=None, early_stop=None,
                                l2=0.0, l1=0.0, activity_l1=0.0,
                                schedule=dataclasses.replace(config.train.schedule,
                                                             name="constant", warmup=0))
    network = tuple(layer for layer in config.network if not isinstance(layer, Dropout))
    config = dataclasses.replace(config, network=network, train=train, pretrain=None)
    untrained = build_network(config, subset, np.random.default_rng(seed))
    initial = untrained.evaluate(data.task, y, X)["loss"]
    result = fit(config, subset, seed)
    final = result.model.evaluate(data.task, y, X)
    fitted = final["loss"] < 0.05 * initial or (data.task in ("classification", "multilabel")
                                                and final["error"] == 0)
    return OverfitReport(initial_loss=float(initial), final_loss=float(final["loss"]),
                         passed=bool(result.state == TrialState.COMPLETE and fitted),
                         epochs=result.epochs)
