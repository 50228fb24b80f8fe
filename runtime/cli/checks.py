"""`nnspec check` beyond the language: the data loads and splits, and the chapter's debugging
aids (section 4) on a representative configuration: a finite-difference gradient check and a
"can it overfit a tiny subset" check."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.cli.located import located
from runtime.cli.lr_range import lr_range_lines, with_suggested_lr
from runtime.errors import NnspecError
from runtime.execution.jobs import preflight
from runtime.types import TrainData

GRADIENT_TOLERANCE = 1e-5   # float64 central differences on a smooth criterion reach ~1e-8


def run_checks(exp: Experiment, *, gradients: bool = False, overfit: bool = False,
               lr_range: Path | None = None) -> list[str]:
    """Lines to print (a line starting with FAIL is a failed check). Always runs the run's own
    preflight (`runtime.execution.jobs.preflight`: the data loads, the folds are made, the
    preprocessing fits and leaves trainable values; a DataError says what is wrong); [] when
    nothing more was asked. `lr_range`: run the learning-rate range test and draw its plot
    to this PNG (`runtime.cli.lr_range`). An error about words of the spec (a data file, a
    target column, a strategy's library) is raised at their place (`runtime.cli.located`)."""
    config, data = run_check(exp)
    lines: list[str] = [asynchronous_note(exp.search)] if exp.search.asynchronous else []
    if exp.search.strategy == "auto":
        from spec_lang.auto import plan_lines
        lines += plan_lines(exp.search, exp.config.train.optimizer.name)
    lines += rungs_note(exp.search, exp.config.train.epochs)
    lines += ladder_note(exp.search, exp.config.train, config, data)
    if gradients:
        lines += _gradient_lines(config, data, exp.seed_start)
    if overfit:
        config = with_suggested_lr(exp, config)          # `lr auto`: the rate a run would use
        lines.append(_overfit_line(config, data, exp.seed_start))
    if lr_range is not None:
        lines += lr_range_lines(exp, lr_range)
    return lines


def run_check(exp: Experiment) -> tuple[c.Config, TrainData]:
    """What `nnspec run` and `check` check before anything trains: the preflight, and that
    the strategy's library imports; an error about words of the spec raised at their place.
    The preflight's configuration and arrays."""
    try:
        checked = preflight(exp)
        _strategy_library(exp.search)
    except NnspecError as exc:
        raise located(exc, exp) from None
    return checked


def _strategy_library(search: c.Search) -> None:
    """The library the search strategy runs on imports (the spec's check only asked whether
    it is installed: one that is there but broken would stop the run at its first ask)."""
    if search.strategy == "tpe":
        from runtime.search.tpe import import_optuna
        import_optuna()


def asynchronous_note(search: c.Search) -> str:
    """How this search's table may differ with --jobs (a synchronous one's never does):
    asha, pruning and a budget decide by the order results arrive in; hyperband only hands
    its brackets' trials out in that order, so only their trial numbers may differ."""
    why = ["asha decides as results arrive"] if search.strategy == "asha" else []
    why += ["pruning judges a trial by the trials finished before it started"] \
        if search.prune else []
    why += ["the budget stops where the time or epochs run out"] if search.budget else []
    if not why:                                    # hyperband alone
        return ("note: asynchronous search (hyperband hands out its brackets' trials as "
                "workers free up): the trial numbers may differ with --jobs; which "
                "configurations are tried and promoted does not")
    return ("note: asynchronous search (" + "; ".join(why) + "): the table may differ "
            "with --jobs and from run to run")


def rungs_note(search: c.Search, epochs: Any) -> list[str]:
    """Where `prune halving` judges trials, so that a warm-up or an eta that leaves no rung
    before the last epoch (never judged) is seen before the run prunes nothing."""
    from runtime.execution.pruning import rung_epochs
    rule = search.prune
    if rule is None or rule.eta is None or not isinstance(epochs, int):    # eta: halving's
        return []
    rungs = [e for e in rung_epochs(epochs, rule.warmup, rule.eta) if e < epochs]
    if not rungs:
        return [f"note: prune halving has no rung before the last of the {epochs} epochs "
                f"(the first is epoch {rule.warmup + 1}, and the last is never judged): it "
                "prunes nothing; lower warmup, or raise epochs"]
    shown = ", ".join(map(str, rungs[:8])) + (", ..." if len(rungs) > 8 else "")
    return [f"note: prune halving judges a full-fidelity trial at epochs {shown} of {epochs}"]


def ladder_note(search: c.Search, train: c.Train, config: c.Config, data: Any) -> list[str]:
    """What each rung of halving, asha or hyperband trains, so that a ladder whose rungs
    round to the same training (a short epoch cap, a small updates cap, a low min_fidelity, an
    eta close to 1) is seen before it trains the same networks twice. `train` is the spec's
    (epochs may be searched: each listed value is checked); `config` and `data`, the
    representative configuration's, give the updates an epoch holds."""
    from runtime.search import fidelity_ladder
    ladder = fidelity_ladder(search)
    if len(ladder) < 2:
        return []
    where = "the most exploratory bracket's rungs" if search.strategy == "hyperband" else \
        f"{search.strategy}'s rungs"
    shares = ", ".join(f"{f:.3g}" for f in ladder)
    if search.fidelity != "epochs":
        return [f"note: {where} train on {shares} of the training split"]
    fewer = ", or start fewer configurations" if search.strategy == "halving" else ""
    cap = train.updates if isinstance(train.updates, int) else None
    batch = config.train.batch
    per_epoch = 1 if batch is None else -(-data.X_train.shape[0] // int(batch))   # sparse too
    if isinstance(train.epochs, int):
        rungs = _rung_training(ladder, train.epochs, cap)
        line = (f"note: {where} train {', '.join(str(e) for e, _ in rungs)} of the "
                f"{train.epochs} epochs (fidelities {shares})")
        if cap is not None:
            line += f", at most {', '.join(str(u) for _, u in rungs)} of the {cap} updates"
        same = _same_rungs(rungs, per_epoch)
        return [line] + ([f"note: rungs {same}{fewer}"] if same else [])
    lines = [f"note: {where} train {shares} of the epochs (${train.epochs.name})"]
    for epochs in _listed_values(search, train.epochs):
        same = _same_rungs(_rung_training(ladder, epochs, cap), per_epoch)
        if same:
            lines.append(f"note: with epochs {epochs}, rungs {same}{fewer}")
    return lines


def _rung_training(ladder: list[float], epochs: int, cap: int | None
                   ) -> list[tuple[int, int | None]]:
    """(epochs, updates cap) each rung trains (`runtime.execution.jobs.at_fidelity`)."""
    from runtime.execution.jobs import share_of
    return [(share_of(epochs, f), None if cap is None else share_of(cap, f)) for f in ladder]


def _same_rungs(rungs: list[tuple[int, int | None]], per_epoch: int) -> str:
    """'k and k+1 both train ...: <what to change>' for the first two rungs that train as
    much (in updates: `per_epoch` of them an epoch), or ''."""
    def trained(rung: tuple[int, int | None]) -> int:
        epochs, updates = rung
        return epochs * per_epoch if updates is None else min(updates, epochs * per_epoch)
    for k in range(1, len(rungs)):
        if trained(rungs[k]) <= trained(rungs[k - 1]):
            epochs, updates = rungs[k]
            if updates is not None and updates < epochs * per_epoch:
                what, bound = f"{updates} update{'s' if updates > 1 else ''}", "updates"
            else:
                what, bound = f"{epochs} epoch{'s' if epochs > 1 else ''}", "epochs"
            return (f"{k - 1} and {k} both train {what}: the higher one decides nothing new; "
                    f"raise {bound}, min_fidelity or eta")
    return ""


def _listed_values(search: c.Search, param: c.Param) -> list[int]:
    """The whole-number values a searched setting lists (a choice or a counted range); none for
    a prior or a range without a count."""
    from runtime.search import grid_values
    for dim in search.dims:
        if dim.name == param.name:
            try:
                return [int(v) for v in grid_values(dim)]
            except (ValueError, TypeError):
                return []
    return []


def _gradient_lines(config: c.Config, data: Any, seed: int) -> list[str]:
    from runtime.engine.gradcheck import gradient_check
    f64 = dataclasses.replace(config, train=dataclasses.replace(config.train, dtype="float64"))
    errors = gradient_check(f64, data, seed)
    worst = max(errors.values(), default=0.0)
    status = "ok" if worst < GRADIENT_TOLERANCE else "FAIL"
    lines = [f"{'FAIL: ' if status == 'FAIL' else ''}gradient check (float64, central "
             f"differences): worst relative error {worst:.2e}"]
    lines += [f"    {name:<14} {err:.2e}" for name, err in errors.items()]
    return lines


def _overfit_line(config: c.Config, data: Any, seed: int) -> str:
    from runtime.engine.gradcheck import overfit_check
    report = overfit_check(config, data, seed)
    verdict = "ok" if report.passed else "FAIL: "
    text = (f"overfit check: training loss {report.initial_loss:.4g} -> "
            f"{report.final_loss:.4g} in {report.epochs} epochs on a tiny subset")
    return f"{text}: ok" if report.passed else f"{verdict}{text}: the network cannot fit "\
        "even a few examples (check the learning rate, the initialization, the data)"
