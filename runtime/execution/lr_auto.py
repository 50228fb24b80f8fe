"""`lr auto`: the learning-rate range test run once, before the search, and its suggestion
written into the experiment as a concrete rate.

`resolve(exp)` is the runner's first step. When the spec's optimizer says `lr auto`, it runs
`runtime.engine.lr_range.range_test` on the search's representative configuration, with the
data and preprocessing of the first fold (the preflight's, `runtime.execution.jobs.preflight`)
and the experiment's first seed, in this process with one BLAS thread (the same result
whatever `--jobs` is; no worker has been given anything to train yet). It returns the
experiment with `lr` replaced by the suggestion (half the largest stable rate), so every
configuration of the search, every trial key (the bound configuration holds the rate) and the
final model use that one rate. The test is not cached: it runs again on every run, so a
changed data set gets its own rate, and trials trained at another rate are never served from
the store (their keys differ).

The rate suits the representative configuration: a search over settings that move the stable
rate a lot (batch size, momentum, width, the optimizer's other settings) shares it. Under
nested cross-validation the first fold's training part overlaps the other outer folds' test
parts, so the outer estimate is slightly optimistic about the rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.errors import NnspecError

if TYPE_CHECKING:                  # the engine is imported when a range test runs
    from spec_lang.config import Config

    from runtime.engine.lr_range import RangeTest
    from runtime.types import TrainData


@dataclass(frozen=True)
class Chosen:
    """The rate `lr auto` chose, and the range test behind it; under `search auto`, the rates
    its lr stage tries below that suggestion (`grid`)."""

    lr: float
    test: RangeTest
    grid: tuple[float, ...] = ()

    @property
    def message(self) -> str:
        """The run's message: `lr auto: 0.0792 (half the largest stable rate 0.158)`."""
        at_least = "at least " if self.test.capped else ""
        why = (f"half the largest stable rate {at_least}{self.test.largest_stable:.3g}; range "
               f"test of {len(self.test.rates)} rates, {self.test.updates} updates each")
        if self.grid:
            rates = ", ".join(f"{r:.3g}" for r in self.grid)
            return f"search auto: the range test suggests lr {self.lr:.3g} ({why}); its lr " \
                   f"stage tries {rates}"
        return f"lr auto: {self.lr:.3g} ({why})"

    def record(self) -> dict[str, Any]:
        """What best.json keeps of it."""
        t = self.test
        return {"lr": self.lr, "largest_stable": t.largest_stable, "capped": t.capped,
                "interval": list(t.interval or ()), "rates_tested": len(t.rates),
                "updates_per_rate": t.updates, "initial_loss": t.initial_loss,
                **({"grid": list(self.grid)} if self.grid else {})}


def uses_auto(exp: Experiment) -> bool:
    """Whether the experiment's optimizer says `lr auto` (also set from Python as "auto")."""
    lr = exp.config.train.optimizer.lr
    return isinstance(lr, c.Auto) or (isinstance(lr, str) and lr == "auto")


def range_test_of(exp: Experiment, checked: tuple[Config, TrainData] | None = None,
                  **options: Any) -> RangeTest:
    """The range test of the experiment's representative configuration on its first fold's
    preprocessed training part (see the module docstring): `checked`, the preflight's, when
    it was run already; `options` go to `range_test`. Raises DataError as the preflight
    does."""
    from threadpoolctl import threadpool_limits

    from runtime.engine.lr_range import range_test
    from runtime.execution.jobs import preflight
    config, data = checked if checked is not None else preflight(exp)
    with threadpool_limits(limits=1):
        return range_test(config, data, exp.seed_start, **options)


def opened_lr(exp: Experiment) -> c.Dim | None:
    """The learning-rate dimension `search auto` opened (the spec left the rate to its
    default), whose grid the range test places; None otherwise."""
    return next((d for d in exp.search.dims if d.opened and d.stage == "lr"), None)


def resolve(exp: Experiment, checked: tuple[Config, TrainData] | None = None
            ) -> tuple[Experiment, Chosen | None]:
    """`exp` with `lr auto` replaced by the range test's suggestion (on `checked`, the
    preflight's configuration and arrays, when given), and what was chosen; `exp` itself and
    None without `lr auto`. NnspecError when every rate diverged. Under `search auto` with the
    rate left open, its dimension becomes the grid below the suggestion
    (`spec_lang.auto.lr_grid`); when every rate diverged it keeps its grid around the
    optimizer's default."""
    dim = opened_lr(exp)
    if dim is not None:
        return _place_grid(exp, dim, checked)
    if not uses_auto(exp):
        return exp, None
    test = range_test_of(exp, checked)
    if test.suggestion is None:
        raise NnspecError(f"{exp.filename}: lr auto: {test.describe()}")
    return exp.replace(train__optimizer__lr=test.suggestion), Chosen(test.suggestion, test)


def _place_grid(exp: Experiment, dim: c.Dim, checked: tuple[Config, TrainData] | None
                ) -> tuple[Experiment, Chosen | None]:
    from dataclasses import replace

    from spec_lang.auto import lr_grid
    from runtime.search.space import grid_values
    test = range_test_of(exp, checked)
    if test.suggestion is None:
        return exp, None
    grid = lr_grid(dim.name, test.suggestion)
    dims = tuple(grid if d is dim else d for d in exp.search.dims)
    exp = exp.replace(search=replace(exp.search, dims=dims))
    return exp, Chosen(test.suggestion, test, tuple(grid_values(grid)))
