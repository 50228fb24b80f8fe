"""Highlighting: the Pygments lexer and the VS Code extension's TextMate grammar (tokenized by
vscode-textmate on vscode-oniguruma, as VS Code does) over every shipped spec and fixture."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pygments.token import Comment, Error, Keyword, Name, Number, String

import spec_lang
from spec_lang.highlight import SpecLexer
from spec_lang.textmate import render

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"
SHIPPED = sorted((ROOT / "specs").glob("*.spec"))
BROKEN = sorted((ROOT / "tests" / "spec_lang" / "broken").glob("*.spec"))
GOLDEN = sorted((ROOT / "tests" / "spec_lang" / "golden").rglob("*.spec"))


def _valid(paths: list[Path]) -> list[Path]:
    """The files among `paths` that are specs the language accepts as written."""
    found = []
    for path in paths:
        try:
            spec_lang.parse(path.read_text())
        except spec_lang.SpecError:
            continue
        found.append(path)
    return found


@pytest.mark.parametrize("path", SHIPPED + _valid(GOLDEN + BROKEN),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_lexer_reads_every_valid_spec_without_an_error_token(path: Path) -> None:
    text = path.read_text()
    tokens = list(SpecLexer().get_tokens(text))
    assert [v for t, v in tokens if t in Error] == []
    assert "".join(v for _, v in tokens) == (text if text.endswith("\n") else text + "\n")


def test_the_lexer_colours_each_kind_of_word() -> None:
    text = 'data "a.csv" target "y"  # note\ntrain\n    sgd lr $lr momentum 0.9\n' \
           "search grid\n    lr in 0.1, 1\n"
    kinds = {v.strip(): t for t, v in SpecLexer().get_tokens(text) if v.strip()}
    assert kinds["data"] in Keyword and kinds["sgd"] in Keyword
    assert kinds['"a.csv"'] in String and kinds["# note"] in Comment
    assert kinds["$lr"] in Name.Variable and kinds["lr"] in Name.Variable   # the search line
    assert kinds["momentum"] in Name.Attribute and kinds["0.9"] in Number
    assert kinds["grid"] in Name.Constant


def test_the_lexer_marks_what_no_spec_holds_and_is_registered() -> None:
    tokens = list(SpecLexer().get_tokens("data iris ; drop\n"))
    assert (Error, ";") in tokens
    assert SpecLexer.analyse_text((ROOT / "specs" / "quickstart.spec").read_text()) > 0.5
    assert SpecLexer.analyse_text("Name: foo\nVersion: 1\n%build\n") == 0
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points."pygments.lexers"]\nnnspec = "spec_lang.highlight:SpecLexer"' \
        in pyproject


def test_the_textmate_grammar_is_built_from_the_language() -> None:
    grammar = VSCODE / "syntaxes" / "spec.tmLanguage.json"
    assert grammar.read_text() == render(), \
        "run: python -m spec_lang.textmate --write editors/vscode/syntaxes/spec.tmLanguage.json"
    package = json.loads((VSCODE / "package.json").read_text())
    (language,) = package["contributes"]["languages"]
    assert language["extensions"] == [".spec"]
    assert package["contributes"]["grammars"][0]["path"] == "./syntaxes/spec.tmLanguage.json"


def _node() -> str:
    """The node program, with the extension's node_modules installed; skipped (failed in CI:
    NNSPEC_REQUIRE_NODE) when either is missing."""
    node = shutil.which("node")
    modules = VSCODE / "node_modules" / "vscode-textmate"
    if node is None or not modules.is_dir():
        why = "node is not installed" if node is None else \
            "run `npm ci` in editors/vscode for vscode-textmate and vscode-oniguruma"
        if os.environ.get("NNSPEC_REQUIRE_NODE"):
            pytest.fail(f"NNSPEC_REQUIRE_NODE is set but {why}")
        pytest.skip(why)
    return node


def _tokenize(paths: list[Path]) -> dict[str, list[list]]:
    """The TextMate tokens of each file, from editors/vscode/test/tokenize.js."""
    done = subprocess.run([_node(), str(VSCODE / "test" / "tokenize.js"), *map(str, paths)],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_the_textmate_grammar_reads_every_valid_spec() -> None:
    paths = SHIPPED + _valid(GOLDEN + BROKEN)
    tokens = _tokenize(paths)
    assert set(tokens) == set(map(str, paths))
    for file, found in tokens.items():
        illegal = [tok for tok in found if any("invalid" in s for s in tok[4])]
        assert illegal == [], file
        unscoped = [tok for tok in found if tok[3].strip() and len(tok[4]) < 2]
        assert unscoped == [], file
    quickstart = {tok[3]: tok[4][-1] for tok in tokens[str(ROOT / "specs" / "quickstart.spec")]}
    assert quickstart["experiment"] == "keyword.control.nnspec"
    assert quickstart["$lr"] == "variable.other.parameter.nnspec"
    assert quickstart["one_over_t"] == "support.constant.nnspec"
    assert quickstart["momentum"] == "variable.parameter.option.nnspec"
    assert quickstart["1e-3"] == "constant.numeric.nnspec"


def test_the_textmate_grammar_marks_a_stray_character(tmp_path: Path) -> None:
    bad = tmp_path / "bad.spec"
    bad.write_text("data iris ; drop\n")
    (found,) = _tokenize([bad]).values()
    assert [tok[3] for tok in found if "invalid.illegal.character.nnspec" in tok[4]] == [";"]


def test_the_extension_starts_nnspec_lsp_for_spec_documents() -> None:
    """extension.js, activated with stand-ins for VS Code's API and the language client
    (editors/vscode/test/activate.js), starts `nnspec lsp` for nnspec documents over stdio."""
    node = _node()
    done = subprocess.run([node, str(VSCODE / "test" / "activate.js")], capture_output=True,
                          text=True, timeout=120, check=True)
    seen = json.loads(done.stdout)
    assert seen["server"] == {"command": "nnspec", "args": ["lsp"], "transport": 0}
    assert seen["selector"] == [{"language": "nnspec"}]
    assert seen["started"] and seen["stopped"] and "error" not in seen
    subprocess.run([sys.executable, "-m", "runtime", "lsp", "--stdio", "--help"], check=True,
                   capture_output=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
