"""Syntax tree to checked `Experiment`: every section bound, defaults filled, every `$name`
matched with its search dimension, and every problem collected before one error is raised."""
from __future__ import annotations

import math

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import config as c
from . import auto, layerwise
from . import nodes as n
from .binding import Checker
from .errors import SpecValidationError, did_you_mean
from .experiment import NAME_HINT, SAFE_NAME, Experiment
from .schema import OPTIMIZER_ARGS, TOP, TRAIN, Keyword
from .embed import check_source, embeds
from .targets import check_targets
from .drop import check_drop
from .search_block import SearchBlock
from .limits import MAX_LAYERS, generated_problem
from .settings import EARLY_STOP, STEP

Item = tuple[Keyword, n.Command, dict[str, Any]]
STATIC_TASKS = {"digits": "classification", "iris": "classification", "wine": "classification",
                "breast_cancer": "classification", "diabetes": "regression",
                "make_classification": "classification", "make_moons": "classification",
                "make_circles": "classification", "make_regression": "regression",
                "make_friedman1": "regression", "make_multilabel": "multilabel"}
OPTIMIZER_WORDS = (*OPTIMIZER_ARGS, "optimizer")
PROTOCOLS = ("split", "kfold", "nested")
UNSAFE = re.compile(r"[^\w. -]+")


def validate(spec: n.Spec, source: str = "", base_dir: Path | None = None) -> Experiment:
    """Check a parsed spec; raise `SpecValidationError` with every problem found."""
    ck = Checker()
    top = ck.commands(spec.statements, "top")
    one = {kw: ck.once(top, (kw,), f"'{kw}'") for kw in TOP if kw not in PROTOCOLS}
    protocol = ck.once(top, PROTOCOLS, "the protocol (split, kfold or nested)")
    search_item = one["search"]
    blocks = SearchBlock(ck)
    search = blocks.build(search_item[1] if search_item else None,
                          search_item[2] if search_item else {})
    embed_items: list[Item] = []
    network, output = (_network(ck, one["network"][1].body, embed_items) if one["network"]
                       else (c.DEFAULT_NETWORK, c.Output()))
    embed, embed_nodes = embeds(ck, embed_items)
    data = _build(one["data"], c.DataSpec())
    train, written = _train(ck, one["train"])
    _check_generated_size(ck, one["data"], data)
    if embed_items:
        check_source(ck, data, embed_nodes, embed_items[0][1].keyword.span, base_dir)
        if one["pretrain"]:
            ck.error(one["pretrain"][1].keyword.span, "pre-training does not go with embed: "
                     "the first layer's inputs include embedding tables that are learnt "
                     "only in supervised training", "remove `pretrain` or `embed`")
        data = replace(data, embed=tuple(col for e in embed for col in e.columns))
    config = c.Config(
        data=data,
        protocol=_protocol(ck, protocol, one["data"], data),
        preprocess=_preprocess(ck, one["preprocess"]),
        network=network,
        output=output,
        embed=embed,
        train=train,
        pretrain=_build(one["pretrain"], None))
    weights, metric = check_targets(ck, one["data"], one["metric"], data, base_dir)
    check_drop(ck, one["data"], data, base_dir)
    config = replace(config, metric=metric, target_weights=weights)
    _check_metric(ck, config, one["metric"])
    dim_nodes = _dimension_nodes(search_item)
    search = blocks.resolve(search, dim_nodes)
    search = replace(search, prune=_prune(ck, one["prune"], search),
                     budget=_budget(ck, one["budget"], search))
    _check_params(ck, search, dim_nodes, blocks.failed)
    if search.strategy == "layerwise" and search_item is not None:
        search = layerwise.check(ck, search, config, search_item[1].args[0].span, ck.uses)
    if search.strategy == "auto":
        search = replace(search, dims=tuple(
            replace(d, stage=auto.stage_of((a.name, a.type) for a, _ in ck.uses.get(d.name, [])))
            for d in search.dims))
        config, search = auto.open_space(config, search, written | (
            {"network"} if one["network"] else set()))
    name = _name(ck, one["experiment"], spec.filename)
    if ck.diagnostics:
        raise SpecValidationError(ck.diagnostics, spec.filename, source)
    seeds = one["seeds"][2] if one["seeds"] else {}
    return Experiment(name=name,
                      config=config, search=search, seeds=seeds.get("count", 3),
                      seed_start=seeds.get("start", 0), filename=spec.filename,
                      base_dir=base_dir or Path("."))


