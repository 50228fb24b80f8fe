"""The language's editor pieces on their own: hover text is docs/language.md's, completion and
hover read half-typed text without failing, the outline and `$name`s follow the text."""
from __future__ import annotations

from pathlib import Path

from spec_lang.assist import complete
from spec_lang.hover import hover
from spec_lang.outline import parameters, symbols
from spec_lang.reference import argument_entry, keyword_entry
from spec_lang.schema import CONTEXTS

ROOT = Path(__file__).resolve().parents[2]
LANGUAGE = (ROOT / "docs" / "language.md").read_text()
QUICKSTART = (ROOT / "specs" / "quickstart.spec").read_text()


def test_every_hover_entry_is_the_documentations_text() -> None:
    """One source: each keyword's entry, and each argument's row, appear in language.md as
    they are (test_docs keeps language.md rendered from the same tables)."""
    for table in CONTEXTS.values():
        for kw in table.values():
            assert keyword_entry(kw) in LANGUAGE, kw.name
            for arg in (*kw.positional, *kw.options):
                assert argument_entry(kw, arg).splitlines()[-1] in LANGUAGE, (kw.name, arg.name)


def test_every_prefix_of_a_spec_completes_and_hovers_without_failing() -> None:
    """As it is typed, character by character (every 7th, to stay quick)."""
    for end in range(0, len(QUICKSTART), 7):
        text = QUICKSTART[:end]
        lines = text.split("\n")
        line, column = len(lines) - 1, len(lines[-1])
        complete(text, line, column, ROOT / "specs")
        hover(text, line, max(column - 1, 0))
        symbols(text)


def test_the_outline_and_parameters_of_a_spec() -> None:
    names = [s.name for s in symbols(QUICKSTART)]
    assert names == ["experiment", "data", "split", "network", "train", "search", "seeds"]
    lr = parameters(QUICKSTART)["lr"]
    assert lr.definition is not None and lr.line_text == "lr in log 1e-3 .. 1 count 4"
    assert [u.line for u in lr.uses] == [12]
    undefined = parameters("network\n    dense $w\n")["w"]
    assert undefined.definition is None
    assert [s.label for s in complete("search grid\n    \n", 1, 4)] == []
    assert [s.label for s in complete("network\n    dense $w\nsearch grid\n    \n", 3, 4)] \
        == ["w"]


def test_completion_inside_a_comment_or_a_string_offers_no_keyword() -> None:
    assert complete("data iris  # tra", 0, 16) == []
    assert complete('experiment "tr', 0, 14) == []
