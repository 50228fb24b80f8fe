"""The canonical formatter: golden output, idempotence, and meaning preserved."""
from __future__ import annotations

from pathlib import Path

import pytest

import spec_lang

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
VALID = sorted(ROOT.glob("specs/*.spec")) + sorted(GOLDEN.glob("*.spec"))


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_round_trip(path: Path) -> None:
    source = path.read_text()
    once = spec_lang.format(source)
    assert spec_lang.format(once) == once
    assert spec_lang.loads(once) == spec_lang.loads(source)


@pytest.mark.parametrize("path", sorted(ROOT.glob("specs/*.spec")), ids=lambda p: p.name)
def test_shipped_specs_are_canonical(path: Path) -> None:
    assert spec_lang.format(path.read_text()) == path.read_text()


EXPECTED = sorted(GOLDEN.glob("*.expected.spec"))


@pytest.mark.parametrize("expected", EXPECTED, ids=[p.name for p in EXPECTED])
def test_golden_output_keeps_comments_and_paragraphs(expected: Path) -> None:
    source = expected.with_name(expected.name.replace(".expected", "")).read_text()
    assert spec_lang.format(source) == expected.read_text()


def test_trailing_comments_align_within_a_paragraph() -> None:
    text = "data iris # a\nseeds 2 # bb\n\nmetric error # c\n"
    assert spec_lang.format(text) == \
        "data iris  # a\nseeds 2    # bb\n\nmetric error  # c\n"


def test_hash_inside_a_string_is_not_a_comment() -> None:
    text = 'data "a#b.csv"   # real comment\n'
    assert spec_lang.format(text) == 'data "a#b.csv"  # real comment\n'


def test_string_escapes_survive() -> None:
    text = 'data "say \\"hi\\".csv"\n'
    out = spec_lang.format(text)
    assert out == text
    assert spec_lang.loads(out).config.data.path == 'say "hi".csv'


def test_format_rejects_syntax_errors() -> None:
    with pytest.raises(spec_lang.SpecSyntaxError):
        spec_lang.format("data 'x'\n")


def test_format_refuses_tabs_that_mix_with_spaces() -> None:
    """Formatted, `\tdense 5` under a 4-space block was printed 8 spaces deep, inside the
    layer above: the output meant something else (and check refused it)."""
    with pytest.raises(spec_lang.SpecSyntaxError) as info:
        spec_lang.format("network\n    dense 10 relu\n\tdense 5 relu\n")
    assert (info.value.line, info.value.column) == (3, 1)
