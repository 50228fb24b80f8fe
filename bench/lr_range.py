"""`lr auto` against the default rate and a learning-rate search (issue 13, the learning-rate
range): run with `python bench/lr_range.py [--quick] [--jobs N]`.

On digits and two generated sets (make_classification 5000 x 40 with 10 classes,
make_regression 2000 x 20 with noise 10), one hidden layer of 100 relu units, sgd with
momentum 0.9, the chapter's 1/T schedule, batch 32, up to 100 epochs with early stopping,
one seed, the same split:

- `lr auto`: the range test, then one training at its suggestion;
- `lr 0.01`: the language's default;
- `search random 20` over `lr ~ log_uniform 1e-4 .. 1`;
- `lr auto*`: the range test judged by the engine's divergence rule alone (1000 x the
  initial loss; `range_test(..., rise=None)`), trained at half its largest stable rate: why
  the test's default also calls a rate that raises the loss diverged.

For each: the validation error (classification) or mse (regression) of the chosen
configuration, the test score, the epochs trained (the range test's updates counted as
epochs: updates / updates per epoch) and the seconds. The last column is the search's error
minus lr auto's (positive: lr auto is better).
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import spec_lang
from runtime import run
from spec_lang.experiment import Experiment

SPEC = """experiment {name}
data {data}
split train 0.6 valid 0.2 test 0.2
network
    dense 100 relu
train
    sgd lr {lr} momentum 0.9
    schedule one_over_t
    batch 32
    epochs {epochs} early_stop patience 10
{search}seeds 1
"""
SEARCH = "search random {trials}\n    lr ~ log_uniform 1e-4 .. 1\n"
DATA = {"digits": "digits",
        "classification": "make_classification samples 5000 features 40 classes 10 "
                          "informative 20 seed 1",
        "regression": "make_regression samples 2000 features 20 informative 10 noise 10 "
                      "seed 1"}


def experiment(name: str, data: str, lr: str, epochs: int, trials: int = 0) -> Experiment:
    """The benchmark's spec for one data set and one way of setting the rate."""
    search = SEARCH.format(trials=trials) if trials else ""
    return spec_lang.loads(SPEC.format(name=name, data=DATA[data], lr=lr, epochs=epochs,
                                       search=search))


def range_cost(exp: Experiment, rise: float | None = 1.0) -> tuple[Any, float, float]:
    """The range test of `exp`, its cost in epochs (updates over updates per epoch) and its
    seconds."""
    from runtime.execution.lr_auto import range_test_of
    from runtime.execution.jobs import preflight
    start = time.perf_counter()
    test = range_test_of(exp, rise=rise)
    seconds = time.perf_counter() - start
    _, data = preflight(exp)
    per_epoch = math.ceil(len(data.X_train) / 32)
    return test, len(test.rates) * test.updates / per_epoch, seconds


def measure(exp: Experiment, jobs: int, extra_epochs: float = 0.0, extra_s: float = 0.0
            ) -> dict[str, Any]:
    """Run `exp` in a fresh folder: the chosen configuration's scores and the compute spent."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        table = run(exp, out=Path(folder), jobs=jobs)
        seconds = time.perf_counter() - start
    best = table.attrs["best"]
    metric = best["metric"]
    test = best["test"]
    lr = best.get("lr_auto", {}).get("lr") or best["params"].get("lr") or \
        exp.config.train.optimizer.lr
    return {"valid": best["valid"]["mean"], "metric": metric,
            "test": test.get(f"test_{metric.removeprefix('valid_')}", math.nan),
            "lr": float(lr), "epochs": float(table["epochs"].sum()) + extra_epochs,
            "seconds": seconds + extra_s}


def bench(data: str, epochs: int, trials: int, jobs: int) -> list[tuple[str, dict[str, Any]]]:
    """The four ways of setting the rate on one data set."""
    auto = experiment(f"auto_{data}", data, "auto", epochs)
    _, auto_epochs, _ = range_cost(auto)
    rows = [("lr auto", measure(auto, jobs, auto_epochs))]
    rows.append(("lr 0.01", measure(experiment(f"default_{data}", data, "0.01", epochs), jobs)))
    rows.append((f"random {trials}", measure(experiment(f"search_{data}", data, "$lr", epochs,
                                                        trials), jobs)))
    loose, loose_epochs, loose_s = range_cost(auto, rise=None)
    if loose.suggestion is not None:
        fixed = experiment(f"loose_{data}", data, repr(loose.suggestion), epochs)
        rows.append(("lr auto*", measure(fixed, jobs, loose_epochs, loose_s)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 epochs, 8 search trials")
    parser.add_argument("--jobs", type=int, default=1, help="parallel trials (default 1)")
    args = parser.parse_args()
    epochs, trials = (30, 8) if args.quick else (100, 20)
    print(f"{'data':<15} {'rate':<10} {'lr':>8} {'valid':>8} {'test':>8} {'epochs':>8} "
          f"{'seconds':>8} {'search - auto':>14}")
    for data in DATA:
        rows = bench(data, epochs, trials, args.jobs)
        auto = rows[0][1]["valid"]
        for label, r in rows:
            gap = rows[2][1]["valid"] - auto if label == "lr auto" else math.nan
            print(f"{data:<15} {label:<10} {r['lr']:>8.3g} {r['valid']:>8.4g} "
                  f"{r['test']:>8.4g} {r['epochs']:>8.0f} {r['seconds']:>8.1f} "
                  f"{'' if math.isnan(gap) else f'{gap:+.4g}':>14}")
        print(f"{'':<15} (valid/test: {rows[0][1]['metric']})", flush=True)


if __name__ == "__main__":
    main()
