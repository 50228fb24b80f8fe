"""Learned embeddings of symbolic inputs (Bengio 2012, sec. 5.3): each embedded CSV text column
is looked up in its own table, and the rows found are concatenated with the numeric inputs to
make the first hidden layer's input.

The network's input x (n, n_numeric + k) holds the numeric features, then k columns of category
codes (`runtime.data.files.category_codes`, renumbered over the training rows by the
preprocessing): code 0 is the reserved "unknown" row (a category training never saw), codes
1..m the m categories training saw. Table j has rows[j] = m_j + 1 rows of dims[j] values; the
output (n, n_numeric + sum(dims)) is [x_numeric | T_0[c_0] | T_1[c_1] | ...].

The tables are views into the network's flat parameter vector, in its weight part (so optimizers,
learning-rate scales, weight penalties, warm starts and saved states treat them as weights), and
their gradient is a scatter-add of the first layer's input gradient into the rows that occur in
the batch (`np.add.at`): the other rows' gradient is 0.

Initialization: rows 1..m ~ N(0, 1/dim), so each embedded vector has expected squared norm 1:
the column enters the first layer with the total variance of one standardized feature, whatever
its dim (the first layer's Glorot range counts every embedded value as a fan-in, as for numeric
inputs). The unknown row 0 is zeros: training never updates it
(no training example has code 0), so an unseen category contributes nothing to the first
layer's pre-activation, the neutral choice, instead of a random direction.
"""
from __future__ import annotations

import math

import numpy as np

AUTO_CAP = 50                  # dim auto never exceeds this


def auto_dim(categories: int) -> int:
    """`dim auto` for a column with `categories` categories seen in training:
    min(50, ceil(1.6 * n^0.56)) (after the rule of thumb of fast.ai's tabular models, fitted
    to the embedding sizes that worked on Kaggle tables; 2 categories -> 3, 5 -> 4, 10 -> 6,
    100 -> 22, 1000 -> 50). Bengio's chapter leaves the size to the search: `dim $d` searches it."""
    return max(1, min(AUTO_CAP, math.ceil(1.6 * max(categories, 1) ** 0.56)))


class Embedding:
    """Tables for the last k input columns: x (n, n_numeric + k) -> (n, n_numeric + sum(dims)).

    `tables[j]` (rows[j], dims[j]) and `grads[j]` are bound by the network (`bind`) to views of
    its flat parameter and gradient vectors.
    """

    kind = "embedding"

    def __init__(self, n_numeric: int, rows: tuple[int, ...], dims: tuple[int, ...],
                 columns: tuple[str, ...] = ()) -> None:
        if len(rows) != len(dims) or not rows:
            raise ValueError(f"an embedding needs one row count and one dim per column; got "
                             f"{len(rows)} and {len(dims)}")
        if min(rows) < 1 or min(dims) < 1 or n_numeric < 0:
            raise ValueError(f"embedding tables need >= 1 rows and dims; got rows {rows}, "
                             f"dims {dims}")
        self.n_numeric, self.rows, self.dims = int(n_numeric), tuple(rows), tuple(dims)
        self.columns = tuple(columns) or tuple(f"column{j}" for j in range(len(rows)))
        self.n_in = self.n_numeric + len(rows)
        self.n_out = self.n_numeric + sum(self.dims)
        self.n_params = sum(r * d for r, d in zip(self.rows, self.dims))
        self.offsets = np.cumsum([self.n_numeric, *self.dims]).tolist()   # output column starts
        self.tables: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []

    def bind(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Use these flat views (n_params values each) as the tables and their gradients."""
        self.tables, self.grads = [], []
        at = 0
        for r, d in zip(self.rows, self.dims):
            self.tables.append(params[at:at + r * d].reshape(r, d))
            self.grads.append(grads[at:at + r * d].reshape(r, d))
            at += r * d

    def initialize(self, rng: np.random.Generator) -> None:
        """Rows 1.. ~ N(0, 1/dim); the unknown row 0 zeros (see the module docstring)."""
        for table, d in zip(self.tables, self.dims):
            table[0] = 0.0
            table[1:] = rng.normal(0.0, 1.0 / math.sqrt(d), size=(table.shape[0] - 1, d))

    def codes(self, x: np.ndarray) -> np.ndarray:
        """The (n, k) integer codes of x's code columns; a code outside a table (a category a
        smaller training set never held, or a stray value) is the unknown row 0."""
        codes = x[:, self.n_numeric:].astype(np.intp)
        limits = np.asarray(self.rows, dtype=np.intp)
        codes[(codes < 0) | (codes >= limits)] = 0
        return codes

    def forward(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out (n, n_out) <- [x_numeric | T_j[codes_j] ...]; returns out."""
        codes = self.codes(x)
        out[:, :self.n_numeric] = x[:, :self.n_numeric]
        for j, table in enumerate(self.tables):
            out[:, self.offsets[j]:self.offsets[j + 1]] = table[codes[:, j]]
        return out

    def backward(self, x: np.ndarray, delta: np.ndarray) -> None:
        """grads[j] <- the sum of delta's block j (n, dims[j]) over the examples of each row:
        dJ/dT_j[r] = sum over i with code r of dJ/dout[i, block j]; rows absent from the batch
        get 0."""
        codes = self.codes(x)
        for j, grad in enumerate(self.grads):
            grad.fill(0.0)
            np.add.at(grad, codes[:, j], delta[:, self.offsets[j]:self.offsets[j + 1]])

    def embed(self, x: np.ndarray) -> np.ndarray:
        """The first layer's input for x (n, n_in), freshly allocated."""
        return self.forward(x, np.empty((len(x), self.n_out), dtype=self.tables[0].dtype))


def embedding_for(columns: tuple[str, ...], dims: tuple[object, ...], X: np.ndarray
                  ) -> Embedding:
    """The embedding of the last len(columns) columns of the training inputs X: each table has
    one row more than its largest training code (the preprocessing numbers the categories
    seen in training 1..m), `dim` an int or anything else for `auto_dim`. ValueError when
    those columns do not hold codes (non-negative whole numbers)."""
    k = len(columns)
    if X.ndim != 2 or X.shape[1] < k:
        raise ValueError(f"embed needs {k} code column(s) after the numeric inputs; the inputs "
                         f"have shape {X.shape}")
    codes = np.asarray(X[:, X.shape[1] - k:], dtype=np.float64)
    if codes.size and (codes.min() < 0 or not np.all(codes == np.round(codes))):
        raise ValueError("embed needs category codes in the last input columns (a CSV data "
                         "file read with the spec's embed columns); these hold other numbers")
    rows = tuple(int(codes[:, j].max(initial=0)) + 1 for j in range(k))
    widths = tuple(d if isinstance(d, int) and not isinstance(d, bool) else auto_dim(r - 1)
                   for d, r in zip(dims, rows))
    return Embedding(X.shape[1] - k, rows, widths, columns)
