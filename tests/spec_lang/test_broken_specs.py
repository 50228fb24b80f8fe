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
