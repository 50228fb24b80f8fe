"""Shared pieces of the search tests: a tiny ask/evaluate/tell driver and a synthetic objective."""
from __future__ import annotations

import math
from typing import Any, Callable

import pytest

from runtime.search import Candidate, Strategy

Objective = Callable[[dict[str, Any]], "float | None"]


def bowl(params: dict[str, Any]) -> float:
    """Known optimum: lr = 1e-2, width = 128, act = relu, momentum = 0.9."""
    score = (math.log10(params["lr"]) + 2) ** 2 if "lr" in params else 0.0
    score += (params.get("width", 128) - 128) ** 2 / 1e4
    score += 0.0 if params.get("act", "relu") == "relu" else 0.5
    return score + (params.get("momentum", 0.9) - 0.9) ** 2


def run_batches(strategy: Strategy, objective: Objective = bowl,
                limit: int = 10_000) -> list[list[tuple[Candidate, float | None]]]:
    """Drive a strategy to the end; the told results, batch by batch."""
    out = []
    while batch := strategy.ask():
        results = [(c, objective(c.params)) for c in batch]
        strategy.tell(results)
        out.append(results)
        assert sum(map(len, out)) <= limit, "strategy does not stop"
    return out


def run(strategy: Strategy, objective: Objective = bowl) -> list[tuple[Candidate, float | None]]:
    """Drive a strategy to the end; all told results in order."""
    return [r for batch in run_batches(strategy, objective) for r in batch]


def best(history: list[tuple[Candidate, float | None]]) -> Candidate:
    """The lowest-scoring candidate (failures excluded)."""
    return min((r for r in history if r[1] is not None), key=lambda r: r[1])[0]


@pytest.fixture
def drive() -> Callable[..., list]:
    return run


@pytest.fixture
def drive_batches() -> Callable[..., list]:
    return run_batches


@pytest.fixture
def best_of() -> Callable[..., Candidate]:
    return best


@pytest.fixture
def objective() -> Objective:
    return bowl
