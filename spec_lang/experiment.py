"""The checked experiment: a configuration template with `$` placeholders, and its search."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import config as c


@dataclass(frozen=True)
class Switch:
    """A value chosen by a searched boolean: `on` when the parameter is true, else `off`."""

    param: c.Param
    on: Any
    off: Any = None


class BindError(ValueError):
    """A set of parameter values that the template cannot take (e.g. a missing value)."""


@dataclass(frozen=True)
class Experiment:
    """What a spec says, checked: `config` may hold `Param` placeholders and `Repeat` blocks
    until `bind` fills them with one point of the search space."""

    name: str
    config: c.Config
    search: c.Search = field(default_factory=c.Search)
    seeds: int = 3
    seed_start: int = 0
    filename: str = field(default="<string>", compare=False)
    base_dir: Path = field(default=Path("."), compare=False)

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
        its default. Repeats are expanded; searched preprocessing steps are built.
        """
        return _bind(self.config, dict(params))


def _bind(value: Any, params: dict[str, Any], default: Any = dataclasses.MISSING) -> Any:
    if isinstance(value, c.Param):
        if value.name in params:
            return params[value.name]
        if default is dataclasses.MISSING:
            raise BindError(f"'{value.name}' has no value here and its setting no default")
        return default
    if isinstance(value, Switch):
        return _bind(value.on if _bind(value.param, params, False) else value.off, params)
    if isinstance(value, c.Repeat):
        times = _bind(value.count, params)
        # A list, so that the enclosing tuple splices it in (see _flatten).
        return [_bind(layer, params) for _ in range(int(times)) for layer in value.body]
    if isinstance(value, tuple):
        return _flatten(tuple(_bind(v, params) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _bind_fields(value, params)
    return value


def _bind_fields(obj: Any, params: dict[str, Any]) -> Any:
    changes = {}
    for f in dataclasses.fields(obj):
        old = getattr(obj, f.name)
        new = _bind(old, params, _field_default(f))
        if new is not old:
            changes[f.name] = _bind_step(new) if f.name == "preprocess" else new
    return dataclasses.replace(obj, **changes) if changes else obj


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


STEP_CLASSES = {"standardize": c.Standardize, "pca": c.PCA, "quantile": c.Quantile,
                "log": c.Log}


def _bind_step(steps: tuple) -> tuple:
    """Searched preprocessing steps arrive as names: build them, drop 'none'."""
    return tuple(STEP_CLASSES[s]() if isinstance(s, str) else s for s in steps if s != "none")
