"""TPE through Optuna."""
from __future__ import annotations

import builtins
import math

import pytest

from runtime.search import make_strategy
from spec_lang.config import Condition, Dim, Search

DIMS = (Dim("lr", "prior", low=1e-4, high=1e-1, prior="log_uniform"),
        Dim("width", "range", low=32, high=256, scale="log", count=4, integer=True),
        Dim("act", "choice", values=("relu", "tanh")),
        Dim("alpha", "prior", low=0.0, high=1.0, prior="uniform",
            condition=Condition("act", "==", "tanh")),
        Dim("layers", "prior", low=1, high=4, prior="int_uniform"))


def tpe(trials: int = 30) -> Search:
    return Search("tpe", trials=trials, dims=DIMS)


def test_trial_count_and_batches(drive_batches) -> None:
    batches = drive_batches(make_strategy(tpe(10), seed=0, batch_size=4))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert {c.step for b in batches for c, _ in b} == {"tpe"}


def test_values_have_the_space_types_and_conditions(drive) -> None:
    history = drive(make_strategy(tpe(25), seed=0))
    for c, _ in history:
        p = c.params
        assert 1e-4 <= p["lr"] <= 1e-1 and p["width"] in (32, 64, 128, 256)
        assert isinstance(p["layers"], int) and 1 <= p["layers"] <= 4
        assert ("alpha" in p) == (p["act"] == "tanh")


def test_deterministic(drive) -> None:
    def keys(seed: int) -> list:
        return [c.key() for c, _ in drive(make_strategy(tpe(15), seed=seed, batch_size=2))]
    assert keys(3) == keys(3) and keys(3) != keys(4)


def test_finds_the_optimum(drive, best_of) -> None:
    best = best_of(drive(make_strategy(tpe(40), seed=0, batch_size=4))).params
    assert best["act"] == "relu" and abs(math.log10(best["lr"]) + 2) < 0.5


def test_failures_are_told_as_failed(drive) -> None:
    strategy = make_strategy(tpe(12), seed=0, batch_size=3)
    history = drive(strategy, lambda p: None if p["act"] == "tanh" else -math.log10(p["lr"]))
    states = [t.state.name for t in strategy._study.trials]
    assert len(history) == 12 and "FAIL" in states and states.count("COMPLETE") >= 1
    assert all((s == "FAIL") == (c.params["act"] == "tanh")
               for (c, _), s in zip(history, states))


def test_missing_optuna_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_optuna(name: str, *args, **kwargs):
        if name == "optuna" or name.startswith("optuna."):
            raise ImportError("No module named 'optuna'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_optuna)
    with pytest.raises(ImportError, match=r"pip install 'nnspec\[tpe\]'"):
        make_strategy(tpe(), seed=0)


def test_a_tpe_run_leaves_optunas_verbosity_as_it_was(drive) -> None:
    """Optuna's verbosity is global: a TPE run is quiet but puts the caller's level back."""
    import logging

    import optuna
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append            # type: ignore[method-assign]
    logger = logging.getLogger("optuna")
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    logger.addHandler(handler)
    try:
        drive(make_strategy(tpe(5), seed=0, batch_size=2))
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
        assert not [r for r in records if r.levelno == logging.INFO]   # no "Trial 0 finished"
    finally:
        logger.removeHandler(handler)
        optuna.logging.set_verbosity(before)
