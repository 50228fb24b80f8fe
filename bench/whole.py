"""Whole searches as whole processes, the way a user waits for them:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/whole.py [--repeat 3]

A 16-point grid (learning rate x width, one ReLU layer, SGD with momentum 0.9, batch 32,
30 epochs, no early stopping, one seed) on scikit-learn's digits with the same 60/20 train /
validation examples, run three ways, each as a fresh process from start-up to exit:

  nnspec    `nnspec run SPEC --jobs 2` (2 worker processes, one BLAS thread each; the final
            phase reuses the chosen network and scores the test part)
  sklearn   a script: GridSearchCV(MLPClassifier, PredefinedSplit, n_jobs=2), refit=True as a
            user leaves it
  pytorch   a script: the same loop in torch (2 processes, one thread each), if torch is
            installed (`pip install torch==2.13.0`)

Prints median wall seconds over interleaved rounds and the ratios against nnspec. `--large`
runs the same grid on a generated set (make_classification: 20000 x 100, 10 classes, written
once to an .npz that all three read) instead of digits. `--phases N` adds N runs of
`nnspec run --json` (the same work; its events carry their times) and prints where the wall
time of the median one went:

  start-up      process start -> "started" (imports, parsing, the workers' start, loading,
                splitting and checking the data, the run folder)
  to first job  "started" -> the first job handed out (the store, provenance, the strategy)
  first result  the first job handed out -> its row (a worker ready and one trial trained)
  trials        the first job handed out -> the last trial's row
  final         the last row -> "finished" (the chosen network reused and scored on the test
                part, trials.csv, summary.csv, best.json, model.npz written)
  exit          "finished" -> the process gone (the result line, the workers told to end)
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """experiment whole
data {data}
split train 0.6 valid 0.2 test 0.2 stratified
network
    dense $width relu
train
    sgd lr $lr momentum 0.9
    schedule constant
    batch 32
    epochs 30 early_stop off
search grid
    lr in 0.001, 0.003, 0.01, 0.03
    width in 32, 64, 128, 256
seeds 1
"""

SPLIT = """
import numpy as np
from sklearn.model_selection import train_test_split
{load}
idx = np.arange(len(y))
rest, test = train_test_split(idx, test_size=0.2, stratify=y, random_state=0)
train, valid = train_test_split(rest, test_size=0.25, stratify=y[rest], random_state=0)
"""

SKLEARN = SPLIT + """
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
import warnings
warnings.filterwarnings("ignore")
fold = np.full(len(rest), -1); fold[np.isin(rest, valid)] = 0
grid = {"mlpclassifier__learning_rate_init": [0.001, 0.003, 0.01, 0.03],
        "mlpclassifier__hidden_layer_sizes": [(32,), (64,), (128,), (256,)]}
net = MLPClassifier(solver="sgd", momentum=0.9, nesterovs_momentum=False, batch_size=32,
                    max_iter=30, learning_rate="constant", early_stopping=False, tol=0,
                    n_iter_no_change=1000, random_state=0)
search = GridSearchCV(make_pipeline(StandardScaler(), net), grid, cv=PredefinedSplit(fold),
                      n_jobs=2).fit(X[rest], y[rest])
