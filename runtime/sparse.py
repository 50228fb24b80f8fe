"""Sparse feature matrices: what every layer needs to tell them apart and keep them CSR.

Text and click data have 10^5-10^6 features with a few hundred non-zeros per example, so a dense
(n, d) copy may not fit. A `scipy.sparse` matrix given to nnspec (an svmlight file, an `.npz`
written by `scipy.sparse.save_npz`, or a matrix handed to the Python API or an estimator) stays
CSR from loading through preprocessing to the first dense layer, which computes the sparse x
dense product and a gradient on the rows of W whose features occur in the batch
(`runtime.engine.layers`). The check is by type name, so importing this module (and calling
`is_sparse` on dense arrays) never imports SciPy.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def is_sparse(X: Any) -> bool:
    """Whether X is a `scipy.sparse` matrix or array (of any format)."""
    return type(X).__module__.startswith("scipy.sparse")


def as_csr(X: Any, dtype: npt.DTypeLike = np.float64) -> Any:
    """X as a canonical CSR matrix of `dtype` (sorted indices, duplicates summed, int32 indices
    where they fit; shares X's arrays when it already is one)."""
    import scipy.sparse as sp
    csr = sp.csr_matrix(X, dtype=np.dtype(dtype))
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()                  # also sorts the indices
    return csr


def finite_values(X: Any) -> np.ndarray:
    """The stored values of a sparse X (its implicit zeros are finite), or dense X itself."""
    return as_csr(X).data if is_sparse(X) else np.asarray(X)


def column_stats(X: Any, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and variance of a sparse X (n, d) in float64, the implicit zeros counted
    (with row `weights` (n,), the weighted mean and variance: as repeated rows would give)."""
    csr = as_csr(X)
    w = np.ones(csr.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    row_w = np.repeat(w, np.diff(csr.indptr))          # each stored value's row weight
    d = csr.shape[1]
    mean = np.bincount(csr.indices, row_w * csr.data, minlength=d) / total
    second = np.bincount(csr.indices, row_w * csr.data**2, minlength=d) / total
    return mean, np.maximum(second - mean**2, 0.0)
