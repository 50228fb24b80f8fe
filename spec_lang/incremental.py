"""Parsing again only what changed, for an editor that checks the text on every keystroke.

A spec is a sequence of top-level statements, each with its block; one starts at every line
that begins at column 0 with neither a blank nor a comment. Each such chunk parses on its own to
the statements the whole text's parse gives (the chunk is parsed after as many newlines as lines
precede it, so that every span is where it is in the whole text), and a keystroke changes one
chunk: the others come from a cache keyed by their text and first line. When a chunk does not
parse, the whole text is parsed (`parser.parse`), so that every syntax problem is reported
exactly as `nnspec check` reports it.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from . import nodes as n
from .errors import SpecError
from .parser import parse, source_text

CACHE_SIZE = 512                # chunks kept (of every document the editor has open)


def chunks(text: str) -> Iterator[tuple[int, str]]:
    """(lines before it, its text) of each top-level statement with its block; comments and
    blank lines before the first statement go with it."""
    parts = text.split("\n")               # lines as the parser counts them (not str.splitlines)
    lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    start, seen = 0, False
    for number, line in enumerate(lines):
        if line[:1] not in ("", " ", "\t", "\n", "\r", "#"):
            if seen:
                yield start, "".join(lines[start:number])
                start = number
            seen = True
    if start < len(lines):
        yield start, "".join(lines[start:])


class StatementCache:
    """Parsed chunks, the most recently used kept."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._parsed: OrderedDict[tuple[int, str], tuple[n.Statement, ...]] = OrderedDict()

    def parse(self, source: str, filename: str = "<string>") -> n.Spec:
        """`parser.parse(source, filename)`, with the chunks seen before taken from the cache;
        raises what it raises."""
        text = source_text(source)
        statements: list[n.Statement] = []
        for start, chunk in chunks(text):
            found = self._parsed.get((start, chunk))
            if found is None:
                try:
                    found = parse("\n" * start + chunk, filename).statements
                except SpecError:
                    return parse(source, filename)     # every problem, as the whole text's
                self._parsed[start, chunk] = found
                if len(self._parsed) > self.size:
                    self._parsed.popitem(last=False)
            else:
                self._parsed.move_to_end((start, chunk))
            statements.extend(found)
        return n.Spec(tuple(statements), filename)
