"""Search benchmarks (issue "search"): run with `python bench/search.py [--quick]`.

1. Trials per minute with 1 and 2 parallel jobs on a small spec (target: >= 1.7x on 2 cores).
2. On digits: the best validation error successive halving reaches against random search over
   the same configurations (halving's first rung is random search's draws, same seed), and the
   share of training epochs halving spends (target: within 0.5 points at <= 35%).
3. Compute per answer, on digits and on a generated 20000 x 100, 10-class set: wall time and
   epochs of random search and TPE (alone, with median pruning, with halving pruning), ASHA
   and Hyperband (2 jobs each), and, if Optuna is installed, TPE with
   Optuna's MedianPruner and with its SuccessiveHalvingPruner (min_resource 1,
   reduction_factor 3: our `prune halving`) around nnspec's own engine (2 fresh processes
   sharing the study through Optuna's journal file, one BLAS thread each; their start-up is
   part of the wall time). For each: the seconds until a full-fidelity trial reached random
   search's best validation error within 0.5 points (from the store's finish times), as a
   share of random search's whole wall time (target: asha or pruning <= 25%). `--repeat R`
   runs every strategy with R search seeds and prints medians (one seed's share swings with
   where in its draws the good configurations fall); `--set generated` runs one data set.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import spec_lang
from runtime import run, summarize

PARALLEL = """experiment parallel
data digits
network
    dense 256 relu
train
    sgd lr $lr momentum 0.9
    epochs {epochs} early_stop off
search grid
    lr in log 1e-3 .. 1e-1 count {count}
seeds 2
"""

HALVING = """experiment halving
data digits
network
    dense $width relu
train
    sgd lr $lr momentum 0.9
    epochs 81 early_stop patience 10
    l2 $l2
search halving {configs} eta 3
    lr    ~ log_uniform 1e-4 .. 1
    width ~ int_log_uniform 16 .. 256
    l2    ~ log_uniform 1e-7 .. 1e-2
seeds 1
"""


COMPUTE = """experiment compute
data {data}
split train 0.6 valid 0.2 test 0.2
network
    dense $width relu
train
    sgd lr $lr momentum 0.9
    batch 32
    epochs {epochs} early_stop patience 10
search {strategy}
    lr    ~ log_uniform 1e-4 .. 1
    width in 32, 64, 128, 256
{extra}
seeds 1
"""
SETS = {"digits": ("digits", 60),
        "generated 20000x100": ("make_classification samples 20000 features 100 classes 10 "
                                "informative 30 seed 0", 30)}
TOLERANCE = 0.005          # "reached random search's best": within 0.5 points of error


def _finish_times(out: Path, start: float) -> list[tuple[float, float]]:
    """(seconds since start, validation error) of each complete full-fidelity trial."""
    db = sqlite3.connect(out / "store.sqlite")
    rows = db.execute("SELECT finished, valid_error FROM trials WHERE state = 'complete' "
                      "AND fidelity >= 1.0 ORDER BY finished").fetchall()
    db.close()
    return [(finished - start, error) for finished, error in rows]


def _strategy_run(data: str, epochs: int, strategy: str, extra: str = "", seed: int = 0
                  ) -> dict[str, Any]:
    exp = spec_lang.loads(COMPUTE.format(data=data, epochs=epochs, strategy=strategy,
                                         extra=extra))
    exp = dataclasses.replace(exp, search=dataclasses.replace(exp.search, seed=seed))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        start = time.time()
        table = run(exp, out=out, jobs=2)
        wall = time.time() - start
        trained = table["epochs_trained"] if "epochs_trained" in table else table["epochs"]
        return {"wall": wall, "epochs": int(trained.sum()),
                "trials": len(table), "finished": _finish_times(out, start)}


def _optuna_worker(data: str, epochs: int, n: int, seed: int, journal: str, start: float,
                   pruner: str) -> None:
    """One of the two processes of the Optuna study: TPE + MedianPruner (Optuna's defaults, 5
    startup trials) or SuccessiveHalvingPruner (rungs at epochs 1, 3, 9, ...) on nnspec's
    engine, one BLAS thread, `n` trials, sharing the study through a journal file (Optuna's
    way to run a study in several processes)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from threadpoolctl import threadpool_limits

    from runtime.engine.training import fit
    from runtime.execution.jobs import Job
    from runtime.execution.prepared import folds, train_data
    exp = spec_lang.loads(COMPUTE.format(data=data, epochs=epochs, strategy="random 1",
                                         extra=""))
    fold = folds(exp.config.protocol, exp.config.data, str(exp.base_dir), exp.seed_start)[0]

    def objective(trial: Any) -> float:
        params = {"lr": trial.suggest_float("lr", 1e-4, 1, log=True),
                  "width": trial.suggest_categorical("width", [32, 64, 128, 256])}
        config = exp.bind(params)
        arrays, _ = train_data(config, exp, Job(trial.number, (), 0, fold.fold))

        def report(epoch: int, row: dict[str, float]) -> None:
            trial.report(row["valid_error"], epoch)       # one value an epoch: its epochs
            if trial.should_prune():
                raise optuna.TrialPruned()
        result = fit(config, arrays, 0, progress=report)
        error = result.valid_metrics.get("error", 1.0)
        trial.set_user_attr("finished", time.time() - start)
        return error

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(journal))
    study = optuna.load_study(study_name="bench", storage=storage,
                              sampler=optuna.samplers.TPESampler(seed=seed),
                              pruner=optuna.pruners.MedianPruner() if pruner == "median"
                              else optuna.pruners.SuccessiveHalvingPruner(
                                  min_resource=1, reduction_factor=3))
    with threadpool_limits(limits=1):
        study.optimize(objective, n_trials=n)


