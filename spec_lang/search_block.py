"""The search block: strategy options and dimensions (`name in ...`, `name ~ ...`), checked
against every place their `$name` is used."""
from __future__ import annotations

import importlib.util
from dataclasses import replace
from typing import Any

from . import config as c
from . import nodes as n
from .binding import INVALID, Checker
from .errors import did_you_mean
from .schema import INF, PRIORS, SCALES, Arg
from .sizes import size_problem

FIDELITY_STRATEGIES = ("halving", "asha", "hyperband")
# Options that only one strategy reads: naming them under another is a mistake worth telling.
STRATEGY_OPTIONS = {"shuffle": ("grid",), "sweeps": ("coordinate",), "order": ("coordinate",),
                    "levels": ("zoom",), "factor": ("zoom",), "points": ("zoom", "coordinate"),
                    "eta": FIDELITY_STRATEGIES, "fidelity": FIDELITY_STRATEGIES,
                    "min_fidelity": (*FIDELITY_STRATEGIES, "auto"), "criterion": ("layerwise",)}
NEEDS_TRIALS = ("random", "tpe")
TAKES_TRIALS = ("random", "tpe", "halving", "asha", "layerwise")
INTEGER_TYPES = ("int", "batch")


def _scalar(node: n.Value) -> Any:
    if isinstance(node, n.Number):
        return int(node.value) if node.is_int else node.value
    return node.value if isinstance(node, (n.Name, n.String)) else INVALID


