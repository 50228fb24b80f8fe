"""What the chosen configuration's networks learned: weights, activations and gradients per
layer at the start and at the end of training, and the first layer's filters as images.

Recorded once, when the report is made, for the chosen members only (each seed x fold of the
chosen configuration; the first outer fold's under nested cross-validation), from what the run
left and nothing retrained:

- end: the member's trained network as the run kept it (`RUN/members/<key>.npz`, else
  `model.npz`): the best epoch's restored weights;
- start: the same network at initialization, rebuilt exactly: the spec as run (`RUN/spec.spec`)
  bound to the chosen parameters, the member's fold, and the first draws of its seed's
  generator, as `runtime.engine.training.fit` makes them (before pre-training, if any);
- activations: each hidden dense layer's outputs on up to SAMPLE_ROWS evenly strided training
  examples (no dropout);
- gradients: of the training criterion (data loss and weight penalties, dropout masks drawn
  from the seed) with respect to each layer's weights, on the same examples in one batch.

Filters: when the raw inputs are a square image (a square number of features, at least
MIN_IMAGE_SIDE a side: 8x8 digits, 28x28 ...), each first-layer unit's weights are shown as an
image in pixel space: through the fitted preprocessing when it is affine (standardize, PCA,
whitening: the unit's pre-activation is (J x + c) . w, so its pixel filter is J^T w, J found
column by column), scaled by each pixel's standard deviation over the data: the change of the
unit's input when that pixel moves by one standard deviation, so that nearly constant border
pixels do not dominate), else only when the network's inputs are themselves square.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.report.plots import new_figure
from runtime.report.run_folder import Run
from runtime.sparse import as_csr, is_sparse

if TYPE_CHECKING:
    from runtime.execution.outcome import Choice, MemberRef
    from matplotlib.figure import Figure

SAMPLE_ROWS = 512
MAX_FILTERS = 32
BINS = 40
AFFINE_TOLERANCE = 1e-4
# The smallest image side drawn as filters: digits' 8x8 is the smallest image set nnspec ships,
# while 4, 9, 16 or 25 columns are far more often a table (iris's 4 are no 2x2 image).
MIN_IMAGE_SIDE = 8


@dataclass
class Snapshot:
    """Per layer name: the values of one quantity, pooled over the chosen members."""

    weights: dict[str, list[np.ndarray]] = field(default_factory=dict)
    activations: dict[str, list[np.ndarray]] = field(default_factory=dict)
    gradients: dict[str, list[np.ndarray]] = field(default_factory=dict)


@dataclass
class NetworkStats:
    """Start and end snapshots of the chosen members, and the first layer's pixel filters."""

    start: Snapshot
    end: Snapshot
    members: int
    filters: np.ndarray | None          # (units, side, side) of the first member, or None
    filter_space: str                   # "pixels" or "network inputs"
    notes: list[str]


