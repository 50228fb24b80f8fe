"""Scale-out benchmark (issue 10): run with `python bench/scale.py [--quick]`.

1. Trials per minute of `nnspec run SPEC --cluster local:2` against `nnspec run SPEC --jobs 2`
   on the same spec: each a whole `nnspec run ... --fresh --quiet` process started fresh, timed
   from start to exit (imports, data, workers' start, training, the final model), printed as
   a ratio (target: the cluster within 10% of the local processes). The two are run in turn,
   `--repeat` times (default 2), and each keeps its best time: the machine is shared.
2. The bytes shipped to the workers per trial, measured, not estimated: a byte counter is put
   into every Dask worker process (a wrapper of `distributed.comm.tcp.read_bytes_rw`, through
   which a worker reads every message it receives over TCP: the tasks, the data set (installed
   by a worker plugin), the scheduler's messages and heartbeats' replies), and the run is made in this process on
   the same LocalCluster `--cluster local:2` starts (`runtime.execution.cluster.dask_client`).
   It prints the bytes received by all workers during the run, per trial, and what remains
   per trial once the one broadcast of the data set (its pickled size times the workers) is
   taken out: what a trial costs in traffic on its own.

Two specs: 24 trials of digits (1797 x 64), and a generated data set large enough to matter
(make_classification 20000 x 100, float64 in an .npz: 16 MB), whose data must travel once per
worker and never with each trial.
"""
from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DIGITS = """experiment scale_digits
data digits
split train 0.6 valid 0.2 test 0.2 stratified
preprocess
    standardize
network
    dense $width relu
train
    sgd lr $lr momentum 0.9
    epochs {epochs} early_stop patience 10
search random 12
    lr ~ log_uniform 1e-3 .. 0.3
    width in 64, 128, 256
seeds 2
"""

BIG = """experiment scale_big
data "big.npz"
split train 0.6 valid 0.2 test 0.2 stratified
preprocess
    standardize
network
    dense 64 relu
train
    sgd lr $lr momentum 0.9
    epochs {epochs} early_stop off
search grid
    lr in 0.003, 0.01, 0.03, 0.1
seeds 2
"""


def write_big(folder: Path, rows: int, features: int) -> Path:
    """make_classification rows x features (float64, 3 classes) as folder/big.npz."""
    from sklearn.datasets import make_classification
    x, y = make_classification(n_samples=rows, n_features=features, n_informative=20,
                               n_classes=3, random_state=0)
    path = folder / "big.npz"
    np.savez(path, X=x, y=y)
    return path


def timed_run(spec: Path, out: Path, where: list[str]) -> tuple[float, int]:
    """Wall seconds of one fresh `nnspec run` process, and the trials its table holds."""
    import pandas as pd
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "runtime", "run", str(spec), "--out", str(out),
                    "--fresh", "--quiet", *where], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return seconds, len(pd.read_csv(out / "trials.csv"))


def _count_reads() -> None:
    """In a worker: count the bytes every TCP message it receives carries (idempotent)."""
    import distributed.comm.tcp as tcp
    if getattr(tcp, "_nnspec_bench_bytes", None) is not None:
        return
    tcp._nnspec_bench_bytes = [0]            # type: ignore[attr-defined]
    read = tcp.read_bytes_rw

    async def counting(stream: Any, n: int) -> Any:
        tcp._nnspec_bench_bytes[0] += n      # type: ignore[attr-defined]
        return await read(stream, n)

    tcp.read_bytes_rw = counting


def _bytes_read() -> int:
    import distributed.comm.tcp as tcp
    return int(tcp._nnspec_bench_bytes[0])   # type: ignore[attr-defined]


def shipped(spec: Path, out: Path) -> dict[str, float]:
    """Bytes the workers of a `local:2` cluster receive while it runs `spec` (see above)."""
    import runtime
    import spec_lang
    from runtime.execution.cluster import dask_client
    from runtime.execution.prepared import dataset
    exp = spec_lang.load(spec)
    data_bytes = len(pickle.dumps(dataset(exp.config.data, str(exp.base_dir)), protocol=5))
    with dask_client(cluster="local:2") as client:
        client.run(_count_reads)
        before = sum(client.run(_bytes_read).values())
        table = runtime.run(exp, out=out, client=client, fresh=True)
        received = sum(client.run(_bytes_read).values()) - before
        workers = len(client.scheduler_info()["workers"])
    trials = len(table)
    return {"trials": trials, "workers": workers, "data": data_bytes, "received": received,
            "per_trial": received / trials,
            "per_trial_without_data": (received - workers * data_bytes) / trials}


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if abs(n) >= 1e5 else f"{n / 1e3:.1f} kB"


def bench(name: str, spec: Path, work: Path, repeat: int) -> None:
    print(f"\n{name}")
    modes = {"--jobs 2": ["--jobs", "2"], "--cluster local:2": ["--cluster", "local:2"]}
    times: dict[str, list[float]] = {label: [] for label in modes}
    trials = 0
    for _ in range(repeat):
        for label, where in modes.items():
            seconds, trials = timed_run(spec, work / label.replace(" ", "_"), where)
            times[label].append(seconds)
    rates = {}
    for label, runs in times.items():
        rates[label] = trials / min(runs) * 60
        print(f"  {label:<18} {trials} trials in {min(runs):6.1f} s (best of "
              f"{', '.join(f'{s:.1f}' for s in runs)}): {rates[label]:6.1f} trials/min")
    ratio = rates["--cluster local:2"] / rates["--jobs 2"]
    verdict = "within 10%" if ratio >= 0.9 else "NOT within 10%"
    print(f"  cluster / jobs: {ratio:.2f} ({verdict})")
    sent = shipped(spec, work / "bytes")
    print(f"  bytes received by the {sent['workers']:.0f} workers during a run (counted in "
          f"each worker's TCP reads): {_mb(sent['received'])}, {_mb(sent['per_trial'])} per "
          f"trial over {sent['trials']:.0f} trials")
    print(f"  the data set pickled: {_mb(sent['data'])} (shipped once to each worker); per "
          f"trial without it: {_mb(sent['per_trial_without_data'])} (the task, and the "
          "scheduler's periodic messages over the trial's time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs and a smaller generated set (a smoke test)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each (best kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        digits = work / "digits.spec"
        digits.write_text(DIGITS.format(epochs=10 if args.quick else 60))
        bench("digits, 24 trials (12 configurations x 2 seeds)", digits, work / "digits",
              args.repeat)
        rows = 4000 if args.quick else 20000
        write_big(work, rows, 100)
        big = work / "big.spec"
        big.write_text(BIG.format(epochs=2 if args.quick else 30))
        bench(f"make_classification {rows} x 100 (float64 .npz), 8 trials", big, work / "big",
              args.repeat)


if __name__ == "__main__":
    main()
