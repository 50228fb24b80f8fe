"""The checked, concrete configuration that the runtime executes.

These frozen dataclasses are the contract between the language (`spec_lang`) and the machine
(`runtime`). Every field's default is the documented default of the language (Bengio 2012 where the
chapter gives one). In an `Experiment` any field may still hold a `Param` placeholder;
`Experiment.bind(params)` returns a `Config` in which every placeholder is replaced by a value and
every `Repeat` is expanded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Param:
    """A hyper-parameter placeholder (`$name` in a spec), bound by the search."""

    name: str


@dataclass(frozen=True)
class Pick:
    """A value chosen by a searched parameter's value (`epochs ... early_stop $es`, the default
    lr of `optimizer $opt`): `cases` pairs each value of `param` with the value the field takes;
    `default` is the key when the parameter is absent (an inactive conditional dimension).
    `arg` and `owner` name the setting the parameter feeds: its value is converted as that
    setting's (`spec_lang.values.coerce`) before it is looked up."""

    param: Param
    cases: tuple[tuple[Any, Any], ...]
    default: Any
    arg: Any = None
    owner: str = ""


@dataclass(frozen=True)
class Auto:
    """`lr auto`: a learning rate chosen at run time, before the search, by the learning-rate
    range test (`runtime.execution.lr_auto`, which replaces it with the concrete rate before
    any trial is keyed or trained; the engine refuses to train with it)."""

    def __repr__(self) -> str:
        return "auto"


AUTO = Auto()


# The most configurations a search may visit (trials, grid points, zoom levels x their grids,
# coordinate sweeps x their grids): more cannot run in a lifetime, and would not fit in memory.
MAX_TRIALS = 1_000_000
HALVING_TRIALS = 27           # halving and asha: configurations started when no N is given


# ----------------------------------------------------------------------------------------- data
BUNDLED = ("digits", "iris", "wine", "breast_cancer", "diabetes")
GENERATORS = ("make_classification", "make_regression", "make_multilabel", "make_moons",
              "make_circles", "make_friedman1", "make_sparse")
FILE_FORMATS = ("csv", "npz", "svmlight")
TASKS = ("classification", "regression", "multilabel")


@dataclass(frozen=True)
class DataSpec:
    """Where the examples come from.

    `source` is a bundled set name, a generator name, or "file" (then `path` and `format`).
    """

    source: str = "digits"
    path: str | None = None              # file sources; relative to the spec's folder
    format: str | None = None            # csv | npz | svmlight; None: from the file extension
    # csv target column (None: the last column); several columns: one head each (a tuple)
    target: str | tuple[str, ...] | None = None
    task: str | None = None              # None: inferred from the target
    categorical: str = "onehot"          # csv text columns: onehot | reject
    drop: tuple[str, ...] = ()           # csv columns left out when the file is read
    samples: int = 1000                  # generators
    features: int = 20
    classes: int = 2
    informative: int | None = None
    noise: float = 0.0
    seed: int = 0                        # generator seed (fixed, independent of trial seeds)
    nonzeros: int = 20                   # make_sparse: non-zero features per example
    valid: str | None = None             # a fixed validation file (file sources; same columns)
    test: str | None = None              # a fixed test file, scored once (same columns)
    # CSV text columns read as category codes for the network's embedding tables; set by the
    # validator from the network's `embed` statements (in their order), never written here.
    embed: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------- protocol
@dataclass(frozen=True)
class Holdout:
    """One train / valid / test split; fractions sum to 1."""

    train: float = 0.6
    valid: float = 0.2
    test: float = 0.2
    stratified: bool = True              # ignored for regression
    seed: int | None = None              # the split's seed; None: the first training seed
    refit: bool = True                   # the final model: retrained on train + valid


@dataclass(frozen=True)
class KFold:
    """`test` held out once; k-fold cross-validation on the rest (each fold validates once)."""

    k: int = 5
    test: float = 0.2
    stratified: bool = True
    seed: int | None = None              # the split's seed; None: the first training seed
    refit: bool = True                   # the final model: retrained on every fold's rows