def record(run: Run) -> NetworkStats | str:
    """The chosen members' statistics, or a sentence saying why they cannot be recorded."""
    import spec_lang
    from spec_lang import SpecError

    from runtime.errors import NnspecError
    item = run.chosen[0]
    # the saved model's networks: the refit's when the run refitted, else the search's
    listed = (item.refit.members if item.refit else ()) or item.members
    members = sorted(listed, key=lambda m: (m.seed, m.fold))
    if not members or item.valid.mean is None:
        return "no configuration completed: there is no trained network to look at"
    try:
        exp = spec_lang.load(run.path / "spec.spec")
        return _record(run, exp, item, members)
    except (SpecError, NnspecError, OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"the networks could not be rebuilt from the run folder ({first})"


def _record(run: Run, exp: Any, item: Choice, members: list[MemberRef]
            ) -> NetworkStats | str:
    from runtime.engine.training import build_network
    from runtime.execution.jobs import Job
    from runtime.execution.prepared import dataset, train_data
    params = dict(item.params)
    config = exp.bind(params)
    start, end = Snapshot(), Snapshot()
    filters, space, notes = None, "", []
    for m in members:
        trained = _trained(run.path, m.key, members.index(m))
        if trained is None:
            return "the chosen members' networks are not in the run folder (members/, " \
                   "model.npz)"
        job = Job(int(item.trial or 0), tuple(params.items()), m.seed, m.fold, item.outer)
        data, prep = train_data(config, exp, job)
        initial = build_network(config, data, np.random.default_rng(m.seed))
        rows = slice(None, None, max(1, math.ceil(data.X_train.shape[0] / SAMPLE_ROWS)))
        X, y = data.X_train[rows], data.y_train[rows]
        for net, snap in ((initial, start), (trained.net, end)):
            _snapshot(net, X, y, config.train, m.seed, snap)
        if filters is None:
            raw = dataset(config.data, str(exp.base_dir)).X
            filters, space = first_layer_filters(trained.net, prep, raw)
    if item.outer is not None:
        notes.append("nested cross-validation: the chosen configuration of outer fold "
                     f"{item.outer}")
    if exp.config.pretrain is not None:
        notes.append("start: at initialization, before greedy pre-training")
    return NetworkStats(start, end, len(members), filters, space, notes)


def _trained(folder: Path, key: str, index: int) -> Any:
    """The member's trained network (members/<key>.npz, else the index-th of model.npz)."""
    from runtime.model.saved import SavedModel
    path = folder / "members" / f"{key}.npz"
    if path.is_file():
        return SavedModel.load(path).members[0]
    if (folder / "model.npz").is_file():
        model = SavedModel.load(folder / "model.npz")
        return model.members[index] if index < len(model.members) else None
    return None


def _snapshot(net: Any, X: np.ndarray, y: np.ndarray, train: Any, seed: int,
              snap: Snapshot) -> None:
    """Add one network's weights, hidden activations and weight gradients to `snap`."""
    from runtime.engine.layers import Dense
    for name, layer in zip(net.names, net.dense):
        snap.weights.setdefault(name, []).append(layer.W.ravel().copy())
    sparse = is_sparse(X)
    ws = net.workspace(X.shape[0], sparse=sparse)
    if sparse:
        ws.a[0] = as_csr(X, net.dtype)
    else:
        ws.a[0][...] = X
    ws.y[...] = net.head.encode(y, net.dtype)
    net.forward(ws, False, None)
    dense_seen = 0
    for i, layer in enumerate(net.layers[:-1]):
        if isinstance(layer, Dense):
            name = net.names[dense_seen]
            snap.activations.setdefault(name, []).append(ws.a[i + 1].ravel().copy())
            dense_seen += 1
    with np.errstate(all="ignore"):
        net.loss_grad(ws, np.random.default_rng(seed), train.l2, train.l1, train.activity_l1)
    for i, (name, layer) in enumerate(zip(net.names, net.dense)):
        # on sparse inputs the first layer's gradient is computed on the features present
        grad = layer.g_rows if sparse and i == 0 else layer.gW
        snap.gradients.setdefault(name, []).append(grad.ravel().copy())


def first_layer_filters(net: Any, prep: Any, raw: np.ndarray
                        ) -> tuple[np.ndarray | None, str]:
    """Up to MAX_FILTERS first-layer units as (side, side) images, and the space they are in;
    (None, "") when neither the raw inputs (through an affine preprocessing) nor the network's
    inputs are a square image (a square number of features, MIN_IMAGE_SIDE or more a side)."""
    W = np.asarray(net.dense[0].W, dtype=np.float64)
    units = min(MAX_FILTERS, W.shape[1])
    side = math.isqrt(raw.shape[1])
    if side >= MIN_IMAGE_SIDE and side * side == raw.shape[1] and not is_sparse(raw):   # sparse: no images
        J = affine_jacobian(prep, raw)
        if J is not None:
            spread = raw.std(axis=0)
            pixels = (J.T @ W[:, :units]).T * spread     # (units, raw features)
            return pixels.reshape(units, side, side), "pixels"
    side = math.isqrt(W.shape[0])
    if side >= MIN_IMAGE_SIDE and side * side == W.shape[0]:
        return W[:, :units].T.reshape(units, side, side), "network inputs"
    return None, ""


def affine_jacobian(prep: Any, raw: np.ndarray) -> np.ndarray | None:
    """d prep(x) / dx (network inputs x raw features) when the preprocessing is affine (the
    same at two points), else None. Column i: (prep(x0 + e_i) - prep(x0)), exact for an
    affine map."""
    def at(base: np.ndarray) -> np.ndarray:
        steps = base[None, :] + np.eye(len(base))
        moved = np.asarray(prep.transform(np.vstack([base[None, :], steps])), np.float64)
        return (moved[1:] - moved[0]).T
    raw = np.asarray(raw, dtype=np.float64)
    J = at(raw.mean(axis=0))
    other = at(raw[len(raw) // 2])
    scale = max(float(np.abs(J).max()), 1e-12)
    return J if float(np.abs(J - other).max()) <= AFFINE_TOLERANCE * scale else None


# --------------------------------------------------------------------------------- plots
QUANTITIES = {"weights": "weight value", "activations": "activation value",
              "gradients": "weight gradient"}


def plot_histograms(stats: NetworkStats, quantity: str) -> Figure:
    """One panel per layer: the histogram of `quantity` at the start (grey) and at the end
    (blue) of training, on shared bins, the standard deviations in the title."""
    start, end = getattr(stats.start, quantity), getattr(stats.end, quantity)
    names = list(end)
    fig = new_figure(max(4.0, 3.3 * len(names)), 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(names), squeeze=False)[0])
    for ax, name in zip(axes, names):
        a, b = np.concatenate(start[name]), np.concatenate(end[name])
        both = np.concatenate([a, b])
        both = both[np.isfinite(both)]
        low, high = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
        bins = np.linspace(low, high if high > low else low + 1, BINS + 1)
        ax.hist(a[np.isfinite(a)], bins=bins, color="0.6", alpha=0.7, label="start")
        ax.hist(b[np.isfinite(b)], bins=bins, color="C0", alpha=0.6, label="end")
        ax.set(title=f"{name}: std {np.nanstd(a):.3g} -> {np.nanstd(b):.3g}",
               xlabel=QUANTITIES[quantity], ylabel="count")
        ax.legend(fontsize="small")
    pooled = "1 member" if stats.members == 1 else f"{stats.members} members pooled"
    fig.suptitle(f"{quantity}, {pooled}", fontsize="medium")
    return fig


def plot_filters(stats: NetworkStats) -> Figure | None:
    """The first layer's filters as images (diverging colours, each at its own symmetric
    scale), None when there are none."""
    if stats.filters is None:
        return None
    count = len(stats.filters)
    cols = min(8, count)
    rows = math.ceil(count / cols)
    fig = new_figure(1.3 * cols + 0.4, 1.3 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for i, image in enumerate(stats.filters):
        limit = float(np.abs(image).max()) or 1.0
        axes[i].imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit,
                       interpolation="nearest")
        axes[i].set_title(f"unit {i}", fontsize=7)
    fig.suptitle(f"first layer's filters in {stats.filter_space}", fontsize="medium")
    return fig
