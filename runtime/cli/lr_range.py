"""`nnspec check --lr-range`: the learning-rate range test of a spec's representative
configuration (`runtime.execution.lr_auto.range_test_of`), in words and as a PNG."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from spec_lang import config as c
from spec_lang.experiment import Experiment

PNG_SUFFIX = ".lr_range.png"


def png_path(spec: Path, out: Path | None) -> Path:
    """Where the plot goes: `out`, else beside the spec (`specs/a.spec` ->
    `specs/a.lr_range.png`); a shipped example named without a path (`quickstart`) gets it in
    the working folder."""
    if out is not None:
        return out
    if not spec.is_file():
        return Path(spec.name + PNG_SUFFIX)
    return spec.with_name(spec.stem + PNG_SUFFIX)


def lr_range_lines(exp: Experiment, png: Path) -> list[str]:
    """The check's lines (FAIL when every rate diverged); draws the plot to `png`."""
    from runtime.execution.lr_auto import range_test_of
    from runtime.report.lr_range import write_range_plot
    test = range_test_of(exp)
    opt = exp.config.train.optimizer
    name = opt.name if isinstance(opt.name, str) else "the representative optimizer"
    head = (f"lr range test ({name}, {len(test.rates)} rates from {test.rates[0]:.3g}, "
            f"{test.updates} updates each from the same initial weights): ")
    lines = [("FAIL: " if test.largest_stable is None else "") + head + test.describe()]
    if test.reason:
        lines.append(f"    first divergence at lr {test.rates[-1]:.3g}: {test.reason}")
    where = write_range_plot(test, png, f"{exp.name}: learning-rate range test")
    lines.append(f"    wrote the loss against the rate to {where}")
    return lines


def with_suggested_lr(exp: Experiment, config: c.Config) -> c.Config:
    """`config` with `lr auto` replaced by the range test's suggestion (for the checks that
    train, e.g. --overfit); unchanged without `lr auto`. NnspecError when every rate
    diverged."""
    from runtime.errors import NnspecError
    from runtime.execution.lr_auto import range_test_of, uses_auto
    if not uses_auto(exp):
        return config
    test = range_test_of(exp)
    if test.suggestion is None:
        raise NnspecError(f"lr auto: {test.describe()}")
    train = config.train
    optimizer = dataclasses.replace(train.optimizer, lr=test.suggestion)
    return dataclasses.replace(config, train=dataclasses.replace(train, optimizer=optimizer))
