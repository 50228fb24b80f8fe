"""The checked experiment: a configuration template with `$` placeholders, and its search.

An `Experiment` checks itself when it is made, however it is made (`spec_lang.loads`,
`dataclasses.replace`, `Experiment.replace`), and `bind` checks the values it fills in: every
value goes through the conversion and the constraints of the statement that sets it
(`values.coerce`, `settings.sites`), with the message the spec's text would get.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import config as c
from . import layerwise
from .embed import SOURCE_HINT, source_problem
from .errors import Diagnostic, SpecValidationError, did_you_mean
from .settings import SEEDS, STEP, sites
from .limits import MAX_LAYERS
from .sizes import size_problem
from .values import Invalid, coerce

# A run folder's name: no path separators, not "." or "..".
SAFE_NAME = re.compile(r"(?!\.\.?$)[\w. -]{1,100}")
NAME_HINT = "use letters, digits, spaces, '.', '_' and '-' (no '/' or '..')"


class BindError(SpecValidationError, ValueError):
    """A set of parameter values that the template cannot take: a missing value, or one its
    setting refuses (`'lr' of 'sgd' must be > 0; got -1.0`). `diagnostics` lists them all."""


@dataclass(frozen=True)
class Experiment:
    """What a spec says, checked: `config` may hold `Param` placeholders and `Repeat` blocks
    until `bind` fills them with one point of the search space.

    Making one checks every value against its setting's constraints and the search's size
    (raising `SpecValidationError`); change one with `replace`, which checks the same way.
    """

    name: str
    config: c.Config
    search: c.Search = field(default_factory=c.Search)
    seeds: int = 3
    seed_start: int = 0
    filename: str = field(default="<string>", compare=False)
    base_dir: Path = field(default=Path("."), compare=False)

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise SpecValidationError([Diagnostic(0, 0, p.message, p.hint) for p in problems],
                                      self.filename)

    @property
    def param_names(self) -> tuple[str, ...]:
        """The searched hyper-parameters, in declaration order."""
        return tuple(d.name for d in self.search.dims)

    def seed_list(self) -> list[int]:
        """The seeds every configuration is trained with."""
        return list(range(self.seed_start, self.seed_start + self.seeds))

    def bind(self, params: Mapping[str, Any]) -> c.Config:
        """The concrete Config for one point of the search space.

        A parameter absent from `params` (an inactive conditional dimension) leaves the field at
        its default. Repeats are expanded; searched preprocessing steps are built. Each value is
        converted and checked as its setting's (`batch all` is None); raises `BindError`.
        A layerwise search's parameters (`spec_lang.layerwise`) bind each hidden layer's
        pre-training and cut a stage's network.
        """
        plain, per_layer, stage = layerwise.split(params)
        binder = _Binder(plain)
        config = binder.value(self.config)
        problems = binder.problems
        if per_layer and self.config.pretrain is not None:
            layers = []
            for layer in range(1, max(per_layer) + 1):
                own = _Binder({**plain, **per_layer.get(layer, {})})
                layers.append(own.value(self.config.pretrain))
                problems += own.problems
            config = dataclasses.replace(config, pretrain=dataclasses.replace(
                config.pretrain, layers=tuple(layers)))
        if problems:
            raise BindError([Diagnostic(0, 0, p.message, p.hint) for p in problems],
                            self.filename)
        if stage is not None:
            config = layerwise.stage_config(config, stage, self.search.criterion)
        return config

    def replace(self, **changes: Any) -> "Experiment":
        """A copy with `changes`, checked like the spec's text (raises `SpecValidationError`).

        Keys are fields of the experiment (`seeds=1`) or of its configuration (`metric="loss"`),
        nested with `__` as in scikit-learn's `set_params`: `train__epochs=50`,
        `train__optimizer__lr=0.1`, `network__0__width=64`, `search__trials=10`.
        """
        paths = {tuple(key.split("__")): value for key, value in changes.items()}
        top = {f.name for f in dataclasses.fields(self)}
        rooted = {(p if p[0] in top else ("config", *p)): v for p, v in paths.items()}
        return _apply(self, rooted, ())


# ----------------------------------------------------------------------------------- changes
def _apply(obj: Any, changes: dict[tuple[str, ...], Any], where: tuple[str, ...]) -> Any:
    """`obj` with each path of `changes` (relative to it) set to its value."""
    own: dict[str, Any] = {}
    deeper: dict[str, dict[tuple[str, ...], Any]] = {}
    for path, value in changes.items():
        if len(path) == 1:
            own[path[0]] = value
        else:
            deeper.setdefault(path[0], {})[path[1:]] = value
    for head, sub in deeper.items():
        own[head] = _apply(_part(obj, head, where), sub, (*where, head))
    if isinstance(obj, tuple):
        items = list(obj)
        for head, value in own.items():
            items[int(head)] = value
        return tuple(items)
    for head in own:
        _part(obj, head, where)            # an unknown name is an error before replacing
    return dataclasses.replace(obj, **own)


def _part(obj: Any, head: str, where: tuple[str, ...]) -> Any:
    """The field (or tuple item) `head` of `obj`; a clear TypeError when there is none."""
    if isinstance(obj, tuple) and head.isdigit() and int(head) < len(obj):
        return obj[int(head)]
    names = [f.name for f in dataclasses.fields(obj)] if dataclasses.is_dataclass(obj) else []
    if head not in names:
        at = "__".join(w for w in where if w != "config") or "the experiment"
        what = f"items 0 to {len(obj) - 1}" if isinstance(obj, tuple) else ", ".join(names)
        hint = did_you_mean(head, names) or f"it has: {what or 'no settings'}"
        raise TypeError(f"{at} has no setting '{head}'; {hint}")
    return getattr(obj, head)


# ------------------------------------------------------------------------------------ binding
def _placeholder(value: Any) -> bool:
    return isinstance(value, (c.Param, c.Pick, c.Repeat))


class _Binder:
    """One walk over a configuration: each placeholder filled from `params` (None: left as it
    is, to check a template), each value converted and checked by its setting; the problems
    are collected, not raised, so that all of them are reported at once."""

    def __init__(self, params: dict[str, Any] | None) -> None:
        self.params = params
        self.problems: list[Invalid] = []

    def value(self, value: Any, f: dataclasses.Field | None = None) -> Any:
        """`value` bound (`f`: the field it fills, whose default an absent parameter takes)."""
        if type(value) in PLAIN:           # most values: nothing to bind (a fast path)
            return value
        if isinstance(value, c.Param):
            return self._param(value, f)
        if isinstance(value, c.Pick):
            return self._pick(value)
        if isinstance(value, c.Repeat):
            return self._repeat(value)
        if isinstance(value, tuple):
            items = tuple(self.value(v) for v in value)
            same = all(a is b for a, b in zip(items, value))
            return value if same else _flatten(items)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._fields(value)
        return value

    def coerce(self, arg: Any, value: Any, owner: str, source: c.Param | None = None) -> Any:
        """`values.coerce`, recording a problem (and keeping the value) when it fails."""
        try:
            return coerce(arg, value, owner)
        except Invalid as exc:
            hint = f"the value of ${source.name}; {exc.hint}" if source else exc.hint
            self.problems.append(Invalid(exc.message, hint))
            return value

    def _param(self, param: c.Param, f: dataclasses.Field | None = None,
               default: Any = dataclasses.MISSING) -> Any:
        """The value of `param`; absent, the default of the field it fills (or `default`)."""
        if self.params is None:
            return param
        if param.name in self.params:
            return self.params[param.name]
        if default is dataclasses.MISSING and f is not None:
            default = _field_default(f)
        if default is dataclasses.MISSING:
            self.problems.append(Invalid(f"'{param.name}' has no value here and its setting "
                                         "no default", f"give a value for ${param.name}"))
            return None
        return default

    def _pick(self, pick: c.Pick) -> Any:
        if self.params is None:
            return pick
        key = self._param(pick.param, default=pick.default)
        if pick.arg is not None:
            key = self.coerce(pick.arg, key, pick.owner, pick.param)
        cases = dict(pick.cases)
        return self.value(cases.get(key, cases[pick.default]))

    def _repeat(self, repeat: c.Repeat) -> Any:
        arg, owner = sites(c.Repeat, {})["count"]
        body = [self.value(layer) for layer in repeat.body]
        if self.params is None:
            if not isinstance(repeat.count, c.Param):
                self.coerce(arg, repeat.count, owner)
            return repeat
        source = repeat.count if isinstance(repeat.count, c.Param) else None
        known = len(self.problems)
        times = self.coerce(arg, self.value(repeat.count), owner, source)
        if len(self.problems) > known or not isinstance(times, int):
            return []                      # a count refused (2147483648) is never expanded
        if times * len(body) > MAX_LAYERS:
            self.problems.append(Invalid(
                f"repeat {times} of {len(body)} layers makes {times * len(body):,} layers: at "
                f"most {MAX_LAYERS:,} can be built",
                (f"the value of ${source.name}; " if source else "") +
                "repeat fewer times, or fewer layers"))
            return []
        # A list, so that the enclosing tuple splices it in (see _flatten).
        return body * times

    def _fields(self, obj: Any) -> Any:
        fields = {f.name: f for f in dataclasses.fields(obj)}
        raw = {name: self.value(getattr(obj, name), f) for name, f in fields.items()}
        for name, (arg, owner) in sites(type(obj), raw).items():
            if _placeholder(raw[name]) or (raw[name] is None and
                                           fields[name].default is None):
                continue                   # None is the field's own "not set" (no cap, auto)
            old = getattr(obj, name)
            raw[name] = self.coerce(arg, raw[name], owner,
                                    old if isinstance(old, c.Param) else None)
        if self.params is None:
            return obj                     # a check: the template stays as it was written
        if isinstance(obj, c.Config):
            raw["preprocess"] = self._steps(raw["preprocess"])
        changes = {k: v for k, v in raw.items() if v is not getattr(obj, k)}
        return dataclasses.replace(obj, **changes) if changes else obj

    def _steps(self, steps: tuple) -> tuple:
        """Searched preprocessing steps arrive as names: build them, drop 'none'."""
        out = []
        for step in steps:
            if isinstance(step, str):
                step = self.coerce(STEP, step, "preprocess")
                if step in STEP_CLASSES:
                    out.append(STEP_CLASSES[step]())
            else:
                out.append(step)
        return tuple(out)


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _flatten(items: tuple) -> tuple:
    """Splice expanded repeats (lists, possibly nested) into the enclosing layer tuple."""
    out: list[Any] = []
    for item in items:
        out.extend(_flatten(tuple(item)) if isinstance(item, list) else (item,))
    return tuple(out)


PLAIN = frozenset({int, float, str, bool, type(None)})
STEP_CLASSES = {"standardize": c.Standardize, "pca": c.PCA, "quantile": c.Quantile,
                "log": c.Log}


# ------------------------------------------------------------------------------------ checks
def _check(exp: Experiment) -> list[Invalid]:
    """Every problem of an experiment's own values (placeholders are checked when bound)."""
    binder = _Binder(None)
    binder.value(exp.config)
    binder.value(exp.search)
    for name, (arg, owner) in SEEDS.items():
        binder.coerce(arg, getattr(exp, name), owner)
    if not isinstance(exp.name, str) or not SAFE_NAME.fullmatch(exp.name):
        binder.problems.append(Invalid(f"'{exp.name}' cannot name a run folder", NAME_HINT))
    columns = tuple(col for e in exp.config.embed for col in e.columns)
    if columns != tuple(exp.config.data.embed):
        binder.problems.append(Invalid(
            f"the embedded columns ({', '.join(columns) or 'none'}) and the data's "
            f"({', '.join(exp.config.data.embed) or 'none'}) differ",
            "the data encodes the embed statements' columns: set data__embed to them, in order"))
    if exp.config.data.embed and source_problem(exp.config.data) is not None:
        binder.problems.append(Invalid(str(source_problem(exp.config.data)), SOURCE_HINT))
    target, weights = exp.config.data.target, exp.config.target_weights
    count = len(target) if isinstance(target, tuple) else 1
    if weights and (count < 2 or len(weights) != count):
        binder.problems.append(Invalid(
            f"{len(weights)} target weight(s) for {count} target(s)",
            "target_weights go with several targets (data__target), one weight each"))
    size = size_problem(exp.search)
    if size is not None:
        binder.problems.append(Invalid(*size))
    return binder.problems
