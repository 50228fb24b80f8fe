"""The keyword reference of docs/language.md, rendered from the tables in `schema`, so that the
documentation cannot drift from what the validator accepts.

    python -m spec_lang.reference --write docs/language.md
"""
from __future__ import annotations

import sys
from pathlib import Path

from .schema import CONTEXTS, Arg, Keyword

START, END = "<!-- reference:start -->", "<!-- reference:end -->"
TITLES = {"top": "Top level", "preprocess": "In `preprocess`", "network": "In `network` "
          "(and `repeat`)", "train": "In `train`"}
KINDS = {"number": "number", "int": "whole number", "bool": "flag (`true`/`false`; alone: "
         "true)", "name": "name", "string": "name or \"text\"", "source": "name or \"path\"",
         "batch": "whole number or `all`", "names": "names, comma-separated",
         "columns": "indices or \"names\", comma-separated",
         "targets": "\"name\", or \"names\" comma-separated",
         "headers": "\"names\" of columns, comma-separated",
         "weights": "numbers or `$name`s, comma-separated", "metric": "name"}


def _default(arg: Arg) -> str:
    if arg.required:
        return "required"
    if arg.default is None:
        return "—"
    if arg.default == ():
        return "—"
    return f"`{str(arg.default).lower() if isinstance(arg.default, bool) else arg.default}`"


def _accepts(arg: Arg) -> str:
    parts = []
    if arg.choices:
        parts.append(", ".join(f"`{c}`" for c in arg.choices))
    if arg.type in ("number", "int", "batch") and (arg.low > -1e308 or arg.high < 1e308):
        parts.append(arg.interval())
    if arg.flag is not None and arg.type != "bool":
        parts.append(f"alone: `{arg.flag}`")
    if arg.auto:
        parts.append("or `auto`")
    if arg.log:
        parts.append("searched on a log scale by default")
    return "; ".join(parts)


TABLE_HEAD = ["| argument | kind | default | accepts | meaning |", "|---|---|---|---|---|"]


def _row(kw: Keyword, arg: Arg) -> str:
    role = "positional" if arg in kw.positional else "option"
    return (f"| `{arg.name}` ({role}) | {KINDS[arg.type]} | {_default(arg)} | {_accepts(arg)} | "
            f"{arg.doc} |")


def _keyword(kw: Keyword) -> list[str]:
    usage = " ".join([kw.name, *(f"<{a.name}>" if a.required else f"[{a.name}]"
                                 for a in kw.positional),
                      *(f"[{a.name} …]" for a in kw.options)])
    lines = [f"#### `{kw.name}`", "", kw.doc, "", f"    {usage}"]
    if kw.block:
        lines[-1] += f"\n        … indented {kw.block} statements"
    args = [*kw.positional, *kw.options]
    if args:
        lines += ["", *TABLE_HEAD, *(_row(kw, a) for a in args)]
    return lines + [""]


def keyword_entry(kw: Keyword) -> str:
    """A keyword's reference entry, exactly as docs/language.md holds it (Markdown): its
    meaning, its usage line and the table of its arguments. The editor's hover shows it."""
    return "\n".join(_keyword(kw)).rstrip("\n")


def argument_entry(kw: Keyword, arg: Arg) -> str:
    """One argument's row of its keyword's table in docs/language.md, under the table's head
    and a line naming the keyword (Markdown)."""
    return "\n".join([f"`{kw.name}` — {kw.doc}", "", *TABLE_HEAD, _row(kw, arg)])


def summary(arg: Arg) -> str:
    """One line for a completion list: the argument's meaning and its default, as the docs'
    table says them ("learning rate …; default `0.01`")."""
    return f"{arg.doc}; default {_default(arg)}" if not arg.required else f"{arg.doc} (required)"


def render() -> str:
    """The reference section, between its markers."""
    lines = [START, ""]
    for context, table in CONTEXTS.items():
        lines += [f"### {TITLES[context]}", ""]
        for kw in table.values():
            lines += _keyword(kw)
    return "\n".join(lines + [END])


def splice(document: str) -> str:
    """`document` with its reference section replaced by a fresh rendering."""
    head, _, rest = document.partition(START)
    _, _, tail = rest.partition(END)
    return head + render() + tail


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        path = Path(sys.argv[2])
        path.write_text(splice(path.read_text()))
    else:
        print(render())
