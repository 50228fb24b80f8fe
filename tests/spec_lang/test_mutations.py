"""Random damage to valid specs (tokens deleted, duplicated, swapped) only ever raises a
SpecError with a position, never another exception."""
from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings, strategies as st

import spec_lang

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p.read_text() for p in sorted(ROOT.glob("specs/*.spec"))]
TOKEN = re.compile(r'"[^"\n]*"|\$?\w[\w.+-]*%?|\.\.|==|!=|[~,#]|\n[ \t]*|[ \t]+|.')
EXTRA = ["in", "~", "..", ",", "if", "$x", "0", "-1", "1e-9", '"s"', "\n    ", "\n", "relu",
         "search", "repeat", "dense", "all", "count", "log", "==", "%"]


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    tokens = _tokens(draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(tokens) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if action == "delete":
            del tokens[i]
        elif action == "duplicate":
            tokens.insert(i, tokens[i])
        elif action == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens.insert(i, draw(st.sampled_from(EXTRA)))
    return "".join(tokens)


@settings(max_examples=400, deadline=None, derandomize=True)  # CI: same examples
@given(mutated())
def test_mutations_raise_only_positioned_spec_errors(text: str) -> None:
    try:
        exp = spec_lang.loads(text)
    except spec_lang.SpecError as err:
        assert err.diagnostics and err.line >= 1 and err.column >= 1
        assert all(d.line >= 1 and d.column >= 1 for d in err.diagnostics)
        err.render()
        return
    # Still valid: it must format and bind its representative point without surprises.
    spec_lang.format(text)
    from runtime.search.space import representative
    exp.bind(representative(exp.search))


def test_tokenizer_keeps_the_text() -> None:
    for source in SOURCES:
        assert "".join(_tokens(source)) == source
