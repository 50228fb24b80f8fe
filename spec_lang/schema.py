"""What every keyword accepts: its arguments, their types, ranges and defaults, as data.

The validator binds a statement's words to these tables; the docs and tests read them too. A
keyword's `build` turns the bound values (python values or `Param` placeholders) into the
config object of `spec_lang.config`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable

from . import config as c
from .limits import MAX_LAYERS

INF = math.inf


@dataclass(frozen=True)
class Arg:
    """One argument of a keyword.

    type: number | int | bool | name | string | source | batch | names | columns | targets
    | headers | weights | metric.
    `low`/`high` bound numbers (`open` ends excluded); `log` makes log the default scale of a
    searched range; `choices` lists the accepted names.
    """

    name: str
    type: str
    default: Any = None
    doc: str = ""
    low: float = -INF
    high: float = INF
    low_open: bool = False
    high_open: bool = False
    log: bool = False
    choices: tuple[str, ...] = ()
    required: bool = False
    flag: Any = None                  # value when the option is written alone (bool: True)
    auto: bool = False                # the word `auto` is a value (`lr auto`: config.AUTO)

    def interval(self) -> str:
        """The accepted interval in words: "> 0", "in [0, 1)", ">= 1"."""
        if self.high == INF:
            return f"{'>' if self.low_open else '>='} {_num(self.low)}"
        if self.low == -INF:
            return f"{'<' if self.high_open else '<='} {_num(self.high)}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{_num(self.low)}, {_num(self.high)}{right}"

    def contains(self, value: float) -> bool:
        """True when `value` lies in the accepted interval."""
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


@dataclass(frozen=True)
class Keyword:
    """A statement keyword: positional arguments, then `option value` pairs, maybe a block."""

    name: str
    doc: str
    positional: tuple[Arg, ...] = ()
    options: tuple[Arg, ...] = ()
    block: str | None = None          # context of the indented body; None: no body
    build: Callable[[dict[str, Any]], Any] | None = None
    block_required: bool = False

    def option(self, name: str) -> Arg | None:
        """The option called `name`, if this keyword has one."""
        return next((a for a in self.options if a.name == name), None)


def _pos(low: float = 0, **kw: Any) -> dict[str, Any]:
    """Arguments for a number that must be > low."""
    return dict(low=low, low_open=True, **kw)


def fraction(name: str, default: Any, doc: str, **kw: Any) -> Arg:
    """A number in [0, 1] (ends opened through `kw`)."""
    return Arg(name, "number", default, doc, low=0, high=1, **kw)


def count(name: str, default: Any, doc: str, low: int = 1, **kw: Any) -> Arg:
    """A whole number >= `low` (a cap through `high=`)."""
    return Arg(name, "int", default, doc, low=low, **kw)


def _kw(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: values[k] for k in names if k in values}


# ------------------------------------------------------------------------------------ top level
def _data(v: dict[str, Any]) -> c.DataSpec:
    src = v.get("source", "digits")
    fields = _kw(v, "format", "target", "task", "categorical", "drop", "samples", "features",
                 "classes", "informative", "noise", "seed", "valid", "test", "nonzeros")
    if isinstance(src, tuple) and src[0] == "path":
        return c.DataSpec(source="file", path=src[1], **fields)
    return c.DataSpec(source=src, **fields)


SOURCE_NAMES = c.BUNDLED + c.GENERATORS
SPLIT_SEED = count("seed", None, "the split's own seed (default: the first training seed, "
                   "`seeds ... start`)", low=0)
REFIT = Arg("refit", "bool", True, "the final model: the chosen configuration's seeds trained "
            "again on all the rows it was chosen with (train + valid; every fold) for the "
            "epochs early stopping chose; `refit false` keeps the networks of the search")

TOP = {k.name: k for k in [
    Keyword("experiment", "Names the experiment (default: the file name); runs go to "
            "runs/<name>/.", (Arg("name", "string", required=True, doc="a name or a quoted "
                                  "string"),)),
    Keyword("data", "Where the examples come from: a bundled scikit-learn set, a generator, or "
            "a file (CSV, .npz, svmlight) given as a quoted path relative to the spec.",
            (Arg("source", "source", "digits", "bundled set, generator, or \"path\"",
                 choices=SOURCE_NAMES, required=True),),
            (Arg("format", "name", None, "file format (default: from the extension)",
                 choices=c.FILE_FORMATS),
             Arg("target", "targets", None, "CSV target column (default: the last column); "
                 "several, `\"price\", \"rooms\"`: one output head each"),
             Arg("weights", "weights", (), "several targets: each target's loss weight in the "
                 "criterion, in the targets' order (default: all 1); a weight may be $name"),
             Arg("task", "name", None, "override the task inferred from the target",
                 choices=c.TASKS),
             Arg("categorical", "name", "onehot", "text columns of a CSV: one-hot encode or "
                 "reject", choices=("onehot", "reject")),
             Arg("drop", "headers", (), "CSV columns to leave out when the file is read (an "
                 "identifier, free text), `\"id\", \"name\"`"),
             count("samples", 1000, "generators: number of examples", low=10),
             count("features", 20, "generators: number of features"),
             count("classes", 2, "generators: classes (labels for make_multilabel)", low=2),
             count("informative", None, "make_classification, make_regression: informative "
                   "features (default: half, at least 2)"),
             Arg("noise", "number", 0.0, "generators: noise level", low=0),
             count("seed", 0, "generators: random seed of the data", low=0),
             count("nonzeros", 20, "make_sparse: non-zero features (words) per example"),
             Arg("valid", "string", None, "a fixed validation file, \"path\" (same columns as "
                 "the data file), instead of a validation fraction"),
             Arg("test", "string", None, "a fixed test file, \"path\" (same columns as the data "
                 "file), scored once; the protocol then splits only the data file")),
            build=_data),
    Keyword("split", "Holdout protocol: train / valid / test fractions (sum 1). The test part "
            "is scored once, for the chosen configuration.",
            options=(fraction("train", 0.6, "training fraction", low_open=True),
                     fraction("valid", 0.2, "validation fraction (selection, early stopping); "
                              "0 only with a fixed valid file"),
                     fraction("test", 0.2, "test fraction, scored once"),
                     Arg("stratified", "bool", True, "keep class proportions in each part"),
                     SPLIT_SEED, REFIT),
            build=lambda v: c.Holdout(**v)),
    Keyword("kfold", "k-fold cross-validation on what the test fraction leaves; each fold "
            "validates once.",
            (count("k", 5, "number of folds", low=2),),
            (fraction("test", 0.2, "test fraction held out once", high_open=True),
             Arg("stratified", "bool", True, "keep class proportions in each fold"),
             SPLIT_SEED, REFIT),
            build=lambda v: c.KFold(**v)),
    Keyword("nested", "Nested (double) cross-validation: an inner search in every outer "
            "training part; the outer folds estimate generalization.",
            options=(count("outer", 5, "outer folds", low=2),
                     count("inner", 3, "inner folds", low=2),
                     Arg("stratified", "bool", True, "keep class proportions"),
                     SPLIT_SEED, REFIT),
            build=lambda v: c.Nested(**v)),
    Keyword("preprocess", "Input preprocessing, fitted on the training part only, applied in "
            "order. Without this block: standardize. `preprocess none`: raw inputs.",
            (Arg("mode", "name", None, "'none' for no preprocessing", choices=("none",)),),
            block="preprocess"),
    Keyword("network", "The hidden layers, in order; the output layer follows from the task.",
            block="network", block_required=True),
    Keyword("train", "How the weights are fitted: optimizer, schedule, batch, stopping, "
            "penalties.", block="train", block_required=True),
    Keyword("pretrain", "Greedy layer-wise unsupervised pre-training of the hidden layers before "
            "supervised fine-tuning.",
            (Arg("method", "name", "autoencoder", "autoencoder, denoising or rbm",
                 choices=("autoencoder", "denoising", "rbm")),),
            (count("epochs", 10, "epochs per layer"),
             Arg("lr", "number", 0.01, "learning rate", log=True, **_pos()),
             count("batch", 32, "mini-batch size"),
             Arg("noise", "number", 0.25, "denoising: masking probability", low=0, high=1,
                 high_open=True),
             count("cd", 1, "rbm: contrastive-divergence steps")),
            build=lambda v: c.Pretrain(**v)),
    Keyword("metric", "The validation metric that selects configurations and stops training "
            "(default: error for classification, loss for regression).",
            (Arg("name", "name", None, "error, loss, accuracy, f1, mse, mae or r2",
                 choices=tuple(sorted({m for ms in c.METRICS.values() for m in ms})),
                 required=True),
             Arg("target", "string", None, "several targets: the target whose metric selects, "
                 "`metric error \"rooms\"` (default: the weighted loss)"))),
    Keyword("search", "How hyper-parameters are explored; its block defines each $name.",
            (Arg("strategy", "name", "none", "none, grid, random, coordinate, zoom, halving, "
                 "asha, hyperband, tpe, layerwise or auto (the chapter's tuning procedure)",
                 choices=c.STRATEGIES, required=True),
             count("trials", None, "random, tpe: configurations to try; halving: first rung; "
                   "asha: configurations started; layerwise: configurations per stage",
                   high=c.MAX_TRIALS)),
            (Arg("shuffle", "bool", False, "grid: visit the points in a seeded random order"),
             count("sweeps", 3, "coordinate: passes over the dimensions"),
             Arg("order", "names", (), "coordinate: the order of the dimensions"),
             count("levels", 3, "zoom: number of successively finer grids"),
             Arg("factor", "number", 4.0, "zoom: how much each level narrows the interval",
                 low=1, low_open=True),
             count("points", 5, "zoom, coordinate: grid points per continuous dimension",
                   low=2, high=c.MAX_TRIALS),
             Arg("eta", "number", 3.0, "halving, asha, hyperband: keep the best 1/eta at each "
                 "rung", low=1, low_open=True),
             Arg("fidelity", "name", "epochs", "halving, asha, hyperband: what a low fidelity "
                 "shortens", choices=("epochs", "data")),
             Arg("min_fidelity", "number", None, "halving, asha, hyperband, auto: the lowest "
                 "rung's fraction", low=0, high=1, low_open=True),
             Arg("criterion", "name", "reconstruction", "layerwise: what chooses a layer's "
                 "pre-training (reconstruction or supervised)", choices=c.LAYERWISE_CRITERIA),
             count("extend", 0, "widen intervals whose best value lies on the border, up to "
                   "this many times (`extend` alone: 3)", low=0, flag=3),
             count("seed", 0, "seed of the strategy's random choices", low=0)),
            block="search"),
    Keyword("prune", "Stop a trial early when its validation metric at an epoch is worse than "
            "the median (or a percentile) of the finished trials at that epoch, or (halving) "
            "outside the best 1/eta of them at its rungs.",
            (Arg("rule", "name", "median", "median, percentile P (keep the best P %), or "
                 "halving (keep the best 1/eta at epochs r, r eta, r eta^2 ...)",
                 choices=c.PRUNE_RULES, required=True),
             Arg("percentile", "number", 50.0, "percentile: the share of trials kept, in %",
                 low=0, high=100, low_open=True, high_open=True)),
            (count("warmup", 5, "epochs a trial trains before it may be pruned (halving: 0; "
                   "its first rung is epoch warmup + 1)", low=0),
             count("startup", 5, "finished trials (at the same fidelity) before any is pruned "
                   "(halving: eta, rounded up)"),
             Arg("eta", "number", None, "halving: keep the best 1/eta at each rung (default 3)",
                 low=1, low_open=True)),
),
    Keyword("budget", "Stop starting trials once this much wall time or training is spent: "
            "`budget 10 minutes`, `budget 2 hours`, `budget epochs 5000`.",
            (Arg("amount", "number", None, "wall time, in `unit`", low=0, low_open=True),
             Arg("unit", "name", "minutes", "seconds, minutes or hours",
                 choices=tuple(c.BUDGET_UNITS))),
            (count("epochs", None, "epochs of training (every trial's, summed)",
                   high=10 ** 12),),
),
    Keyword("seeds", "Train every configuration with this many seeds; rank on the mean.",
            (count("count", 3, "number of seeds", required=True, high=c.MAX_TRIALS),),
            (count("start", 0, "the first seed", low=0),)),
]}

# ----------------------------------------------------------------------------------- preprocess
PREPROCESS = {k.name: k for k in [
    Keyword("standardize", "Zero mean and unit variance per feature.",
            build=lambda v: c.Standardize()),
    Keyword("pca", "PCA decorrelation: keep `components`, or enough for `variance`; `whiten` "
            "also scales them to unit variance.",
            options=(count("components", None, "number of components"),
                     fraction("variance", None, "kept share of the variance", low_open=True),
                     Arg("whiten", "bool", False, "scale components to unit variance")),
            build=lambda v: c.PCA(**v)),
    Keyword("quantile", "Uniformize each feature through its quantiles.",
            options=(Arg("output", "name", "uniform", "uniform or normal",
                         choices=("uniform", "normal")),
                     count("quantiles", 1000, "number of quantiles", low=10)),
            build=lambda v: c.Quantile(**v)),
    Keyword("log", "log(1 + x) of heavy-tailed non-negative columns.",
            options=(Arg("columns", "columns", (), "column indices or \"names\" (default: "
                         "detect skew > 2)"),),
            build=lambda v: c.Log(**v)),
]}

# -------------------------------------------------------------------------------------- network
LAYER_INIT = (Arg("init", "name", "auto", "weight initialization (auto: from the activation)",
                  choices=c.INITS),
              Arg("scale", "number", 1.0, "multiplies the initial weights", **_pos()),
              Arg("lr_scale", "number", 1.0, "multiplies this layer's learning rate", low=0))

NETWORK = {k.name: k for k in [
    Keyword("dense", "A fully connected layer of `width` units and an activation.",
            (count("width", None, "number of units", required=True),
             Arg("activation", "name", "relu", "relu, leaky_relu, tanh, sigmoid, softsign, "
                 "softplus or linear", choices=c.ACTIVATIONS)),
            LAYER_INIT, build=lambda v: c.Dense(**v)),
    Keyword("dropout", "Drop units of the previous layer with this probability in training.",
            (Arg("rate", "number", 0.5, "drop probability", low=0, high=1, high_open=True),),
            build=lambda v: c.Dropout(**v)),
    Keyword("repeat", "Repeat the indented layers this many times (a depth).",
            (count("count", None, "number of copies", low=0, required=True,
                   high=MAX_LAYERS),),
            block="network", block_required=True),
    Keyword("embed", "Learned embeddings of CSV text columns instead of one-hot features: a "
            "table of (categories seen in training + 1 unknown) rows x `dim` per column, looked "
            "up and concatenated with the numeric inputs of the first layer.",
            options=(Arg("columns", "columns", (), "the CSV text columns to embed, \"names\" "
                         "(required)"),
                     count("dim", c.AUTO, "the width of each column's embedding; `auto`: "
                           "min(50, ceil(1.6 n^0.56)) for n categories", auto=True)),
            build=lambda v: c.Embed(**v)),
    Keyword("output", "Settings of the output layer (its units, activation and loss follow "
            "from the task).", options=LAYER_INIT, build=lambda v: c.Output(**v)),
]}

# ------------------------------------------------------------------------------------- training
LR = Arg("lr", "number", 0.01, "learning rate; `auto`: half the largest stable rate of a "
         "range test run before the search", log=True, auto=True, **_pos())
MOMENTUM = Arg("momentum", "number", 0.9, "momentum coefficient", low=0, high=1, high_open=True)
NESTEROV = Arg("nesterov", "bool", False, "Nesterov's momentum instead of classical")
BETA1 = Arg("beta1", "number", 0.9, "Adam first-moment decay", low=0, high=1, high_open=True)
BETA2 = Arg("beta2", "number", 0.999, "Adam second-moment decay", low=0, high=1,
            high_open=True)
RHO = Arg("rho", "number", 0.9, "RMSProp decay", low=0, high=1, high_open=True)
EPS = Arg("eps", "number", 1e-8, "added to the denominator", log=True, **_pos())
ADAPTIVE_LR = replace(LR, default=0.001)   # Adam and RMSProp's customary default
OPTIMIZER_ARGS = {"sgd": (LR, MOMENTUM, NESTEROV), "adam": (ADAPTIVE_LR, BETA1, BETA2, EPS),
                  "rmsprop": (ADAPTIVE_LR, RHO, EPS), "adagrad": (LR, EPS)}


OPTIMIZER_NAME = Arg("name", "name", "sgd", "sgd, adam, rmsprop or adagrad",
                     choices=c.OPTIMIZERS, required=True)
NAMED_LR = replace(LR, default=None, doc="learning rate (default: the optimizer's own, 0.01 "
                   "for sgd and adagrad, 0.001 for adam and rmsprop); `auto`: half the largest "
                   "stable rate of a range test run before the search")


def own_defaults(name: str) -> dict[str, Any]:
    """The defaults of the optimizer `name`: what its statement gives the fields it reads."""
    return {a.name: a.default for a in OPTIMIZER_ARGS[name]}


def _optimizer(name: str) -> Callable[[dict[str, Any]], c.Optimizer]:
    return lambda v: c.Optimizer(name=name, **{**own_defaults(name), **v})


def _named_optimizer(v: dict[str, Any]) -> c.Optimizer:
    """`optimizer NAME ...` gives the same defaults as the statement NAME; `optimizer $opt`
    defers each default that differs between optimizers to the name the search binds."""
    name = v.get("name", "sgd")
    if isinstance(name, str):
        return _optimizer(name)({k: x for k, x in v.items() if k != "name"})
    deferred = {}
    for field in {a.name for args in OPTIMIZER_ARGS.values() for a in args} - set(v):
        cases = tuple((opt, own_defaults(opt).get(field, getattr(c.Optimizer(), field)))
                      for opt in c.OPTIMIZERS)
        if len({value for _, value in cases}) > 1:
            deferred[field] = c.Pick(name, cases, "sgd", OPTIMIZER_NAME, "optimizer")
    return c.Optimizer(**{**deferred, **v})


SCHEDULE = Keyword(
    "schedule", "Learning rate as a function of the update count t: constant, one_over_t "
    "(lr * tau / max(t, tau)), exponential (lr * gamma^(t/every)), step "
    "(lr * gamma^floor(t/every)) or cosine; `warmup` updates ramp up first.",
    (Arg("name", "name", "one_over_t", "the schedule", choices=c.SCHEDULES, required=True),),
    (Arg("tau", "number", None, "one_over_t: updates at a constant rate (default: 30 epochs)",
         log=True, **_pos()),
     Arg("gamma", "number", 0.1, "exponential, step: decay factor", low=0, high=1,
         low_open=True),
     Arg("every", "number", None, "exponential, step: updates per decay (default: 30 epochs)",
         **_pos()),
     Arg("min_lr", "number", 0.0, "cosine: the final learning rate", low=0),
     count("warmup", 0, "updates of linear warm-up", low=0)),
    build=lambda v: c.Schedule(**v))

TRAIN = {k.name: k for k in [
    *[Keyword(name, f"The {name} optimizer.", options=args, build=_optimizer(name))
      for name, args in OPTIMIZER_ARGS.items()],
    Keyword("optimizer", "An optimizer named by a value (to search over optimizers): "
            "`optimizer $opt lr $lr`.",
            (OPTIMIZER_NAME,), (NAMED_LR, MOMENTUM, NESTEROV, BETA1, BETA2, RHO, EPS),
            build=_named_optimizer),
    SCHEDULE,
    Keyword("batch", "Mini-batch size; 1 is online SGD, `all` the whole training set.",
            (Arg("size", "batch", 32, "examples per update, or all", low=1, log=True,
                 required=True),)),
    Keyword("epochs", "Cap on passes over the training set; early stopping and the stall "
            "check are on by default.",
            (count("count", 1000, "maximum epochs", required=True, log=True),),
            (Arg("early_stop", "bool", True, "stop when the validation metric stops "
                 "improving and restore the best weights"),
             count("patience", 20, "epochs without improvement before stopping"),
             count("patience_updates", None, "the patience's minimum in updates (default: "
                   "300; 0 when `patience` is written): a small training set's epoch is a few "
                   "updates", low=0),
             Arg("min_delta", "number", None, "smallest improvement that counts, in the "
                 "metric's units (default: 0)", low=0),
             Arg("min_rel_delta", "number", None, "smallest improvement that counts, as a "
                 "fraction of the best value's distance from a perfect score (default: 0.1%; 0 "
                 "when `min_delta` is written)", low=0, high=1),
             count("stall", 10, "epochs after which a fit no better than a constant "
                   "predictor stops as stalled (0: never)", low=0))),
    Keyword("updates", "Cap on the number of parameter updates.",
            (count("count", None, "maximum updates", required=True, log=True),)),
    *[Keyword(name, doc, (Arg("value", "number", 0.0, doc, low=0, log=True, required=True),))
      for name, doc in [("l2", "L2 weight decay: adds l2/2 * sum(W^2) (not biases)."),
                        ("l1", "L1 weight decay: adds l1 * sum(|W|) (not biases)."),
                        ("activity_l1", "L1 penalty on hidden activations (sparsity).")]],
    Keyword("divergence", "A trial diverges when its loss exceeds this factor times the initial"
            " loss (or is not finite).",
            (Arg("factor", "number", 1e3, "loss growth factor", low=1, low_open=True,
                 required=True),)),
    Keyword("dtype", "Floating-point precision of training.",
            (Arg("name", "name", "float32", "float32 or float64",
                 choices=("float32", "float64"), required=True),)),
]}

CONTEXTS: dict[str, dict[str, Keyword]] = {
    "top": TOP, "preprocess": PREPROCESS, "network": NETWORK, "train": TRAIN}

# Search-dimension words (after `in` / `~`).
SCALES = ("linear", "log")
PRIORS = ("uniform", "log_uniform", "int_uniform", "int_log_uniform", "choice")
BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def all_keywords() -> dict[str, dict[str, Keyword]]:
    """Every keyword of the language, by context (for docs and their tests)."""
    return CONTEXTS

