"""The syntax tree of a spec: frozen dataclasses, each with the source span it came from.

Spans are excluded from equality so that two trees that say the same thing compare equal
wherever they were written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Span:
    """1-based line and column of the first character; end column is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Number:
    """A numeric literal; `text` is how it was written (kept by the formatter)."""

    value: float
    text: str
    span: Span = _span()

    @property
    def is_int(self) -> bool:
        """True when written without a fraction, exponent or percent sign (`32`, not `32.0`)."""
        return self.text.lstrip("+-").isdigit()


@dataclass(frozen=True)
class String:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class ParamRef:
    """`$name`: a value bound by the search."""

    name: str
    span: Span = _span()


Scalar = Union[Number, String, Name, ParamRef]


@dataclass(frozen=True)
class Range:
    """`low .. high`."""

    low: Scalar
    high: Scalar
    span: Span = _span()


@dataclass(frozen=True)
class List:
    """`a, b, c`."""

    items: tuple[Scalar, ...]
    span: Span = _span()


Value = Union[Number, String, Name, ParamRef, Range, List]


@dataclass(frozen=True)
class Condition:
    """`if name == value` after a search dimension."""

    param: Name
    op: str
    value: Scalar
    span: Span = _span()


@dataclass(frozen=True)
class Command:
    """`keyword arg arg ...` optionally followed by an indented block of statements.

    `keyword` is a Name, or a ParamRef when the statement itself is searched (`$scaler`).
    """

    keyword: Name | ParamRef
    args: tuple[Value, ...]
    body: tuple["Statement", ...] = ()
    span: Span = _span()


def value_after(cmd: Command, word: str) -> Value | None:
    """The value written after the option `word` of a statement (None when absent)."""
    for atom, nxt in zip(cmd.args, cmd.args[1:]):
        if isinstance(atom, Name) and atom.value == word:
            return nxt
    return None


@dataclass(frozen=True)
class Dimension:
    """A search dimension: `name ~ prior ...` (sampled) or `name in ...` (listed values)."""

    name: Name
    kind: str                      # "prior" (~) or "choice" (in)
    args: tuple[Value, ...]
    condition: Condition | None = None
    span: Span = _span()


Statement = Union[Command, Dimension]


@dataclass(frozen=True)
class Spec:
    """A whole spec file."""

    statements: tuple[Statement, ...]
    filename: str = field(default="<string>", compare=False)
