"""Test quality of nnspec's defaults against scikit-learn's MLP (issues 15 and 24):

    python bench/quality.py [--quick] [--jobs 2] [--variants pu300,d3w256,...] [--timing 1]

Data: 20 classification and 6 regression sets usable without a download: scikit-learn's
bundled sets, the files shipped in specs/data (plants.csv, blobs.npz, sparse.svm) and generated
sets of varied shape (200 to 20000 rows, 4 to 1000 features, 2 to 50 classes, noisy labels,
imbalanced classes, heavy-tailed inputs, redundant and sparse features). Each is split with several split seeds; for each split seed, on the SAME
test examples:

  nnspec      the plainest spec: data and split, nothing else (no `network` block: the default
              network; split 60/20/20 with `seed S`, 3 training seeds, refitted on the 80%; the
              score is the saved model's, the seeds' averaged prediction; `1 net` is the mean of
              the members)
  adam        MLPClassifier / MLPRegressor(hidden_layer_sizes=(256, 256)), default settings
  sgd         the same with the chapter's SGD: solver sgd, lr 0.01, momentum 0.9, batch 32,
              early_stopping=True
  search      nnspec with `search random 30` over lr, l2, width and depth (3 seeds)

Both scikit-learn models are fitted on nnspec's train + valid rows (80%), inputs standardized on
them (a Pipeline with StandardScaler), regression targets standardized too
(TransformedTargetRegressor), as nnspec does internally. The bench checks, per set and seed,
that nnspec's holdout (runtime.data.protocol.make_folds, the runner's own call) gives exactly
the test indices of `train_test_split(test_size=0.2, stratify=y, random_state=seed)`.

Scores: test accuracy (classification) and r2 (regression), in points (x100). Per set: the mean
of each, the paired mean difference nnspec - best scikit-learn setting (the one with the higher
mean on that set) with its standard error over split seeds, and a summary line.

`--variants NAME,...` also runs nnspec with one default changed (see VARIANTS) and prints each
one's paired difference from the default: the evidence for docs/engine.md's defaults.
`--quick` uses fewer sets, 3 split seeds and `search random 6` (a few minutes on 2 cores).
The full run takes about 30 minutes on 2 cores with `--search-seeds 3` (docs/engine.md has its
table). An nnspec run that raises is recorded as nan with its message (`note:` lines), not fatal.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHIPPED = ROOT / "specs" / "data"
HIDDEN = (256, 256)


# ----------------------------------------------------------------------------------- data sets
@dataclass(frozen=True)
class DataSet:
    """A benchmark set: `data` is the spec's data statement (a bundled name or a quoted path)."""

    name: str
    task: str                      # classification | regression
    data: str
    what: str


