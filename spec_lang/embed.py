"""The network's `embed` statements: which CSV text columns become learned embeddings.

`embed columns "city", "shop" dim 8` is a network statement (its `dim` is a hyper-parameter like
a layer's width: `dim $d` is searched), but the columns it names decide how the data file is
encoded, so they are fixed: the validator copies them, in order, into `DataSpec.embed` for the
data loader. When the data file can be read here its header and values are checked too, so that
a misspelt or numeric column is an error at `file:line:col` before anything runs (the loader
checks again, for experiments made from Python).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from . import config as c
from . import nodes as n
from .binding import Checker
from .errors import did_you_mean
from .values import is_number

CHECK_BYTES = 64 * 1024 * 1024          # larger files are checked by the loader only


def embeds(ck: Checker, items: list[tuple[Any, n.Command, dict[str, Any]]]
           ) -> tuple[tuple[c.Embed, ...], dict[str, n.Value]]:
    """The Embed of each `embed` statement, and the node that names each column (for later
    messages); a column named twice, a searched or missing column list are errors."""
    out: list[c.Embed] = []
    nodes: dict[str, n.Value] = {}
    for _, cmd, values in items:
        node = n.value_after(cmd, "columns")
        if node is None:
            ck.error_after(cmd.keyword.span, "expected `columns \"name\", ...` after 'embed'",
                           "for example: embed columns \"city\", \"shop\" dim 8")
            continue
        items_ = node.items if isinstance(node, n.List) else (node,)
        if any(isinstance(i, n.ParamRef) for i in items_):
            ck.error(node.span, "the columns of 'embed' cannot be searched",
                     "they decide how the data file is encoded; search `dim` instead")
            continue
        columns = values.get("columns", ())
        for item, col in zip(items_, columns):
            if not isinstance(col, str):
                ck.error(item.span, "'embed' names text columns by their header name; got "
                         f"the number {col}", "write the column's name in quotes")
            elif col in nodes:
                ck.error(item.span, f"column '{col}' is embedded twice",
                         "name each column in one embed statement")
            else:
                nodes[col] = item
        named = tuple(col for col in columns if isinstance(col, str))
        out.append(c.Embed(columns=named, **({"dim": values["dim"]} if "dim" in values else {})))
    return tuple(out), nodes


def check_source(ck: Checker, data: c.DataSpec, nodes: dict[str, n.Value], keyword: n.Span,
                 base_dir: Path | None) -> None:
    """Embedding needs a CSV data file whose named columns hold text (and are not the
    target); checked against the file when it can be read here."""
    if not nodes:
        return
    problem = source_problem(data)
    if problem is not None:
        ck.error(keyword, problem, SOURCE_HINT)
        return
    read = csv_columns((base_dir or Path(".")) / str(data.path), set(nodes))
    if read is None:
        return                                      # the loader checks it, or reports it
    header, text = read
    target = data.target if data.target is not None else (header[-1] if header else None)
    targets = target if isinstance(target, tuple) else (target,)
    for col, node in nodes.items():
        if col not in header:
            ck.error(node.span, f"'{col}' is not a column of {data.path}",
                     did_you_mean(col, header) or f"its columns: {', '.join(header)}")
        elif col in targets:
            ck.error(node.span, f"'{col}' is the target column: it cannot also be an input",
                     "embed input columns only")
        elif col not in text:
            ck.error(node.span, f"'{col}' holds numbers in {data.path}, not text",
                     "embed takes text (categorical) columns; numeric ones are inputs already")


SOURCE_HINT = "embed goes with data \"file.csv\"; other sources have numeric features only"


def source_problem(data: c.DataSpec) -> str | None:
    """Why `data` has no text columns to embed (None for a CSV file)."""
    fmt = data.format or (Path(data.path).suffix.lower().lstrip(".") if data.path else "")
    if data.source == "file" and fmt == "csv":
        return None
    what = f"'{data.source}'" if data.source != "file" else \
        f"the {fmt or 'non-CSV'} file {data.path}"
    return f"embed takes text columns of a CSV file, but the data is {what}"


def csv_columns(path: Path, wanted: set[str] | None = None
                ) -> tuple[list[str], set[str]] | None:
    """A CSV file's header, and which of the `wanted` columns hold a value that is not a
    number (read as the loader's CSV reader reads: leading spaces skipped); None when it cannot
    be checked here (missing, unreadable, or over CHECK_BYTES): the loader reports or checks
    it."""
    try:
        if not path.is_file() or path.stat().st_size > CHECK_BYTES:
            return None
        return _text_columns(path, wanted or set())
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _text_columns(path: Path, wanted: set[str]) -> tuple[list[str], set[str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f, skipinitialspace=True)
        header = [h.strip() for h in next(rows, [])]
        at = {h: i for i, h in enumerate(header) if h in wanted}
        text: set[str] = set()
        for row in rows:
            for col, i in at.items():
                if col not in text and i < len(row) and row[i] and not is_number(row[i]):
                    text.add(col)
            if len(text) == len(at):
                break
    return header, text
