"""Parse + validate time of a 100-line spec (target: well under 50 ms), and of 20,000-line specs,
which must stay linear: `python bench/parse.py`.

Measured on the 2-core development machine (shared with other work, so +-30%), median of 3,
the same script run on the tree before the change (f163f7b) and after:

| 20,000 lines                                         | before  | after   |
|------------------------------------------------------|---------|---------|
| valid spec: parse + validate                         | 6.69 s  | 3.37 s  |
| 19,999 problems (`data iris` repeated): + render     | 27.21 s | 2.10 s  |
| per line, valid spec                                 | 0.34 ms | 0.17 ms |
| 110-line spec, parse + validate                      | 45 ms   | 26 ms   |

Before, every diagnostic split the whole source into lines (quadratic), and the parser built a
lark tree and then transformed it; the transformer now runs inline in the LALR parser.
"""
from __future__ import annotations

import statistics
import re
import time
from pathlib import Path
from typing import Callable

import spec_lang
from spec_lang.parser import _lark

ROOT = Path(__file__).resolve().parents[1]
LONG = 20_000


def hundred_line_spec() -> str:
    """digits.spec plus enough searched layers and comments to make 100 lines."""
    base = (ROOT / "specs" / "digits.spec").read_text()
    layers = "".join(f"        dense $w{i} relu init he_normal scale 1.0  # layer {i}\n"
                     for i in range(40))
    dims = "".join(f"    w{i} in 16, 32, 64, 128\n" for i in range(40))
    # After the repeated layer's line, whatever its comment says (a comment edit broke this).
    text, layer_lines = re.subn(r"( {8}dense \$width relu[^\n]*\n)", lambda m: m[1] + layers,
                                base, count=1)
    text, dim_lines = re.subn(r"( {4}depth in [^\n]*\n)", lambda m: m[1] + dims, text, count=1)
    if (layer_lines, dim_lines) != (1, 1):
        raise SystemExit("bench/parse.py: specs/digits.spec no longer has the `dense $width "
                         "relu` layer and the `depth in` line this benchmark extends")
    return text


def long_valid_spec(lines: int = LONG) -> str:
    """A network of `lines` commented dense layers."""
    return "data iris\nnetwork\n" + "    dense 8 relu  # a layer\n" * lines


def long_broken_spec(lines: int = LONG) -> str:
    """`data iris` repeated: every line but the first is a problem to report."""
    return "data iris\n" * lines


def _seconds(work: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def _report(text: str) -> int:
    try:
        spec_lang.loads(text)
    except spec_lang.SpecError as exc:
        return len(str(exc))
    return 0


if __name__ == "__main__":
    text = hundred_line_spec()
    _lark()  # the grammar is built once per process; a long-lived caller pays this once
    times = _seconds(lambda: spec_lang.loads(text), 50)
    print(f"{len(text.splitlines())}-line spec: parse + validate median "
          f"{1000 * statistics.median(times):.2f} ms, max {1000 * max(times):.2f} ms")
    for name, long in (("valid", long_valid_spec()), ("broken", long_broken_spec())):
        median = statistics.median(_seconds(lambda: _report(long), 3))
        print(f"{LONG:,}-line {name} spec: parse + validate + render median {median:.2f} s "
              f"({1000 * median / LONG:.3f} ms per line)")
