"""The words of the language, by role, for highlighters (the Pygments lexer and the TextMate
grammar of the VS Code extension): read from the keyword tables of `schema`, so that a word the
validator learns is coloured everywhere without a second list."""
from __future__ import annotations

from .schema import BOOLS, CONTEXTS, PRIORS, SCALES

_KEYWORDS = [kw for table in CONTEXTS.values() for kw in table.values()]

KEYWORDS = sorted({kw.name for kw in _KEYWORDS})
OPTIONS = sorted({a.name for kw in _KEYWORDS for a in kw.options} | {"count"})
VALUES = sorted({c for kw in _KEYWORDS for a in (*kw.positional, *kw.options) for c in a.choices}
                | set(BOOLS) | set(PRIORS) | set(SCALES) | {"all", "auto"})
NUMBER = r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?%?"
NAME = r"[A-Za-z_]\w*"


def alternatives(words: list[str]) -> str:
    """A regular expression matching any of `words` as a whole word, longest first."""
    return r"\b(?:" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + r")\b"
