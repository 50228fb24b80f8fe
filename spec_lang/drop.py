"""`data "people.csv" target "income" drop "id", "name"`: CSV columns left out when the file is
read (an identifier, free text), so that they are neither features nor one-hot encoded.

The columns are the data's (`DataSpec.drop`, part of the data's identity in a trial's key); each
is named once, is not a target nor embedded, and, when the file can be read here, is a column of
its header (a misspelt one gets a "did you mean"). The loader checks again, for experiments made
from Python.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import config as c
from . import nodes as n
from .binding import Checker
from .embed import csv_columns, source_problem
from .errors import did_you_mean

Item = tuple[Any, n.Command, dict[str, Any]]


def check_drop(ck: Checker, item: Item | None, data: c.DataSpec, base_dir: Path | None) -> None:
    """Every problem of the `drop` option of the data statement `item`, recorded in `ck`."""
    node = n.value_after(item[1], "drop") if item is not None else None
    if node is None or not data.drop:
        return
    if source_problem(data) is not None:          # not a CSV file
        ck.error(node.span, "drop names columns of a CSV file's header, and this data has none",
                 "remove `drop`")
        return
    atoms = [i for i in (node.items if isinstance(node, n.List) else (node,))
             if isinstance(i, (n.String, n.Name))]
    read = csv_columns((base_dir or Path(".")) / str(data.path))
    header = read[0] if read is not None else []
    targets = data.target if isinstance(data.target, tuple) else \
        (data.target or (header[-1] if header else ""),)
    seen: set[str] = set()
    for atom in atoms:
        _check_one(ck, atom, seen, targets, set(data.embed), header, data.path or "")
        seen.add(atom.value)
    if header and len(set(header) - seen - set(targets)) == 0:
        ck.error(node.span, f"drop leaves no input column of {data.path}",
                 "drop only the columns that are not inputs (an identifier, free text)")


def _check_one(ck: Checker, atom: n.String | n.Name, seen: set[str], targets: tuple[str, ...],
           embedded: set[str], header: list[str], path: str) -> None:
    """The problem of one dropped column, if it has one."""
    name = atom.value
    if name in seen:
        ck.error(atom.span, f"'{name}' is dropped twice", "name each column once")
    elif name in targets:
        ck.error(atom.span, f"'{name}' is the target column: it cannot be dropped",
                 "name another target, or drop another column")
    elif name in embedded:
        ck.error(atom.span, f"'{name}' is embedded: it cannot also be dropped",
                 "remove it from `drop` or from `embed columns`")
    elif header and name not in header:
        ck.error(atom.span, f"'{name}' is not a column of {path}",
                 did_you_mean(name, header) or f"its columns: {', '.join(header)}")