def _check_generated_size(ck: Checker, item: Item | None, data: c.DataSpec) -> None:
    """A generator asked for more examples and features than this machine can hold."""
    if item is None or data.source not in c.GENERATORS:
        return
    problem = generated_problem(data.source, data.samples, data.features, data.nonzeros)
    if problem:
        ck.error(item[1].span, problem, "generate fewer samples or features")


def _prune(ck: Checker, item: Item | None, search: c.Search) -> c.Prune | None:
    """The `prune` statement: `prune median`, `prune percentile P` or `prune halving [eta E]`,
    under a search."""
    if item is None:
        return None
    _, cmd, values = item
    if "rule" not in values:
        return None                                       # reported by the binder
    # no number after `percentile` (`prune percentile warmup 3` once kept the median silently)
    if values["rule"] == "percentile" and "percentile" not in values and \
            (len(cmd.args) < 2 or isinstance(cmd.args[1], n.Name)):
        ck.error_after(cmd.args[0].span, "expected the share of trials kept after "
                       "'percentile', in %", "for example: prune percentile 25")
    if values["rule"] == "median" and "percentile" in values:
        ck.error(cmd.args[1].span, "a median keeps the better half: it takes no percentile",
                 "write `prune percentile P` to keep another share")
    if values["rule"] == "halving" and "percentile" in values:
        ck.error(cmd.args[1].span, "halving keeps the best 1/eta at each rung: it takes no "
                 "percentile", "write `prune halving eta 4` to keep a quarter")
    if values["rule"] != "halving" and "eta" in values:
        word = next(a for a in cmd.args if isinstance(a, n.Name) and a.value == "eta")
        ck.error(word.span, f"eta is the share halving keeps; `prune {values['rule']}` takes none",
                 "write `prune halving eta E`, or `prune percentile P`")
    if search.strategy == "none":
        ck.error(cmd.keyword.span, "prune stops trials that are worse than the others, yet "
                 "there is no search", "add a search block, or remove `prune`")
    fields = {k: v for k, v in values.items() if k != "rule" or v != "percentile"}
    if values["rule"] == "median":
        fields["percentile"] = 50.0
    if values["rule"] == "halving":        # judged at rungs from the first epoch, on eta trials
        fields.setdefault("warmup", 0)
        fields.setdefault("startup", math.ceil(float(values.get("eta", 3.0)) - 1e-9))
    return c.Prune(**{**fields, "rule": values["rule"]})


def _budget(ck: Checker, item: Item | None, search: c.Search) -> c.Budget | None:
    """The `budget` statement: wall time with its unit, and/or epochs (under a search)."""
    if item is None:
        return None
    _, cmd, values = item
    if search.strategy == "none":
        ck.error(cmd.keyword.span, "a budget stops new configurations from starting, yet "
                 "there is no search", "add a search block, or remove `budget`")
        return None
    second = cmd.args[1] if len(cmd.args) > 1 else None
    unit_refused = isinstance(second, (n.Name, n.Number, n.String)) and not (
        isinstance(second, n.Name) and second.value == "epochs")   # the binder said why
    if "amount" in values and "unit" not in values and not unit_refused:
        ck.error_after(cmd.args[0].span, "expected a unit after the budget's amount",
                       "seconds, minutes or hours; or `budget epochs N`")
        return None
    if "unit" in values and "amount" not in values and not isinstance(cmd.args[0], n.Number):
        ck.error(cmd.args[0].span, f"expected an amount before '{values['unit']}'",
                 f"for example: budget 10 {values['unit']}")
        return None
    if not values or ("amount" in values) != ("unit" in values):
        if cmd.args == ():
            ck.error_after(cmd.keyword.span, "expected what the budget allows",
                           "for example: budget 10 minutes, or budget epochs 5000")
        return None
    seconds = None if "amount" not in values else \
        float(values["amount"]) * c.BUDGET_UNITS[values["unit"]]
    return c.Budget(seconds=seconds, epochs=values.get("epochs"))