@dataclass(frozen=True)
class Nested:
    """Nested ("double") cross-validation: `outer` folds estimate generalization, an inner
    `inner`-fold search runs in each outer training part."""

    outer: int = 5
    inner: int = 3
    stratified: bool = True
    seed: int | None = None              # the split's seed; None: the first training seed
    refit: bool = True                   # each outer fold's model: retrained on its inner rows


Protocol = Union[Holdout, KFold, Nested]


# ---------------------------------------------------------------------------------- preprocess
@dataclass(frozen=True)
class Standardize:
    """Zero mean, unit variance per feature (scikit-learn StandardScaler)."""


@dataclass(frozen=True)
class PCA:
    """Decorrelate (and optionally whiten); keep `components` or enough for `variance`."""

    components: int | None = None
    variance: float | None = None        # both None: keep all components
    whiten: bool = False


@dataclass(frozen=True)
class Quantile:
    """Uniformize each feature through its empirical quantiles."""

    output: str = "uniform"              # uniform | normal
    quantiles: int = 1000


@dataclass(frozen=True)
class Log:
    """log1p of heavy-tailed non-negative columns; empty `columns`: detect them (skew > 2)."""

    columns: tuple[Any, ...] = ()        # column indices (int) or names (str)


PreprocessStep = Union[Standardize, PCA, Quantile, Log]
DEFAULT_PREPROCESS: tuple[PreprocessStep, ...] = (Standardize(),)


# -------------------------------------------------------------------------------------- network
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "softsign", "softplus", "linear")
INITS = ("auto", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "sigmoid_uniform",
         "lecun_uniform", "lecun_normal", "orthogonal", "zeros")


@dataclass(frozen=True)
class Dense:
    """A fully connected layer: `width` units, then `activation`.

    `init` "auto" picks from the activation: Glorot uniform for tanh/softsign/linear/relu/
    leaky_relu, 4x that range for sigmoid, He normal for softplus (docs/engine.md gives the
    benchmark behind the ReLU choice). `scale` multiplies the initial weights,
    `lr_scale` this layer's learning rate.
    """

    width: int
    activation: str = "relu"
    init: str = "auto"
    scale: float = 1.0
    lr_scale: float = 1.0


@dataclass(frozen=True)
class Dropout:
    """Drop each unit of the previous layer's output with probability `rate` while training."""

    rate: float = 0.5


@dataclass(frozen=True)
class Output:
    """The output layer; its activation and loss follow from the task."""

    init: str = "auto"
    scale: float = 1.0
    lr_scale: float = 1.0


@dataclass(frozen=True)
class Repeat:
    """`count` copies of `body` (expanded by `Experiment.bind`)."""

    count: int
    body: tuple[Any, ...]


@dataclass(frozen=True)
class Embed:
    """`embed columns "city", "shop" dim 8`: each CSV text column gets a learned table of
    (categories seen in training + 1 "unknown" row) x `dim`, looked up and concatenated with the
    numeric inputs of the first layer. `dim` AUTO: `runtime.engine.embedding.auto_dim`."""

    columns: tuple[str, ...] = ()
    dim: Any = AUTO                      # int >= 1, or AUTO


Layer = Union[Dense, Dropout]
# Without a `network` block: two ReLU layers of 256, the same width in every layer as the
# chapter advises (bench/quality.py, issue 24: one layer of 100 scored 1.7 points lower over 26
# sets, and is undercomplete on many inputs).
DEFAULT_NETWORK: tuple[Layer, ...] = (Dense(256, "relu"), Dense(256, "relu"))


# ------------------------------------------------------------------------------------- training
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
SCHEDULES = ("constant", "one_over_t", "exponential", "step", "cosine")


