"""The documentation says what the code does: the keyword reference is the validator's own
tables, and the spec snippets in the guides parse."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import spec_lang
from spec_lang.reference import splice
from spec_lang.schema import CONTEXTS

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = ROOT / "docs" / "language.md"
BLOCK = re.compile(r"```\n(.*?)```", re.S)
KEYWORD_START = re.compile(r"^(#|experiment|data|split|kfold|nested|preprocess|network|train|"
                           r"pretrain|metric|search|seeds)\b")


def test_reference_section_is_current() -> None:
    text = LANGUAGE.read_text()
    assert splice(text) == text, "run: python -m spec_lang.reference --write docs/language.md"


def test_every_keyword_and_option_is_documented() -> None:
    text = LANGUAGE.read_text()
    for table in CONTEXTS.values():
        for kw in table.values():
            assert f"#### `{kw.name}`" in text
            for arg in (*kw.positional, *kw.options):
                assert f"`{arg.name}`" in text


def test_grammar_words_are_documented() -> None:
    text = LANGUAGE.read_text()
    for word in ("`$name`", "`low .. high`", "`#`", "`20%`", " ~ ", " in ", " if "):
        assert word in text


def _spec_blocks() -> list[tuple[str, str]]:
    found = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for block in BLOCK.findall(doc.read_text()):
            if KEYWORD_START.match(block.lstrip()) and ":" not in block.split("\n")[0][:40]:
                found.append((doc.name, block))
    return found


@pytest.mark.parametrize("doc,block", _spec_blocks())
def test_spec_snippets_in_the_docs_parse(doc: str, block: str) -> None:
    spec_lang.format(block)