def _name(ck: Checker, item: Item | None, filename: str) -> str:
    """The experiment's name: it names the run folder, so it must be a plain folder name."""
    if item is None or "name" not in item[2]:
        return file_name(filename)
    name = item[2]["name"]
    if not SAFE_NAME.fullmatch(name):
        ck.error(item[1].args[0].span, f"'{name}' cannot name a run folder", NAME_HINT)
    return name


def file_name(filename: str) -> str:
    """The name an experiment without an `experiment` line takes from its file: the file's
    stem made a plain, visible folder name (`...spec` would otherwise name the folder `..`)."""
    stem = "" if filename.startswith("<") else Path(filename).stem
    name = UNSAFE.sub("_", stem).lstrip(". ")[:100].rstrip()
    return name if SAFE_NAME.fullmatch(name) else "experiment"


def _build(item: tuple[Keyword, n.Command | None, dict[str, Any]] | None, default: Any) -> Any:
    """The config object a bound statement builds (`default` without one)."""
    if item is None or item[0].build is None:
        return default
    kw, _, values = item
    assert kw.build is not None
    try:
        return kw.build(values)
    except TypeError:  # a required value is missing: already reported
        return default


def _preprocess(ck: Checker, item: Item | None) -> tuple:
    if item is None:
        return c.DEFAULT_PREPROCESS
    _, cmd, values = item
    if values.get("mode") == "none":
        if cmd.body:
            ck.error(cmd.body[0].span, "'preprocess none' takes no steps")
        return ()
    if not cmd.body:
        ck.error_after(cmd.span, "'preprocess' needs indented steps below it, or 'none'")
    steps: list[Any] = []
    for stmt in cmd.body:
        if isinstance(stmt, n.Command) and isinstance(stmt.keyword, n.ParamRef):
            steps.append(ck.value(STEP, stmt.keyword, "preprocess"))
            if stmt.args:
                ck.error(stmt.args[0].span, "a searched step takes no options")
            continue
        for kw, sub, vals in ck.commands((stmt,), "preprocess"):
            _check_pca(ck, kw, sub, vals)
            steps.append(_build((kw, sub, vals), None))
    return tuple(s for s in steps if s is not None)


def _check_pca(ck: Checker, kw: Keyword, cmd: n.Command, values: dict[str, Any]) -> None:
    if kw.name == "pca" and "components" in values and "variance" in values:
        ck.error(cmd.span, "give pca either 'components' or 'variance', not both")


def _network(ck: Checker, body: tuple[n.Statement, ...], embed: list[Item] | None = None
             ) -> tuple[tuple, c.Output]:
    """The layers of a network (or repeat) block, and its output settings; `embed` (the top
    level's) collects the embed statements, which feed the first layer wherever written."""
    layers: list[Any] = []
    output = c.Output()
    items = ck.commands(body, "network")
    ck.once(items, ("output",), "'output'")
    for kw, cmd, values in items:
        if kw.name == "embed":
            if embed is None:
                ck.error(cmd.keyword.span, "embed belongs at the top of the network block, "
                         "not in a repeat", "its tables feed the first layer once")
            else:
                embed.append((kw, cmd, values))
        elif kw.name == "repeat":
            inner, _ = _network(ck, cmd.body)
            count = values.get("count", 1)
            if isinstance(count, int) and count * len(inner) > MAX_LAYERS:
                ck.error(cmd.span, f"repeat {count} of {len(inner)} layers makes "
                         f"{count * len(inner):,} layers: at most {MAX_LAYERS:,} can be built",
                         "repeat fewer times, or fewer layers")
            layers.append(c.Repeat(count, inner))
        elif kw.name == "output":
            output = _build((kw, cmd, values), output)
        else:
            layers.append(_build((kw, cmd, values), None))
    return tuple(x for x in layers if x is not None), output