class SearchBlock:
    """Builds a `config.Search` from the `search` statement, reporting through a Checker."""

    def __init__(self, checker: Checker) -> None:
        self.ck = checker
        self.failed: set[str] = set()      # dimensions already reported as malformed

    def build(self, cmd: n.Command | None, values: dict[str, Any]) -> c.Search:
        """The Search of a bound `search` statement (None: no search block)."""
        if cmd is None:
            return c.Search()
        if "strategy" not in values:  # reported already; its dimensions are not checked
            self.failed |= {s.name.value for s in cmd.body if isinstance(s, n.Dimension)}
            return c.Search()
        strategy = values["strategy"]
        self._check_options(cmd, strategy, values)
        dims = [d for d in (self._dimension(s) for s in self._dimension_nodes(cmd)) if d]
        self._check_duplicates(dims)
        fields = {k: v for k, v in values.items() if k != "strategy"}
        search = c.Search(strategy=strategy, dims=tuple(d for d, _ in dims), **fields)
        self._check_strategy(cmd, search, dims)
        return search

    def _dimension_nodes(self, cmd: n.Command) -> list[n.Dimension]:
        out = []
        for stmt in cmd.body:
            if isinstance(stmt, n.Dimension):
                out.append(stmt)
            else:
                self.ck.error(stmt.keyword.span, "the search block holds dimensions only",
                              "write `name in a, b, c` or `name ~ log_uniform low .. high`")
        return out

    def _check_options(self, cmd: n.Command, strategy: str, values: dict[str, Any]) -> None:
        for name, owners in STRATEGY_OPTIONS.items():
            if name in values and strategy not in owners:
                self.ck.error(cmd.span, f"'{name}' applies to {' and '.join(owners)} search, "
                              f"not {strategy}")
        written = len(cmd.args) > 1 and isinstance(cmd.args[1], n.Number)  # maybe refused
        if strategy in NEEDS_TRIALS and "trials" not in values and not written:
            self.ck.error_after(cmd.args[0].span if cmd.args else cmd.keyword.span,
                                f"expected a number of trials after '{strategy}'",
                                f"for example: search {strategy} 40")
        if strategy == "tpe" and importlib.util.find_spec("optuna") is None:
            self.ck.error(cmd.args[0].span, "tpe search needs Optuna, which is not installed",
                          "pip install 'nnspec[tpe]'")
        if "trials" in values and strategy not in TAKES_TRIALS:
            self.ck.error(cmd.args[1].span, f"{strategy} search takes no number of trials",
                          "the strategy decides how many points it visits")

    # --------------------------------------------------------------------------- dimensions
    def _dimension(self, dim: n.Dimension) -> tuple[c.Dim, n.Dimension] | None:
        args = list(dim.args)
        if not args:
            word = "~" if dim.kind == "prior" else "in"
            self.ck.error_after(dim.span, f"expected values after '{word}'",
                                "for example: `in 1, 2, 3` or `~ log_uniform 1e-4 .. 1`")
            return None
        made = self._prior(dim, args) if dim.kind == "prior" else self._choice(dim, args)
        if made is None:
            self.failed.add(dim.name.value)
            return None
        cond = self._condition(dim.condition) if dim.condition else None
        return replace(made, condition=cond), dim

    def _choice(self, dim: n.Dimension, args: list[n.Value]) -> c.Dim | None:
        """`name in a, b, c` or `name in [log|linear] low .. high [count N]`."""
        scale = None
        first = args[0]
        if isinstance(first, n.Name) and first.value in SCALES and len(args) > 1:
            scale = first.value
            args.pop(0)
        if isinstance(args[0], n.Range):
            return self._range(dim, args[0], args[1:], scale)
        if len(args) > 1:
            self.ck.error(args[1].span, "unexpected value: separate listed values with commas")
            return None
        return self._values(dim, args[0])

    def _range(self, dim: n.Dimension, rng: n.Range, rest: list[n.Value], scale: str | None
               ) -> c.Dim | None:
        low, high = self._bounds(rng)
        count = None
        if rest:
            given = rest[1] if len(rest) == 2 else None
            if not (isinstance(rest[0], n.Name) and rest[0].value == "count"
                    and isinstance(given, n.Number) and given.is_int
                    and 2 <= given.value <= c.MAX_TRIALS):
                self.ck.error(rest[0].span, "after a range only `count N` (2 <= N <= "
                              f"{c.MAX_TRIALS:,}) may follow")
                return None
            count = int(given.value)
        if low is INVALID:
            return None
        return c.Dim(dim.name.value, "range", low=low, high=high, scale=scale or "",
                     count=count)

    def _prior(self, dim: n.Dimension, args: list[n.Value]) -> c.Dim | None:
        """`name ~ [prior] low .. high` or `name ~ choice a, b, c`."""
        prior = None
        first = args[0]
        if isinstance(first, n.Name) and len(args) > 1:
            prior = first
            args.pop(0)
            if prior.value not in PRIORS:
                self.ck.error(prior.span, f"unknown prior '{prior.value}'",
                              did_you_mean(prior.value, PRIORS) or "one of: " + ", ".join(PRIORS))
                return None
        if len(args) != 1:
            self.ck.error(args[-1].span, "a prior takes one range `low .. high` or a list")
            return None
        rng = args[0]
        if not isinstance(rng, n.Range):
            return self._values(dim, rng)
        low, high = self._bounds(rng)
        if low is INVALID:
            return None
        return c.Dim(dim.name.value, "prior", low=low, high=high,
                     prior=prior.value if prior else "")

    def _bounds(self, rng: n.Range) -> tuple[Any, Any]:
        low, high = rng.low, rng.high
        if not isinstance(low, n.Number) or not isinstance(high, n.Number):
            self.ck.error((high if isinstance(low, n.Number) else low).span,
                          "range bounds must be numbers")
            return INVALID, INVALID
        if low.value >= high.value:
            self.ck.error(rng.span, f"the range is empty: {low.text} is not below {high.text}")
            return INVALID, INVALID
        return _scalar(low), _scalar(high)

    def _values(self, dim: n.Dimension, node: n.Value) -> c.Dim | None:
        items = node.items if isinstance(node, n.List) else (node,)
        values = [_scalar(i) for i in items]
        for item, value in zip(items, values):
            if value is INVALID:
                self.ck.error(item.span, "a search value must be a number, a name or a string")
                return None
        if len(set(map(repr, values))) != len(values):
            self.ck.error(node.span, f"'{dim.name.value}' lists a value twice")
        return c.Dim(dim.name.value, "choice", values=tuple(values))

    def _condition(self, cond: n.Condition) -> c.Condition | None:
        value = _scalar(cond.value)
        return None if value is INVALID else c.Condition(cond.param.value, cond.op, value)

    def _check_duplicates(self, dims: list[tuple[c.Dim, n.Dimension]]) -> None:
        seen: dict[str, int] = {}
        for dim, node in dims:
            if dim.name in seen:
                self.ck.error(node.name.span, f"'{dim.name}' is defined twice in the search "
                              f"block (first at line {seen[dim.name]})")
            seen.setdefault(dim.name, node.span.line)

    # ---------------------------------------------------------------------------- strategies
    def _check_strategy(self, cmd: n.Command, search: c.Search,
                        dims: list[tuple[c.Dim, n.Dimension]]) -> None:
        if search.strategy == "none" and dims:
            self.ck.error(cmd.args[0].span, "search none explores nothing, yet dimensions "
                          "are defined", "name a strategy: " + ", ".join(c.STRATEGIES[1:]))
        if search.strategy == "auto" and search.extend:
            self.ck.error(cmd.span, "search auto widens a bordering interval in its own "
                          "stage: it takes no 'extend'", "remove `extend`")
        if search.strategy not in ("none", "auto") and not dims and not self.failed:
            self.ck.error_after(cmd.span, f"{search.strategy} search needs dimensions below it",
                                "for example:    lr ~ log_uniform 1e-4 .. 1")
        names = [d.name for d, _ in dims]
        for name in search.order:
            if name not in names:
                self.ck.error(cmd.span, f"'order' names '{name}', which is not a dimension",
                              did_you_mean(name, names))
        earlier: dict[str, c.Dim] = {}
        for dim, node in dims:
            self._check_grid(search, dim, node)
            self._check_condition(dim, node, earlier)
            earlier.setdefault(dim.name, dim)
        size = size_problem(search)
        if size is not None:
            self.ck.error(cmd.span, *size)

    def _check_grid(self, search: c.Search, dim: c.Dim, node: n.Dimension) -> None:
        if search.strategy != "grid" or dim.kind == "choice":
            return
        if dim.kind == "prior" or dim.count is None:
            self.ck.error(node.span, f"grid search needs a finite list for '{dim.name}'",
                          "write `in low .. high count N` or list the values, or use "
                          "`search random N` to sample")

    def _check_condition(self, dim: c.Dim, node: n.Dimension, earlier: dict[str, c.Dim]
                         ) -> None:
        """The condition names a dimension defined above (`earlier`), and one of its values."""
        if dim.condition is None or node.condition is None:
            return
        parent = earlier.get(dim.condition.param)
        span = node.condition.param.span
        if parent is None:
            self.ck.error(span, f"the condition names '{dim.condition.param}', which is not "
                          "a dimension defined above this one",
                          did_you_mean(dim.condition.param, earlier))
        elif parent.kind == "choice" and dim.condition.value not in parent.values:
            self.ck.error(node.condition.value.span, f"'{dim.condition.param}' never takes "
                          f"the value {dim.condition.value!r}",
                          "its values: " + ", ".join(map(str, parent.values)))

    # --------------------------------------------------------------------------- uses
    def resolve(self, search: c.Search, nodes: dict[str, n.Dimension]) -> c.Search:
        """Check each dimension against the settings that use it; fill scales and priors."""
        dims = tuple(self._resolve_dim(d, nodes[d.name]) for d in search.dims)
        return replace(search, dims=dims)

    def _resolve_dim(self, dim: c.Dim, node: n.Dimension) -> c.Dim:
        uses = [arg for arg, _ in self.ck.uses.get(dim.name, [])]
        if not uses:
            return dim
        log = any(a.log for a in uses)
        integer = all(a.type in INTEGER_TYPES for a in uses)
        defaults = [a.default for a in uses]
        dim = replace(dim, limits=_limits(uses), accepts=_accepts(uses),
                      default=defaults[0] if defaults.count(defaults[0]) == len(uses) else None)
        if dim.kind == "choice" and log:
            dim = replace(dim, scale="log")    # its centre is on the settings' scale
        if dim.kind == "range":
            dim = replace(dim, scale=dim.scale or ("log" if log else "linear"), integer=integer)
        elif dim.kind == "prior":
            prior = dim.prior or ("log_uniform" if log else "uniform")
            if integer and not prior.startswith("int_"):
                prior = "int_" + prior
            dim = replace(dim, prior=prior, integer=integer)
        if (dim.scale == "log" or "log" in (dim.prior or "")) and dim.low is not None \
                and dim.low <= 0:
            rng = next(a for a in node.args if isinstance(a, n.Range))
            self.ck.error(rng.low.span, f"a log scale needs a positive lower bound; got "
                          f"{dim.low}", "use a linear range or a positive bound")
            return dim
        for arg in uses:
            self._check_against(dim, node, arg)
        return dim

    def _check_against(self, dim: c.Dim, node: n.Dimension, arg: Arg) -> None:
        """Every value the dimension can take must suit the setting `arg`."""
        owner = f"${dim.name}"
        if dim.kind == "choice":
            items = node.args[-1].items if isinstance(node.args[-1], n.List) else node.args[-1:]
            for item in items:
                if not self._auto_searched(arg, item):
                    self.ck.literal(arg, item, owner)
            return
        rng = next(a for a in node.args if isinstance(a, n.Range))
        if arg.type not in ("number", "int", "batch"):
            self.ck.error(rng.span, f"'{dim.name}' is used as {arg.name}, which takes names, "
                          "not a numeric range")
            return
        for bound in (rng.low, rng.high):
            if not self._auto_searched(arg, bound):
                self.ck.literal(replace(arg, type="number") if arg.type == "batch" else arg,
                                bound, owner)

    def _auto_searched(self, arg: Arg, node: n.Value) -> bool:
        """`auto` as a searched value of the learning rate: an error (True) — it is one value,
        the range test's, not a point of a search."""
        if not (arg.auto and isinstance(node, n.Name) and node.value == "auto"):
            return False
        if arg.name != "lr":
            return False               # `embed ... dim $d`, `d in 4, auto`: a value like any
        self.ck.error(node.span, f"'{arg.name}' cannot be searched over auto",
                      f"write `{arg.name} auto` in the optimizer statement (the range test "
                      f"chooses one rate for every configuration), or search ${arg.name} over "
                      "numbers")
        return True


def _limits(uses: list[Arg]) -> tuple[float | None, float | None]:
    """The tightest closed bounds among the settings a dimension feeds."""
    lows = [a.low for a in uses if a.low != -INF and not a.low_open]
    highs = [a.high for a in uses if a.high != INF and not a.high_open]
    return (max(lows) if lows else None, min(highs) if highs else None)


def _accepts(uses: list[Arg]) -> tuple[float, float, bool, bool]:
    """The tightest interval among the settings a dimension feeds (open ends kept open)."""
    low = max(uses, key=lambda a: (a.low, a.low_open))
    high = min(uses, key=lambda a: (a.high, not a.high_open))
    return low.low, high.high, low.low_open, high.high_open
