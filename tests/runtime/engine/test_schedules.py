"""Learning-rate schedules: values at chosen update counts recomputed by hand."""
import math

import pytest

from runtime.engine.schedules import make_schedule
from spec_lang.config import Schedule

LR0 = 0.1


def lr(spec: Schedule, ts: list[int], per_epoch: int = 10, total: int = 100) -> list[float]:
    lr_at = make_schedule(spec, LR0, per_epoch, total)
    return [lr_at(t) for t in ts]


def test_constant() -> None:
    assert lr(Schedule("constant"), [0, 7, 10_000]) == [LR0] * 3


def test_one_over_t() -> None:
    # lr0 tau / max(t, tau), tau = 100
    got = lr(Schedule("one_over_t", tau=100), [0, 50, 100, 200, 400])
    assert got == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.025])


def test_one_over_t_auto_tau_is_auto_epochs_of_updates() -> None:
    # tau = 2 epochs x 50 updates = 100
    got = lr(Schedule("one_over_t", auto_epochs=2), [99, 100, 200], per_epoch=50)
    assert got == pytest.approx([0.1, 0.1, 0.05])


def test_exponential() -> None:
    # lr0 gamma^(t / every), gamma .5, every 10
    got = lr(Schedule("exponential", gamma=0.5, every=10), [0, 5, 20])
    assert got == pytest.approx([0.1, 0.1 * math.sqrt(0.5), 0.025])


def test_step() -> None:
    got = lr(Schedule("step", gamma=0.5, every=10), [0, 9, 10, 25])
    assert got == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_step_auto_every() -> None:
    # every = 3 epochs x 10 updates = 30
    got = lr(Schedule("step", gamma=0.1, auto_epochs=3), [29, 30])
    assert got == pytest.approx([0.1, 0.01])


def test_cosine() -> None:
    # min_lr + (lr0 - min_lr) (1 + cos(pi t / T)) / 2, T = 100, min_lr = .01
    got = lr(Schedule("cosine", min_lr=0.01), [0, 25, 50, 100, 150])
    assert got == pytest.approx([0.1, 0.01 + 0.09 * (1 + math.sqrt(0.5)) / 2, 0.055, 0.01, 0.01])


def test_warmup_ramps_linearly_then_hands_over() -> None:
    # t < 4: lr0 (t + 1) / 5; then constant
    got = lr(Schedule("constant", warmup=4), [0, 1, 3, 4, 50])
    assert got == pytest.approx([0.02, 0.04, 0.08, 0.1, 0.1])
    # one_over_t (tau 10) starts its clock after the warm-up: t = 24 is s = 20
    got = lr(Schedule("one_over_t", tau=10, warmup=4), [2, 4, 24])
    assert got == pytest.approx([0.06, 0.1, 0.05])


def test_cosine_after_warmup_spans_the_remaining_updates() -> None:
    # T = 110 - 10 = 100 updates after the warm-up
    got = lr(Schedule("cosine", warmup=10), [10, 60, 110], total=110)
    assert got == pytest.approx([0.1, 0.05, 0.0])


def test_unknown_schedule() -> None:
    with pytest.raises(ValueError, match="cosine"):
        make_schedule(Schedule("linear"), LR0, 10, 100)
