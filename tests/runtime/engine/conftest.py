"""What the engine tests share: central differences over every entry of a parameter vector."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

Differences = Callable[[np.ndarray, Callable[[], float], float], np.ndarray]


def _central_differences(params: np.ndarray, criterion: Callable[[], float],
                         h: float) -> np.ndarray:
    """(J(w + h e_i) - J(w - h e_i)) / 2h for every entry i of `params` (moved in place and put
    back), J being `criterion()` at the current parameters."""
    numeric = np.empty_like(params)
    for i in range(params.size):
        saved = params[i]
        params[i] = saved + h
        up = criterion()
        params[i] = saved - h
        numeric[i] = (up - criterion()) / (2 * h)
        params[i] = saved
    return numeric


@pytest.fixture
def central_differences() -> Differences:
    """`_central_differences`, for tests that check a whole gradient vector entry by entry."""
    return _central_differences
