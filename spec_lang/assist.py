"""What may be written at an editor's cursor, each with its one-line meaning and default (the
schema's own words, as docs/language.md shows them): a keyword where a statement starts, the
statement's options and names (activations, optimizers, schedules, strategies, priors), the
`$name`s of the search block, and the CSV columns of the file `data` names."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .embed import csv_columns
from .hover import SEARCH_WORDS, keyword_of
from .outline import parameters
from .reference import argument_entry, keyword_entry, summary
from .scan import Line, Word, scan
from .schema import CONTEXTS, PRIORS, SCALES, Arg, Keyword

COLUMN_TYPES = ("targets", "headers", "columns")


@dataclass(frozen=True)
class Suggestion:
    """One completion: the text to insert, what it is (keyword, option, value, parameter,
    column), a one-line detail and the Markdown reference entry."""

    label: str
    kind: str
    detail: str = ""
    documentation: str = ""


def complete(text: str, line: int, column: int, base_dir: Path | None = None
             ) -> list[Suggestion]:
    """The suggestions at (line, column), 0-based; [] where nothing can be said."""
    lines = scan(text)
    if not 0 <= line < len(lines):
        return []
    here = lines[line]
    before = [w for w in here.words if w.end <= column]
    typing = before[-1] if before and before[-1].end == column and \
        before[-1].kind in ("name", "param", "string") else None
    done = before[:-1] if typing is not None else before
    if typing is not None and typing.kind == "param":
        return _parameters(text)
    if typing is not None and typing.kind == "string" or _in_string(here.text, column):
        return _columns(lines, base_dir) if _column_slot(here, done) else []
    if "#" in here.text[:column].split('"')[-1] and here.text[:column].count('"') % 2 == 0:
        return []                                          # inside a comment
    if not done:
        return _statement_starts(text, here)
    return _arguments(text, lines, here, done, base_dir)


def _in_string(text: str, column: int) -> bool:
    return text[:column].count('"') % 2 == 1


def _statement_starts(text: str, here: Line) -> list[Suggestion]:
    if here.context == "search":
        used = [p for p in parameters(text).values() if p.definition is None]
        return [Suggestion(p.name, "parameter", "used as $" + p.name + ", not yet defined")
                for p in used]
    table = CONTEXTS.get(here.context, {})
    return [Suggestion(kw.name, "keyword", kw.doc, keyword_entry(kw)) for kw in table.values()]


def _arguments(text: str, lines: list[Line], here: Line, done: list[Word],
               base_dir: Path | None) -> list[Suggestion]:
    if here.is_dimension:
        return _search_words(text, done)
    kw = keyword_of(here)
    if kw is None:
        return []
    last = done[-1]
    option = kw.option(last.text) if last.kind == "name" and len(done) > 1 else None
    if option is not None and option.flag is None and option.type != "bool":
        return _values(kw, option, text, lines, base_dir)
    written = {w.text for w in done}
    values = [s for a in kw.positional for s in _choices(kw, a)
              if not written & set(a.choices)] if _positional_slot(kw, done) else []
    if option is not None and option.type == "bool":
        values += _values(kw, option, text, lines, base_dir)
    options = [Suggestion(a.name, "option", summary(a), argument_entry(kw, a))
               for a in kw.options if a.name not in written]
    return values + options


def _positional_slot(kw: Keyword, done: list[Word]) -> bool:
    """True while no option has been written after the keyword (positionals come first)."""
    return not any(kw.option(w.text) for w in done[1:] if w.kind == "name")


def _choices(kw: Keyword, arg: Arg) -> list[Suggestion]:
    return [Suggestion(choice, "value", f"{arg.name} of {kw.name}: {arg.doc}",
                       argument_entry(kw, arg)) for choice in arg.choices]


def _values(kw: Keyword, arg: Arg, text: str, lines: list[Line], base_dir: Path | None
            ) -> list[Suggestion]:
    if arg.type in COLUMN_TYPES:
        return _columns(lines, base_dir)
    found = _choices(kw, arg)
    if arg.type == "bool":
        found += [Suggestion(word, "value", summary(arg)) for word in ("true", "false")]
    if arg.auto:
        found.append(Suggestion("auto", "value", arg.doc))
    return found + _parameters(text)


def _parameters(text: str) -> list[Suggestion]:
    return [Suggestion("$" + p.name, "parameter", p.line_text or "not defined in search")
            for p in parameters(text).values() if p.definition is not None]


def _search_words(text: str, done: list[Word]) -> list[Suggestion]:
    op = done[1].text
    if len(done) == 2:
        words = PRIORS if op == "~" else SCALES
        return [Suggestion(w, "value", SEARCH_WORDS[w]) for w in words]
    if done[-1].text == "if":
        return [Suggestion(p.name, "parameter", p.line_text) for p in parameters(text).values()
                if p.definition is not None and p.name != done[0].text]
    return [Suggestion("count", "option", SEARCH_WORDS["count"])] if op == "in" else []


def _column_slot(here: Line, done: list[Word]) -> bool:
    """The cursor is where a CSV column's name goes (after target, drop, columns ...)."""
    kw = keyword_of(here)
    names = [w for w in done if w.kind == "name"]
    if kw is None or len(names) < 2:
        return False
    arg = kw.option(names[-1].text)
    return arg is not None and arg.type in COLUMN_TYPES


def _columns(lines: list[Line], base_dir: Path | None) -> list[Suggestion]:
    path = _data_path(lines)
    if path is None:
        return []
    read = csv_columns((base_dir or Path(".")) / path)
    header = read[0] if read else []
    return [Suggestion(f'"{name}"', "column", f"a column of {path}") for name in header]


def _data_path(lines: list[Line]) -> str | None:
    """The quoted path of the top-level `data` statement."""
    for line in lines:
        if line.context == "top" and line.keyword == "data" and len(line.words) > 1 and \
                line.words[1].kind == "string":
            return line.words[1].text.strip('"') or None
    return None

