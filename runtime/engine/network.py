"""The network: layers over one flat parameter vector, its buffers, forward/backward, state.

Parameters live in one contiguous vector, all weight matrices first, then all biases, so weight
penalties touch one slice and optimizers update everything in a few whole-vector calls. Gradients
mirror that layout. A `Workspace` holds every per-batch buffer (inputs, targets, activations,
deltas, dropout masks, the sample weights of a weighted fit) for a given number of rows; `Workspace.rows(m)` gives views of its first m
rows for the last, smaller batch, so training allocates nothing per batch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from runtime.engine.embedding import Embedding, embedding_for
from runtime.engine.initializers import initial_weights
from runtime.engine.layers import Dense, Dropout, Layer
from runtime.engine.losses import Head, head_from_state, make_head
from runtime.engine.multitarget import check_target_metric, make_multi_head, multi_from_state
from runtime.sparse import as_csr, is_sparse
from runtime.types import Target
from spec_lang.config import Config, Dense as DenseSpec, Dropout as DropoutSpec
from spec_lang.limits import network_problem

PREDICT_ROWS = 2048                        # rows per chunk when predicting


class Workspace:
    """Buffers for batches of n examples: a[0] the input batch (n, n_in), a[i + 1] the output of
    layer i, d[i] = dJ/da[i] (d[0] unused: no input gradient), masks[i] the dropout mask of
    layer i (a dense layer's scratch buffer), y the encoded targets (n, n_out), w the batch's
    sample weights (n, 1) (None: an unweighted fit; see `runtime.engine.losses`). With an
    embedding, e = [its output (the first layer's input), dJ/d that] (else None)."""

    def __init__(self, n: int, a: list, d: list, masks: list, y: np.ndarray,
                 w: np.ndarray | None = None, e: list | None = None) -> None:
        self.n, self.a, self.d, self.masks, self.y, self.w = n, a, d, masks, y, w
        self.e = e
        self.inputs: list[np.ndarray] = list(a[:-1])         # what each layer last read
        # Views of fewer rows; `self` is not stored here: that cycle would keep every buffer
        # alive until the garbage collector's next pass (worker memory climbed by hundreds of MB).
        self._views: dict[int, Workspace] = {}

    @classmethod
    def allocate(cls, net: Network, rows: int, weighted: bool = False,
                 sparse: bool = False) -> Workspace:
        """Fresh (uninitialized) buffers for `rows` examples of `net` (and their sample weights
        when `weighted`). `sparse`: the inputs come as CSR batches, assigned to a[0] (which
        starts as an empty (rows, 0) placeholder: no dense (rows, n_in) buffer)."""
        if sparse and (net.embedding is not None or not net.layers
                       or not isinstance(net.layers[0], Dense)):
            raise ValueError("sparse inputs go straight into a dense layer: drop the dropout "
                             "(or embed) before the first dense layer, or give dense inputs")
        empty = lambda width: np.empty((rows, width), dtype=net.dtype)  # noqa: E731
        widths = [net.n_in] + [layer.n_out for layer in net.layers]
        inputs = empty(0) if sparse else empty(net.n_in)
        return cls(rows, [inputs] + [empty(w) for w in widths[1:]],
                   [None] + [empty(w) for w in widths[1:]],
                   [empty(layer.n_out) for layer in net.layers], empty(net.head.n_out),
                   empty(1) if weighted else None,
                   None if net.embedding is None else
                   [empty(net.embedding.n_out), empty(net.embedding.n_out)])

    def rows(self, m: int) -> Workspace:
        """A workspace of views of the first m rows (cached; C-contiguous like the buffers)."""
        if m == self.n:
            return self
        if m not in self._views:
            cut = lambda arrays: [None if v is None else v[:m] for v in arrays]  # noqa: E731
            self._views[m] = Workspace(m, cut(self.a), cut(self.d), cut(self.masks), self.y[:m],
                                       None if self.w is None else self.w[:m],
                                       None if self.e is None else cut(self.e))
        return self._views[m]


def hidden_layers(specs: tuple, n_in: int) -> list[Layer]:
    """The hidden layers of an expanded network spec (Dense and Dropout only) on n_in inputs."""
    layers: list[Layer] = []
    width = n_in
    for spec in specs:
        if isinstance(spec, DenseSpec):
            layers.append(Dense(width, spec.width, spec.activation, spec.lr_scale))
            width = spec.width
        elif isinstance(spec, DropoutSpec):
            layers.append(Dropout(width, spec.rate))
        else:
            raise ValueError(f"The network must be expanded to dense and dropout layers; "
                             f"got {spec!r}.")
    return layers


class Network:
    """A feed-forward network: hidden `layers`, then a linear output layer read by `head`."""

    def __init__(self, n_in: int, hidden: list[Layer], head: Head, output_lr_scale: float = 1.0,
                 dtype: str | np.dtype = "float32", embedding: Embedding | None = None) -> None:
        self.n_in, self.head, self.dtype = n_in, head, np.dtype(dtype)
        # Embedded text columns (runtime.engine.embedding): the first layer reads its output.
        self.embedding = embedding
        width = hidden[-1].n_out if hidden else (embedding.n_out if embedding else n_in)
        self.layers: list[Layer] = [*hidden, Dense(width, head.n_out, "linear", output_lr_scale)]
        self.dense = [layer for layer in self.layers if isinstance(layer, Dense)]
        self.names = [f"dense{i}" for i in range(len(self.dense) - 1)] + ["output"]
        widths = [self.dense[0].n_in] + [layer.n_out for layer in self.dense]
        too_big = network_problem(widths, 1, self.dtype.itemsize)
        if too_big:                     # refused before np.zeros asks the kernel for it
            raise ValueError(too_big)
        n_w = sum(layer.n_in * layer.n_out for layer in self.dense)
        n_w += embedding.n_params if embedding else 0     # tables: weights after the W's
        n_b = sum(layer.n_out for layer in self.dense)
        self.n_weights = n_w
        self.params = np.zeros(n_w + n_b, dtype=self.dtype)
        self.grads = np.zeros_like(self.params)
        self._bind()

    def _bind(self) -> None:
        """Point every dense layer's W, b, gW, gb at its slices of the flat vectors."""
        w_at, b_at = 0, self.n_weights
        self.slices: list[tuple[slice, slice]] = []
        for layer in self.dense:
            n_w, shape = layer.n_in * layer.n_out, (layer.n_in, layer.n_out)
            w, b = slice(w_at, w_at + n_w), slice(b_at, b_at + layer.n_out)
            layer.bind(self.params[w].reshape(shape), self.params[b],
                       self.grads[w].reshape(shape), self.grads[b])
            self.slices.append((w, b))
            w_at, b_at = w.stop, b.stop
        if self.embedding is not None:
            tables = slice(w_at, self.n_weights)
            self.embedding.bind(self.params[tables], self.grads[tables])

    # ---------------------------------------------------------------------------- construction
    @classmethod
    def build(cls, config: Config, task: str, n_classes: int, X: np.ndarray, y: np.ndarray,
              rng: np.random.Generator, w: np.ndarray | None = None,
              targets: tuple[Target, ...] = ()) -> Network:
        """A freshly initialized network for `config` (its expanded `network`, `output`,
        `train.dtype`) on inputs X (n, d) and training targets y with sample weights w (sets
        the head's encoding); task "multitarget": one head per target of `targets`, weighted
        by `config.target_weights` (`runtime.engine.multitarget`)."""
        embeds = config.embed
        embedding = embedding_for(tuple(col for e in embeds for col in e.columns),
                                  tuple(e.dim for e in embeds for _ in e.columns),
                                  X) if embeds else None
        first = embedding.n_out if embedding else X.shape[1]
        net = cls(X.shape[1], hidden_layers(config.network, first),
                  _head(config, task, n_classes, y, w, targets), config.output.lr_scale,
                  config.train.dtype, embedding)
        dense_specs = [s for s in config.network if isinstance(s, DenseSpec)] + [config.output]
        for layer, spec in zip(net.dense, dense_specs):
            act = getattr(spec, "activation", "linear")
            layer.W[...] = initial_weights(spec.init, act, (layer.n_in, layer.n_out), spec.scale,
                                           rng)
        if embedding is not None:      # drawn after the W's: networks without one keep theirs
            embedding.initialize(rng)
        return net

    def lr_scales(self) -> np.ndarray | None:
        """Per-parameter learning-rate multipliers in the flat layout, None when all are 1."""
        if all(layer.lr_scale == 1.0 for layer in self.dense):
            return None
        scales = np.ones_like(self.params)        # embedding tables: 1
        for layer, (w, b) in zip(self.dense, self.slices):
            scales[w] = scales[b] = layer.lr_scale
        return scales

    def workspace(self, rows: int, weighted: bool = False, sparse: bool = False) -> Workspace:
        """Fresh buffers for batches of `rows` examples (with a weight column if `weighted`;
        CSR input batches if `sparse`)."""
        return Workspace.allocate(self, rows, weighted, sparse)

    # -------------------------------------------------------------------------------- compute
    def forward(self, ws: Workspace, train: bool, rng: np.random.Generator | None) -> np.ndarray:
        """Logits (n, n_out) for the inputs in ws.a[0]. Training mode applies dropout with masks
        drawn from rng (rng None: reuse the masks in ws, a fixed mask)."""
        x = ws.a[0]
        if self.embedding is not None and ws.e is not None:     # tables looked up, then concatenated
            x = self.embedding.forward(x, ws.e[0])
        for i, layer in enumerate(self.layers):
            ws.inputs[i] = x
            x = layer.forward(x, ws.a[i + 1], ws.masks[i], train, rng)
        return x

    def backward(self, ws: Workspace, activity_l1: float = 0.0) -> None:
        """Back-propagate dJ/dz of the output (in ws.d[-1]) into self.grads.
        The activity penalty activity_l1 * mean_n sum |a| of each hidden dense output adds
        activity_l1 * sign(a) / n to dJ/da before that layer's activation derivative (times the
        example's weight w_i when ws.w is set: the penalty is a per-example term too).
        (Everything is linear in ws.d[-1]: a scaled output delta gives scaled gradients, as long
        as activity_l1 is scaled the same way.)"""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            dx = ws.d[i] if i > 0 else (None if ws.e is None else ws.e[1])
            # masks[i]: the dropout mask, or a dense layer's scratch for its activation derivative
            layer.backward(ws.inputs[i], ws.a[i + 1], ws.d[i + 1], dx, ws.masks[i])
            if i > 0 and dx is not None and activity_l1 and isinstance(self.layers[i - 1], Dense):
                if ws.w is None:
                    dx += np.sign(ws.a[i]) * (activity_l1 / ws.n)
                else:
                    dx += np.sign(ws.a[i]) * (ws.w * (activity_l1 / ws.n))
        if self.embedding is not None and ws.e is not None:     # scatter into the tables' rows
            self.embedding.backward(ws.a[0], ws.e[1])

    def add_weight_penalties(self, l2: float, l1: float, sparse: bool = False) -> None:
        """grads += l2 W + l1 sign(W) on every weight matrix (not biases). `sparse`: the first
        layer's gradient is row-sparse (`Dense.g_rows`), and so is its penalty: on the rows of
        the features in the batch only (lazy regularization, as the optimizer's rows)."""
        w, g = self.params[:self.n_weights], self.grads[:self.n_weights]
        parts = [(w, g)]
        if sparse:
            first, (cut, _) = self.dense[0], self.slices[0]
            parts = [(w[:cut.start], g[:cut.start]), (w[cut.stop:], g[cut.stop:]),
                     (first.W[first.rows], first.g_rows)]
        for weights, grads in parts:
            if l2:
                grads += l2 * weights
            if l1:
                grads += l1 * np.sign(weights)

    def loss_grad(self, ws: Workspace, rng: np.random.Generator | None, l2: float = 0.0,
                  l1: float = 0.0, activity_l1: float = 0.0, scale: float = 1.0) -> float:
        """One forward/backward pass on the batch in ws (a[0], y, and w if set): fills
        self.grads with `scale` x the gradient of the training criterion
            data loss + l2/2 sum ||W||^2 + l1 sum |W| + activity_l1 sum_hidden mean_n sum |a|
        (data loss and activity term weighted by ws.w); returns the batch's reported data loss."""
        z = self.forward(ws, True, rng)
        loss = self.head.loss_grad(z, ws.y, ws.d[-1], scale, ws.w)
        self.backward(ws, activity_l1 * scale)
        if l2 or l1:
            self.add_weight_penalties(l2 * scale, l1 * scale, type(ws.a[0]) is not np.ndarray)
        return loss

    def logits(self, X: Any) -> np.ndarray:
        """Output-layer logits (n, n_out) for X (n, d), dense or sparse (kept CSR), in the
        network's dtype (no dropout)."""
        sparse = is_sparse(X)
        X = as_csr(X, self.dtype) if sparse else np.asarray(X, dtype=self.dtype)
        n = X.shape[0]
        out = np.empty((n, self.head.n_out), dtype=self.dtype)
        ws = self.workspace(min(max(n, 1), PREDICT_ROWS), sparse=sparse)
        for start in range(0, n, ws.n):
            sub = ws.rows(min(ws.n, n - start))
            if sparse:
                sub.a[0] = X[start:start + sub.n]
            else:
                sub.a[0][...] = X[start:start + sub.n]
            out[start:start + sub.n] = self.forward(sub, False, None)
        return out

    def outputs(self, X: np.ndarray) -> np.ndarray:
        """Head outputs (n, n_out) in training units (probabilities / standardized values)."""
        z = self.logits(X)
        self.head.output(z)
        return z

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for X (n, d): class probabilities (n, K) (binary: (n, 2)), multilabel
        probabilities (n, L), regression values (n,) or (n, m) in the original target units."""
        return self.head.decode(self.outputs(X))

    def evaluate(self, task: str, y: np.ndarray, X: np.ndarray,
                 weights: np.ndarray | None = None) -> dict[str, float]:
        """Every metric of the task for the predictions on X against y (exact losses from the
        logits; per target for a multi-target head), each example weighted by `weights`."""
        return self.head.evaluate(task, y, *self.scored(X), weights)

    def scored(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """`predict(X)` and the logits its loss is computed from (`Head.loss_logits`, float64;
        None for regression): `evaluate(task, y, *net.scored(X))` scores X exactly."""
        z = self.logits(X)
        logits = self.head.loss_logits(z)
        self.head.output(z)
        return self.head.decode(z), logits

    # ---------------------------------------------------------------------------------- state
    def tensors(self) -> dict[str, np.ndarray]:
        """Named parameter views: "dense0.W", "dense0.b", ..., "output.W", "output.b", and the
        embedding tables "embed0.table", ... (one per embedded column, in input order)."""
        named = {}
        for name, layer in zip(self.names, self.dense):
            named[f"{name}.W"], named[f"{name}.b"] = layer.W, layer.b
        for j, table in enumerate(self.embedding.tables if self.embedding else ()):
            named[f"embed{j}.table"] = table
        return named

    def state(self) -> dict[str, np.ndarray]:
        """Everything needed to predict, as plain (non-object) arrays for np.savez."""
        hidden = self.layers[:-1]
        arrays = {"n_in": np.array(self.n_in), "dtype": np.array(self.dtype.name),
                  "layer_kind": np.array([layer.kind for layer in hidden], dtype=str),
                  "layer_units": np.array([layer.n_out for layer in hidden], dtype=np.int64),
                  "layer_activation": np.array([layer.activation for layer in hidden], dtype=str),
                  "layer_rate": np.array([layer.rate for layer in hidden], dtype=np.float64),
                  "layer_lr_scale": np.array([layer.lr_scale for layer in self.layers],
                                             dtype=np.float64)}
        arrays.update({k: v.copy() for k, v in self.tensors().items()})
        if self.embedding is not None:
            arrays.update(embed_numeric=np.array(self.embedding.n_numeric),
                          embed_rows=np.array(self.embedding.rows, dtype=np.int64),
                          embed_dims=np.array(self.embedding.dims, dtype=np.int64),
                          embed_columns=np.array(self.embedding.columns, dtype=str))
        return {**arrays, **self.head.state()}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> Network:
        """The network `state()` described, with the same weights. A state whose arrays do not
        fit together raises ValueError (a missing array: KeyError) before anything is allocated."""
        kinds = [str(k) for k in np.asarray(state["layer_kind"]).reshape(-1)]
        units = [int(u) for u in np.asarray(state["layer_units"]).reshape(-1)]
        acts = [str(a) for a in np.asarray(state["layer_activation"]).reshape(-1)]
        rates = [float(r) for r in np.asarray(state["layer_rate"]).reshape(-1)]
        lr_scales = [float(v) for v in np.asarray(state["layer_lr_scale"]).reshape(-1)]
        if not len(kinds) == len(units) == len(acts) == len(rates) == len(lr_scales) - 1:
            raise ValueError("the layer arrays of the network state differ in length")
        head = multi_from_state(state) if str(state["head"]) == "multi" else \
            head_from_state(state)
        embedding = _embedding_from_state(state)
        width = embedding.n_out if embedding else int(state["n_in"])
        _check_tensor_shapes(state, width, kinds, units, head.n_out)
        hidden: list[Layer] = []
        for kind, n_out, act, rate, lrs in zip(kinds, units, acts, rates, lr_scales):
            if kind == "dense":
                hidden.append(Dense(width, n_out, act, lrs))
                width = n_out
            else:
                hidden.append(Dropout(width, rate))
        net = cls(int(state["n_in"]), hidden, head, lr_scales[-1], str(state["dtype"]),
                  embedding)
        for name, view in net.tensors().items():
            view[...] = state[name]
        return net


def _head(config: Config, task: str, n_classes: int, y: np.ndarray, w: np.ndarray | None,
          targets: tuple[Target, ...]) -> Head:
    """The output head of a new network: the task's, or one per target (multitarget), whose
    selection metric, when it names a target, must be a metric of that target's task."""
    if task != "multitarget":
        return make_head(task, n_classes, y, w)
    head = make_multi_head(targets, tuple(float(v) for v in config.target_weights), y, w)
    check_target_metric(config.metric, targets)
    return head


def _embedding_from_state(state: dict[str, np.ndarray]) -> Embedding | None:
    """The embedding a state describes (None without one), its tables' shapes checked."""
    if "embed_rows" not in state:
        return None
    rows = tuple(int(r) for r in np.asarray(state["embed_rows"]).reshape(-1))
    dims = tuple(int(d) for d in np.asarray(state["embed_dims"]).reshape(-1))
    columns = tuple(str(c) for c in np.asarray(state["embed_columns"]).reshape(-1))
    embedding = Embedding(int(state["embed_numeric"]), rows, dims, columns)
    if embedding.n_in != int(state["n_in"]):
        raise ValueError(f"the network state has {int(state['n_in'])} inputs, its embedding "
                         f"reads {embedding.n_in}")
    for j, shape in enumerate(zip(rows, dims)):
        if np.shape(state[f"embed{j}.table"]) != shape:
            raise ValueError(f"the network state's embed{j}.table has shape "
                             f"{np.shape(state[f'embed{j}.table'])}, its sizes say {shape}")
    return embedding


def _check_tensor_shapes(state: dict[str, np.ndarray], n_in: int, kinds: list[str],
                         units: list[int], n_out: int) -> None:
    """Every NAME.W / NAME.b of the state has the shape its layer sizes imply (ValueError)."""
    if n_in < 1:
        raise ValueError(f"the network state has {n_in} inputs")
    widths = [n_in] + [u for k, u in zip(kinds, units) if k == "dense"] + [n_out]
    names = [f"dense{i}" for i in range(len(widths) - 2)] + ["output"]
    for name, fan_in, fan_out in zip(names, widths, widths[1:]):
        for key, shape in ((f"{name}.W", (fan_in, fan_out)), (f"{name}.b", (fan_out,))):
            if np.shape(state[key]) != shape:
                raise ValueError(f"the network state's {key} has shape {np.shape(state[key])}, "
                                 f"its layer sizes say {shape}")
