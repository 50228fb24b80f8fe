"""Parse + validate time of a 100-line spec (target: well under 50 ms): `python bench/parse.py`."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import spec_lang
from spec_lang.parser import _lark

ROOT = Path(__file__).resolve().parents[1]


def hundred_line_spec() -> str:
    """digits.spec plus enough searched layers and comments to make 100 lines."""
    base = (ROOT / "specs" / "digits.spec").read_text()
    layers = "".join(f"        dense $w{i} relu init he_normal scale 1.0  # layer {i}\n"
                     for i in range(40))
    dims = "".join(f"    w{i} in 16, 32, 64, 128\n" for i in range(40))
    text = base.replace("        dense $width relu  # He initialization follows from relu\n",
                        "        dense $width relu\n" + layers)
    text = text.replace("    depth in 1, 2, 3\n", "    depth in 1, 2, 3\n" + dims)
    return text


if __name__ == "__main__":
    text = hundred_line_spec()
    _lark()  # the grammar is built once per process; a long-lived caller pays this once
    times = []
    for _ in range(50):
        start = time.perf_counter()
        spec_lang.loads(text)
        times.append(time.perf_counter() - start)
    print(f"{len(text.splitlines())}-line spec: parse + validate median "
          f"{1000 * statistics.median(times):.2f} ms, max {1000 * max(times):.2f} ms")
