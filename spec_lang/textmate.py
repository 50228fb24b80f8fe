"""The TextMate grammar of the VS Code extension (editors/vscode/syntaxes/spec.tmLanguage.json),
built from the language's own words (`vocabulary`), so that it cannot fall behind the validator;
a test checks that the file in the repository is the one this builds.

    python -m spec_lang.textmate --write editors/vscode/syntaxes/spec.tmLanguage.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .vocabulary import KEYWORDS, NAME, NUMBER, OPTIONS, VALUES, alternatives

SCOPE = "source.nnspec"


def _match(regex: str, scope: str) -> dict[str, str]:
    return {"match": regex, "name": f"{scope}.nnspec"}


def grammar() -> dict[str, Any]:
    """The grammar as a JSON-ready dict."""
    string = {"begin": '"', "end": '"|$', "name": "string.quoted.double.nnspec",
              "patterns": [_match(r'\\["\\]', "constant.character.escape"),
                           _match(r"\\.", "invalid.illegal.escape")]}
    lead = r"^[ \t]*"
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/"
                   "tmlanguage.json",
        "name": "nnspec", "scopeName": SCOPE, "fileTypes": ["spec"],
        "patterns": [{"include": "#comment"}, {"include": "#dimension"},
                     {"include": "#statement"}, {"include": "#values"}],
        "repository": {
            "comment": _match(r"#.*$", "comment.line.number-sign"),
            "dimension": {"match": lead + f"({NAME})" + r"(?=[ \t]+(?:in\b|~))",
                          "captures": {"1": {"name": "variable.other.dimension.nnspec"}}},
            "statement": {"match": lead + "(" + alternatives(KEYWORDS) + ")",
                          "captures": {"1": {"name": "keyword.control.nnspec"}}},
            "values": {"patterns": [
                {"include": "#comment"}, string,
                _match(r"\$" + NAME, "variable.other.parameter"),
                _match(r"\b(?:in|if)\b", "keyword.operator.word"),
                _match(NUMBER, "constant.numeric"),
                _match(r"\.\.|==|!=|~", "keyword.operator"),
                _match(",", "punctuation.separator"),
                _match(alternatives(OPTIONS), "variable.parameter.option"),
                _match(alternatives(VALUES), "support.constant"),
                _match(NAME, "variable.other.name"),
                _match(r"\S", "invalid.illegal.character")]},
        },
    }


def render() -> str:
    """The grammar file's text."""
    return json.dumps(grammar(), indent=2) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        Path(sys.argv[2]).write_text(render())
    else:
        print(render(), end="")
