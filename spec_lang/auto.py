"""`search auto`: the space the chapter's tuning procedure searches, decided from the spec.

Every setting the spec writes is kept as written; each of these that it leaves to its default
is opened, with a prior centred on that default (Bengio 2012, 3.3: "random sampling with
priors around sensible defaults"):

- the optimizer (no optimizer line): Adam with its own defaults, which auto tunes better than
  SGD with momentum (docs/search.md, "search auto": the figures);
- the learning rate (no `lr` on the optimizer line): a log grid below the range test's
  suggestion, placed by the runner (`runtime.execution.lr_auto`) before the search;
- the network (no `network` block): `repeat $depth` of `dense $width relu` and `dropout
  $dropout`, the default network's two layers of 256 the prior's centre;
- the weight decay (no `l2` line);
- the mini-batch size (no `batch` line).

A `$name` the spec defines is searched in the stage of the setting it feeds (`stage_of`). The
budget is split between the stages by `SHARES`; `plan_lines` is what `nnspec check` prints.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Iterable

from . import config as c
from .limits import MAX_LAYERS
from .schema import own_defaults

# The cumulative share of the budget at which each stage stops starting new trials (the seeds
# stage takes what is left). The learning rate first: "if there is only time to optimize one
# hyper-parameter ... this is the hyper-parameter that is worth tuning".
SHARES = {"lr": 0.15, "capacity": 0.60, "border": 0.70, "batch": 0.80, "seeds": 1.0}
BRACKET = 9               # configurations a capacity bracket starts (9 -> 3 -> 1, eta 3)
MAX_BRACKETS = 20         # however large the budget, the capacity stage ends after these
ETA = 3.0
RUNG_EPOCHS = 30          # the first rung's epochs: the 1/T schedule's default tau
LR_POINTS = 5             # the learning-rate grid: half-decade steps ...
LR_SPAN = 100.0           # ... from the suggestion down to suggestion / 100
BORDER_ROUNDS = 2         # how often the border stage widens a dimension
BATCH_TRIES = (0.5, 2.0, 4.0)        # the batch stage: these multiples of the chosen size
LR_RECHECK = (0.5, 2.0)   # then the rate at the chosen size, times these
CONFIRM = 3               # the seeds stage: the best configurations trained with every seed
# Under a budget in seconds, a capacity draw is kept only when its estimated first rung fits
# this share of what is left of the stage: a few wide, deep draws on a small budget would
# otherwise spend the stage, and the stages after it, on one rung ("give up fidelity").
DRAW_SHARE = 1 / 3
DRAW_POOL = 4             # draws considered for each configuration a bracket starts

DEPTHS = (2, 1, 3)        # the first value is the representative point: the default network
WIDTHS = (64, 1024)       # log-uniform: its centre, sqrt(64 * 1024), is the default's 256
DROPOUTS = (0.0, 0.1, 0.25, 0.5)
L2S = (0.0, 1e-5, 1e-4, 1e-3)
BATCHES = (32, 16, 64, 128, 256)
# The optimizer when the spec names none. On bench/auto.py's 8 sets x 3 split seeds, auto with
# Adam against auto with SGD and momentum (the language's default): docs/search.md.
OPTIMIZER = "adam"


def open_space(config: c.Config, search: c.Search, written: Iterable[str]
               ) -> tuple[c.Config, c.Search]:
    """The configuration template and search of `search auto`: each of the settings "lr",
    "network", "l2" and "batch" that is not `written` replaced by a `$name` and its dimension
    added (named after the setting, or `auto_<setting>` when the spec uses that name), and
    `OPTIMIZER` with its own defaults when "optimizer" is not written."""
    written = set(written)
    taken = {d.name for d in search.dims}

    def name(setting: str) -> str:
        return setting if setting not in taken else f"auto_{setting}"

    dims: list[c.Dim] = []
    train = config.train
    if "optimizer" not in written:
        train = replace(train, optimizer=c.Optimizer(OPTIMIZER, **own_defaults(OPTIMIZER)))
    lr = train.optimizer.lr
    if "lr" not in written and isinstance(lr, (int, float)) and \
            isinstance(train.optimizer.name, str):
        dims.append(lr_dim(name("lr"), float(lr)))
        train = replace(train, optimizer=replace(train.optimizer, lr=_placeholder(dims[-1].name)))
    network = config.network
    if "network" not in written:
        depth, width, dropout = name("depth"), name("width"), name("dropout")
        dims += [c.Dim(depth, "choice", values=DEPTHS, default=2, stage="capacity",
                       opened=True, limits=(1, None), accepts=(1, MAX_LAYERS, False, False)),
                 c.Dim(width, "prior", low=WIDTHS[0], high=WIDTHS[1], scale="log",
                       prior="int_log_uniform", integer=True, default=256, stage="capacity",
                       opened=True, accepts=(1, math.inf, False, False)),
                 c.Dim(dropout, "choice", values=DROPOUTS, default=0.0, stage="capacity",
                       opened=True, limits=(0.0, None), accepts=(0.0, 1.0, False, True))]
        layers = (c.Dense(_placeholder(width), "relu"), c.Dropout(_placeholder(dropout)))
        network = (c.Repeat(_placeholder(depth), layers),)  # type: ignore[assignment]
    if "l2" not in written:
        dims.append(c.Dim(name("l2"), "choice", values=L2S, default=0.0, scale="log",
                          stage="capacity",
                          opened=True, limits=(0.0, None), accepts=(0.0, math.inf, False, False)))
        train = replace(train, l2=_placeholder(dims[-1].name))
    if "batch" not in written:
        dims.append(c.Dim(name("batch"), "choice", values=BATCHES, default=32, stage="batch",
                          opened=True, limits=(1, None), accepts=(1, math.inf, False, False)))
        train = replace(train, batch=_placeholder(dims[-1].name))
    config = replace(config, network=network, train=train)
    low = search.min_fidelity if search.min_fidelity is not None else first_rung(train.epochs)
    return config, replace(search, dims=(*search.dims, *dims), extend=0, min_fidelity=low)


def network_work(dims: Iterable[c.Dim], params: dict[str, Any]) -> float:
    """The work of one example through the network auto opened, relative between its
    configurations: depth x width^2, its hidden layers' weights (the input and output layers
    add width x (features + outputs), which the search does not know: for wide data this
    overstates a wide draw's cost: it errs towards cheaper draws). 1 when the network is the
    spec's own."""
    depth = width = None
    for dim in dims:
        if dim.opened and dim.name in ("depth", "auto_depth"):
            depth = params.get(dim.name, dim.default)
        elif dim.opened and dim.name in ("width", "auto_width"):
            width = params.get(dim.name, dim.default)
    if depth is None or width is None:
        return 1.0
    return float(depth) * float(width) ** 2


