"""Text to syntax tree: the Lark LALR parser (built once) with the transformer to `nodes` run
inline (nodes are built as the parser reduces: no intermediate tree, no recursion)."""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Iterator, cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError, Indenter

from . import nodes as n
from .errors import Diagnostic, SpecSyntaxError
from .lines import TAB, Level, dedent_line, level, neutralized, tab_safe, unclosed_quote

GRAMMAR = Path(__file__).with_name("grammar.lark")
BOM = "\ufeff"
MAX_NESTING = 16           # blocks inside blocks; real specs use 3 (network > repeat > repeat)
MAX_PROBLEMS = 20          # syntax problems reported at once; the parser stops reading after
ESCAPES = {'"': '"', "\\": "\\"}


class _Problem(Exception):
    """A lexical problem found while building nodes (raised through the parser, unwrapped);
    `indentation`: the problem is the line's indentation (recovery re-indents the line)."""

    def __init__(self, diagnostic: Diagnostic, indentation: bool = False) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.indentation = indentation


class SpecIndenter(Indenter):
    """Turns leading white space into _INDENT / _DEDENT tokens (tabs count as 8 columns),
    refuses a line whose block depends on a tab's width (`lines.tab_safe`), and blocks nested
    more than MAX_NESTING deep (every later pass walks blocks recursively)."""

    NL_type = "_NL"
    OPEN_PAREN_types: list[str] = []
    CLOSE_PAREN_types: list[str] = []
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = TAB

    levels: list[Level] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        """Lark's indentation tokens for a new text."""
        self.levels = [level("")]
        return super().process(stream)

    def handle_NL(self, token: Token) -> Iterator[Token]:
        """Lark's indentation tokens, after checks of the tabs and of the nesting depth."""
        new, depth = level(token.rsplit("\n", 1)[1]), len(self.indent_level)
        yield from super().handle_NL(token)
        opened = len(self.indent_level) > depth
        del self.levels[len(self.indent_level) - opened:]
        if not tab_safe(new, self.levels[-1], opened):
            raise _Problem(Diagnostic(token.end_line or 1, 1, "this line's indentation mixes "
                                      "tabs and spaces with its block's: which block it is in "
                                      "depends on how wide a tab is",
                                      "indent with spaces only, or with tabs only (a tab "
                                      f"counts as {TAB} columns here; many editors show 4)",
                                      len(new.text) + 1), indentation=True)
        self.levels.append(new)
        if len(self.indent_level) > MAX_NESTING + 1:
            raise _Problem(Diagnostic(token.end_line or 1, token.end_column or 1,
                                      f"blocks nest more than {MAX_NESTING} deep here",
                                      "repeat counts multiply: one `repeat N` does what "
                                      "nested repeats do"))


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", postlex=SpecIndenter(),
                transformer=_ToNodes(), maybe_placeholders=False)


def _span(token: Token) -> n.Span:
    return n.Span(token.line or 1, token.column or 1, token.end_line or 1,
                  token.end_column or 1)


def _join(first: n.Span, last: n.Span) -> n.Span:
    return n.Span(first.line, first.column, last.end_line, last.end_column)


def _unquote(tok: Token) -> str:
    """The text of a string literal; an escape other than \\" and \\\\ is an error at its
    backslash (a Windows path would otherwise lose its backslashes silently)."""
    text, out, i = str(tok), [], 1
    while i < len(text) - 1:
        if text[i] == "\\":
            char = text[i + 1]
            if char not in ESCAPES:
                col = (tok.column or 1) + i
                raise _Problem(Diagnostic(tok.line or 1, col, f"unknown escape '\\{char}' in "
                                          "a string", "the escapes are \\\" (a quote) and \\\\ "
                                          "(a backslash); in a path, write / instead of \\",
                                          col + 2))
            out.append(ESCAPES[char])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}…{text[-6:]} ({len(text)} characters)"


