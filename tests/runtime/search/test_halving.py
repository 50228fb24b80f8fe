"""Successive halving."""
from __future__ import annotations

import math

import pytest

from runtime.search import make_strategy
from runtime.search.halving import fidelities, rung_count
from spec_lang.config import Dim, Search

DIMS = (Dim("lr", "prior", low=1e-4, high=1e-1, prior="log_uniform"),
        Dim("width", "prior", low=16, high=512, prior="int_log_uniform"))


def noisy_at_low_fidelity(fidelity: float):
    """Lower fidelity adds a config-dependent bias that vanishes at 1.0."""
    def f(p: dict) -> float:
        return (math.log10(p["lr"]) + 2) ** 2 + (1 - fidelity) * 0.01 * math.log(p["width"])
    return f


def drive_fid(strategy) -> list[list]:
    out = []
    while batch := strategy.ask():
        results = [(c, noisy_at_low_fidelity(c.fidelity)(c.params)) for c in batch]
        strategy.tell(results)
        out.append(results)
    return out


@pytest.mark.parametrize("n,eta,rungs", [(27, 3, 4), (26, 3, 3), (1, 3, 1), (81, 3, 5),
                                         (16, 2, 5), (20, 3, 3)])
def test_rung_count(n: int, eta: float, rungs: int) -> None:
    assert rung_count(n, eta) == rungs


def test_default_fidelities_grow_by_eta() -> None:
    assert fidelities(4, 3.0, None) == pytest.approx([1 / 27, 1 / 9, 1 / 3, 1.0])
    assert fidelities(3, 3.0, 0.01) == pytest.approx([0.01, 0.1, 1.0])
    assert fidelities(1, 3.0, None) == [1.0]


def test_rungs_shrink_by_eta_and_end_at_full_fidelity() -> None:
    batches = drive_fid(make_strategy(Search("halving", dims=DIMS), seed=0))
    assert [len(b) for b in batches] == [27, 9, 3, 1]
    assert [b[0][0].step for b in batches] == ["rung 0", "rung 1", "rung 2", "rung 3"]
    assert [b[0][0].fidelity for b in batches] == pytest.approx([1 / 27, 1 / 9, 1 / 3, 1.0])
    assert all(len({c.fidelity for c, _ in b}) == 1 for b in batches)


def test_promotes_the_best_of_each_rung() -> None:
    batches = drive_fid(make_strategy(Search("halving", trials=30, dims=DIMS), seed=1))
    assert [len(b) for b in batches] == [30, 10, 4, 2]
    for lower, upper in zip(batches, batches[1:]):
        top = sorted(lower, key=lambda r: r[1])[:len(upper)]
        assert sorted(repr(c.params) for c, _ in top) == sorted(repr(c.params) for c, _ in upper)
    assert min(abs(math.log10(c.params["lr"]) + 2) for c, _ in batches[-1]) < 0.3


def test_failures_are_not_promoted() -> None:
    strategy = make_strategy(Search("halving", trials=9, dims=DIMS), seed=0)
    first = strategy.ask()
    strategy.tell([(c, None if i < 8 else 1.0) for i, c in enumerate(first)])
    second = strategy.ask()
    assert [c.params for c in second] == [first[8].params]
    strategy.tell([(second[0], None)])
    assert strategy.ask() == []


def test_deterministic() -> None:
    def keys(seed: int) -> list:
        return [c.key() for b in drive_fid(make_strategy(Search("halving", dims=DIMS), seed=seed))
                for c, _ in b]
    assert keys(4) == keys(4) and keys(4) != keys(5)


def test_min_fidelity_option() -> None:
    search = Search("halving", trials=9, dims=DIMS, min_fidelity=0.25, eta=3)
    batches = drive_fid(make_strategy(search, seed=0))
    assert [b[0][0].fidelity for b in batches] == pytest.approx([0.25, 0.5, 1.0])
