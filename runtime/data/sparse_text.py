"""`make_sparse`: a generated bag-of-words classification set, CSR from the start.

Text and click data are what section 5.2 of the chapter has in mind: a vocabulary of 10^5 or
more features and a few dozen non-zeros per example. Each class owns a random slice of the
vocabulary with Zipf-distributed word frequencies; an example of class c draws about
`nonzeros` words, a fifth from its class's slice and the rest from a Zipf background over the
whole vocabulary (shared by all classes), each with a count of 1 to 3 (repeated words add up). A
fraction `noise` of the labels is then replaced by random classes (like make_classification's
flip_y). Everything is drawn from one seeded generator: the same DataSpec gives the same matrix.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from runtime.sparse import as_csr
from spec_lang.config import DataSpec

ZIPF_EXPONENT = 1.1        # word frequencies fall as rank^-1.1, as in natural text


def make_sparse(spec: DataSpec) -> tuple[Any, np.ndarray]:
    """(X, y): X a (samples, features) CSR float64 matrix of word counts, y in 0..classes-1."""
    import scipy.sparse as sp
    n, d, k, per_row = spec.samples, spec.features, spec.classes, spec.nonzeros
    if per_row > d:
        raise ValueError(f"nonzeros ({per_row}) must be at most features ({d})")
    rng = np.random.default_rng(spec.seed)
    own = max(1, per_row // 5)                         # words from the class's own slice
    slice_size = max(own, d // k)
    # the vocabulary first: more samples of the same seed are more examples of the same classes
    slices = np.stack([rng.choice(d, size=slice_size, replace=False) for _ in range(k)])
    background_order = rng.permutation(d)
    y = rng.integers(0, k, size=n)
    class_words = slices[y[:, None], _zipf(rng, slice_size, (n, own))]
    background = background_order[_zipf(rng, d, (n, per_row - own))]
    cols = np.concatenate([class_words, background], axis=1).reshape(-1)
    rows = np.repeat(np.arange(n), per_row)
    counts = rng.integers(1, 4, size=n * per_row).astype(np.float64)
    X = as_csr(sp.coo_matrix((counts, (rows, cols)), shape=(n, d)))    # repeats add up
    flip = rng.random(n) < spec.noise
    y[flip] = rng.integers(0, k, size=int(flip.sum()))
    return X, y


def _zipf(rng: np.random.Generator, size: int, shape: tuple[int, int]) -> np.ndarray:
    """Ranks in 0..size-1 drawn with probability proportional to (rank + 1)^-ZIPF_EXPONENT."""
    weights = np.arange(1, size + 1, dtype=np.float64) ** -ZIPF_EXPONENT
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(shape)), size - 1)
