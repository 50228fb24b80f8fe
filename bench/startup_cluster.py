"""Start-up on each place a run can go (issue 29): run with `python bench/startup_cluster.py`.

The time from starting `nnspec run SPEC --json` (a new process: imports, the spec, the data,
the workers) to its first trial: handed to a worker (the first `start` event) and finished
(the first `trial` event), for `--jobs 2` (local processes), `--cluster local:2` (a Dask
LocalCluster) and `--cluster slurm:2` (two batch jobs on a one-node Slurm started here by
tests/runtime/execution/onenode_slurm.py: root and Debian's slurm-wlm and munge; the row says
why it is missing otherwise). A spec of iris trials that take milliseconds, so the first
trial's end is the start-up. Each place `--repeat` times (default 3), in turn; the median.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "runtime" / "execution"))

from onenode_slurm import OneNodeSlurm, why_not  # noqa: E402

SPEC = """experiment startup
data iris
network
    dense 8 tanh
train
    sgd lr $lr
    epochs 5 early_stop off
search grid
    lr in 0.01, 0.1
seeds 2
"""


def first_trial(args: list[str], folder: Path, env: dict[str, str] | None) -> tuple[float, float]:
    """Seconds from the start of `nnspec run ... --json` to its first start and trial events."""
    started = time.perf_counter()
    run = subprocess.Popen([sys.executable, "-m", "runtime", "run", "startup.spec", "--json",
                            "--fresh", *args], cwd=folder, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    handed = finished = float("nan")
    assert run.stdout is not None
    for line in run.stdout:
        event = json.loads(line).get("event")
        if event == "start" and handed != handed:
            handed = time.perf_counter() - started
        if event == "trial":
            finished = time.perf_counter() - started
            break
    run.stdout.read()
    if run.wait(timeout=300) != 0:
        raise RuntimeError(f"nnspec run {' '.join(args)} failed")
    return handed, finished


def main() -> None:
    """Print the start-up table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    import os
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "startup.spec").write_text(SPEC)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        places = {"--jobs 2": (["--jobs", "2", "--out", "r-jobs"], env),
                  "--cluster local:2": (["--cluster", "local:2", "--out", "r-local"], env)}
        slurm: OneNodeSlurm | None = None
        reason = why_not()
        if reason is None:
            slurm = OneNodeSlurm(folder / "slurm")
            slurm.start()
            places["--cluster slurm:2"] = (["--cluster", "slurm:2", "--cluster-option",
                                            "interface=lo", "--cluster-option",
                                            "memory=500MB", "--out", "r-slurm"],
                                           {**env, "SLURM_CONF": str(slurm.conf)})
        try:
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in places}
            for _ in range(repeat):
                for name, (args, run_env) in places.items():
                    times[name].append(first_trial(args, folder, run_env))
        finally:
            if slurm is not None:
                slurm.stop()
    print(f"{'where':<20} {'first trial handed out':>24} {'first trial done':>18}  "
          f"(median of {repeat}, s)")
    for name, found in times.items():
        handed = statistics.median(t[0] for t in found)
        done = statistics.median(t[1] for t in found)
        print(f"{name:<20} {handed:>24.2f} {done:>18.2f}")
    if reason is not None:
        print(f"{'--cluster slurm:2':<20} {'not measured: ' + reason}")


if __name__ == "__main__":
    main()