def _train(ck: Checker, item: Item | None) -> tuple[c.Train, set[str]]:
    """The Train of the `train` block, and which of `search auto`'s settings it writes
    ("optimizer", "lr", "l2", "batch")."""
    if item is None:
        return c.Train(), set()
    stmts = ck.commands(item[1].body, "train")
    for word in TRAIN:
        if word not in OPTIMIZER_WORDS:
            ck.once(stmts, (word,), f"'{word}'")
    fields: dict[str, Any] = {}
    written: set[str] = set()
    opt = ck.once(stmts, OPTIMIZER_WORDS, "the optimizer")
    if opt:
        _check_optimizer_options(ck, opt)
        fields["optimizer"] = _build(opt, c.Optimizer())
        written |= {"optimizer"} | ({"lr"} & set(opt[2]))
    for kw, cmd, values in stmts:
        fields.update(_train_field(kw, values))
        written |= {"l2", "batch"} & {kw.name} if values else set()
    return c.Train(**fields), written


def _train_field(kw: Keyword, values: dict[str, Any]) -> dict[str, Any]:
    """The Train fields one train statement sets."""
    name = kw.name
    if name == "schedule":
        return {"schedule": _build((kw, None, values), c.Schedule())}
    if name == "batch" and "size" in values:
        return {"batch": values["size"]}
    if name == "epochs":
        return _epochs(values)
    if name in ("updates", "l2", "l1", "activity_l1", "divergence", "dtype") and values:
        return {name: next(iter(values.values()))}
    return {}


def _epochs(values: dict[str, Any]) -> dict[str, Any]:
    stop = c.EarlyStop(**{k: values[k] for k in ("patience", "min_delta", "min_rel_delta",
                                                  "stall", "patience_updates") if k in values})
    enabled = values.get("early_stop", True)
    out: dict[str, Any] = {"early_stop": stop if enabled is True else None}
    if isinstance(enabled, c.Param):
        out["early_stop"] = c.Pick(enabled, ((True, stop), (False, None)), EARLY_STOP.default, EARLY_STOP,
                                   "epochs")
    if "count" in values:
        out["epochs"] = values["count"]
    return out


def _check_optimizer_options(ck: Checker, item: Item) -> None:
    """`optimizer adam momentum 0.9`: an option the named optimizer does not read."""
    kw, cmd, values = item
    name = values.get("name")
    if isinstance(name, c.Param) and values.get("lr") is c.AUTO:
        auto = next(a for a in cmd.args if isinstance(a, n.Name) and a.value == "auto")
        ck.error(auto.span, f"'lr auto' needs a fixed optimizer, not ${name.name}",
                 "the range test's rate suits one optimizer (sgd's and adam's differ tenfold): "
                 f"name the optimizer, or search $lr along with ${name.name}")
    if kw.name != "optimizer" or not isinstance(name, str):
        return
    allowed = {a.name for a in OPTIMIZER_ARGS[name]}
    for atom in cmd.args:
        if isinstance(atom, n.Name) and kw.option(atom.value) and atom.value not in allowed:
            ck.error(atom.span, f"{name} has no '{atom.value}'",
                     f"{name} reads: {', '.join(sorted(allowed))}")