def _optuna_run(data: str, epochs: int, n: int, seed: int = 0, pruner: str = "median"
                ) -> dict[str, Any] | None:
    """The Optuna study in 2 fresh processes (n trials in all), timed from their start as a
    user waits for it; None when Optuna is not installed."""
    try:
        import optuna
    except ImportError:
        return None
    import multiprocessing

    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    with tempfile.TemporaryDirectory() as folder:
        journal = str(Path(folder) / "journal.log")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna.create_study(study_name="bench", storage=JournalStorage(
            JournalFileBackend(journal)))
        start = time.time()
        workers = [multiprocessing.get_context("spawn").Process(
            target=_optuna_worker, args=(data, epochs, half, 2 * seed + i, journal, start, pruner))
            for i, half in enumerate((n // 2, n - n // 2))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.time() - start
        trials = optuna.load_study(study_name="bench", storage=JournalStorage(
            JournalFileBackend(journal))).trials
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {"wall": wall, "epochs": sum(len(t.intermediate_values) for t in trials),
            "trials": len(trials),
            "finished": sorted((t.user_attrs["finished"], t.value) for t in done)}


def _reached(finished: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, error in finished if error <= target + 1e-12), None)


def _one_repeat(data: str, epochs: int, n: int, seed: int) -> dict[str, dict[str, float]]:
    """Every strategy once with search seed `seed`: wall s, epochs, best valid error, and the
    share of random search's wall time until a full-fidelity trial came within TOLERANCE of
    random search's best (inf: never)."""
    runs = {"random": _strategy_run(data, epochs, f"random {n}", seed=seed),
            "random + median pruning": _strategy_run(data, epochs, f"random {n}",
                                                     "prune median", seed=seed),
            "random + halving pruning": _strategy_run(data, epochs, f"random {n}",
                                                      "prune halving", seed=seed),
            "tpe": _strategy_run(data, epochs, f"tpe {n}", seed=seed),
            "tpe + median pruning": _strategy_run(data, epochs, f"tpe {n}", "prune median",
                                                  seed=seed),
            "tpe + halving pruning": _strategy_run(data, epochs, f"tpe {n}", "prune halving",
                                                   seed=seed),
            "asha": _strategy_run(data, epochs, f"asha {3 * n}", seed=seed),
            "hyperband": _strategy_run(data, epochs, "hyperband eta 3", seed=seed)}
    for pruner in ("median", "halving"):
        optuna_run = _optuna_run(data, epochs, n, seed=seed, pruner=pruner)
        if optuna_run is not None:
            runs[f"optuna tpe + {pruner} pruner"] = optuna_run
    base = runs["random"]
    target = min(error for _, error in base["finished"]) + TOLERANCE
    figures = {}
    for label, result in runs.items():
        when = _reached(result["finished"], target)
        figures[label] = {"wall": result["wall"], "epochs": result["epochs"],
                          "best": min((e for _, e in result["finished"]), default=math.nan),
                          "share": math.inf if when is None else when / base["wall"]}
    return figures


def compute_per_answer(quick: bool, repeat: int = 1, only_set: str | None = None) -> None:
    n = 10 if quick else 30
    for name, (data, epochs) in SETS.items():
        if (quick and name != "digits") or only_set not in (None, name.split()[0]):
            continue
        _strategy_run(data, 1, "random 2")         # the workers load the set: no run pays it
        repeats = [_one_repeat(data, epochs, n, seed) for seed in range(repeat)]
        print(f"\n{name} ({epochs} epochs cap, {repeat} search seed(s); medians): "
              f"random search's best valid error "
              f"{100 * statistics.median(r['random']['best'] for r in repeats):.2f}%")
        print(f"{'strategy':28s} {'wall s':>7s} {'epochs':>7s} {'best %':>7s} "
              f"{'reached':>8s} {'share of random':>15s}")
        for label in repeats[0]:
            rows = [r[label] for r in repeats]
            med = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
            reached = sum(math.isfinite(row["share"]) for row in rows)
            share = "never" if math.isinf(med["share"]) else f"{100 * med['share']:.0f}%"
            print(f"{label:28s} {med['wall']:7.1f} {med['epochs']:7.0f} "
                  f"{100 * med['best']:7.2f} {reached:>4d}/{repeat:<3d} {share:>15s}")


def _timed_run(exp: spec_lang.Experiment, jobs: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        table = run(exp, out=Path(out), jobs=jobs)
        return time.perf_counter() - start, len(table)


def parallel_speedup(quick: bool) -> None:
    exp = spec_lang.loads(PARALLEL.format(epochs=10 if quick else 30, count=6 if quick else 12))
    _timed_run(exp, 2)  # warm the worker pool and the caches
    rounds = [{jobs: _timed_run(exp, jobs) for jobs in (1, 2)} for _ in range(3)]  # interleaved
    median = {jobs: statistics.median(r[jobs][0] for r in rounds) for jobs in (1, 2)}
    trials = rounds[0][1][1]
    for jobs, seconds in median.items():
        print(f"jobs {jobs}: {trials} trials in {seconds:.2f} s (median of 3) = "
              f"{60 * trials / seconds:.0f} trials/min")
    print(f"parallel speedup with 2 jobs: {median[1] / median[2]:.2f}x (target >= 1.7)")


def halving_vs_random(quick: bool) -> None:
    exp = spec_lang.loads(HALVING.format(configs=9 if quick else 27))
    random_exp = dataclasses.replace(exp, search=dataclasses.replace(exp.search,
                                                                     strategy="random"))
    scores = {}
    for name, experiment in (("random", random_exp), ("halving", exp)):
        with tempfile.TemporaryDirectory() as out:
            table = run(experiment, out=Path(out), jobs=2)
        summary = summarize(table)
        full = summary[summary["fidelity"] == 1.0]
        configs = table.filter(like="param_").drop_duplicates()
        scores[name] = (full["mean_valid_error"].min(), table["epochs"].sum(), len(configs))
        print(f"{name:8s}: best valid error {100 * scores[name][0]:.2f}% "
              f"({scores[name][2]} configurations, {scores[name][1]} epochs trained)")
    gap = 100 * (scores["halving"][0] - scores["random"][0])
    share = scores["halving"][1] / scores["random"][1]
    print(f"halving - random: {gap:+.2f} points of error at {100 * share:.0f}% of the epochs "
          "(target: within 0.5 points at <= 35%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller, faster smoke run")
    parser.add_argument("--only", choices=("parallel", "halving", "compute"),
                        help="run one of the benchmarks")
    parser.add_argument("--repeat", type=int, default=1,
                        help="compute per answer: search seeds to run each strategy with "
                             "(the table shows medians)")
    parser.add_argument("--set", choices=[name.split()[0] for name in SETS],
                        help="compute per answer: one data set only")
    args = parser.parse_args()
    benches = {"parallel": parallel_speedup, "halving": halving_vs_random,
               "compute": compute_per_answer}
    for name, bench in benches.items():
        if args.only in (None, name):
            if name == "compute":
                compute_per_answer(args.quick, args.repeat, args.set)
            else:
                bench(args.quick)
