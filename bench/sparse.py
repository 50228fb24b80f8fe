"""Sparse inputs (issue 13, section 5.2): run with `python bench/sparse.py [--quick]`.

A generated bag-of-words set (`make_sparse`: 20,000 rows, 100,000 features, about 20 non-zeros
per row; 80% train, 20% valid) trained by one dense ReLU layer of 64 and a softmax, Adam, batch
32, one BLAS thread for every way:

  nnspec sparse   the CSR matrix as it is: sparse x dense products, row-sparse gradients and
                  lazy Adam updates (`runtime.engine`)
  nnspec dense    the same engine on the matrix densified, on the first --dense-rows rows only
                  (all 20,000 rows would be a 8 GB float32 array); its seconds per epoch are
                  scaled to the full training set
  sklearn sparse  scikit-learn's MLPClassifier on the same CSR matrix (it multiplies sparse x
                  dense too, but updates every row of W at every step)

Each way prints seconds per epoch (median of --epochs epochs, the first one skipped when there
are more), the peak of the Python heap during training (tracemalloc: NumPy and SciPy report
their buffers to it; the data set itself is allocated before and not counted) and the validation
accuracy after the epochs, then the ratios against nnspec sparse. The dense (n, d) matrix the
sparse path never allocates is printed for scale.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
import tracemalloc
import warnings
from typing import Any, Callable

import numpy as np

from runtime.data.sparse_text import make_sparse
from runtime.engine.training import fit
from runtime.types import TrainData
from spec_lang.config import Config, DataSpec, Dense, Optimizer, Train

WIDTH, BATCH, LR = 64, 32, 0.003


def engine_config(epochs: int) -> Config:
    """One ReLU layer of WIDTH, Adam at LR, batch BATCH, float32, no early stopping."""
    return Config(network=(Dense(WIDTH, "relu"),),
                  train=Train(epochs=epochs, batch=BATCH, early_stop=None,
                              optimizer=Optimizer("adam", lr=LR)))


def measured(train: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak MB of the Python heap) of one call."""
    tracemalloc.start()
    start = time.perf_counter()
    result = train()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def nnspec_way(data: TrainData, epochs: int) -> dict[str, float]:
    """nnspec's engine on `data` (CSR or dense): s/epoch from its epoch times, peak, accuracy."""
    times: list[float] = []
    last = [time.perf_counter()]

    def progress(*_: Any, **__: Any) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    def train() -> Any:
        last[0] = time.perf_counter()
        return fit(engine_config(epochs), data, 0, progress=progress)

    result, seconds, peak = measured(train)
    accuracy = 1.0 - result.valid_metrics.get("error", float("nan"))
    per_epoch = statistics.median(times[1:] if len(times) > 1 else times) if times \
        else seconds / epochs
    return {"s/epoch": per_epoch, "peak MB": peak, "accuracy": accuracy}


def sklearn_way(data: TrainData, epochs: int) -> dict[str, float]:
    """MLPClassifier on the CSR matrix: one partial_fit per epoch, so each is timed."""
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier((WIDTH,), solver="adam", batch_size=BATCH, learning_rate_init=LR,
                        random_state=0)
    classes = np.unique(data.y_train)
    times: list[float] = []

    def train() -> Any:
        for _ in range(epochs):
            start = time.perf_counter()
            clf.partial_fit(data.X_train, data.y_train, classes=classes)
            times.append(time.perf_counter() - start)
        return clf

    _, _, peak = measured(train)
    per_epoch = statistics.median(times[1:] if len(times) > 1 else times)
    return {"s/epoch": per_epoch, "peak MB": peak,
            "accuracy": float(clf.score(data.X_valid, data.y_valid))}


def main() -> None:
    """Generate the set, run each way with one BLAS thread, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--nonzeros", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dense-rows", type=int, default=2_000,
                        help="rows of the densified run (float32: rows x features x 4 bytes)")
    parser.add_argument("--quick", action="store_true", help="5,000 rows, 2 epochs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.epochs, args.dense_rows = 5_000, 2, 1_000
    spec = DataSpec(source="make_sparse", samples=args.rows, features=args.features, classes=5,
                    nonzeros=args.nonzeros)
    X, y = make_sparse(spec)
    cut = int(0.8 * args.rows)
    data = TrainData(X[:cut], y[:cut], X[cut:], y[cut:], "classification", 5)
    print(f"make_sparse: {args.rows} rows x {args.features} features, "
          f"{X.nnz / args.rows:.1f} non-zeros per row on average; {cut} training rows. A dense "
          f"float32 copy of the training rows would take {cut * args.features * 4 / 2**30:.1f} "
          f"GB; the CSR matrix takes {(X.data.nbytes + X.indices.nbytes) / 2**20:.1f} MB.")
    from threadpoolctl import threadpool_limits
    rows: dict[str, dict[str, float]] = {}
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # sklearn: not converged after 1 iter
        rows["nnspec sparse"] = nnspec_way(data, args.epochs)
        n_dense = min(args.dense_rows, cut)
        dense = dataclasses.replace(
            data, X_train=data.X_train[:n_dense].toarray().astype(np.float32),
            y_train=data.y_train[:n_dense], X_valid=data.X_valid[:n_dense].toarray(),
            y_valid=data.y_valid[:n_dense])
        way = nnspec_way(dense, args.epochs)
        way["s/epoch"] *= cut / n_dense                 # scaled to the full training set
        rows["nnspec dense*"] = way
        rows["sklearn sparse"] = sklearn_way(data, args.epochs)
    base = rows["nnspec sparse"]["s/epoch"]
    print(f"\n{'way':<16} {'s/epoch':>9} {'x nnspec':>9} {'peak MB':>9} {'valid acc':>10}")
    for name, r in rows.items():
        print(f"{name:<16} {r['s/epoch']:>9.2f} {r['s/epoch'] / base:>9.1f} "
              f"{r['peak MB']:>9.1f} {r['accuracy']:>10.3f}")
    print(f"* trained on {n_dense} rows densified ({n_dense * args.features * 4 / 2**20:.0f} MB "
          f"float32, its peak includes the copy the engine makes); s/epoch scaled to {cut} rows, "
          f"its accuracy from {n_dense} training rows")


if __name__ == "__main__":
    main()