@dataclass(frozen=True)
class Optimizer:
    """Update rule. sgd uses `momentum` (`nesterov` for Nesterov's form); adam `beta1`, `beta2`;
    rmsprop `rho`; adam, rmsprop and adagrad `eps`."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float = 0.9
    eps: float = 1e-8


@dataclass(frozen=True)
class Schedule:
    """Learning rate as a pure function of the update count t (all counts are updates).

    constant: lr0.  one_over_t: lr0 * tau / max(t, tau).  exponential: lr0 * gamma ** (t / every).
    step: lr0 * gamma ** floor(t / every).  cosine: min_lr + (lr0 - min_lr) (1 + cos(pi t / T)) / 2
    over the planned updates T. `warmup` updates of linear ramp go in front of any of them.
    `tau` and `every` None mean "the updates of `auto_epochs` epochs".
    """

    name: str = "one_over_t"
    tau: float | None = None
    gamma: float = 0.1
    every: float | None = None
    min_lr: float = 0.0
    warmup: int = 0
    auto_epochs: int = 30              # bench/quality.py: 10 decayed too soon (docs/engine.md)


# The relative margin of improvement when neither `min_delta` nor `min_rel_delta` is written.
DEFAULT_REL_DELTA = 0.001
# Early stopping's patience: epochs, and, unless `patience` is written, at least this many
# updates (90 training rows in batches of 32 make an epoch of 3 updates: 20 epochs are 60).
DEFAULT_PATIENCE = 20
DEFAULT_PATIENCE_UPDATES = 300


@dataclass(frozen=True)
class EarlyStop:
    """Stop when the validation metric has not improved by a meaningful margin for `patience`
    epochs (and `patience_updates` updates, see `patience_for`), or (`stall` > 0) when it is
    no better than a constant predictor's after `stall` epochs or when patience runs out; the
    best epoch's weights are restored.

    An improvement must exceed `min_delta` (absolute, in the metric's units) and `min_rel_delta`
    times the best value's distance from a perfect score. With neither written the relative
    margin is `DEFAULT_REL_DELTA` (0.1%); writing either one sets the other's default to 0.
    """

    patience: int | None = None          # None: see patience_for()
    min_delta: float | None = None       # None: see margins()
    min_rel_delta: float | None = None
    stall: int = 10                      # warm-up epochs of the stall check; 0: no stall check
    patience_updates: int | None = None

    def patience_for(self, per_epoch: int) -> int:
        """Epochs without improvement before stopping, for epochs of `per_epoch` updates: at
        least `patience` epochs and `patience_updates` updates. `patience` defaults to
        `DEFAULT_PATIENCE`; `patience_updates` to `DEFAULT_PATIENCE_UPDATES`, or to 0 when
        `patience` is written (then it is exactly the epochs written)."""
        epochs = DEFAULT_PATIENCE if self.patience is None else self.patience
        updates = self.patience_updates if self.patience_updates is not None else \
            (DEFAULT_PATIENCE_UPDATES if self.patience is None else 0)
        return max(epochs, math.ceil(updates / max(per_epoch, 1)))

    def margins(self) -> tuple[float, float]:
        """(absolute, relative) margin an improvement must exceed."""
        if self.min_delta is None and self.min_rel_delta is None:
            return 0.0, DEFAULT_REL_DELTA
        return float(self.min_delta or 0.0), float(self.min_rel_delta or 0.0)


@dataclass(frozen=True)
class Train:
    """Everything about fitting the network's weights."""

    optimizer: Optimizer = field(default_factory=Optimizer)
    schedule: Schedule = field(default_factory=Schedule)
    batch: int | None = 32               # None: the whole training set (batch gradient descent)
    # large, so that early stopping ends fits, as the chapter says (bench/quality.py, issue 24:
    # at 100 the cap ended 8% of the default fits; at 1000 none, for 5% more epochs)
    epochs: int = 1000
    updates: int | None = None           # cap on updates, None: no cap
    early_stop: EarlyStop | None = field(default_factory=EarlyStop)
    l2: float = 0.0
    l1: float = 0.0
    activity_l1: float = 0.0
    divergence: float = 1e3              # diverged when loss > divergence x initial loss, or NaN
    dtype: str = "float32"


@dataclass(frozen=True)
class Pretrain:
    """Greedy layer-wise unsupervised pre-training of the hidden dense layers."""

    method: str = "autoencoder"          # autoencoder | denoising | rbm
    epochs: int = 10
    lr: float = 0.01
    batch: int = 32
    noise: float = 0.25                  # denoising: masking probability
    cd: int = 1                          # rbm: contrastive-divergence steps
    # Per hidden dense layer, its own settings (`search layerwise` fixes them stage by stage);
    # a layer beyond the tuple takes the fields above.
    layers: tuple["Pretrain", ...] = ()

    def of_layer(self, index: int) -> "Pretrain":
        """The settings hidden dense layer `index` (0-based) is pre-trained with."""
        return self.layers[index] if index < len(self.layers) else self


METRICS = {"classification": ("error", "loss", "accuracy", "f1"),
           "multilabel": ("error", "loss", "accuracy", "f1"),
           "regression": ("loss", "mse", "mae", "r2")}
MAXIMIZED_METRICS = ("accuracy", "f1", "r2")


@dataclass(frozen=True)
class Config:
    """One fully bound configuration: what a single trial trains."""

    data: DataSpec = field(default_factory=DataSpec)
    protocol: Protocol = field(default_factory=Holdout)
    preprocess: tuple[PreprocessStep, ...] = DEFAULT_PREPROCESS
    network: tuple[Layer, ...] = DEFAULT_NETWORK
    output: Output = field(default_factory=Output)
    embed: tuple[Embed, ...] = ()        # the network's `embed` statements
    train: Train = field(default_factory=Train)
    pretrain: Pretrain | None = None
    metric: str | None = None            # None: error (classification), loss (regression,
    #                                      several targets); one target's: "rooms_error"
    # Several targets (`data ... target "price", "rooms" weights 2, 1`): the weight of each
    # target's loss in the criterion, in the targets' order; () all 1. Not in DataSpec: a
    # weight may be searched ($w) and does not change the data.
    target_weights: tuple[Any, ...] = ()


# --------------------------------------------------------------------------------------- search
# Each has a row of `runtime.search.registry.TABLE`, in this order (docs/search.md, "How to
# add a strategy"; tests/runtime/search/test_registry.py holds the two together).
STRATEGIES = ("none", "grid", "random", "coordinate", "zoom", "halving", "asha", "hyperband",
              "tpe", "layerwise", "auto")
# `search auto`'s stages, in the order it runs them (`spec_lang.auto`, runtime.search.auto).
AUTO_STAGES = ("lr", "capacity", "border", "batch", "seeds")
# What a `search layerwise` stage chooses a layer's pre-training by (Bengio 2012, 3.3.4).
LAYERWISE_CRITERIA = ("reconstruction", "supervised")
# Strategies that decide as results arrive: their table may depend on --jobs and timing
# (exactly those whose class says `asynchronous = True`: test_registry.py checks it).
ASYNCHRONOUS = ("asha", "hyperband")
PRUNE_RULES = ("median", "percentile", "halving")
BUDGET_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}


