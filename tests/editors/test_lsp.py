"""`nnspec lsp` end to end: the real server in a subprocess, a real LSP client (pytest-lsp):
open, change, complete, hover, definition, references, format, outline, a broken document and
its repair."""
from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as t
from pytest_lsp import LanguageClient

from .conftest import ROOT, change_doc, open_doc

QUICKSTART = (ROOT / "specs" / "quickstart.spec").read_text()


def _at(text: str, needle: str, offset: int = 0) -> t.Position:
    """The position of `needle` (its first occurrence) in `text`, plus `offset` characters."""
    before = text[: text.index(needle) + offset]
    return t.Position(before.count("\n"), len(before) - before.rfind("\n") - 1)


@pytest.mark.asyncio
async def test_a_valid_spec_has_no_diagnostics_and_a_typo_is_underlined(
        client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "quickstart.spec"
    assert await open_doc(client, path, QUICKSTART) == []
    typo = QUICKSTART.replace("sgd lr $lr momentum 0.9", "sgd lr $lr momentun 0.9")
    (diag,) = await change_doc(client, path, typo, 2)
    assert diag.message.startswith("unknown option 'momentun' for 'sgd'")
    assert "did you mean 'momentum'?" in diag.message
    assert diag.severity == t.DiagnosticSeverity.Error
    start = _at(typo, "momentun 0.9")
    assert diag.range == t.Range(start, t.Position(start.line, start.character + 8))
    assert await change_doc(client, path, QUICKSTART, 3) == []          # repaired


@pytest.mark.asyncio
async def test_a_broken_document_reports_every_problem_then_its_repair(
        client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "broken.spec"
    broken = "data digts\ntrain\n    sgd lr -1 momentun 0.9\n    batch 0\n"
    found = await open_doc(client, path, broken)
    assert [(d.range.start.line, d.range.start.character) for d in found] == \
        [(0, 5), (2, 11), (2, 14), (3, 10)]
    assert "did you mean 'digits'?" in found[0].message
    half = await change_doc(client, path, "data digits\ntrain\n    sgd lr", 2)
    assert [d.message for d in half] == ["expected a number, a quoted string, a name or a "
                                         "$parameter after 'lr', found the end of the line"] \
        or half and half[0].range.start.line == 2
    assert await change_doc(client, path, "data digits\ntrain\n    sgd lr 0.1\n", 3) == []


@pytest.mark.asyncio
async def test_completion_after_sgd_gives_its_options_with_their_defaults(
        client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "quickstart.spec"
    text = QUICKSTART.replace("sgd lr $lr momentum 0.9", "sgd ")
    await open_doc(client, path, text)
    result = await client.text_document_completion_async(t.CompletionParams(
        t.TextDocumentIdentifier(path.as_uri()), _at(text, "sgd ", 4)))
    assert result is not None
    items = {i.label: i for i in (result.items if isinstance(result, t.CompletionList)
                                  else result)}
    assert set(items) == {"lr", "momentum", "nesterov"}
    assert items["momentum"].detail == "momentum coefficient; default `0.9`"
    assert "learning rate" in (items["lr"].detail or "")


@pytest.mark.asyncio
async def test_completion_of_keywords_names_parameters_and_columns(
        client: LanguageClient, tmp_path: Path) -> None:
    data = tmp_path / "plants.csv"
    data.write_text("height_cm,soil,species\n1,clay,a\n")
    path = tmp_path / "plants.spec"
    text = ('data "plants.csv" target "\nnetwork\n    dense 8 \ntrain\n    \n'
            "    sgd lr $\nsearch grid\n    lr in 0.1, 0.2\n")
    await open_doc(client, path, text)

    async def labels(line: int, character: int) -> set[str]:
        result = await client.text_document_completion_async(t.CompletionParams(
            t.TextDocumentIdentifier(path.as_uri()), t.Position(line, character)))
        assert isinstance(result, t.CompletionList)
        return {i.label for i in result.items}

    assert await labels(0, 26) == {'"height_cm"', '"soil"', '"species"'}
    assert {"relu", "tanh", "init"} <= await labels(2, 12)
    assert {"sgd", "adam", "schedule", "epochs"} <= await labels(4, 4)
    assert "network" not in await labels(4, 4)
    assert await labels(5, 12) == {"$lr"}


@pytest.mark.asyncio
async def test_hover_shows_the_reference_text(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "quickstart.spec"
    await open_doc(client, path, QUICKSTART)
    uri = t.TextDocumentIdentifier(path.as_uri())
    schedule = await client.text_document_hover_async(t.HoverParams(
        uri, _at(QUICKSTART, "one_over_t", 3)))
    assert schedule is not None and isinstance(schedule.contents, t.MarkupContent)
    assert "one_over_t (lr * tau / max(t, tau))" in schedule.contents.value
    language = (ROOT / "docs" / "language.md").read_text()
    keyword = await client.text_document_hover_async(t.HoverParams(
        uri, _at(QUICKSTART, "epochs 40", 2)))
    assert keyword is not None and isinstance(keyword.contents, t.MarkupContent)
    assert keyword.contents.value in language            # the docs' own entry, verbatim
    param = await client.text_document_hover_async(t.HoverParams(
        uri, _at(QUICKSTART, "$lr", 2)))
    assert param is not None and isinstance(param.contents, t.MarkupContent)
    assert "lr in log 1e-3 .. 1 count 4" in param.contents.value


@pytest.mark.asyncio
async def test_definition_and_references_link_a_parameter_and_its_search_line(
        client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "quickstart.spec"
    await open_doc(client, path, QUICKSTART)
    uri = t.TextDocumentIdentifier(path.as_uri())
    use, search_line = _at(QUICKSTART, "$lr", 1), _at(QUICKSTART, "    lr in", 4)
    found = await client.text_document_definition_async(t.DefinitionParams(uri, use))
    assert isinstance(found, t.Location)
    assert found.range.start == search_line and found.uri == path.as_uri()
    refs = await client.text_document_references_async(t.ReferenceParams(
        context=t.ReferenceContext(include_declaration=True), text_document=uri,
        position=search_line))
    assert refs is not None
    assert [r.range.start for r in refs] == [search_line, _at(QUICKSTART, "$lr")]


@pytest.mark.asyncio
async def test_formatting_gives_the_text_of_nnspec_fmt(client: LanguageClient,
                                                        tmp_path: Path) -> None:
    import spec_lang
    path = tmp_path / "messy.spec"
    messy = "data   iris\nnetwork\n  dense 8    tanh\ntrain\n  sgd lr 0.1\n"
    await open_doc(client, path, messy)
    edits = await client.text_document_formatting_async(t.DocumentFormattingParams(
        t.TextDocumentIdentifier(path.as_uri()), t.FormattingOptions(4, True)))
    assert edits is not None and len(edits) == 1
    assert edits[0].new_text == spec_lang.format(messy)
    assert edits[0].range.start == t.Position(0, 0)


@pytest.mark.asyncio
async def test_the_outline_lists_the_blocks(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "quickstart.spec"
    await open_doc(client, path, QUICKSTART)
    found = await client.text_document_document_symbol_async(t.DocumentSymbolParams(
        t.TextDocumentIdentifier(path.as_uri())))
    assert found is not None
    names = [s.name for s in found if isinstance(s, t.DocumentSymbol)]
    assert names == ["experiment", "data", "split", "network", "train", "search", "seeds"]
    train = next(s for s in found if isinstance(s, t.DocumentSymbol) and s.name == "train")
    assert [c.name for c in train.children or []] == ["sgd", "schedule", "batch", "epochs"]


@pytest.mark.asyncio
async def test_typing_fast_checks_the_latest_text(client: LanguageClient,
                                                  tmp_path: Path) -> None:
    """Changes sent faster than they are checked: the last diagnostics are the last text's."""
    path = tmp_path / "fast.spec"
    await open_doc(client, path, "data iris\n")
    for version, word in enumerate(["irs", "iri", "irsi", "wne"], 2):
        client.text_document_did_change(t.DidChangeTextDocumentParams(
            t.VersionedTextDocumentIdentifier(version, path.as_uri()),
            [t.TextDocumentContentChangeWholeDocument(f"data {word}\n")]))
    (diag,) = await change_doc(client, path, "data wnie\n", 6)
    assert "did you mean 'wine'?" in diag.message


@pytest.mark.asyncio
async def test_saving_adds_the_data_checks_of_nnspec_check(client: LanguageClient,
                                                            tmp_path: Path) -> None:
    """A data file that is missing is no error of the language (nothing on change); on save the
    server loads the data as `nnspec check` does and says what check says, where it says it."""
    import json
    import subprocess
    import sys

    from .conftest import ENV, diagnostics_of
    path = tmp_path / "missing.spec"
    text = 'data "nowhere.csv" target "y"\nnetwork\n    dense 4\n'
    path.write_text(text)
    assert await open_doc(client, path, text) == []
    client.text_document_did_save(t.DidSaveTextDocumentParams(
        t.TextDocumentIdentifier(path.as_uri())))
    (diag,) = await diagnostics_of(client, path.as_uri())
    done = subprocess.run([sys.executable, "-m", "runtime", "check", "--json", str(path)],
                          capture_output=True, text=True, env=ENV, timeout=300)
    error = json.loads(done.stdout)["error"].splitlines()
    assert error[0].startswith(f"{path}:1:6: error: ")
    assert diag.message.splitlines()[0] == error[0].split(": error: ", 1)[1]
    assert (diag.range.start.line, diag.range.start.character) == (0, 5)


@pytest.mark.asyncio
async def test_the_notes_check_gives_without_data_are_shown_on_search(
        client: LanguageClient, tmp_path: Path) -> None:
    import spec_lang
    from runtime.cli.checks import asynchronous_note
    text = ("data iris\nnetwork\n    dense $w\ntrain\n    epochs 30\n"
            "search asha 9\n    w in 8, 16, 32\n")
    note = asynchronous_note(spec_lang.loads(text).search)
    (diag,) = await open_doc(client, tmp_path / "asha.spec", text)
    assert diag.severity == t.DiagnosticSeverity.Information
    assert diag.message == note.removeprefix("note: ")
    assert diag.range == t.Range(t.Position(5, 0), t.Position(5, 6))