print("best", search.best_params_, "test", search.score(X[test], y[test]))
"""

TORCH = SPLIT + """
import itertools, multiprocessing as mp
def trial(args):
    import torch
    torch.set_num_threads(1)
    lr, width = args
    torch.manual_seed(0)
    mean, std = X[train].mean(0), X[train].std(0) + 1e-8
    xt = torch.tensor((X[train] - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y[train])
    xv = torch.tensor((X[valid] - mean) / std, dtype=torch.float32)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], width), torch.nn.ReLU(),
                                torch.nn.Linear(width, int(y.max()) + 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        for batch in torch.randperm(len(yt), generator=gen).split(32):
            opt.zero_grad()
            loss(model(xt[batch]), yt[batch]).backward()
            opt.step()
    with torch.no_grad():
        return (model(xv).argmax(1).numpy() != y[valid]).mean(), lr, width
if __name__ == "__main__":
    with mp.get_context("spawn").Pool(2) as pool:
        print(min(pool.map(trial, itertools.product([0.001, 0.003, 0.01, 0.03],
                                                    [32, 64, 128, 256]))))
"""


def wall(command: list[str], cwd: Path) -> float:
    """Seconds from start to exit of a fresh process."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=cwd)
    return time.perf_counter() - start


PHASES = ("start-up", "to first job", "first result", "trials", "final", "exit")


def phases(command: list[str], cwd: Path) -> dict[str, float]:
    """The phases of one `nnspec run --json` (`command`), in seconds, from its events' times."""
    start = time.time()
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=cwd)
    end = time.time()
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    at = {kind: [e["time"] for e in events if e.get("event") == kind]
          for kind in ("started", "start", "trial", "finished")}
    started, first, finished = at["started"][0], at["start"][0], at["finished"][0]
    return {"start-up": started - start, "to first job": first - started,
            "first result": at["trial"][0] - first, "trials": at["trial"][-1] - first,
            "final": finished - at["trial"][-1], "exit": end - finished, "wall": end - start}


def print_phases(runs: list[dict[str, float]]) -> None:
    """The phases of the run of median wall time."""
    median = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
    print(f"nnspec phases (the median of {len(runs)} runs by wall time, "
          f"{median['wall']:.2f} s):")
    for name in PHASES:
        print(f"  {name:<13} {median[name]:>6.2f} s")


def main() -> None:
    """Interleaved rounds of every way that can run here; medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", action="store_true",
                        help="a generated 20000 x 100, 10-class set instead of digits")
    parser.add_argument("--phases", type=int, default=0, metavar="N",
                        help="also time the phases of N nnspec runs (--json events)")
    args = parser.parse_args()
    repeat = args.repeat
    folder = Path(tempfile.mkdtemp(prefix="nnspec-whole-"))
    if args.large:
        import numpy as np
        from sklearn.datasets import make_classification
        X, y = make_classification(n_samples=20000, n_features=100, n_informative=30,
                                   n_classes=10, random_state=0)
        np.savez(folder / "large.npz", X=X, y=y)
        data, load = '"large.npz"', 'data = np.load("large.npz"); X, y = data["X"], data["y"]'
    else:
        data = "digits"
        load = "from sklearn.datasets import load_digits\nX, y = load_digits(return_X_y=True)"
    (folder / "whole.spec").write_text(SPEC.format(data=data))
    split = SPLIT.format(load=load)
    (folder / "sk.py").write_text(split + SKLEARN[len(SPLIT):])
    (folder / "torch_grid.py").write_text(split + TORCH[len(SPLIT):])
    ways = {"nnspec": [sys.executable, "-m", "runtime", "run", "whole.spec", "--jobs", "2",
                       "--quiet", "--fresh", "--out", "run"],
            "sklearn": [sys.executable, "sk.py"]}
    try:
        import torch  # noqa: F401
        ways["pytorch"] = [sys.executable, "torch_grid.py"]
    except ImportError:
        print("pytorch: not installed (pip install torch==2.13.0), skipped")
    times: dict[str, list[float]] = {name: [] for name in ways}
    traced: list[dict[str, float]] = []
    json_run = [arg for arg in ways["nnspec"] if arg != "--quiet"] + ["--json"]
    for round_ in range(max(repeat, args.phases)):   # interleaved: load drifts hit all alike
        for name, command in ways.items():
            if round_ < repeat:
                times[name].append(wall(command, folder))
        if round_ < args.phases:
            traced.append(phases(json_run, folder))
    if repeat > 0:
        base = statistics.median(times["nnspec"])
        print(f"{'way':<10} {'median s':>9} {'x nnspec':>9}")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:<10} {median:>9.2f} {median / base:>9.2f}")
    if traced:
        print_phases(traced)


if __name__ == "__main__":
    main()
