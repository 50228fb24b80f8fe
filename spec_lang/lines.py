"""What the lines of spec text say about indentation and quotes, for syntax messages and for
recovering after a syntax error (the parser then reads on, so every problem is reported).

Indentation is measured twice, as Python's tokenizer does: with a tab as 8 columns (`wide`, the
parser's measure) and as 1 (`narrow`). A line whose place among the open blocks differs between
the two measures depends on the tab width, so it reads differently in another editor: it is an
error (Python's TabError), never a guess.
"""
from __future__ import annotations

from typing import NamedTuple

TAB = 8


class Level(NamedTuple):
    """An open block's indentation: its widths and the text that makes it."""

    wide: int
    narrow: int
    text: str


def level(indent: str) -> Level:
    """The indentation `indent` (tabs and spaces) as a Level."""
    return Level(len(indent.expandtabs(TAB)), len(indent), indent)


def tab_safe(new: Level, parent: Level, opened: bool) -> bool:
    """Whether a line indented `new`, which opened a block inside `parent` (`opened`) or else
    continues the block `parent`, does so whatever a tab's width."""
    return new.narrow > parent.narrow if opened else new.narrow == parent.narrow


def indentation(line: str) -> str:
    """The leading tabs and spaces of a line."""
    return line[:len(line) - len(line.lstrip(" \t"))]


def _code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def open_levels(lines: list[str], upto: int) -> list[Level]:
    """The blocks open at line `upto` (1-based, not included), from the code lines above it."""
    stack = [Level(0, 0, "")]
    for line in lines[:upto - 1]:
        if not _code(line):
            continue
        new = level(indentation(line))
        while len(stack) > 1 and new.wide < stack[-1].wide:
            stack.pop()
        if new.wide > stack[-1].wide:
            stack.append(new)
    return stack


def dedent_line(text: str) -> tuple[int, int]:
    """Line and column of the first line whose indentation matches no open block."""
    stack = [0]
    for number, line in enumerate(text.splitlines(), 1):
        if not _code(line):
            continue
        width = level(indentation(line)).wide
        if width > stack[-1]:
            stack.append(width)
        while width < stack[-1]:
            stack.pop()
        if width != stack[-1]:
            return number, width + 1
    return 1, 1


def neutralized(text: str, number: int, reindent: bool) -> str:
    """`text` with line `number` replaced by a bare statement (`_`), so that the parser can read
    on past a problem found there; its block structure is kept (the line keeps its indentation,
    or with `reindent`, takes the innermost open block's that is not deeper)."""
    lines = text.split("\n")
    indent = indentation(lines[number - 1])
    if reindent:
        stack = open_levels(lines, number)
        indent = [lv for lv in stack if lv.wide <= level(indent).wide][-1].text
    lines[number - 1] = indent + "_"
    return "\n".join(lines)


def unclosed_quote(line: str, column: int) -> int:
    """The column of the quote that opens a string never closed on `line`, where the lexer
    stopped at the quote at `column`: of the line's quotes, the one whose removal leaves every
    other quote pairing into a string that stands alone (after a space or a comma, before a
    space, a comma, a comment or the end): `"plants.csv target "species"` is the first."""
    quotes = _quotes(line)
    for candidate in quotes:
        rest = [q for q in quotes if q != candidate]
        pairs = list(zip(rest[::2], rest[1::2]))
        if all(_stands_alone(line, start, end) for start, end in pairs):
            return candidate + 1
    return column


def _quotes(line: str) -> list[int]:
    """The positions of the line's quotes that are not escaped."""
    found, i = [], 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == '"':
            found.append(i)
        i += 1
    return found


def _stands_alone(line: str, start: int, end: int) -> bool:
    before = line[start - 1] if start > 0 else " "
    after = line[end + 1] if end + 1 < len(line) else " "
    return before in " \t," and after in " \t,#"
