"""A Pygments lexer for `.spec` files (registered as the `pygments.lexers` entry point `nnspec`,
for `*.spec`): keywords, options and names from the language's own tables (`schema`), so that it
knows every word the validator knows. The HTML report shows the spec as run through it; Sphinx
and MkDocs find it by its alias, `nnspec`.

Only this module imports Pygments (rich depends on it, so it is always installed)."""
from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation, String,
                            Text, Whitespace)

from .vocabulary import KEYWORDS, NAME, NUMBER, OPTIONS, VALUES, alternatives

STATEMENT_START = re.compile(r"^[ \t]*" + alternatives(KEYWORDS), re.M)


class SpecLexer(RegexLexer):
    """Pygments lexer for nnspec's `.spec` experiment files."""

    name = "nnspec"
    aliases = ["nnspec"]
    filenames = ["*.spec"]
    mimetypes = ["text/x-nnspec"]

    tokens = {
        "root": [
            (r"[ \t]*#.*?$", Comment.Single),
            (rf"^([ \t]*)({NAME})(?=[ \t]+(?:in\b|~))", bygroups(Whitespace, Name.Variable)),
            (rf"^([ \t]*)(\${NAME})", bygroups(Whitespace, Name.Variable)),
            (r"^([ \t]*)(" + alternatives(KEYWORDS) + ")", bygroups(Whitespace, Keyword)),
            (r"\n", Whitespace),                   # alone: the next line's start is a line start
            (r"[ \t\r\f]+", Whitespace),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (rf"\${NAME}", Name.Variable),
            (r"(in|if)\b", Operator.Word),
            (NUMBER, Number),
            (r"\.\.|==|!=|~", Operator),
            (r",", Punctuation),
            (alternatives(OPTIONS), Name.Attribute),
            (alternatives(VALUES), Name.Constant),
            (NAME, Text),
        ],
    }

    @staticmethod
    def analyse_text(text: str) -> float:
        """How likely `text` is a spec (to choose among the lexers of `*.spec`): the share of
        the first lines that start with one of the language's statements."""
        lines = [line for line in text.splitlines()[:40]
                 if line.strip() and not line.lstrip().startswith("#")]
        if not lines:
            return 0.0
        starts = sum(1 for line in lines if STATEMENT_START.match(line))
        return 0.9 * starts / len(lines)
