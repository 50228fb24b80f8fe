"""The reference text for the word under an editor's cursor: a keyword's entry and an option's
row, exactly as docs/language.md holds them (`reference`, rendered from `schema`: one source),
the statement a value belongs to, and a `$name`'s space (its search line)."""
from __future__ import annotations

from dataclasses import dataclass

from .outline import Parameter, parameter_at
from .reference import argument_entry, keyword_entry
from .schema import CONTEXTS, PRIORS, SCALES, Arg, Keyword
from .scan import Line, Word, at, scan

SEARCH_WORDS = {
    **{p: "a prior: values are drawn from it (`~`)" for p in PRIORS},
    **{s: "the scale of a range of listed values (`in log 1e-4 .. 1 count 5`)" for s in SCALES},
    "count": "how many values a range lists (`in 1e-4 .. 1 count 5`)",
}


@dataclass(frozen=True)
class Hover:
    """Markdown to show, over the word at `line`, columns `start` to `end` (0-based)."""

    text: str
    line: int
    start: int
    end: int


def keyword_of(line: Line) -> Keyword | None:
    """The keyword of the statement on `line` in its block (None for a search line or an
    unknown word)."""
    return CONTEXTS.get(line.context, {}).get(line.keyword)


def hover(text: str, line: int, column: int) -> Hover | None:
    """What the word at (line, column) means; None over blanks, numbers and unknown words."""
    found = at(scan(text), line, column)
    if found is None:
        return None
    here, word = found
    param = parameter_at(text, line, column)
    entry = _parameter(param) if param is not None else _word(here, word)
    return Hover(entry, line, word.start, word.end) if entry else None


def _parameter(param: Parameter) -> str:
    if param.definition is None:
        return f"`${param.name}`: not defined in the search block"
    uses = len(param.uses)
    return (f"`${param.name}` — searched (line {param.definition.line + 1}):\n\n"
            f"    {param.line_text}\n\nused {uses} time{'s' if uses != 1 else ''}")


def _word(here: Line, word: Word) -> str:
    if word.kind != "name":
        return ""
    if here.context == "search" and here.is_dimension:
        return SEARCH_WORDS.get(word.text, "")
    kw = keyword_of(here)
    if kw is None:
        return ""
    if word is here.words[0]:
        return keyword_entry(kw)
    arg = kw.option(word.text)
    if arg is not None:
        return argument_entry(kw, arg)
    owner = _choice_owner(kw, word.text)
    if owner is not None:
        return (f"`{word.text}` — a value of `{kw.name}`'s `{owner.name}` ({owner.doc})\n\n"
                + keyword_entry(kw))
    return ""


def _choice_owner(kw: Keyword, value: str) -> Arg | None:
    """The argument of `kw` that accepts the name `value`."""
    return next((a for a in (*kw.positional, *kw.options) if value in a.choices), None)
