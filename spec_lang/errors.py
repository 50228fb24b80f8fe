"""One error root for everything a spec author can get wrong, rendered as `file:line:col`."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Diagnostic:
    """One problem at one place: the message, the span to underline and an optional hint.

    Line 0 means "no place in the text" (an unreadable file, a value set from Python): the
    problem is then rendered as `file: error: message`.
    """

    line: int
    column: int
    message: str
    hint: str = ""
    end_column: int = 0            # exclusive; 0: underline one character

    def render(self, filename: str, source: str | Sequence[str]) -> str:
        """`file:line:col: error: message`, the source line, carets under the text, the hint.

        `source` is the text or its lines (`str.splitlines()`): a caller rendering many
        diagnostics splits the text once.
        """
        lines = source.splitlines() if isinstance(source, str) else source
        where = f"{filename}:{self.line}:{self.column}" if self.line >= 1 else filename
        out = [f"{where}: error: {self.message}"]
        if 1 <= self.line <= len(lines):
            text = lines[self.line - 1].replace("\t", " ")
            width = max(1, (self.end_column or self.column + 1) - self.column)
            out += [f"    {text}", "    " + " " * (self.column - 1) + "^" * width]
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


class SpecError(Exception):
    """Root of every error about a spec. `filename`, `line`, `column` locate the first problem
    (line 0: the problem has no place in the text)."""

    def __init__(self, diagnostics: Iterable[Diagnostic], filename: str = "<string>",
                 source: str = "") -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.line, d.column))
        self.filename = filename
        self.source = source
        first = self.diagnostics[0] if self.diagnostics else Diagnostic(0, 0, "invalid spec")
        self.line, self.column = first.line, first.column
        super().__init__(self.render())

    def render(self) -> str:
        """Every diagnostic, rendered, separated by blank lines (the source is split once, so
        that rendering stays linear in the number of problems)."""
        lines = self.source.splitlines()
        return "\n\n".join(d.render(self.filename, lines) for d in self.diagnostics)


class SpecSyntaxError(SpecError):
    """The text does not follow the grammar; `diagnostics` holds every problem the parser
    found reading on after each (`spec_lang.parser.parse`)."""


class SpecValidationError(SpecError):
    """The text parses but says something invalid; `diagnostics` holds every problem found."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest choice, or "" when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
