"""Text to syntax tree: the Lark LALR parser (built once) and the transformer to `nodes`."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError, Indenter

from . import nodes as n
from .errors import Diagnostic, SpecSyntaxError

GRAMMAR = Path(__file__).with_name("grammar.lark")


class SpecIndenter(Indenter):
    """Turns leading white space into _INDENT / _DEDENT tokens (tabs count as 8 columns)."""

    NL_type = "_NL"
    OPEN_PAREN_types: list[str] = []
    CLOSE_PAREN_types: list[str] = []
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", postlex=SpecIndenter(),
                propagate_positions=True, maybe_placeholders=False)


def _span(token: Token) -> n.Span:
    return n.Span(token.line, token.column, token.end_line, token.end_column)


def _join(first: n.Span, last: n.Span) -> n.Span:
    return n.Span(first.line, first.column, last.end_line, last.end_column)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


@v_args(inline=True)
class _ToNodes(Transformer):
    """One method per grammar alias; each builds one node."""

    def number(self, tok: Token) -> n.Number:
        text = str(tok).lower()
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        return n.Number(value, text, _span(tok))

    def string(self, tok: Token) -> n.String:
        return n.String(_unquote(str(tok)), _span(tok))

    def name(self, tok: Token) -> n.Name:
        return n.Name(str(tok), _span(tok))

    def param(self, tok: Token) -> n.ParamRef:
        return n.ParamRef(str(tok)[1:], _span(tok))

    def range(self, low: n.Value, high: n.Value) -> n.Range:
        return n.Range(low, high, _join(low.span, high.span))

    def list(self, *items: n.Value) -> n.List:
        return n.List(tuple(items), _join(items[0].span, items[-1].span))

    def args(self, *items: n.Value) -> tuple[n.Value, ...]:
        return tuple(items)

    def condition(self, _if: Token, name: Token, op: Token, value: n.Value) -> n.Condition:
        return n.Condition(n.Name(str(name), _span(name)), str(op), value,
                           _join(_span(_if), value.span))

    def command(self, head: n.Name | n.ParamRef, args: tuple, *body: n.Statement) -> n.Command:
        end = args[-1].span if args else head.span
        return n.Command(head, args, tuple(body), _join(head.span, end))

    def _dimension(self, kind: str, name: Token, args: tuple,
                   cond: n.Condition | None = None) -> n.Dimension:
        last = cond.span if cond else args[-1].span if args else _span(name)
        return n.Dimension(n.Name(str(name), _span(name)), kind, args, cond,
                           _join(_span(name), last))

    def prior(self, name: Token, _op: Token, args: tuple, cond: n.Condition | None = None
              ) -> n.Dimension:
        return self._dimension("prior", name, args, cond)

    def choice(self, name: Token, _op: Token, args: tuple, cond: n.Condition | None = None
               ) -> n.Dimension:
        return self._dimension("choice", name, args, cond)

    def start(self, *statements: n.Statement) -> tuple[n.Statement, ...]:
        return statements


TOKEN_WORDS = {
    "NUMBER": "a number", "STRING": "a quoted string", "NAME": "a name",
    "PARAM": "a $parameter", "_NL": "the end of the line", "_INDENT": "an indented block",
    "_DEDENT": "the end of the block", "$END": "the end of the file", "TILDE": "'~'",
    "IN": "'in'", "IF": "'if'", "COMPARE": "'==' or '!='", "COMMA": "','", "__ANON_0": "'..'",
}


def _words(expected: set[str]) -> str:
    names = sorted({TOKEN_WORDS.get(e, repr(e.lower())) for e in expected})
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _previous_word(source: str, line: int, column: int) -> str:
    """The text just before (line, column), to say "after 'lr'"."""
    lines = source.splitlines()
    before = lines[line - 1][: column - 1] if 1 <= line <= len(lines) else ""
    words = before.split()
    return words[-1] if words else ""


def _token_error(exc: UnexpectedToken, source: str) -> Diagnostic:
    tok = exc.token
    expected = _words(set(exc.accepts or exc.expected))  # accepts: exact, not LALR-merged
    if tok.type in ("_NL", "_DEDENT", "$END"):
        # The statement ended early: point just after its last word.
        line, col = tok.line or 1, tok.column or 1
        if tok.type != "_NL" and line > 1:
            line -= 1
            col = len(source.splitlines()[line - 1].rstrip()) + 1
        prev = _previous_word(source, line, col)
        where = f" after '{prev}'" if prev else ""
        return Diagnostic(line, col, f"expected {expected}{where}, found the end of the line")
    if tok.type == "_INDENT":
        return Diagnostic(tok.line, tok.column, "unexpected indentation",
                          "only blocks (preprocess, network, train, search, repeat) are "
                          "followed by indented lines")
    prev = _previous_word(source, tok.line, tok.column)
    where = f" after '{prev}'" if prev else ""
    return Diagnostic(tok.line, tok.column, f"unexpected '{tok}'{where}: expected {expected}",
                      end_column=tok.end_column or 0)


def _syntax_error(exc: UnexpectedInput, source: str) -> Diagnostic:
    if isinstance(exc, UnexpectedToken):
        return _token_error(exc, source)
    if isinstance(exc, UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else "?"
        hint = "strings use double quotes" if char == "'" else ""
        return Diagnostic(exc.line, exc.column, f"unexpected character {char!r}", hint)
    if isinstance(exc, UnexpectedEOF):
        lines = source.splitlines() or [""]
        return Diagnostic(len(lines), len(lines[-1]) + 1, "unexpected end of the file")
    return Diagnostic(getattr(exc, "line", 1), getattr(exc, "column", 1), str(exc))


def parse(source: str, filename: str = "<string>") -> n.Spec:
    """Parse spec text into a `nodes.Spec`; raises `SpecSyntaxError` at the first bad token."""
    text = source if source.endswith("\n") else source + "\n"
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise SpecSyntaxError([_syntax_error(exc, text)], filename, text) from None
    except DedentError:
        line, column = _dedent_line(text)
        raise SpecSyntaxError([Diagnostic(line, column, "this line's indentation matches no "
                                          "enclosing block", "indent it like the lines of "
                                          "the block it belongs to")], filename, text) from None
    return n.Spec(_ToNodes().transform(tree), filename)


def _dedent_line(text: str) -> tuple[int, int]:
    """Line and column of the first line whose indentation matches no open block."""
    stack = [0]
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if not code.strip():
            continue
        width = len(code.expandtabs(8)) - len(code.expandtabs(8).lstrip())
        if width > stack[-1]:
            stack.append(width)
        while width < stack[-1]:
            stack.pop()
        if width != stack[-1]:
            return number, width + 1
    return 1, 1
