"""Hyperband: brackets of successive halving (Li et al. 2018, algorithm 1)."""
from __future__ import annotations

import math

import pytest

from runtime.search import make_strategy
from runtime.search.hyperband import plan
from spec_lang.config import Dim, Search

DIMS = (Dim("lr", "prior", low=1e-4, high=1e-1, prior="log_uniform"),)


def test_bracket_sizes_are_the_papers_table() -> None:
    """R = 81, eta = 3: the table of section 3.3 of the paper (n_i and r_i per bracket)."""
    brackets = plan(3.0, 1 / 81)
    assert [b.s for b in brackets] == [4, 3, 2, 1, 0]
    assert [b.sizes for b in brackets] == [(81, 27, 9, 3, 1), (34, 11, 3, 1), (15, 5, 1),
                                           (8, 2), (5,)]
    resources = [[round(f * 81) for f in b.fidelities] for b in brackets]
    assert resources == [[1, 3, 9, 27, 81], [3, 9, 27, 81], [9, 27, 81], [27, 81], [81]]


def test_default_is_four_brackets_down_to_eta_cubed() -> None:
    brackets = plan(3.0, None)
    assert [b.sizes[0] for b in brackets] == [27, 12, 6, 4]
    assert brackets[0].fidelities[0] == pytest.approx(1 / 27)


def loss(cand) -> float:
    return abs(math.log10(cand.params["lr"]) + 2)


def test_each_bracket_halves_its_rung_and_promotes_the_best() -> None:
    strategy = make_strategy(Search("hyperband", dims=DIMS, eta=3.0, min_fidelity=1 / 9),
                             seed=1)
    first = strategy.ask()
    # brackets s = 2, 1, 0 start together: 9 at 1/9, 5 at 1/3, 3 at full fidelity
    by_fid = sorted({round(c.fidelity, 6) for c in first})
    assert by_fid == [round(1 / 9, 6), round(1 / 3, 6), 1.0]
    assert [sum(1 for c in first if c.fidelity == pytest.approx(f)) for f in (1 / 9, 1 / 3, 1)] \
        == [9, 5, 3]
    bottom = [c for c in first if c.fidelity == pytest.approx(1 / 9)]
    strategy.tell([(c, loss(c)) for c in bottom[:-1]])
    assert strategy.ask() == []                          # the rung waits for its last result
    strategy.tell([(bottom[-1], loss(bottom[-1]))])
    promoted = strategy.ask()
    assert sorted(c.params["lr"] for c in promoted) == \
        sorted(c.params["lr"] for c in sorted(bottom, key=loss)[:3])
    assert all(c.fidelity == pytest.approx(1 / 3) for c in promoted)
