"""A nested run's console table and `nnspec show` carry the outer fold: ranks are per outer
fold, and each row says which one."""
from __future__ import annotations

import re

from runtime.cli.command import main

NESTED = """experiment nested_table
data iris
nested outer 2 inner 2
network
    dense 4 tanh
train
    sgd lr $lr
    epochs 4
search grid
    lr in 0.01, 0.1, 1
seeds 1
"""


def rows(text: str) -> list[list[str]]:
    """The body rows of a rich table (cells between │)."""
    return [[c.strip() for c in line.strip("│ ").split("│")]
            for line in text.splitlines() if line.startswith("│")]


def test_run_and_show_print_the_outer_fold(tmp_path, capsys) -> None:
    spec = tmp_path / "n.spec"
    spec.write_text(NESTED)
    assert main(["run", str(spec), "--out", str(tmp_path / "run"), "--jobs", "1",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert main(["show", str(tmp_path / "run")]) == 0
    shown = capsys.readouterr().out
    for text in (printed, shown):
        header = next(line for line in text.splitlines() if line.startswith("┃"))
        assert re.split(r"\s*┃\s*", header.strip("┃ "))[:2] == ["outer", "rank"]
        body = rows(text)
        assert [(r[0], r[1]) for r in body] == [
            ("0", "1"), ("0", "2"), ("0", "3"), ("1", "1"), ("1", "2"), ("1", "3")]
        assert "per outer fold" in text
