"""Which keyword argument sets each field of the config dataclasses.

The validator reads a statement's words against the keyword tables of `schema`; this module maps
the fields those statements fill back to the same `Arg`s, so that a value set after the text (by
the search, by `Experiment.replace`, by a scikit-learn estimator's params) is converted and
checked exactly as the text's is (`values.coerce`), with the same message.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import config as c
from .schema import NETWORK, OPTIMIZER_ARGS, PREPROCESS, SCHEDULE, TOP, TRAIN, Arg, Keyword

Site = tuple[Arg, str]                     # an argument, and the keyword whose argument it is


def _args(kw: Keyword, *skip: str) -> dict[str, Site]:
    return {a.name: (a, kw.name) for a in (*kw.positional, *kw.options) if a.name not in skip}


def _first(word: str) -> Site:
    return TRAIN[word].positional[0], word


def _option(kw: Keyword, name: str) -> Arg:
    arg = kw.option(name)
    assert arg is not None, f"{kw.name} has no option {name}"
    return arg


# A searched preprocessing step (`preprocess` then `$step`) is a step's name, or none.
STEP = Arg("step", "name", None, choices=(*PREPROCESS, "none"))
EARLY_STOP = _option(TRAIN["epochs"], "early_stop")
# A bound selection metric is a name or a target's `<target>_<metric>` ("rooms_error").
METRIC = replace(TOP["metric"].positional[0], type="metric")
WEIGHTS = _option(TOP["data"], "weights")

SITES: dict[type, dict[str, Site]] = {
    # source and path: one word, two fields; the targets' weights are the Config's
    c.DataSpec: _args(TOP["data"], "source", "weights"),
    c.Holdout: _args(TOP["split"]),
    c.KFold: _args(TOP["kfold"]),
    c.Nested: _args(TOP["nested"]),
    c.PCA: _args(PREPROCESS["pca"]),
    c.Quantile: _args(PREPROCESS["quantile"]),
    c.Log: _args(PREPROCESS["log"]),
    c.Dense: _args(NETWORK["dense"]),
    c.Dropout: _args(NETWORK["dropout"]),
    c.Output: _args(NETWORK["output"]),
    c.Embed: _args(NETWORK["embed"]),
    c.Repeat: _args(NETWORK["repeat"]),
    c.Schedule: _args(SCHEDULE),
    c.EarlyStop: _args(TRAIN["epochs"], "count", "early_stop"),
    c.Train: {"batch": _first("batch"), "epochs": _first("epochs"),
              "updates": _first("updates"), "l2": _first("l2"), "l1": _first("l1"),
              "activity_l1": _first("activity_l1"), "divergence": _first("divergence"),
              "dtype": _first("dtype")},
    c.Pretrain: _args(TOP["pretrain"]),
    c.Config: {"metric": (METRIC, "metric"), "target_weights": (WEIGHTS, "data")},
    c.Search: _args(TOP["search"]),
}
# Experiment's own fields (the `seeds` statement).
SEEDS: dict[str, Site] = {"seeds": (TOP["seeds"].positional[0], "seeds"),
                          "seed_start": (_option(TOP["seeds"], "start"), "seeds")}


def sites(kind: type, values: dict[str, Any]) -> dict[str, Site]:
    """The argument behind each field of a `kind` object whose fields hold `values`.

    An optimizer's fields are checked as its own statement's (`sgd lr ...`), the fields its
    statement does not read as `optimizer`'s options.
    """
    if kind is not c.Optimizer:
        return SITES.get(kind, {})
    name = values.get("name")
    owner = name if isinstance(name, str) and name in OPTIMIZER_ARGS else "optimizer"
    general = {k: (arg, owner) for k, (arg, _) in _args(TRAIN["optimizer"]).items()}
    own = {a.name: (a, owner) for a in OPTIMIZER_ARGS.get(owner, ())}
    return {**general, **own, "name": (TRAIN["optimizer"].positional[0], "optimizer")}
