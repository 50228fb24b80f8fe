"""Broken specs, one fault per file: each reports exactly one problem, at the line and column
its first line names (`# error L:C: message | hint`), never a traceback."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import spec_lang
from spec_lang import SpecError

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.spec"))
HEADER = re.compile(r"# error (\d+):(\d+): (.*?)(?: \| (.*))?$")


def _expectation(path: Path) -> tuple[int, int, str, str | None]:
    match = HEADER.match(path.read_text().splitlines()[0])
    assert match, f"{path.name}: first line must be '# error L:C: message'"
    line, col, message, hint = match.groups()
    return int(line), int(col), message, hint


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_spec_reports_its_fault(path: Path) -> None:
    line, col, message, hint = _expectation(path)
    with pytest.raises(SpecError) as info:
        spec_lang.load(path)
    err = info.value
    assert len(err.diagnostics) == 1, err.render()
    (diag,) = err.diagnostics
    assert (diag.line, diag.column) == (line, col), err.render()
    assert (err.line, err.column, err.filename) == (line, col, str(path))
    assert message in diag.message
    if hint:
        assert hint in diag.hint


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_rendered_error_points_at_the_text(path: Path) -> None:
    with pytest.raises(SpecError) as info:
        spec_lang.load(path)
    text = str(info.value)
    line, col, _, _ = _expectation(path)
    first, source_line, carets = text.splitlines()[:3]
    assert first.startswith(f"{path}:{line}:{col}: error: ")
    assert carets.index("^") - 4 == col - 1
    assert source_line[4:] == path.read_text().splitlines()[line - 1].replace("\t", " ")


def test_every_problem_is_reported_at_once() -> None:
    text = "data digts\ntrain\n    sgd lr -1 momentun 0.9\n    batch 0\n"
    with pytest.raises(spec_lang.SpecValidationError) as info:
        spec_lang.loads(text)
    got = [(d.line, d.column) for d in info.value.diagnostics]
    assert got == [(1, 6), (3, 12), (3, 15), (4, 11)]


def test_every_syntax_problem_is_reported_at_once() -> None:
    """After a syntax problem the parser reads on: an unclosed string (at its opening quote),
    an indentation that matches no block and a tab that mixes with spaces further down are
    each reported, and the lines between them are read as written."""
    text = ('experiment "my run\ndata iris\nnetwork\n    dense 4\n  dropout 0.1\ntrain\n'
            "    sgd lr 0.1\n\tbatch 32\n    epochs 5 patience 3:\n")
    with pytest.raises(spec_lang.SpecSyntaxError) as info:
        spec_lang.loads(text)
    expected = [(1, 12, "this string is never closed"),
                (5, 3, "this line's indentation matches no enclosing block"),
                (8, 1, "this line's indentation mixes tabs and spaces with its block's"),
                (9, 24, "unexpected character ':'")]
    got = info.value.diagnostics
    assert [(d.line, d.column) for d in got] == [(line, col) for line, col, _ in expected]
    assert all(d.message.startswith(m) for d, (_, _, m) in zip(got, expected))


def test_tabs_used_alone_or_consistently_are_fine() -> None:
    for text in ("network\n\tdense 4\n\trepeat 2\n\t\tdense 3\n",
                 "network\n\t    dense 4\n\t    dense 3\ntrain\n    epochs 3\n"):
        assert len(spec_lang.loads(text).config.network) == 2


def test_the_syntax_problems_are_capped() -> None:
    from spec_lang.parser import MAX_PROBLEMS
    with pytest.raises(spec_lang.SpecSyntaxError) as info:
        spec_lang.parse("data 'x'\n" * (MAX_PROBLEMS + 5))
    assert len(info.value.diagnostics) == MAX_PROBLEMS