def _heavy(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Student-t (3 degrees of freedom) columns times a lognormal scale: heavy tails."""
    return rng.standard_t(3, size=(n, d)) * rng.lognormal(0.0, 1.0, size=d)


def _sparse_counts(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Bag-of-words-like counts: 95% zeros, two classes told apart by which columns fire."""
    rate = rng.gamma(0.3, 0.2, size=(2, d))
    y = rng.integers(0, 2, n)
    X = rng.poisson(rate[y]) * (rng.random((n, d)) < 0.3)
    return X.astype(np.float64), y


def _generated(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The generated sets, fixed seeds (the split seeds vary, not the data)."""
    from sklearn.datasets import (make_circles, make_classification, make_friedman1,
                                  make_friedman3, make_moons, make_regression)
    rng = np.random.default_rng(15)
    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    sets["many_classes"] = make_classification(1500, 20, n_informative=12, n_classes=12,
                                               n_clusters_per_class=1, random_state=1)
    sets["many_features"] = make_classification(800, 300, n_informative=20, n_redundant=20,
                                                n_classes=4, random_state=2)
    sets["noisy_labels"] = make_classification(1000, 20, n_informative=8, flip_y=0.25,
                                               n_classes=3, random_state=3)
    sets["imbalanced"] = make_classification(1500, 20, n_informative=6, n_classes=3,
                                             weights=[0.88, 0.09, 0.03], random_state=4)
    Xc, yc = make_classification(1000, 15, n_informative=8, n_classes=3, random_state=5)
    sets["heavy_tailed"] = (np.sinh(1.5 * Xc) * rng.lognormal(0, 1, 15), yc)
    sets["friedman1"] = make_friedman1(1000, 10, noise=1.0, random_state=6)
    Xr = _heavy(rng, 1000, 20)
    w = rng.normal(size=20) * (rng.random(20) < 0.5)
    z = np.tanh(Xr / Xr.std(axis=0)) @ w
    sets["heavy_regression"] = (Xr, z + 0.3 * z ** 2 + rng.normal(0, 0.5, 1000))
    sets["wide_regression"] = make_regression(600, 100, n_informative=15, noise=20.0,
                                              random_state=7)[:2]
    # Added for issue 24: the shapes the first sets lacked (tiny, 1000 features, 50 classes,
    # 20000 rows, low-dimensional non-linear, mostly redundant, sparse counts).
    sets["tiny"] = make_classification(200, 4, n_informative=3, n_redundant=1, n_classes=2,
                                       flip_y=0.05, random_state=8)
    Xm, ym = make_moons(2000, noise=0.3, random_state=9)
    Xo, yo = make_circles(2000, noise=0.1, factor=0.5, random_state=10)
    sets["moons_circles"] = (np.hstack([Xm, Xo]), ym * 2 + yo)
    sets["wide_1000"] = make_classification(2000, 1000, n_informative=40, n_redundant=40,
                                            n_classes=5, random_state=11)
    sets["classes_50"] = make_classification(5000, 40, n_informative=30, n_classes=50,
                                             n_clusters_per_class=1, class_sep=2.0,
                                             random_state=12)
    sets["mc_8000x256"] = make_classification(8000, 256, n_informative=64, n_classes=10,
                                              random_state=13)
    sets["large_20000"] = make_classification(20000, 30, n_informative=15, n_classes=4,
                                              flip_y=0.05, random_state=14)
    sets["redundant"] = make_classification(2000, 100, n_informative=8, n_redundant=72,
                                            n_classes=3, random_state=16)
    sets["sparse_counts"] = _sparse_counts(rng, 1500, 500)
    sets["friedman3"] = make_friedman3(2000, noise=0.05, random_state=17)
    Xs = rng.normal(size=(3000, 8))
    sets["smooth_regression"] = (Xs, np.sin(2 * Xs[:, 0]) * Xs[:, 1] + np.abs(Xs[:, 2])
                                 + 0.5 * Xs[:, 3] * Xs[:, 4] + rng.normal(0, 0.2, 3000))
    return sets


def data_sets(folder: Path) -> list[DataSet]:
    """Every set, generated ones written to `folder` as .npz (nnspec and scikit-learn both read
    the rows nnspec loads from them)."""
    for name, (X, y) in _generated(folder).items():
        y = y.astype(np.int64) if y.dtype.kind in "iu" else y.astype(np.float64)
        np.savez(folder / f"{name}.npz", X=X.astype(np.float64), y=y)
    gen = lambda n: f'"{folder / (n + ".npz")}"'            # noqa: E731
    c, r = "classification", "regression"
    return [
        DataSet("digits", c, "digits", "1797 x 64, 10 classes"),
        DataSet("iris", c, "iris", "150 x 4, 3 classes"),
        DataSet("wine", c, "wine", "178 x 13, 3 classes"),
        DataSet("breast_cancer", c, "breast_cancer", "569 x 30, 2 classes"),
        DataSet("plants", c, f'"{SHIPPED / "plants.csv"}" target "species"',
                "specs/data CSV, 300 rows, a text column"),
        DataSet("blobs", c, f'"{SHIPPED / "blobs.npz"}"', "specs/data npz, 240 x 5"),
        DataSet("sparse", c, f'"{SHIPPED / "sparse.svm"}"', "specs/data svmlight, 200 x 40"),
        DataSet("many_classes", c, gen("many_classes"), "1500 x 20, 12 classes"),
        DataSet("many_features", c, gen("many_features"), "800 x 300, 4 classes"),
        DataSet("noisy_labels", c, gen("noisy_labels"), "1000 x 20, 25% labels flipped"),
        DataSet("imbalanced", c, gen("imbalanced"), "1500 x 20, classes 88/9/3%"),
        DataSet("heavy_tailed", c, gen("heavy_tailed"), "1000 x 15, sinh-stretched inputs"),
        DataSet("tiny", c, gen("tiny"), "200 x 4, 2 classes, 5% flipped"),
        DataSet("moons_circles", c, gen("moons_circles"), "2000 x 4, 4 non-linear classes"),
        DataSet("wide_1000", c, gen("wide_1000"), "2000 x 1000, 5 classes"),
        DataSet("classes_50", c, gen("classes_50"), "5000 x 40, 50 classes"),
        DataSet("mc_8000x256", c, gen("mc_8000x256"), "8000 x 256, 10 classes"),
        DataSet("large_20000", c, gen("large_20000"), "20000 x 30, 4 classes, 5% flipped"),
        DataSet("redundant", c, gen("redundant"), "2000 x 100, 72 redundant, 3 classes"),
        DataSet("sparse_counts", c, gen("sparse_counts"), "1500 x 500 counts, 95% zeros"),
        DataSet("diabetes", r, "diabetes", "442 x 10"),
        DataSet("friedman1", r, gen("friedman1"), "1000 x 10, noise 1"),
        DataSet("heavy_regression", r, gen("heavy_regression"), "1000 x 20, Student-t inputs"),
        DataSet("wide_regression", r, gen("wide_regression"), "600 x 100, 15 informative"),
        DataSet("friedman3", r, gen("friedman3"), "2000 x 4, arctan target"),
        DataSet("smooth_regression", r, gen("smooth_regression"), "3000 x 8, products, sines"),
    ]


QUICK_SETS = ("iris", "wine", "breast_cancer", "plants", "blobs", "noisy_labels", "imbalanced",
              "heavy_tailed", "diabetes", "friedman1", "heavy_regression")


# ------------------------------------------------------------------------------------ the specs
SEARCH = """train
    sgd lr $lr
    l2 $l2
search random {trials}
    lr    ~ log_uniform 1e-3 .. 0.3
    l2    ~ log_uniform 1e-7 .. 1e-2
    width in 64, 128, 256, 512
    depth in 1, 2, 3
"""

# One default changed at a time: name -> (network block lines, None: the default network;
# train block lines). {tau3} etc. are filled with that many epochs' worth of updates of this
# set (ceil(n_train / 32) each); {over} with max(256, the set's number of input features).
# Several joined by '+': the last network given, and every train line.
PT = "init lecun_uniform scale 0.57735"     # PyTorch's nn.Linear weights: U(+-1/sqrt(fan_in))
VARIANTS: dict[str, tuple[list[str] | None, str]] = {
    "d1w100": (["dense 100 relu"], ""),
    "d1w256": (["dense 256 relu"], ""),
    "d2w256": (["dense 256 relu"] * 2, ""),
    "d2w256s.5": (["dense 256 relu scale 0.5"] * 2, ""),
    "d2w256pt": ([f"dense 256 relu {PT}"] * 2, ""),
    "d1w256pt": ([f"dense 256 relu {PT}"], ""),
    "d3w256pt": ([f"dense 256 relu {PT}"] * 3, ""),
    "d2w512pt": ([f"dense 512 relu {PT}"] * 2, ""),
    "d2overpt": ([f"dense {{over}} relu {PT}"] * 2, ""),
    "d2w256he": (["dense 256 relu init he_normal"] * 2, ""),
    "d2w256glorot": (["dense 256 relu init glorot_uniform"] * 2, ""),
    "d2w256quarter": (["dense 256 relu init glorot_uniform scale 0.25"] * 2, ""),
    "d3w256": (["dense 256 relu"] * 3, ""),
    "patience10": (None, "epochs 100 early_stop patience 10"),
    "stall0": (None, "epochs 100 early_stop stall 0"),
    "patience40": (None, "epochs 100 early_stop patience 40"),
    "epochs50": (None, "epochs 50"),
    "epochs100": (None, "epochs 100"),
    "epochs300": (None, "epochs 300"),
    "epochs1000": (None, "epochs 1000"),
    "tau3": (None, "schedule one_over_t tau {tau3}"),
    "tau10": (None, "schedule one_over_t tau {tau10}"),
    "tau30": (None, "schedule one_over_t tau {tau30}"),
    "constant": (None, "schedule constant"),
    "adam": (None, "adam lr 0.001"),
    "pu300": (None, "epochs 1000 early_stop patience {pu300}"),
    "pu1000": (None, "epochs 1000 early_stop patience {pu1000}"),
    "pu3000": (None, "epochs 1000 early_stop patience {pu3000}"),
}


# Variants of the split line: the final model kept from the search instead of refitted.
SPLIT_VARIANTS = {"norefit": " refit false"}


def variant_parts(variant: str) -> tuple[list[str] | None, str]:
    """(network lines or None, train lines) of a VARIANTS name or several joined by '+'."""
    parts = [VARIANTS[v] for v in variant.split("+") if v and v not in SPLIT_VARIANTS]
    nets = [n for n, _ in parts if n is not None]
    return (nets[-1] if nets else None), "\n    ".join(t for _, t in parts if t)


def nnspec_spec(data: str, seed: int, variant: str = "", trials: int = 0,
                n_train: int = 0, n_features: int = 0) -> str:
    """The spec text: the plainest one (data and split, nothing else), one VARIANTS change, or
    the random search."""
    split = "".join(SPLIT_VARIANTS.get(v, "") for v in variant.split("+"))
    head = f"data {data}\nsplit train 0.6 valid 0.2 test 0.2 seed {seed}{split}\n"
    if trials:
        body = "network\n    repeat $depth\n        dense $width relu\n"
        return head + body + SEARCH.format(trials=trials)
    net, train = variant_parts(variant)
    per_epoch = max(1, math.ceil(n_train / 32))     # n_train 0: the spec for its split only
    fill = {**{f"tau{e}": e * per_epoch for e in (3, 10, 30)}, "over": max(256, n_features),
            **{f"pu{u}": max(20, math.ceil(u / per_epoch)) for u in (300, 1000, 3000)}}
    train = train.format(**fill)
    layers = "".join(f"    {line.format(**fill)}\n" for line in net) if net else ""
    return head + (f"network\n{layers}" if layers else "") + \
        (f"train\n    {train}\n" if train else "")


# ----------------------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """One fit: `method` on one set and split seed."""

    set: DataSet
    seed: int
    method: str                    # nnspec | adam | sgd | search | a VARIANTS name
    trials: int = 0


def check_split(ds: DataSet, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                 np.ndarray, int]:
    """(X, y, train+valid rows, test rows, n_train) as nnspec loads and splits them; raises
    AssertionError when nnspec's test rows are not train_test_split's."""
    import spec_lang
    from sklearn.model_selection import train_test_split

    from runtime.data.protocol import make_folds, split_seed
    from runtime.data.sources import load_dataset
    exp = spec_lang.loads(nnspec_spec(ds.data, seed))
    data = load_dataset(exp.config.data, Path(exp.base_dir))
    fold = make_folds(exp.config.protocol, data,
                      split_seed(exp.config.protocol, exp.seed_list()[0]))[0]
    idx = np.arange(len(data.y))
    strat = data.y if data.task == "classification" else None
    rest, test = train_test_split(idx, test_size=0.2, stratify=strat, random_state=seed)
    if not np.array_equal(np.sort(test), fold.test):
        raise AssertionError(f"{ds.name} seed {seed}: nnspec's test rows differ from "
                             "train_test_split's")
    if not np.array_equal(np.sort(rest), np.union1d(fold.train, fold.valid)):
        raise AssertionError(f"{ds.name} seed {seed}: train + valid rows differ")
    return data.X, data.y, np.sort(rest), fold.test, len(fold.train)


def run_task(task: Task) -> dict[str, float]:
    """Fit one task; its test score(s) in points, and seconds."""
    from threadpoolctl import threadpool_limits
    start = time.perf_counter()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y, rest, test, n_train = check_split(task.set, task.seed)
        if task.method in SKLEARN:
            # adam60 / sgd60: fitted on nnspec's train rows only (a diagnostic of the 60/80 gap)
            rows = np.setdiff1d(rest, valid_rows(X, y, task)) if task.method.endswith("60") \
                else rest
            try:
                out = {"score": _sklearn(task, X, y, rows, test)}
            except Exception as exc:          # recorded, as an nnspec failure is
                out = {"score": math.nan, "failed": f"{task.set.name} seed {task.seed} "
                       f"{task.method}: {type(exc).__name__}: {exc}"}
        else:
            try:
                out = _nnspec(task, n_train, X.shape[1])
            except Exception as exc:          # an nnspec bug: record it, keep benchmarking
                out = {"score": math.nan, "single": math.nan, "epochs": math.nan,
                       "not_complete": 1.0, "capped": math.nan, "stalled": math.nan, "failed": f"{task.set.name} seed {task.seed} "
                       f"{task.method}: {type(exc).__name__}: {exc}"}
    out["seconds"] = time.perf_counter() - start
    return out


SKLEARN = ("adam", "sgd", "adam60", "sgd60")


def valid_rows(X: np.ndarray, y: np.ndarray, task: Task) -> np.ndarray:
    """nnspec's validation rows for this set and split seed."""
    import spec_lang

    from runtime.data.protocol import make_folds
    from runtime.data.sources import load_dataset
    exp = spec_lang.loads(nnspec_spec(task.set.data, task.seed))
    data = load_dataset(exp.config.data, Path(exp.base_dir))
    return make_folds(exp.config.protocol, data, task.seed)[0].valid


def _sklearn(task: Task, X: np.ndarray, y: np.ndarray, rest: np.ndarray,
             test: np.ndarray) -> float:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    kw: dict[str, Any] = {"hidden_layer_sizes": HIDDEN, "random_state": task.seed}
    if task.method.startswith("sgd"):
        kw.update(solver="sgd", learning_rate_init=0.01, momentum=0.9, batch_size=32,
                  early_stopping=True)
    from runtime.sparse import is_sparse
    scaler = StandardScaler(with_mean=not is_sparse(X))     # sparse: scaled, not centred
    if task.set.task == "classification":
        model: Any = make_pipeline(scaler, MLPClassifier(**kw))
        model.fit(X[rest], y[rest])
        return 100 * accuracy_score(y[test], model.predict(X[test]))
    model = TransformedTargetRegressor(make_pipeline(scaler, MLPRegressor(**kw)),
                                       transformer=StandardScaler())
    model.fit(X[rest], y[rest])
    return 100 * r2_score(y[test], model.predict(X[test]))


def _nnspec(task: Task, n_train: int, n_features: int) -> dict[str, float]:
    import spec_lang
    from runtime import run
    variant = "" if task.method in ("nnspec", "search") else task.method
    text = nnspec_spec(task.set.data, task.seed, variant, task.trials, n_train, n_features)
    metric = "accuracy" if task.set.task == "classification" else "r2"
    exp = spec_lang.loads(text)
    with tempfile.TemporaryDirectory() as tmp:
        table = run(exp, out=Path(tmp) / "run", jobs=1)
    best = table.attrs["best"].get("test") or {}
    states = ", ".join(f"{k} {v}" for k, v in table["state"].value_counts().items())
    cap = exp.config.train.epochs if isinstance(exp.config.train.epochs, int) else math.inf
    fits = {"epochs": float(table["epochs"].mean()),
            "not_complete": float((table["state"] != "complete").mean()),
            "stalled": float((table["state"] == "stalled").sum()),
            "capped": float(((table["state"] == "complete") & (table["epochs"] >= cap)).mean())}
    if f"ensemble_test_{metric}" not in best:      # no model: every configuration failed
        return {"score": math.nan, "single": math.nan, **fits, "failed": f"{task.set.name} "
                f"seed {task.seed} {task.method}: no test score ({states})"}
    return {"score": 100 * best[f"ensemble_test_{metric}"],
            "single": 100 * best[f"test_{metric}"], **fits}


# --------------------------------------------------------------------------------------- report
def _mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    a = a[np.isfinite(a)]
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else math.nan
    return float(a.mean()), se


def report(sets: list[DataSet], results: dict[tuple[str, int, str], Any], variants: list[str],
           reference: str = "nnspec") -> None:
    """Print the per-set table, the summary lines and the variants' differences."""
    seeds = sorted({k[1] for k in results})

    for out in results.values():
        if "failed" in out:
            print(f"note: {out['failed']}: counted as nan, left out of its means")

    def get(s: str, m: str, key: str = "score") -> list[float]:
        return [results[(s, sd, m)][key] for sd in seeds if (s, sd, m) in results]

    methods = {k[2] for k in results}
    cols = ["nnspec", "1 net", *[m for m in SKLEARN if m in methods]] + \
        (["search"] if "search" in methods else [])
    print(f"\n{'set':17} {'metric':6} " + " ".join(f"{c:>7}" for c in cols) +
          f"  {'nnspec - best sk':>21}  {'1 net - best sk':>15}" +
          ("  search - nnspec" if "search" in cols else ""))
    tally = {"nnspec": [0, 0], "single": [0, 0]}     # [mean diff >= 0, or within one SE]
    ahead = 0
    for ds in sets:
        s = ds.name
        means = {c: float(np.nanmean(get(s, "nnspec", "single") if c == "1 net" else get(s, c)))
                 for c in cols}
        sk = "adam" if means["adam"] >= means["sgd"] else "sgd"
        line = f"{s:17} {'acc' if ds.task == 'classification' else 'r2':6} " + \
            " ".join(f"{means[c]:7.2f}" for c in cols)
        for key, count in tally.items():
            diff, se = _mean_se([a - b for a, b in zip(get(s, "nnspec", key if key == "single"
                                                             else "score"), get(s, sk))])
            line += f"  {diff:+6.2f} ± {se:4.2f}" + (f" ({sk:4})" if key == "nnspec" else "")
            count[0] += diff >= 0
            # inclusive, with rounding's slack: one test example lost in one split of five
            # is a mean of exactly minus one standard error (x/5 and |x|/5)
            count[1] += diff >= -se - 1e-9 if math.isfinite(se) else diff >= 0
        if "search" in cols:
            n = len(get(s, "search"))
            d2, se2 = _mean_se([a - b for a, b in zip(get(s, "search"), get(s, "nnspec")[:n])])
            line += f"  {d2:+6.2f} ± {se2:4.2f}"
            ahead += d2 >= 0.5
        print(line)
    m = len(sets)
    for key, (beats, close) in tally.items():
        who = "default" if key == "nnspec" else "default's single network"
        print(f"\n{who} beats sklearn on {beats} of {m} sets (mean difference >= 0); "
              f"within one standard error or better on {close} of {m} ({100 * close / m:.0f}%)",
              end="")
    print()
    print(f"{reference} fits: {_fits_line(sets, reference, get)}")
    if "search" in cols:
        print(f"search random is ahead of the default by >= 0.5 points on {ahead} of {m} sets")
    for v in variants:
        if v != reference:
            _variant_line(sets, v, reference, get)


def _fits_line(sets: list[DataSet], method: str, get: Callable[..., list[float]]) -> str:
    """How the method's fits ended: not complete, ended by the epoch cap, stalled."""
    early = float(np.mean([np.mean(get(ds.name, method, "not_complete")) for ds in sets]))
    # a failed run (nan) ended no fit by the cap and stalled none: it counts as not complete
    capped = float(np.nanmean([np.nanmean(get(ds.name, method, "capped") or [0.0])
                               for ds in sets]))
    stalled = int(np.nansum([np.nansum(get(ds.name, method, "stalled")) for ds in sets]))
    return f"not complete {100 * early:.0f}% of fits, ended by the epoch cap {100 * capped:.0f}%" \
        f", stalled {stalled}"


def _variant_line(sets: list[DataSet], v: str, reference: str,
                  get: Callable[..., list[float]]) -> None:
    """A variant's paired difference from the reference, per set and on average."""
    diffs = [_mean_se([a - b for a, b in zip(get(ds.name, v), get(ds.name, reference))])
             for ds in sets]
    better = sum(d > 0 for d, _ in diffs)
    epochs = [float(np.nanmean(get(ds.name, m, "epochs"))) for m in (v, reference) for ds in sets]
    half = len(sets)
    print(f"\nvariant {v} {variant_parts(v)} - {reference}: mean over sets "
          f"{np.mean([d for d, _ in diffs]):+.2f} points, better on {better} of {len(sets)}, "
          f"mean epochs {np.mean(epochs[:half]):.1f} ({reference} {np.mean(epochs[half:]):.1f}),"
          f" {_fits_line(sets, v, get)}")
    print("  " + ", ".join(f"{ds.name} {d:+.2f}±{se:.2f}" for ds, (d, se) in zip(sets, diffs)))


# ------------------------------------------------------------------------------- whole processes
SKLEARN_SCRIPT = """
import sys, time
start = time.perf_counter()
import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.compose import TransformedTargetRegressor
d = np.load(sys.argv[1])
X, y, rest, test = d["X"], d["y"], d["rest"], d["test"]
fit = time.perf_counter()
if sys.argv[2] == "classification":
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(256, 256), random_state=0))
else:
    model = TransformedTargetRegressor(make_pipeline(
        StandardScaler(), MLPRegressor(hidden_layer_sizes=(256, 256), random_state=0)),
        transformer=StandardScaler())
model.fit(X[rest], y[rest])
score = model.score(X[test], y[test])
print(time.perf_counter() - fit, score)
"""


def time_whole(sets: list[DataSet], folder: Path, repeat: int) -> None:
    """Each set's plainest spec as `python -m runtime run SPEC` (a fresh process, start to
    exit, its default jobs) against a fresh process fitting MLPClassifier / MLPRegressor
    ((256, 256)) as it comes on the same 80% and scoring the same test rows; medians of
    `repeat` interleaved rounds, one set at a time (nothing else running)."""
    import subprocess
    print(f"\n{'set':17} {'nnspec s':>9} {'sk proc s':>9} {'sk fit s':>9}  nnspec / sk proc")
    slower = []
    for ds in sets:
        X, y, rest, test, _ = check_split(ds, 0)
        arrays = folder / f"{ds.name}.timing.npz"
        np.savez(arrays, X=X.toarray() if hasattr(X, "toarray") else X, y=y, rest=rest,
                 test=test)
        spec = folder / f"{ds.name}.spec"
        spec.write_text(nnspec_spec(ds.data, 0))
        ours, theirs, fits = [], [], []
        for r in range(repeat):
            out = folder / f"run-{ds.name}-{r}"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "runtime", "run", str(spec), "--out",
                            str(out), "--quiet"], check=True, capture_output=True)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", SKLEARN_SCRIPT, str(arrays), ds.task],
                                  check=True, capture_output=True, text=True)
            theirs.append(time.perf_counter() - start)
            fits.append(float(done.stdout.split()[0]))
        a, b, f = (float(np.median(v)) for v in (ours, theirs, fits))
        slower += [ds.name] if a > b else []
        print(f"{ds.name:17} {a:9.2f} {b:9.2f} {f:9.2f}  {a / b:5.2f}", flush=True)
    print(f"\nthe plainest spec's whole run is no slower than a scikit-learn process fitting "
          f"MLP((256, 256)) on {len(sets) - len(slower)} of {len(sets)} sets"
          + (f" (slower: {', '.join(slower)})" if slower else ""))