def first_rung(epochs: Any) -> float:
    """The capacity brackets' first rung, as a share of the epochs: `RUNG_EPOCHS` of them
    (all of them when there are fewer; searched epochs: 1/eta^2, the plain ladder's)."""
    if not isinstance(epochs, int) or epochs < 1:
        return ETA ** -2
    return min(1.0, RUNG_EPOCHS / epochs)


def _placeholder(name: str) -> Any:
    """`$name` where a setting's value goes (a template holds them until `Experiment.bind`)."""
    return c.Param(name)


def lr_dim(name: str, default: float) -> c.Dim:
    """The opened learning rate before its range test: the log grid of `LR_POINTS` rates a
    decade each side of the optimizer's default (the runner moves it below the suggestion)."""
    return c.Dim(name, "range", low=default / 10, high=default * 10, scale="log",
                 count=LR_POINTS, default=default, stage="lr", opened=True,
                 limits=(None, None), accepts=(0.0, math.inf, True, False))


def lr_grid(name: str, suggestion: float) -> c.Dim:
    """The opened learning rate after its range test: `LR_POINTS` rates on a log scale from
    the suggestion down to suggestion / `LR_SPAN`."""
    return replace(lr_dim(name, suggestion), low=suggestion / LR_SPAN, high=suggestion)