@dataclass(frozen=True)
class Prune:
    """Stop a trial whose validation metric at an epoch is worse than the `percentile` (50: the
    median) of the finished trials at that epoch, once `startup` trials have finished and after
    `warmup` epochs; `halving` (percentile 100 / eta) judges only at the rungs (epochs
    (warmup + 1) eta^k), against every finished trial that reached them
    (`runtime.execution.pruning`)."""

    rule: str = "median"                 # median | percentile | halving
    percentile: float = 50.0             # keep trials within the best `percentile` %
    warmup: int = 5                      # epochs before a trial may be pruned
    startup: int = 5                     # finished trials (at the same fidelity) before pruning
    eta: float | None = None             # halving: keep the best 1/eta at each rung (default 3)

    def __post_init__(self) -> None:
        if self.rule == "halving":       # its share kept follows from eta: one source for both
            eta = 3.0 if self.eta is None else float(self.eta)
            object.__setattr__(self, "eta", eta)
            object.__setattr__(self, "percentile", 100.0 / eta)


@dataclass(frozen=True)
class Budget:
    """No new trial starts once `seconds` of wall time or `epochs` of training are spent."""

    seconds: float | None = None
    epochs: int | None = None


@dataclass(frozen=True)
class Condition:
    """`if name == value`: the dimension exists only when another parameter has this value."""

    param: str
    op: str                              # "==" or "!="
    value: Any


