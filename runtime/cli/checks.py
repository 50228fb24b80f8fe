"""`nnspec check` beyond the language: the data loads and splits, and the chapter's debugging
aids (section 4) on a representative configuration: a finite-difference gradient check and a
"can it overfit a tiny subset" check."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.cli.lr_range import lr_range_lines, with_suggested_lr
from runtime.execution.jobs import preflight

GRADIENT_TOLERANCE = 1e-5   # float64 central differences on a smooth criterion reach ~1e-8


def run_checks(exp: Experiment, *, gradients: bool = False, overfit: bool = False,
               lr_range: Path | None = None) -> list[str]:
    """Lines to print (a line starting with FAIL is a failed check). Always runs the run's own
    preflight (`runtime.execution.jobs.preflight`: the data loads, the folds are made, the
    preprocessing fits and leaves trainable values; a DataError says what is wrong); [] when
    nothing more was asked. `lr_range`: run the learning-rate range test and draw its plot
    to this PNG (`runtime.cli.lr_range`)."""
    config, data = preflight(exp)
    lines: list[str] = [asynchronous_note(exp.search)] if exp.search.asynchronous else []
    lines += rungs_note(exp.search, exp.config.train.epochs)
    lines += ladder_note(exp.search, exp.config.train.epochs)
    if gradients:
        lines += _gradient_lines(config, data, exp.seed_start)
    if overfit:
        config = with_suggested_lr(exp, config)          # `lr auto`: the rate a run would use
        lines.append(_overfit_line(config, data, exp.seed_start))
    if lr_range is not None:
        lines += lr_range_lines(exp, lr_range)
    return lines


def asynchronous_note(search: c.Search) -> str:
    """Why this search's table may differ with --jobs (the others' never does)."""
    why = [f"{search.strategy} decides as results arrive"] if \
        search.strategy in c.ASYNCHRONOUS else []
    why += ["pruning judges a trial by the trials finished before it started"] \
        if search.prune else []
    why += ["the budget stops where the time or epochs run out"] if search.budget else []
    return ("note: asynchronous search (" + "; ".join(why) + "): the table may differ "
            "with --jobs and from run to run")


def rungs_note(search: c.Search, epochs: Any) -> list[str]:
    """Where `prune halving` judges trials, so that a warm-up or an eta that leaves no rung
    before the last epoch (never judged) is seen before the run prunes nothing."""
    from runtime.execution.pruning import rung_epochs
    rule = search.prune
    if rule is None or rule.rule != "halving" or not isinstance(epochs, int):
        return []
    rungs = [e for e in rung_epochs(epochs, rule.warmup, rule.eta or 3.0) if e < epochs]
    if not rungs:
        return [f"note: prune halving has no rung before the last of the {epochs} epochs "
                f"(the first is epoch {rule.warmup + 1}, and the last is never judged): it "
                "prunes nothing; lower warmup, or raise epochs"]
    shown = ", ".join(map(str, rungs[:8])) + (", ..." if len(rungs) > 8 else "")
    return [f"note: prune halving judges a full-fidelity trial at epochs {shown} of {epochs}"]


def ladder_note(search: c.Search, epochs: Any) -> list[str]:
    """What each rung of halving, asha or hyperband trains, so that a ladder whose rungs
    round to the same number of epochs (a short epoch cap, a low min_fidelity) is seen
    before it trains the same networks twice."""
    from runtime.execution.jobs import share_of
    from runtime.search import fidelity_ladder
    ladder = fidelity_ladder(search)
    if len(ladder) < 2:
        return []
    where = "the most exploratory bracket's rungs" if search.strategy == "hyperband" else \
        f"{search.strategy}'s rungs"
    shares = ", ".join(f"{f:.3g}" for f in ladder)
    if search.fidelity != "epochs" or not isinstance(epochs, int):
        return [f"note: {where} train on {shares} of the training "
                f"{'split' if search.fidelity == 'data' else 'epochs'}"]
    trained = [share_of(epochs, f) for f in ladder]
    lines = [f"note: {where} train {', '.join(map(str, trained))} of the {epochs} epochs "
             f"(fidelities {shares})"]
    same = next((i for i in range(1, len(trained)) if trained[i] <= trained[i - 1]), None)
    if same is not None:
        lines.append(f"note: rungs {same - 1} and {same} both train {trained[same]} "
                     f"epoch{'s' if trained[same] > 1 else ''}: the higher one decides "
                     "nothing new; raise epochs or min_fidelity" +
                     (", or start fewer configurations" if search.strategy == "halving" else ""))
    return lines


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