def stage_of(settings: Iterable[tuple[str, str]]) -> str:
    """The stage of a `$name` the spec defines, from the (argument, type) of each setting it
    feeds: a learning rate's is "lr", a batch size's "batch", anything else's "capacity"."""
    pairs = list(settings)
    if pairs and all(arg == "lr" for arg, _ in pairs):
        return "lr"
    if pairs and all(kind == "batch" for _, kind in pairs):
        return "batch"
    return "capacity"


def plan_lines(search: c.Search, optimizer: str | c.Param) -> list[str]:
    """What `nnspec check` prints of `search auto`: each stage, what it searches (the rate
    that of `optimizer`, the configuration's: a name, or the `$name` that searches it), and
    the share of the budget it may start trials in."""
    budget = search.budget
    seconds = budget.seconds if budget else None

    def share(stage: str, start: float) -> str:
        end = SHARES[stage]
        if budget is None:
            return ""
        if seconds is not None:
            return f" [until {end * seconds:.0f} s of {seconds:.0f} s]"
        return f" [until {end:.0%} of the budget]"

    by_stage = {s: [d for d in search.dims if d.stage == s] for s in ("lr", "capacity", "batch")}
    lines = ["search auto: the chapter's stages, in order"
             + ("" if budget else " (no budget: each stage's plan as below)")]
    lr = by_stage["lr"]
    if lr:
        what = ", ".join(_describe(d) for d in lr)
        named = f"${optimizer.name}" if isinstance(optimizer, c.Param) else str(optimizer)
        lines.append(f"  1. lr — {what} ({named}); 1 seed each{share('lr', 0)}")
    else:
        lines.append("  1. lr — not open (the spec sets the rate); the defaults trained once")
    cap = by_stage["capacity"]
    if cap:
        lines.append(f"  2. capacity — random draws of {', '.join(_describe(d) for d in cap)}; "
                     f"successive halving in brackets of {BRACKET} (first rung "
                     f"{RUNG_EPOCHS} epochs, keep 1/{ETA:g}){share('capacity', SHARES['lr'])}"
                     + ("" if budget else "; one bracket")
                     + (f"; at most {MAX_BRACKETS} brackets" if budget else "")
                     + (f"; a draw only when its first rung fits 1/{1 / DRAW_SHARE:.0f} of the "
                        "stage's time left" if seconds is not None else ""))
    else:
        lines.append("  2. capacity — nothing left open")
    lines.append(f"  3. border — a best value on the edge of what was tried is widened, up to "
                 f"{BORDER_ROUNDS} times{share('border', SHARES['capacity'])}")
    batch = by_stage["batch"]
    if batch:
        lines.append(f"  4. batch — {', '.join(_describe(d) for d in batch)}"
                     + (f", then its rate x{', x'.join(f'{m:g}' for m in LR_RECHECK)}"
                        if lr else "") + share("batch", SHARES["border"]))
    else:
        lines.append("  4. batch — not open (the spec sets the size)")
    lines.append(f"  5. seeds — the best configuration trained with every seed, then the next "
                 f"{CONFIRM - 1} while the budget lasts; the best mean is chosen and the saved "
                 "model averages its seeds")
    return lines


def _describe(dim: c.Dim) -> str:
    if dim.stage == "lr" and dim.opened:
        return (f"{dim.name}: {LR_POINTS} rates from the range test's suggestion s down to "
                f"s/{LR_SPAN:g}")
    if dim.stage == "batch" and dim.opened:
        return f"{dim.name}: x{', x'.join(f'{m:g}' for m in BATCH_TRIES)} the chosen size"
    if dim.kind == "choice":
        return f"{dim.name} in {', '.join(_number(v) for v in dim.values)}"
    scale = f" {dim.prior or dim.scale}" if (dim.prior or dim.scale) else ""
    return f"{dim.name}{scale} {_number(dim.low)} .. {_number(dim.high)}"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