def _protocol(ck: Checker, item: Item | None, data_item: Item | None,
              data: c.DataSpec) -> Any:
    """The protocol, its fractions checked. With a fixed `valid` / `test` file that part is the
    file: its fraction is 0, and the default fractions of the parts left to split keep their
    proportions (a test file alone: train 0.75 valid 0.25)."""
    built = _build(item, c.Holdout())
    fixed = {p: getattr(data, p) for p in ("valid", "test") if getattr(data, p, None)}
    given = item[2] if item else {}
    if fixed and _fixed_files_fit(ck, item, data_item, data, fixed):
        for part in fixed:
            if part in given and given[part] != 0:
                ck.error((item or data_item)[1].span,  # type: ignore[index]
                         f"the {part} part is the file \"{fixed[part]}\": the protocol cannot "
                         f"also take a {part} fraction", f"remove '{part} {given[part]}'")
        zeroed = {p: 0.0 for p in fixed if hasattr(built, p)}
        if isinstance(built, c.Holdout):
            free = [p for p in ("train", "valid", "test") if p not in fixed]
            default = c.Holdout()
            total = sum(getattr(default, p) for p in free)
            zeroed.update({p: given.get(p, round(getattr(default, p) / total, 12))
                           for p in free})
        built = replace(built, **zeroed)
    if isinstance(built, c.Holdout) and "valid" not in fixed and built.valid == 0:
        ck.error((item or data_item)[1].span,  # type: ignore[index]
                 "valid must be > 0: the search and early stopping score the validation part",
                 "give a validation fraction, or a fixed file: data \"train.csv\" valid "
                 "\"valid.csv\"")
    elif isinstance(built, c.Holdout):
        parts = [built.train, built.valid, built.test]
        if all(isinstance(p, float) for p in parts) and abs(sum(parts) - 1) > 1e-6:
            summed = " + ".join(p for p in ("train", "valid", "test") if p not in fixed)
            ck.error((item or data_item)[1].span,  # type: ignore[index]
                     f"{summed} must sum to 1; got {sum(parts):g}",
                     "the defaults are train 0.6 valid 0.2 test 0.2" if not fixed else
                     f"the fixed {' and '.join(fixed)} file takes no fraction")
    return built


def _fixed_files_fit(ck: Checker, item: Item | None, data_item: Item | None,
                     data: c.DataSpec, fixed: dict[str, str]) -> bool:
    """Fixed valid / test files go with a data file, and with a protocol that does not make
    those parts itself (nested makes its test parts, k-fold its validation parts)."""
    assert data_item is not None
    words = " and ".join(f"{p} \"{f}\"" for p, f in fixed.items())
    if data.source != "file":
        ck.error(data_item[1].span, f"a fixed {' and '.join(fixed)} file goes with a data "
                 f"file, not with '{data.source}'", f"write data \"train.csv\" {words}")
        return False
    if item is not None and item[0].name == "nested":
        ck.error(item[1].span, f"nested cross-validation makes its own test and validation "
                 f"parts, so it cannot use {words}",
                 "use split or kfold with fixed files, or drop them")
        return False
    if item is not None and item[0].name == "kfold" and "valid" in fixed:
        ck.error(item[1].span, f"kfold makes its own validation parts, so it cannot use "
                 f"valid \"{fixed['valid']}\"", "use split with a fixed validation file")
        return False
    return True


def _check_metric(ck: Checker, config: c.Config, item: Item | None) -> None:
    data = config.data
    task = data.task if isinstance(data.task, str) else STATIC_TASKS.get(data.source)
    metric = config.metric
    if item is None or task is None or not isinstance(metric, str):
        return
    if metric not in c.METRICS[task]:
        ck.error(item[1].args[0].span, f"metric '{metric}' does not apply to {task}",
                 f"{task} metrics: {', '.join(c.METRICS[task])}")


def _dimension_nodes(item: Item | None) -> dict[str, n.Dimension]:
    if item is None:
        return {}
    return {s.name.value: s for s in item[1].body if isinstance(s, n.Dimension)}


def _check_params(ck: Checker, search: c.Search, nodes: dict[str, n.Dimension],
                  malformed: set[str]) -> None:
    """Every `$name` used is defined in the search block, and every definition is used
    (a malformed definition was reported already: its uses are not errors again)."""
    defined = {d.name for d in search.dims} | malformed
    conditions = {d.condition.param for d in search.dims if d.condition}
    for name, uses in ck.uses.items():
        if name not in defined:
            for _, ref in uses:
                ck.error(ref.span, f"'${name}' is not defined in the search block",
                         did_you_mean(name, defined) or f"add a line `{name} in ...` under "
                         "'search'")
    for name in defined - set(ck.uses) - conditions - malformed:
        ck.error(nodes[name].name.span, f"'{name}' is defined in the search block but never "
                 "used", f"write ${name} where its value goes")
