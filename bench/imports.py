"""Start-up cost as the user waits for it: whole commands as fresh processes.

    python bench/imports.py [--repeat 7]

Prints the median wall time of `import runtime`, `import spec_lang`, `nnspec --help`,
`nnspec check`, `nnspec fmt` and, for scale, `import sklearn.neural_network` (what a
scikit-learn user's script pays before its first line), each in a new interpreter, and the
number of modules `import runtime` loads (`python -X importtime -c "import runtime"` shows
where the time goes).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "specs" / "quickstart.spec")
NNSPEC = [sys.executable, "-m", "runtime"]
COMMANDS = {
    "import runtime": [sys.executable, "-c", "import runtime"],
    "import spec_lang": [sys.executable, "-c", "import spec_lang"],
    "nnspec --help": [*NNSPEC, "--help"],
    "nnspec fmt quickstart": [*NNSPEC, "fmt", QUICKSTART],
    "nnspec check quickstart": [*NNSPEC, "check", QUICKSTART],
    "import sklearn.neural_network": [sys.executable, "-c", "import sklearn.neural_network"],
}


def wall(command: list[str]) -> float:
    """Seconds one fresh process of `command` takes, start to exit."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    """Time every command, interleaved, and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeat):                       # interleaved: load drifts hit all alike
        for name, command in COMMANDS.items():
            times[name].append(wall(command))
    reference = statistics.median(times["import sklearn.neural_network"])
    modules = subprocess.run([sys.executable, "-c", "import sys, runtime; print(len(sys.modules))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"{'command':<32} {'median s':>9} {'/ sklearn import':>17}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<32} {median:>9.3f} {median / reference:>17.2f}")
    print(f"modules loaded by 'import runtime': {modules}")


if __name__ == "__main__":
    main()
