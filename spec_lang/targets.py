"""Several targets in one spec (Bengio 2012, section 5.3): `data "houses.csv" target "price",
"rooms" weights 2, 1` trains one output head per target, the criterion their losses' weighted
sum; `metric error "rooms"` selects by one target's metric (default: the weighted loss).

The targets are CSV columns, so several of them need a CSV data file; each is named once and
`task` (one target's override) does not go with them. The weights, one per target, are the
configuration's (`Config.target_weights`), not the data's: a weight may be searched (`$w`). A
target-qualified metric is kept as `<target>_<metric>` ("rooms_error"), the name of its column
in the results (`valid_rooms_error`). The header is checked here when the file can be read (the
loader checks again, for experiments made from Python).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import config as c
from . import nodes as n
from .binding import Checker
from .embed import csv_columns
from .errors import did_you_mean

Item = tuple[Any, n.Command, dict[str, Any]]
METRIC_HINT = "`metric loss` (the weighted loss of the targets, the default) or one target's " \
    "metric: `metric error \"rooms\"`"


def check_targets(ck: Checker, data_item: Item | None, metric_item: Item | None,
                  data: c.DataSpec, base_dir: Path | None) -> tuple[tuple[Any, ...], str | None]:
    """The targets' weights (() for one target) and the selection metric (`<target>_<metric>`
    when the metric statement names a target), every problem recorded in `ck`."""
    several = isinstance(data.target, tuple)
    names = data.target if isinstance(data.target, tuple) else ()
    if data_item is not None:
        _check_data(ck, data_item, data, base_dir)
    weights: tuple[Any, ...] = ()
    if data_item is not None and "weights" in data_item[2]:
        weights = data_item[2]["weights"]
        node = n.value_after(data_item[1], "weights")
        assert node is not None
        if not several:
            ck.error(node.span, "weights go with several targets: each weighs one target's "
                     "loss", 'for example: target "price", "rooms" weights 2, 1')
            weights = ()
        elif len(weights) != len(names):
            ck.error(node.span, f"{len(weights)} weight(s) for {len(names)} targets",
                     "give one weight per target, in the targets' order")
            weights = ()
    return weights, _metric(ck, metric_item, names)


def _check_data(ck: Checker, item: Item, data: c.DataSpec, base_dir: Path | None) -> None:
    """Several targets: a CSV data file, each target named once, present, and no `task`."""
    node = n.value_after(item[1], "target")
    if node is None or not isinstance(data.target, tuple):
        return
    items = [(i, i.value) for i in (node.items if isinstance(node, n.List) else (node,))
             if isinstance(i, (n.String, n.Name))]     # the binder accepted only these
    fmt = data.format or (Path(data.path).suffix.lower().lstrip(".") if data.path else "")
    if data.source != "file" or fmt != "csv":
        what = f"'{data.source}'" if data.source != "file" else f"the {fmt} file {data.path}"
        ck.error(node.span, f"several targets are columns of a CSV file, but the data is "
                 f"{what}, with one target", 'write data "file.csv" target "a", "b"')
        return
    seen: set[str] = set()
    for atom, name in items:
        if name in seen:
            ck.error(atom.span, f"target '{name}' is named twice", "name each target once")
        seen.add(name)
    task = n.value_after(item[1], "task")
    if task is not None:
        ck.error(task.span, "'task' overrides the task of one target; with several targets "
                 "each target's task is inferred from its column",
                 "remove 'task' (a column of text or few integers is a class target)")
    read = csv_columns((base_dir or Path(".")) / str(data.path))
    header = read[0] if read is not None else []
    for atom, name in items if header else ():
        if name not in header:
            ck.error(atom.span, f"'{name}' is not a column of {data.path}",
                     did_you_mean(name, header) or f"its columns: {', '.join(header)}")
    if header and len(seen) >= len(header):
        ck.error(node.span, f"every column of {data.path} is a target: there are no inputs")


def _metric(ck: Checker, item: Item | None, names: tuple[str, ...]) -> str | None:
    """The selection metric's key: a target's `<target>_<metric>`, else the metric's name."""
    if item is None:
        return None
    _, cmd, values = item
    name, target = values.get("name"), values.get("target")
    if not isinstance(name, str):
        return None
    if target is None:
        if names and name != "loss":
            ck.error(cmd.args[0].span, f"with several targets, '{name}' needs the target it "
                     "is of", METRIC_HINT)
        return name
    node = cmd.args[1]
    if not names:
        ck.error(node.span, f"the metric names the target '{target}', but the data has one "
                 "target", f"write `metric {name}`")
    elif target not in names:
        ck.error(node.span, f"'{target}' is not one of the targets ({', '.join(names)})",
                 did_you_mean(target, names) or METRIC_HINT)
    else:
        return f"{target}_{name}"
    return name