@dataclass(frozen=True)
class Dim:
    """One searched hyper-parameter.

    kind "choice": `values` (a finite list).  kind "range": `low` .. `high` on `scale`, with
    `count` grid points (None: the strategy decides).  kind "prior": a distribution to sample,
    `prior` in uniform | log_uniform | int_uniform | int_log_uniform.
    """

    name: str
    kind: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    scale: str = "linear"                # linear | log
    count: int | None = None
    integer: bool = False
    prior: str | None = None
    condition: Condition | None = None
    # Closed bounds of the settings that use it (momentum: 0, dropout: 0): a best value lying
    # there is at a natural limit, not on a border the search could extend past.
    limits: tuple[float | None, float | None] = (None, None)
    # What the settings that use it accept: (low, high, low_open, high_open), the tightest of
    # their intervals (lr: (0, inf, True, False)). Widening an interval stays inside it.
    accepts: tuple[float, float, bool, bool] = (-math.inf, math.inf, False, False)
    # The default of the settings that use it when they agree (momentum: 0.9), else None: the
    # value an estimator takes for a dimension nobody set, when the space holds it.
    default: Any = None
    # `search auto`: the stage that searches it ("lr", "capacity" or "batch"), and whether auto
    # opened it (a setting the spec left to its default) rather than the spec defining it.
    stage: str = ""
    opened: bool = False


@dataclass(frozen=True)
class Search:
    """How the hyper-parameter space is explored."""

    strategy: str = "none"
    trials: int | None = None            # random / tpe: configurations; halving, asha: configs
    dims: tuple[Dim, ...] = ()
    shuffle: bool = False                # grid: visit order shuffled by the seed
    sweeps: int = 3                      # coordinate: passes over the dimensions
    order: tuple[str, ...] = ()          # coordinate: dimension order (default: as declared)
    levels: int = 3                      # zoom: number of grids
    factor: float = 4.0                  # zoom: interval shrink per level
    points: int = 5                      # zoom: grid points per dimension and level
    eta: float = 3.0                     # halving: keep the best 1/eta per rung
    fidelity: str = "epochs"             # halving: epochs | data
    min_fidelity: float | None = None    # lowest rung's fraction (None: halving eta^-(rungs-1);
    #                                      asha eta^-3, or fewer rungs for a small N; hyperband eta^-3)
    # layerwise: the dimensions the `pretrain` statement uses (searched layer by layer) and
    # the hidden dense layers they are searched for (filled by the validator)
    pretrained: tuple[str, ...] = ()
    layers: int = 0
    criterion: str = "reconstruction"    # layerwise: what a layer's stage is chosen by
    extend: int = 0                      # border check: widen and continue up to this many times
    seed: int = 0
    prune: Prune | None = None           # pruning on learning curves (the `prune` statement)
    budget: Budget | None = None         # the `budget` statement

    @property
    def asynchronous(self) -> bool:
        """Whether decisions depend on the order results arrive in (then the table may differ
        with --jobs): asha, hyperband, and any search that prunes or has a budget."""
        return self.strategy in ASYNCHRONOUS or self.prune is not None or \
            self.budget is not None
