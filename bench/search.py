"""Search benchmarks (issue "search"): run with `python bench/search.py [--quick]`.

1. Trials per minute with 1 and 2 parallel jobs on a small spec (target: >= 1.7x on 2 cores).
2. On digits: the best validation error successive halving reaches against random search over
   the same configurations (halving's first rung is random search's draws, same seed), and the
   share of training epochs halving spends (target: within 0.5 points at <= 35%).
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

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
    args = parser.parse_args()
    parallel_speedup(args.quick)
    halving_vs_random(args.quick)
