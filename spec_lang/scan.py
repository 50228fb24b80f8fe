"""A tolerant reading of spec text, line by line, for an editor: each line's words with their
columns and the block the line is in. Unlike the parser it never fails, so that completion,
hover and the outline work on text that is half typed.

Lines and columns here are 0-based (as an editor counts); a column counts characters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .schema import CONTEXTS

TOKEN = re.compile(r'(?P<comment>#.*)|(?P<string>"(?:[^"\\\n]|\\.)*"?)|(?P<param>\$\w*)'
                   r'|(?P<number>[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?%?)'
                   r'|(?P<name>[A-Za-z_]\w*)|(?P<op>\.\.|==|!=|[~,])|(?P<other>\S)')
TAB = 8


@dataclass(frozen=True)
class Word:
    """One token of a line: `kind` is string, param, number, name, op or other."""

    kind: str
    text: str
    start: int
    end: int                  # exclusive


@dataclass(frozen=True)
class Line:
    """One line: its words (comments left out), its indentation width, the block it is in
    (top, preprocess, network, train or search) and the keyword whose block it is."""

    number: int
    text: str
    indent: int
    words: tuple[Word, ...]
    context: str
    parent: int = -1          # the line number of the statement whose block holds it; -1: none

    @property
    def keyword(self) -> str:
        """The line's first word when it is a name ('' otherwise)."""
        return self.words[0].text if self.words and self.words[0].kind == "name" else ""

    @property
    def is_dimension(self) -> bool:
        """A search dimension: `name in ...` or `name ~ ...` inside the search block."""
        return self.context == "search" and len(self.words) > 1 and \
            self.words[0].kind == "name" and self.words[1].text in ("in", "~")

    def word_at(self, column: int) -> Word | None:
        """The word under `column`, or the one that ends just before it (a cursor at its end)."""
        for word in self.words:
            if word.start <= column <= word.end:
                return word
        return None


def words(text: str) -> tuple[Word, ...]:
    """The tokens of one line, comments left out."""
    return tuple(Word(m.lastgroup or "other", m.group(), m.start(), m.end())
                 for m in TOKEN.finditer(text) if m.lastgroup != "comment")


def _width(text: str) -> int:
    """The width of a line's indentation (a tab counts as the parser counts it)."""
    width = 0
    for char in text:
        if char == " ":
            width += 1
        elif char == "\t":
            width += TAB - width % TAB
        else:
            break
    return width


def scan(text: str) -> list[Line]:
    """Every line of `text`, with its block. A blank or comment line is in the block its
    indentation would put a statement in (so that a new line typed under `train` completes
    train's keywords)."""
    stack: list[tuple[int, str, int]] = [(-1, "top", -1)]     # (indent, context, line)
    out = []
    for number, raw in enumerate(text.split("\n")):
        raw = raw.rstrip("\r")
        toks, indent = words(raw), _width(raw)
        if not toks:
            outer = [entry for entry in stack if entry[0] < indent][-1] if raw.strip() or \
                indent else stack[0]
            out.append(Line(number, raw, indent, toks, outer[1], outer[2]))
            continue
        while stack[-1][0] >= indent:
            stack.pop()
        context, parent = stack[-1][1], stack[-1][2]
        line = Line(number, raw, indent, toks, context, parent)
        out.append(line)
        keyword = CONTEXTS.get(context, {}).get(line.keyword)
        if keyword is not None and keyword.block:
            stack.append((indent, keyword.block, number))
    return out


def at(lines: list[Line], line: int, column: int) -> tuple[Line, Word] | None:
    """The line `line` of a scan and its word under `column` (None past the text or off any
    word)."""
    if not 0 <= line < len(lines):
        return None
    word = lines[line].word_at(column)
    return (lines[line], word) if word is not None else None
