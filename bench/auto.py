"""`search auto` against the searches a user would otherwise run, on `bench/quality.py`'s sets
(issue 27): `python bench/auto.py [--budget 60] [--sets digits,wine] [--seeds 0]`.

For each set and split seed, on the same rows (nnspec's split is `train_test_split`'s, checked):

- **auto**: the plainest spec with `search auto` and `budget B seconds`;
- **random 3x**: `search random` over the space auto opens (the same priors, written out), with
  `budget 3B seconds`;
- **tpe+prune**: `search tpe` (Optuna's TPESampler) with `prune median` (Optuna's MedianPruner
  rule: the median of finished trials at the same epoch, 5 start-up trials, 5 warm-up epochs)
  over that space, with `budget B seconds`;
- **adam** / **sgd**: scikit-learn's `MLPClassifier` / `MLPRegressor((256, 256))` as
  `bench/quality.py` fits them, on the same 80%.

Each nnspec search is a whole `nnspec run` process with `--jobs 2`, timed as the user waits for
it (start-up and the final phase included); its score is the saved model's (the chosen
configuration's seeds, refitted, averaged) on the test rows, in points (accuracy or r2). The
table gives each one's score and wall time, and the summary counts the sets where auto is at
least as good as each other.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import ROOT, DataSet, Task, _sklearn, check_split, data_sets  # noqa: E402

SETS = ("digits", "breast_cancer", "many_classes", "noisy_labels", "heavy_tailed",
        "moons_circles", "mc_8000x256", "friedman1", "wine", "classes_50")

# The space `search auto` opens on a spec that writes nothing (spec_lang.auto), written out for
# the strategies that need it: its optimizer, Adam, and the learning rate over the range auto's
# grid and its border step can reach (Adam's range tests suggest 0.03 to 0.13 on these sets, split
# seed 0; the grid goes down to 1/100 of that).
SPACE = """network
    repeat $depth
        dense $width relu
        dropout $dropout
train
    adam lr $lr
    l2 $l2
    batch $batch
search {strategy}
    lr ~ log_uniform 1e-4 .. 0.3
    depth in 2, 1, 3
    width ~ int_log_uniform 64 .. 1024
    dropout in 0, 0.1, 0.25, 0.5
    l2 in 0, 1e-5, 1e-4, 1e-3
    batch in 32, 16, 64, 128, 256
"""


def spec(ds: DataSet, seed: int, method: str, budget: float) -> str:
    """The spec text of one method on one set and split seed."""
    head = f"data {ds.data}\nsplit train 0.6 valid 0.2 test 0.2 seed {seed}\n"
    if method == "auto":
        return head + f"search auto\nbudget {budget:g} seconds\n"
    if method == "random 3x":
        return head + SPACE.format(strategy="random 100000") + \
            f"budget {3 * budget:g} seconds\n"
    return head + SPACE.format(strategy="tpe 100000") + \
        f"prune median\nbudget {budget:g} seconds\n"


def run_nnspec(text: str, task: str) -> tuple[float, float]:
    """(test score in points, wall seconds) of `nnspec run` on `text` as a whole process."""
    metric = "accuracy" if task == "classification" else "r2"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.spec"
        path.write_text(text)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "runtime", "run", str(path), "--out",
                               str(Path(tmp) / "run"), "--jobs", "2", "--quiet"],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return math.nan, wall
        best = json.loads((Path(tmp) / "run" / "best.json").read_text())
    test = best.get("test") or {}
    return 100 * float(test.get(f"ensemble_test_{metric}", math.nan)), wall


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="auto's budget, seconds")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--seeds", default="0", help="split seeds, comma-separated")
    parser.add_argument("--methods", default="auto,random 3x,tpe+prune")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    with tempfile.TemporaryDirectory() as folder:
        sets = {d.name: d for d in data_sets(Path(folder))}
        rows = []
        for name in args.sets.split(","):
            ds = sets[name]
            for seed in (int(s) for s in args.seeds.split(",")):
                X, y, rest, test, _ = check_split(ds, seed)
                row: dict[str, float] = {}
                for sk in ("adam", "sgd"):
                    row[sk] = _sklearn(Task(ds, seed, sk), X, y, rest, test)
                for method in methods:
                    score, wall = run_nnspec(spec(ds, seed, method, args.budget), ds.task)
                    row[method], row[f"{method} s"] = score, wall
                rows.append((name, seed, row))
                print(_line(name, seed, row, methods), flush=True)
    _summary(rows, methods)


def _line(name: str, seed: int, row: dict[str, float], methods: list[str]) -> str:
    cells = "  ".join(f"{m} {row[m]:6.2f} ({row[m + ' s']:4.0f} s)" for m in methods)
    return f"{name:15s} {seed}  {cells}  adam {row['adam']:6.2f}  sgd {row['sgd']:6.2f}"


def _summary(rows: list[tuple[str, int, dict[str, float]]], methods: list[str]) -> None:
    print()
    auto = np.array([r["auto"] for _, _, r in rows])
    for method in [m for m in methods if m != "auto"] + ["best sklearn"]:
        other = np.array([max(r["adam"], r["sgd"]) if method == "best sklearn" else r[method]
                          for _, _, r in rows])
        ok = auto >= other - 1e-9
        print(f"auto >= {method}: {int(ok.sum())} of {len(rows)} ({ok.mean():.0%}); mean "
              f"difference {np.nanmean(auto - other):+.2f} points")
    sk = np.array([max(r["adam"], r["sgd"]) for _, _, r in rows])
    print(f"auto >= best sklearn + 1 point: {int((auto >= sk + 1).sum())} of {len(rows)}")


if __name__ == "__main__":
    main()
