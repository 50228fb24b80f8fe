"""The documentation says what the code does: the keyword reference is the validator's own
tables, and the spec snippets in the guides parse."""
from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

import spec_lang
from spec_lang.config import MAX_TRIALS
from spec_lang.reference import splice
from spec_lang.schema import CONTEXTS

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = ROOT / "docs" / "language.md"
BLOCK = re.compile(r"```\n(.*?)```", re.S)
PYTHON = re.compile(r"```python\n(.*?)```", re.S)
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


def test_the_guide_names_exactly_the_settings_searched_on_a_log_scale() -> None:
    """The sentence of language.md on default scales lists the schema's log settings (an
    option by its name, a keyword's first argument by the keyword): widths are linear."""
    text = " ".join(LANGUAGE.read_text().split())
    claim = re.search(r"the setting the parameter feeds: (.*?) are searched on a log scale", text)
    assert claim, "the sentence on default scales is missing"
    named = set(re.findall(r"`(\w+)`", claim.group(1)))
    logs = {arg.name if arg in kw.options else kw.name
            for table in CONTEXTS.values() for kw in table.values()
            for arg in (*kw.positional, *kw.options) if arg.log}
    assert named == logs
    exp = spec_lang.loads("data iris\nnetwork\n    dense $w\nsearch random 3\n    w in 8 .. 64\n")
    assert exp.search.dims[0].scale == "linear"


def test_the_search_size_limit_is_documented() -> None:
    assert f"at most **{MAX_TRIALS:,} configurations**" in (ROOT / "docs" / "search.md").read_text()


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


def _python_imports() -> list[tuple[str, str, str]]:
    """(document, module, name) of every import of nnspec's own packages in the Python
    examples of the docs and the README (name "" for a plain `import module`)."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in PYTHON.findall(doc.read_text()):
            for node in ast.walk(ast.parse(block)):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found += [(doc.name, node.module, a.name) for a in node.names]
                elif isinstance(node, ast.Import):
                    found += [(doc.name, a.name, "") for a in node.names]
    return [f for f in found if f[1].split(".")[0] in ("runtime", "spec_lang")]


@pytest.mark.parametrize("doc,module,name", _python_imports())
def test_the_python_examples_import_what_exists(doc: str, module: str, name: str) -> None:
    """docs/python.md once imported `runtime.report.plots.write_report`, which never existed."""
    imported = importlib.import_module(module)
    package = hasattr(imported, "__path__")           # `from runtime import report`
    submodule = package and importlib.util.find_spec(f"{module}.{name}") is not None
    assert not name or hasattr(imported, name) or submodule, \
        f"{doc}: `from {module} import {name}` fails"
