"""`spec_lang.incremental`: the statements of a text parsed chunk by chunk, with a cache, are
the whole text's parse, spans included; a syntax problem is reported as the whole text's."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterator

import pytest

import spec_lang
from spec_lang import nodes as n
from spec_lang.incremental import StatementCache, chunks

ROOT = Path(__file__).resolve().parents[2]
TEXTS = sorted([*(ROOT / "specs").glob("*.spec"), *(ROOT / "tests" / "spec_lang").rglob(
    "*.spec")])


def _spans(node: Any) -> Iterator[tuple[str, n.Span]]:
    """Every node's type and span, depth first (spans take no part in node equality)."""
    if isinstance(node, tuple):
        for item in node:
            yield from _spans(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if isinstance(value, n.Span):
                yield type(node).__name__, value
            else:
                yield from _spans(value)


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_chunks_parse_to_the_whole_texts_tree(path: Path) -> None:
    text = path.read_text()
    try:
        whole = spec_lang.parse(text)
    except spec_lang.SpecSyntaxError as exc:
        with pytest.raises(spec_lang.SpecSyntaxError) as info:
            StatementCache().parse(text)
        assert info.value.render() == exc.render()
        return
    cache = StatementCache()
    for _ in range(2):                           # parsed, then from the cache
        parts = cache.parse(text)
        assert parts == whole
        assert list(_spans(parts.statements)) == list(_spans(whole.statements))


def test_a_keystroke_parses_its_chunk_only() -> None:
    text = "# head\ndata iris\n\nnetwork\n    dense 8\n# a note\n    dense 4\ntrain\n    sgd\n"
    assert [start for start, _ in chunks(text)] == [0, 3, 7]
    cache = StatementCache()
    first = cache.parse(text)
    second = cache.parse(text.replace("sgd", "adam"))
    assert second.statements[:2] == first.statements[:2]
    assert second.statements[0] is first.statements[0]          # not parsed again
    assert second.statements[2] != first.statements[2]
    assert second == spec_lang.parse(text.replace("sgd", "adam"))


def test_the_cache_keeps_the_most_recent_chunks() -> None:
    cache = StatementCache(size=2)
    cache.parse("data iris\nseeds 2\nmetric loss\n")
    assert len(cache._parsed) == 2


def test_only_newlines_end_lines() -> None:
    """A form feed or a line separator in a comment ends no line for the parser: nor here."""
    text = "data iris  # a\x0cb\u2028c\nnetwork\n    dense 8\n"
    whole = spec_lang.parse(text)
    parts = StatementCache().parse(text)
    assert list(_spans(parts.statements)) == list(_spans(whole.statements))
