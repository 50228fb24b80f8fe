"""Asynchronous successive halving: promotions as results arrive (Li et al. 2020, alg. 2)."""
from __future__ import annotations

import math

import pytest

from runtime.search import make_strategy
from spec_lang.config import Dim, Search

DIMS = (Dim("lr", "prior", low=1e-4, high=1e-1, prior="log_uniform"),)


def asha(n: int = 9, eta: float = 3.0, **kw) -> object:
    return make_strategy(Search("asha", trials=n, dims=DIMS, eta=eta, **kw), seed=0)


def loss(cand) -> float:
    return abs(math.log10(cand.params["lr"]) + 2)        # best lr: 1e-2


def test_a_promotion_is_given_while_other_results_are_still_running() -> None:
    strategy = asha(9)
    running = [strategy.ask()[0] for _ in range(4)]     # four workers busy at rung 0
    assert [c.fidelity for c in running] == pytest.approx([1 / 9] * 4)
    strategy.tell([(c, loss(c)) for c in running[:3]])  # three finish; the fourth is slow
    promoted = strategy.ask()[0]
    best = min(running[:3], key=loss)
    assert promoted.params == best.params and promoted.fidelity == pytest.approx(1 / 3)
    assert promoted.step == "rung 1"
    # nothing else of rung 0 is promotable yet (floor(3 / 3) = 1 was): a new draw comes next
    assert strategy.ask()[0].fidelity == pytest.approx(1 / 9)


def test_only_the_top_fraction_is_promoted_and_failures_never() -> None:
    strategy = asha(9)
    first = [strategy.ask()[0] for _ in range(3)]
    strategy.tell([(first[0], None), (first[1], None), (first[2], None)])
    nxt = strategy.ask()[0]
    assert nxt.fidelity == pytest.approx(1 / 9)          # failures are never promoted


def drive(strategy) -> list:
    """Asked one at a time and told at once (one worker)."""
    told = []
    while batch := strategy.ask():
        strategy.tell([(c, loss(c)) for c in batch])
        told += batch
    return told


def test_a_whole_run_draws_n_configurations_and_reaches_full_fidelity() -> None:
    told = drive(asha(27))
    first_rung = [c for c in told if c.fidelity == pytest.approx(1 / 27)]
    assert len(first_rung) == 27
    full = [c for c in told if c.fidelity == 1.0]
    assert full, "the top rung is reached"
    # every promoted configuration was among the best third of its rung when promoted
    assert len({tuple(c.params.items()) for c in full}) == len(full)


def test_same_seed_same_order_of_decisions() -> None:
    assert [(c.params, c.fidelity) for c in drive(asha(12))] == \
        [(c.params, c.fidelity) for c in drive(asha(12))]


def test_asha_is_asynchronous_and_checks_eta() -> None:
    assert asha().asynchronous
    with pytest.raises(ValueError, match="eta must be > 1"):
        make_strategy(Search("asha", trials=9, dims=DIMS, eta=1.0), seed=0)


def test_the_best_is_trained_fully_even_when_too_few_results_fill_the_top_rung() -> None:
    """Seven of nine first-rung trials fail: rung 1 gets two results, floor(2/3) = 0 would
    promote none; at the end the best of rung 1 is promoted anyway (and only once)."""
    strategy = asha(9)
    told, failing = [], set()
    while batch := strategy.ask():
        for cand in batch:
            if cand.fidelity < 0.2 and len(failing) < 7:
                failing.add(tuple(cand.params.items()))
            bad = tuple(cand.params.items()) in failing
            strategy.tell([(cand, None if bad else loss(cand))])
            told.append(cand)
    full = [c for c in told if c.fidelity == 1.0]
    second = [c for c in told if c.fidelity == pytest.approx(1 / 3)]
    assert len(second) == 2 and len(full) == 1
    assert full[0].params == min(second, key=loss).params


def test_a_space_smaller_than_n_counts_its_rungs_from_its_size() -> None:
    small = make_strategy(Search("asha", trials=27, eta=3.0,
                                 dims=(Dim("lr", "choice", values=(0.1, 0.01)),)), seed=0)
    assert small.fidelities == [1.0]                    # 2 configurations: one rung, full


def test_rungs_come_from_the_fidelity_range_not_from_n() -> None:
    """The paper's rungs r eta^k up to R: a larger search feeds the lowest rung, it does not
    deepen the ladder (90 configurations once gave 5 rungs of 1/81 .. 1, two of them within an
    epoch of each other at 30 epochs)."""
    assert asha(90).fidelities == pytest.approx([1 / 27, 1 / 9, 1 / 3, 1.0])
    assert asha(1000).fidelities == pytest.approx([1 / 27, 1 / 9, 1 / 3, 1.0])
    assert asha(10).fidelities == pytest.approx([1 / 9, 1 / 3, 1.0])    # 10 fill 3 rungs
    # an explicit min_fidelity is the lowest rung; a rung within half a step of full
    # training (0.9 > 3^-1/2) is merged into it: 1, 3, 9, 30 epochs of 30, not 27 and 30
    assert asha(90, min_fidelity=1 / 30).fidelities == pytest.approx([1 / 30, 0.1, 0.3, 1.0])
    assert asha(10, min_fidelity=1 / 81).fidelities == \
        pytest.approx([1 / 81, 1 / 27, 1 / 9, 1 / 3, 1.0])          # honoured, even for n = 10
    assert asha(90, eta=2.0, min_fidelity=0.8).fidelities == [1.0]   # 0.8 > 2^-1/2
    for eta in (1.000000001, 1.0000000001):       # every rung below 1.0, and one at 1.0
        ladder = asha(9, eta=eta).fidelities
        assert all(f < 1.0 for f in ladder[:-1]) and ladder[-1] == 1.0 and len(ladder) == 4


def test_rung_zero_fills_before_a_configuration_reaches_the_top() -> None:
    """With 4 rungs the first full-fidelity trial is asked after at most eta^3 = 27 first-rung
    results (fewer: a configuration that enters a rung's best third is promoted too), not after
    about 81 as with the 5 rungs 90 configurations used to get. One worker, told at once."""
    told = drive(asha(90))
    first_full = next(i for i, c in enumerate(told) if c.fidelity == 1.0)
    assert 9 < sum(c.fidelity < 0.05 for c in told[:first_full]) <= 27


def test_a_rung_kept_sorted_promotes_what_sorting_it_every_time_would() -> None:
    """Rungs keeps its results sorted as they arrive (an ask is O(log n), not a sort); at every
    step it must name the configuration the definition names: the best not yet promoted and
    not failed among the top floor(n / eta), ties to the earliest."""
    import random

    from runtime.search.asha import Rungs
    from runtime.search.space import Candidate, score_key

    draw = random.Random(3)
    rungs, told, promoted = Rungs(1), [], set()
    for i in range(300):
        cand = Candidate({"lr": draw.choice(range(60))}, 1 / 3, "rung 0")   # repeats happen
        score = None if draw.random() < 0.1 else draw.choice([0.1, 0.2, 0.3, 0.4, 0.5])
        rungs.record(0, (cand, score))
        told.append((cand, score))
        top = len(told) // 3
        ranked = sorted(range(len(told)), key=lambda j: (score_key(told[j][1]), j))[:top]
        want = next((told[j][0] for j in ranked if told[j][1] is not None
                     and told[j][0].params["lr"] not in promoted), None)
        got = rungs.promotable(0, 3.0)
        assert got == want, i
        if got is not None and draw.random() < 0.7:
            rungs.promote(0, got)
            promoted.add(got.params["lr"])
