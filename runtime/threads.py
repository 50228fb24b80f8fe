"""Training on one BLAS thread. A trial's matrices (batches of 32 through layers of a few
hundred units) are too small for BLAS threads to pay: on two idle cores a lone trial trains
1.1 to 1.5 times faster on one thread than on OpenBLAS's two, parallel trials never
oversubscribe the cores, and the bytes a fit gives do not depend on where it ran."""
from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from typing import Any


@functools.lru_cache(maxsize=1)
def thread_pools() -> Any:
    """This process's BLAS and OpenMP thread pools, looked up once: a lookup scans the loaded
    libraries (about 2 ms, 7% of a one-epoch trial). Imports the engine's numerical libraries
    first, so that the pools they load are among those found."""
    from threadpoolctl import ThreadpoolController

    import runtime.data.preprocess  # noqa: F401  (NumPy, scikit-learn's preprocessing)
    import runtime.engine.training  # noqa: F401
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """A context in which this process's BLAS and OpenMP pools use one thread (restored after)."""
    return thread_pools().limit(limits=1)