@v_args(inline=True)
class _ToNodes(Transformer):
    """One method per grammar alias; each builds one node."""

    def number(self, tok: Token) -> n.Number:
        text = str(tok).lower()
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        if not math.isfinite(value):        # float() gives inf past 1.8e308, never an error
            raise _Problem(Diagnostic(tok.line or 1, tok.column or 1, f"the number "
                                      f"{_short(text)} is too large",
                                      "numbers go up to about 1.8e308",
                                      tok.end_column or 0))
        return n.Number(value, text, _span(tok))

    def string(self, tok: Token) -> n.String:
        return n.String(_unquote(tok), _span(tok))

    def name(self, tok: Token) -> n.Name:
        return n.Name(str(tok), _span(tok))

    def param(self, tok: Token) -> n.ParamRef:
        return n.ParamRef(str(tok)[1:], _span(tok))

    def range(self, low: n.Scalar, high: n.Scalar) -> n.Range:
        return n.Range(low, high, _join(low.span, high.span))

    def list(self, *items: n.Scalar) -> n.List:
        return n.List(tuple(items), _join(items[0].span, items[-1].span))

    def args(self, *items: n.Value) -> tuple[n.Value, ...]:
        return tuple(items)

    def condition(self, _if: Token, name: Token, op: Token, value: n.Scalar) -> n.Condition:
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
        pos = exc.pos_in_stream or 0
        char = source[pos] if pos < len(source) else "?"
        if char == '"':         # STRING stops at the line's end: a quote is left unclosed
            line = source.splitlines()[exc.line - 1]
            return Diagnostic(exc.line, unclosed_quote(line, exc.column), "this string is never "
                              "closed", "a string ends with a \" on the same line")
        return Diagnostic(exc.line, exc.column, f"unexpected character {char!r}",
                          _character_hint(source, pos))
    if isinstance(exc, UnexpectedEOF):
        lines = source.splitlines() or [""]
        return Diagnostic(len(lines), len(lines[-1]) + 1, "unexpected end of the file")
    return Diagnostic(getattr(exc, "line", 1), getattr(exc, "column", 1), str(exc))


def _character_hint(source: str, pos: int) -> str:
    """What to do about a character no token starts with: inside a word (`digits-default`,
    `data/x.csv`), quote the word."""
    char = source[pos] if pos < len(source) else ""
    if char == "'":
        return "strings use double quotes"
    if char == "=":
        return "options are written `name value`, without '='"
    after = source[pos + 1: pos + 2]
    if pos == 0 or not (source[pos - 1].isalnum() or source[pos - 1] == "_") or \
            not after.strip() or after in "#\"":
        return ""
    start = pos
    while start > 0 and not source[start - 1].isspace() and source[start - 1] not in "\"#":
        start -= 1
    end = pos
    while end < len(source) and not source[end].isspace() and source[end] not in "\"#":
        end += 1
    word = source[start:end]
    return f"a name has only letters, digits and '_': to write {word} as one value, quote it: " \
           f"\"{word}\""


def source_text(source: str) -> str:
    """The text as the parser reads it: without a leading byte-order mark (editors on Windows
    write one) and ending with a newline."""
    text = source[1:] if source.startswith(BOM) else source
    return text if text.endswith("\n") else text + "\n"


def parse(source: str, filename: str = "<string>") -> n.Spec:
    """Parse spec text into a `nodes.Spec`; raises `SpecSyntaxError` with every syntax problem
    found (up to MAX_PROBLEMS): after each, the parser reads the text again with the line of
    the problem made a bare statement (`lines.neutralized`), so one mistake does not hide the
    next."""
    text = source_text(source)
    attempt, problems, seen = text, [], set()
    while True:
        try:
            # The inline transformer's `start` gives the statements (lark types it as a Tree).
            statements = cast(tuple[n.Statement, ...], _lark().parse(attempt))
            break
        except (UnexpectedInput, _Problem, DedentError) as exc:
            diagnostic, reindent = _problem(exc, attempt)
        line = diagnostic.line
        if line in seen:              # made a bare statement, the line still fails: stop
            break
        problems.append(diagnostic)
        if not 1 <= line <= attempt.count("\n") or len(problems) >= MAX_PROBLEMS:
            break
        seen.add(line)
        attempt = neutralized(attempt, line, reindent)
    if problems:
        raise SpecSyntaxError(problems, filename, text)
    return n.Spec(statements, filename)


def _problem(exc: Exception, text: str) -> tuple[Diagnostic, bool]:
    """The diagnostic of a parse failure, and whether its line's indentation is the fault."""
    if isinstance(exc, UnexpectedInput):
        return _syntax_error(exc, text), False
    if isinstance(exc, _Problem):
        return exc.diagnostic, exc.indentation
    line, column = dedent_line(text)
    return Diagnostic(line, column, "this line's indentation matches no enclosing block",
                      "indent it like the lines of the block it belongs to"), True
