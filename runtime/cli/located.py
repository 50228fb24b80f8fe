"""A runtime error about something the spec wrote, shown where the spec wrote it.

`nnspec check` and `run` load the data and import the strategy's library after the spec is
checked; a `DataError` (a missing file, a misspelt target column) or a `MissingExtra` (tpe
without Optuna) then names words of the spec (`NnspecError.words`: a column, a path, a
strategy) in one top-level statement (`NnspecError.statement`). This module finds the first of
those words among that statement's values (`data "plants.csv" target "species"`, `search tpe
30`) and renders the error as every spec error is rendered: `file:line:col: message`, the
line, carets under the word, the hint.
"""
from __future__ import annotations

from typing import Iterator

import spec_lang
from spec_lang import Diagnostic, SpecError
from spec_lang import nodes as n
from spec_lang.experiment import Experiment
from spec_lang.parser import source_text

from runtime.errors import NnspecError


def located(exc: NnspecError, exp: Experiment) -> SpecError | NnspecError:
    """`exc` as a `SpecError` at the first of its words the spec's text holds; `exc` itself
    when it names none, or the spec's text is not a file that can be read and parsed again."""
    if not exc.words or exp.filename.startswith("<"):
        return exc
    try:
        text = spec_lang.read(exp.filename)
        spec = spec_lang.parse(text, exp.filename)
    except SpecError:                 # changed since it was checked: say it unlocated
        return exc
    span = _first_span(spec, exc.statement, exc.words)
    if span is None:
        return exc
    message = getattr(exc, "message", str(exc))
    return SpecError([Diagnostic(span.line, span.column, message, exc.hint,
                                 span.end_column if span.end_line == span.line else 0)],
                     exp.filename, source_text(text))


def _first_span(spec: n.Spec, keyword: str, words: tuple[str, ...]) -> n.Span | None:
    """The span of the first value equal to the first word found (words in their order)."""
    for word in words:
        for value in _top_values(spec, keyword):
            if value.value == word:
                return value.span
    return None


def _top_values(spec: n.Spec, keyword: str) -> Iterator[n.String | n.Name]:
    """The strings and names the top-level statements `keyword` take, in the order written
    (another statement's words, or a block's lines, are another setting's)."""
    for stmt in spec.statements:
        if isinstance(stmt, n.Command) and isinstance(stmt.keyword, n.Name) and \
                stmt.keyword.value == keyword:
            for arg in stmt.args:
                items = arg.items if isinstance(arg, n.List) else (arg,)
                yield from (i for i in items if isinstance(i, (n.String, n.Name)))
