"""The canonical printer: 4-space blocks, single spaces, comments and paragraph breaks kept.

`format_spec(format_spec(x)) == format_spec(x)` and the formatted text parses to the same tree.
"""
from __future__ import annotations

from . import nodes as n
from .parser import parse, source_text

INDENT = "    "


def _comments(source: str) -> dict[int, tuple[bool, str]]:
    """Line number -> (has code before the comment, the comment text from '#')."""
    found: dict[int, tuple[bool, str]] = {}
    for number, line in enumerate(source.splitlines(), 1):
        quoted = escaped = False
        for i, ch in enumerate(line):
            if quoted:
                escaped, quoted = (not escaped and ch == "\\"), quoted and (escaped or ch != '"')
            elif ch == '"':
                quoted = True
            elif ch == "#":
                found[number] = (bool(line[:i].strip()), line[i:].rstrip())
                break
    return found


def value_text(value: n.Value) -> str:
    """How a value is written in canonical form."""
    if isinstance(value, n.Number):
        return value.text
    if isinstance(value, n.String):
        return '"' + value.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, n.Name):
        return value.value
    if isinstance(value, n.ParamRef):
        return f"${value.name}"
    if isinstance(value, n.Range):
        return f"{value_text(value.low)} .. {value_text(value.high)}"
    return ", ".join(value_text(v) for v in value.items)


def _code(stmt: n.Statement, name_width: int) -> str:
    if isinstance(stmt, n.Dimension):
        op = "~" if stmt.kind == "prior" else "in"
        parts = [stmt.name.value.ljust(name_width), op, *map(value_text, stmt.args)]
        if stmt.condition:
            cond = stmt.condition
            parts += ["if", cond.param.value, cond.op, value_text(cond.value)]
        return " ".join(parts)
    return " ".join([value_text(stmt.keyword), *map(value_text, stmt.args)])


class _Printer:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.comments = _comments(source)
        self.out: list[tuple[str, str]] = []       # (code, trailing comment); ("", "") = blank
        self.next_line = 1                         # first source line not yet printed

    def statements(self, stmts: tuple[n.Statement, ...], depth: int) -> None:
        dims = [s.name.value for s in stmts if isinstance(s, n.Dimension)]
        width = max(map(len, dims), default=0)
        for stmt in stmts:
            self.leading(stmt.span.line, depth)
            trailing = self.comments.get(stmt.span.line, (False, ""))
            self.out.append((INDENT * depth + _code(stmt, width),
                             trailing[1] if trailing[0] else ""))
            self.next_line = stmt.span.end_line + 1
            if isinstance(stmt, n.Command) and stmt.body:
                self.statements(stmt.body, depth + 1)

    def leading(self, line: int, depth: int) -> None:
        """Blank lines (collapsed to one) and whole-line comments before `line`."""
        for number in range(self.next_line, line):
            text = self.lines[number - 1].strip() if number <= len(self.lines) else ""
            if not text:
                if self.out and self.out[-1] != ("", ""):
                    self.out.append(("", ""))
            elif number in self.comments and not self.comments[number][0]:
                self.out.append((INDENT * depth + self.comments[number][1], ""))
        self.next_line = line

    def text(self) -> str:
        while self.out and self.out[-1] == ("", ""):
            self.out.pop()
        return "\n".join(_aligned(self.out)) + "\n"


def _aligned(rows: list[tuple[str, str]]) -> list[str]:
    """Trailing comments of one paragraph (lines between blanks) start in one column."""
    lines: list[str] = []
    start = 0
    for end in [i for i, row in enumerate(rows) if row == ("", "")] + [len(rows)]:
        para = rows[start:end]
        column = max((len(code) for code, note in para if note), default=0) + 2
        lines += [f"{code.ljust(column)}{note}" if note else code for code, note in para]
        if end < len(rows):
            lines.append("")
        start = end + 1
    return lines


def format_spec(source: str, filename: str = "<string>") -> str:
    """Canonical text of a spec; comments, and single blank lines between paragraphs, kept."""
    text = source_text(source)            # without a byte-order mark
    spec = parse(text, filename)
    printer = _Printer(text)
    printer.statements(spec.statements, 0)
    printer.leading(len(printer.lines) + 1, 0)
    return printer.text()
