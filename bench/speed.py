"""Seconds per epoch: nnspec vs scikit-learn's MLPClassifier vs PyTorch CPU eager (if installed).

The same work for every library: make_classification(20000, 256 features, 10 classes),
standardized, float32; a 256-256-10 ReLU network; SGD with classical momentum 0.9, lr 0.01, no
regularization, no early stopping, shuffling every epoch; batches of 32, 128 and 512; one and two
BLAS threads (threadpoolctl; torch.set_num_threads). Runs are interleaved (rounds x threads x batch
x library, library order rotating) and the median over rounds is reported. "blas" times only the
matrix products of one epoch (forward and backward GEMMs, same shapes): the floor any NumPy/BLAS
engine can reach.

    python bench/speed.py            # full run (a few minutes)
    python bench/speed.py --quick    # smoke run

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in the environment can force a slower OpenBLAS kernel; the
kernel in use is printed (threadpoolctl's "architecture"). The last line is always
`speedup vs sklearn at batch 32: X.XX` (one BLAS thread).
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings
from typing import Callable

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from runtime.engine.training import fit
from runtime.types import TrainData
from spec_lang.config import Config, Dense, Optimizer, Schedule, Train

try:
    import torch
except ImportError:                                    # the bench works without torch
    torch = None

HIDDEN, CLASSES, LR, MOMENTUM = 256, 10, 0.01, 0.9
Runner = Callable[[np.ndarray, np.ndarray, int, int], float]


def make_data(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardized float32 features (n, d) and int64 labels (n,)."""
    X, y = make_classification(n, n_features=d, n_informative=d // 4, n_redundant=d // 8,
                               n_classes=CLASSES, random_state=0)
    return StandardScaler().fit_transform(X).astype(np.float32), y.astype(np.int64)


def run_nnspec(X: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> float:
    """Seconds for runtime.engine.training.fit (setup included), no validation set."""
    train = Train(optimizer=Optimizer("sgd", lr=LR, momentum=MOMENTUM),
                  schedule=Schedule("constant"), batch=batch, epochs=epochs, early_stop=None)
    config = Config(network=(Dense(HIDDEN, "relu"),), train=train)
    data = TrainData(X, y, X[:0], y[:0], "classification", CLASSES)
    start = time.perf_counter()
    fit(config, data, seed=0)
    return time.perf_counter() - start


def run_sklearn(X: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> float:
    """Seconds for MLPClassifier.fit with the same settings."""
    model = MLPClassifier((HIDDEN,), activation="relu", solver="sgd", alpha=0.0, batch_size=batch,
                          learning_rate="constant", learning_rate_init=LR, momentum=MOMENTUM,
                          nesterovs_momentum=False, max_iter=epochs, shuffle=True, tol=0.0,
                          n_iter_no_change=10**9, early_stopping=False, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def run_torch(X: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> float:
    """Seconds for a plain eager PyTorch loop: nn.Sequential + SGD(momentum) + cross-entropy."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, CLASSES))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        for i in range(0, len(Xt), batch):
            idx = order[i:i + batch]
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def run_blas(X: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> float:
    """Seconds for the GEMMs alone: per batch x W1, h W2, h^T d2, d2 W2^T, x^T d1."""
    d, n = X.shape[1], len(X)
    W1, W2 = np.ones((d, HIDDEN), np.float32), np.ones((HIDDEN, CLASSES), np.float32)
    g1, g2 = np.empty_like(W1), np.empty_like(W2)
    h, z = np.empty((batch, HIDDEN), np.float32), np.empty((batch, CLASSES), np.float32)
    dh = np.empty_like(h)
    start = time.perf_counter()
    for _ in range(epochs):
        for i in range(0, n, batch):
            m = min(batch, n - i)
            x, hv, zv, dv = X[i:i + m], h[:m], z[:m], dh[:m]
            np.dot(x, W1, out=hv)
            np.dot(hv, W2, out=zv)
            np.dot(hv.T, zv, out=g2)
            np.dot(zv, W2.T, out=dv)
            np.dot(x.T, dv, out=g1)
    return time.perf_counter() - start


def limited(threads: int) -> threadpool_limits:
    """BLAS/OpenMP limited to `threads` (torch too, if present)."""
    if torch is not None:
        torch.set_num_threads(threads)
    return threadpool_limits(limits=threads)


def measure(runners: dict[str, Runner], X: np.ndarray, y: np.ndarray, batches: list[int],
            threads: list[int], epochs: int, rounds: int) -> dict[tuple, list[float]]:
    """Interleaved timings: seconds per epoch per (library, threads, batch), one per round."""
    times: dict[tuple, list[float]] = {}
    names = list(runners)
    for r in range(rounds):
        for t in threads:
            with limited(t):
                for b in batches:
                    for name in names[r % len(names):] + names[:r % len(names)]:
                        seconds = runners[name](X, y, b, epochs) / epochs
                        times.setdefault((name, t, b), []).append(seconds)
    return times


def report(times: dict[tuple, list[float]], batches: list[int], threads: list[int]) -> float:
    """Print the table of medians and ratios; return the 1-thread batch-32 sklearn speedup."""
    med = {key: statistics.median(v) for key, v in times.items()}
    libs = sorted({k[0] for k in med}, key=["nnspec", "sklearn", "torch", "blas"].index)
    print(f"{'threads':>7} {'batch':>5} " + " ".join(f"{lib + ' s/ep':>13}" for lib in libs)
          + f" {'sklearn/nn':>10} {'torch/nn':>9} {'nn/blas':>8}")
    for t in threads:
        for b in batches:
            nn = med[("nnspec", t, b)]
            cells = " ".join(f"{med[(lib, t, b)]:13.4f}" for lib in libs)
            ratio = lambda lib: (f"{med[(lib, t, b)] / nn:.2f}"   # noqa: E731
                                 if (lib, t, b) in med else "-")
            print(f"{t:>7} {b:>5} {cells} {ratio('sklearn'):>10} {ratio('torch'):>9} "
                  f"{nn / med[('blas', t, b)]:8.2f}")
    key = 32 if 32 in batches else batches[0]
    one = threads[0]
    return med[("sklearn", one, key)] / med[("nnspec", one, key)]


def main() -> None:
    """Parse flags, warm up, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    n, epochs, rounds = (4000, 2, 1) if args.quick else (20000, 5, 5)
    rounds = args.rounds or rounds
    batches, threads = ([32, 512], [1]) if args.quick else ([32, 128, 512], [1, 2])
    X, y = make_data(n, 256)
    runners: dict[str, Runner] = {"nnspec": run_nnspec, "sklearn": run_sklearn, "blas": run_blas}
    if torch is not None:
        runners["torch"] = run_torch
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    ours = [i for i in blas if "numpy" in i["filepath"]] or blas      # numpy's own BLAS first
    print("numpy BLAS:", ", ".join(f"{i['internal_api']} {i['version']} kernel "
                                   f"{i.get('architecture')}" for i in ours[:1]),
          "| torch:", torch.__version__ if torch else "not installed")
    measure(runners, X[:2000], y[:2000], [128], [1], 1, 1)           # warm-up
    speedup = report(measure(runners, X, y, batches, threads, epochs, rounds), batches, threads)
    print(f"speedup vs sklearn at batch 32: {speedup:.2f}")


if __name__ == "__main__":
    main()
