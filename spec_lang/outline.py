"""What an editor's outline and navigation need from spec text: its statements as a tree (the
blocks), and each `$name` with the search line that defines it (`scan`: works on text that
does not parse yet). Lines and columns are 0-based."""
from __future__ import annotations

from dataclasses import dataclass

from .scan import Line, Word, at, scan


@dataclass(frozen=True)
class Place:
    """A stretch of one line: `line`, from column `start` to `end` (exclusive)."""

    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Symbol:
    """A statement for the outline: its keyword, the rest of its line, where it is (the whole
    statement with its block, and its keyword) and the statements of its block."""

    name: str
    detail: str
    whole: tuple[int, int, int, int]          # line, column, end line, end column
    keyword: Place
    children: tuple["Symbol", ...] = ()
    dimension: bool = False                   # a search line (`lr in ...`)


def symbols(text: str) -> list[Symbol]:
    """The statements of the text as a tree: each block's lines under its keyword."""
    lines = [line for line in scan(text) if line.words]
    return _level(lines, 0, len(lines), -1)


def _level(lines: list[Line], start: int, stop: int, parent: int) -> list[Symbol]:
    out = []
    i = start
    while i < stop:
        line = lines[i]
        j = i + 1
        while j < stop and lines[j].indent > line.indent:
            j += 1
        last = lines[j - 1]
        first = line.words[0]
        children = _level(lines, i + 1, j, line.number) if j > i + 1 else []
        out.append(Symbol(first.text, line.text[first.end:].split("#")[0].strip(),
                          (line.number, first.start, last.number, len(last.text)),
                          Place(line.number, first.start, first.end), tuple(children),
                          line.is_dimension))
        i = j
    return out


@dataclass(frozen=True)
class Parameter:
    """A `$name`: the search line that defines it (None when none does) and every use."""

    name: str
    definition: Place | None
    line_text: str
    uses: tuple[Place, ...]


def parameters(text: str) -> dict[str, Parameter]:
    """Every parameter the text defines or uses, by name."""
    defs: dict[str, tuple[Place, str]] = {}
    uses: dict[str, list[Place]] = {}
    for line in scan(text):
        if line.is_dimension:
            name = line.words[0]
            defs.setdefault(name.text, (_place(line, name),      # the line, without comment
                                        line.text[:line.words[-1].end].strip()))
        for word in line.words:
            if word.kind == "param" and len(word.text) > 1:
                uses.setdefault(word.text[1:], []).append(_place(line, word))
    names = sorted({*defs, *uses})
    return {name: Parameter(name, defs[name][0] if name in defs else None,
                            defs[name][1] if name in defs else "", tuple(uses.get(name, ())))
            for name in names}


def _place(line: Line, word: Word) -> Place:
    return Place(line.number, word.start, word.end)


def parameter_at(text: str, line: int, column: int) -> Parameter | None:
    """The parameter under the cursor: a `$name`, or the name that starts a search line."""
    found = at(scan(text), line, column)
    if found is None:
        return None
    here, word = found
    if word.kind == "param" and len(word.text) > 1:
        name = word.text[1:]
    elif here.is_dimension and word is here.words[0]:
        name = word.text
    else:
        return None
    return parameters(text).get(name)
