"""The `prune` and `budget` statements and the asha / hyperband strategies in the language:
what they build, and one clear error (with its position) for each mistake."""
from __future__ import annotations

import pytest

import spec_lang
from spec_lang.errors import SpecError

BASE = """data iris
search random 10
    lr ~ log_uniform 1e-3 .. 1
train
    sgd lr $lr
"""


def errors(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        spec_lang.loads(text)
    return [line for line in str(caught.value).splitlines() if "error:" in line]


@pytest.mark.parametrize("line,rule,percentile,warmup,startup,eta", [
    ("prune median", "median", 50.0, 5, 5, None),
    ("prune percentile 25 warmup 3 startup 8", "percentile", 25.0, 3, 8, None),
    ("prune halving", "halving", 100 / 3, 0, 3, 3.0),
    ("prune halving eta 4 warmup 2 startup 6", "halving", 25.0, 2, 6, 4.0),
    ("prune halving eta 2.5", "halving", 40.0, 0, 3, 2.5)])
def test_prune_builds_its_rule(line, rule, percentile, warmup, startup, eta) -> None:
    prune = spec_lang.loads(BASE + line + "\n").search.prune
    assert (prune.rule, prune.warmup, prune.startup, prune.eta) == (rule, warmup, startup, eta)
    assert prune.percentile == pytest.approx(percentile)


@pytest.mark.parametrize("line,seconds,epochs", [
    ("budget 10 minutes", 600.0, None), ("budget 2 hours epochs 50", 7200.0, 50),
    ("budget epochs 5000", None, 5000), ("budget 90 seconds", 90.0, None)])
def test_budget_builds_its_limits(line, seconds, epochs) -> None:
    budget = spec_lang.loads(BASE + line + "\n").search.budget
    assert (budget.seconds, budget.epochs) == (seconds, epochs)


@pytest.mark.parametrize("line,message", [
    ("prune percentile", "expected the share of trials kept"),
    ("prune percentile warmup 3", "expected the share of trials kept"),   # was 50 % silently
    ("prune percentile 150", "must be in (0, 100); got 150"),
    ("prune median 30", "a median keeps the better half"),
    ("prune halving 30", "halving keeps the best 1/eta at each rung"),
    ("prune median eta 2", "`prune median` takes none"),
    ("prune percentile 20 eta 2", "`prune percentile` takes none"),
    ("prune halving eta 1", "must be > 1; got 1"),
    ("prune mediam", "unknown rule 'mediam'"),
    ("budget 10", "expected a unit after the budget's amount"),
    ("budget 10 epochs 5", "expected a unit after the budget's amount"),
    ("budget 0 minutes", "must be > 0; got 0"),
    ("budget 5 days", "unknown unit 'days'"),
    ("budget", "expected what the budget allows"),
    ("budget epochs 0", "must be in [1, ")])
def test_each_mistake_is_one_error_at_its_line(line, message) -> None:
    found = errors(BASE + line + "\n")
    assert len(found) == 1 and message in found[0] and found[0].startswith("<string>:6:"), found


@pytest.mark.parametrize("statement", ["prune median", "budget 10 minutes"])
def test_prune_and_budget_need_a_search(statement) -> None:
    found = errors(f"data iris\n{statement}\n")
    assert len(found) == 1 and "there is no search" in found[0]


@pytest.mark.parametrize("search,message", [
    ("asha 9 eta 1", "eta"), ("hyperband 9", "takes no number of trials"),
    ("asha 9 min_fidelity 2", "min_fidelity"), ("asha 9 shuffle", "applies to grid")])
def test_asha_and_hyperband_options_are_checked(search, message) -> None:
    found = errors(BASE.replace("random 10", search))
    assert len(found) == 1 and message in found[0], found


def test_asynchronous_searches_are_marked() -> None:
    assert spec_lang.loads(BASE.replace("random 10", "asha 9")).search.asynchronous
    assert spec_lang.loads(BASE + "prune median\n").search.asynchronous
    assert not spec_lang.loads(BASE).search.asynchronous


def test_a_halving_rule_made_in_python_keeps_one_share_derived_from_eta() -> None:
    """Prune("halving") built without the spec (a library user) has eta 3 and keeps the best
    third, as the spec's default does; its percentile always follows its eta."""
    from spec_lang.config import Prune
    assert (Prune("halving").eta, Prune("halving").percentile) == (3.0, pytest.approx(100 / 3))
    assert Prune("halving", percentile=50.0, eta=4.0).percentile == 25.0
    assert Prune("median").eta is None
    spec = spec_lang.loads(BASE + "prune halving eta 4\n").search.prune
    assert spec == Prune("halving", warmup=0, startup=4, eta=4.0)