# ----------------------------------------------------------------------------------------- main
def _variant_list() -> str:
    """The variants' names for argparse's help, whose own %-formatting would read their '%'."""
    return ", ".join(VARIANTS).replace("%", "%%")


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run every task (in --jobs processes), print the report."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer sets, 3 seeds, search random 6")
    p.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    p.add_argument("--seeds", type=int, default=None, help="split seeds (default 5; quick 3)")
    p.add_argument("--trials", type=int, default=None, help="search trials (30; quick 6; 0: "
                   "no search)")
    p.add_argument("--search-seeds", type=int, default=None, help="run the search on the "
                   "first N split seeds only (default: all)")
    p.add_argument("--sk60", action="store_true", help="also fit scikit-learn on nnspec's "
                   "train rows only (adam60, sgd60: how much the 60/80 split costs)")
    p.add_argument("--sets", default="", help="comma-separated set names (default: all)")
    p.add_argument("--variants", default="", help=f"comma-separated: {_variant_list()}, "
                   "or several joined by '+'")
    p.add_argument("--reference", default="nnspec", help="the variant the others are compared "
                   "with (default: nnspec, the defaults)")
    p.add_argument("--timing", type=int, default=0, metavar="R", help="instead: time each "
                   "set's plainest spec and a scikit-learn MLP fit as whole processes, medians of "
                   "R rounds")
    args = p.parse_args(argv)
    if args.timing:
        with tempfile.TemporaryDirectory() as tmp:
            sets = data_sets(Path(tmp))
            sets = [s for s in sets if not args.sets or s.name in args.sets.split(",")]
            time_whole(sets, Path(tmp), args.timing)
        return
    seeds = [100 * i for i in range(args.seeds or (3 if args.quick else 5))]
    trials = args.trials if args.trials is not None else (6 if args.quick else 30)
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants for part in v.split("+")
               if part not in VARIANTS and part not in SPLIT_VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    with tempfile.TemporaryDirectory() as tmp:
        sets = data_sets(Path(tmp))
        wanted = [s for s in args.sets.split(",") if s] or (QUICK_SETS if args.quick else [])
        sets = [s for s in sets if not wanted or s.name in wanted]
        methods = ["nnspec", "adam", "sgd", *(["adam60", "sgd60"] if args.sk60 else []),
                   *variants] + (["search"] if trials else [])
        n_search = args.search_seeds or len(seeds)
        tasks = [Task(ds, sd, m, trials if m == "search" else 0)
                 for m in reversed(methods) for ds in sets for sd in seeds   # slow ones first
                 if m != "search" or sd in seeds[:n_search]]
        print(f"{len(sets)} sets x {len(seeds)} split seeds {seeds}; methods {methods}"
              f"{f'; search random {trials} on split seeds {seeds[:n_search]}' if trials else ''}"
              f"; {args.jobs} jobs", flush=True)
        start = time.perf_counter()
        results = _run_all(tasks, args.jobs, lambda done: _tick(done, len(tasks), start))
    report(sets, results, variants, args.reference)
    secs = {m: sum(r["seconds"] for k, r in results.items() if k[2] == m) for m in methods}
    print(f"\nwall {time.perf_counter() - start:.0f} s; CPU seconds per method: " +
          ", ".join(f"{m} {s:.0f}" for m, s in secs.items()))


def _tick(done: int, total: int, start: float) -> None:
    if done % 20 == 0 or done == total:
        print(f"  {done}/{total} fits, {time.perf_counter() - start:.0f} s", flush=True)


def _run_all(tasks: list[Task], jobs: int, tick: Callable[[int], None]
             ) -> dict[tuple[str, int, str], Any]:
    """Every task's result by (set, seed, method), in `jobs` processes."""
    results: dict[tuple[str, int, str], Any] = {}
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for i, (task, out) in enumerate(zip(tasks, pool.map(run_task, tasks)), 1):
            results[(task.set.name, task.seed, task.method)] = out
            tick(i)
    return results


if __name__ == "__main__":
    main()
