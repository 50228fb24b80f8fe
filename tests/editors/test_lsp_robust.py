"""The server answers or reports, and never dies: a document that is not a spec, a huge one,
bytes that are not UTF-8, requests about documents never opened, a change before the open."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types as t
from pytest_lsp import LanguageClient

from .conftest import ENV, ROOT, change_doc, open_doc


async def _still_answers(client: LanguageClient, path: Path) -> None:
    """Every request on `path` is answered (no error), and a small spec still checks."""
    doc = t.TextDocumentIdentifier(path.as_uri())
    where = t.Position(0, 3)
    await client.text_document_hover_async(t.HoverParams(doc, where))
    await client.text_document_completion_async(t.CompletionParams(doc, where))
    await client.text_document_definition_async(t.DefinitionParams(doc, where))
    await client.text_document_document_symbol_async(t.DocumentSymbolParams(doc))
    await client.text_document_formatting_async(t.DocumentFormattingParams(
        doc, t.FormattingOptions(4, True)))
    fresh = path.with_name("fresh.spec")
    (diag,) = await open_doc(client, fresh, "data digts\n")
    assert "did you mean 'digits'?" in diag.message


@pytest.mark.asyncio
async def test_a_document_that_is_not_a_spec(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "program.spec"
    text = (ROOT / "spec_lang" / "scan.py").read_text()
    found = await open_doc(client, path, text)
    assert found and all(d.severity == t.DiagnosticSeverity.Error for d in found)
    await _still_answers(client, path)


@pytest.mark.asyncio
async def test_a_huge_document_is_reported_not_read(client: LanguageClient,
                                                      tmp_path: Path) -> None:
    from runtime.cli.lsp.server import MAX_CHARS
    path = tmp_path / "huge.spec"
    text = ("# " + "x" * 98 + "\n") * (MAX_CHARS // 100 + 1)
    (diag,) = await open_doc(client, path, text)
    assert diag.message.startswith("the document is too large to check")
    await _still_answers(client, path)


@pytest.mark.asyncio
async def test_requests_out_of_order(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "never_opened.spec"
    doc = t.TextDocumentIdentifier(path.as_uri())
    assert await client.text_document_hover_async(t.HoverParams(doc, t.Position(0, 0))) is None
    assert await client.text_document_formatting_async(t.DocumentFormattingParams(
        doc, t.FormattingOptions(4, True))) is None
    client.text_document_did_change(t.DidChangeTextDocumentParams(       # before any open
        t.VersionedTextDocumentIdentifier(2, doc.uri),
        [t.TextDocumentContentChangeWholeDocument("data iris\n")]))
    client.text_document_did_close(t.DidCloseTextDocumentParams(doc))
    opened = tmp_path / "opened.spec"
    await open_doc(client, opened, "data iris\n")
    far = await client.text_document_hover_async(t.HoverParams(             # past the end
        t.TextDocumentIdentifier(opened.as_uri()), t.Position(400, 90)))
    assert far is None
    (diag,) = await change_doc(client, opened, "data irsi\n", 2)
    assert "did you mean 'iris'?" in diag.message


def _frame(message: dict | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _replies(out: bytes) -> list[dict]:
    """The JSON messages in the server's output."""
    found = []
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        length = int(fields[b"Content-Length"])
        found.append(json.loads(rest[:length]))
        out = rest[length:]
    return found


def test_bytes_that_are_not_utf8_and_lone_surrogates(tmp_path: Path) -> None:
    """A message whose bytes are not UTF-8 is dropped; a text holding a lone surrogate (valid
    JSON) is checked; the requests after both are answered and the server exits cleanly."""
    uri = (tmp_path / "bad.spec").as_uri()
    opened = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "nnspec", "version": 1, "text": "data \udcff\n"}}}
    broken = json.dumps({**opened, "params": {"textDocument": {
        **opened["params"]["textDocument"], "text": "data XX\n"}}}).encode()
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        broken.replace(b"XX", b"\xff\xfe"),
        opened,
        {"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {
            "textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}}},
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"}]
    done = subprocess.run([sys.executable, "-m", "runtime", "lsp"], env=ENV, timeout=120,
                          input=b"".join(map(_frame, messages)), capture_output=True)
    replies = _replies(done.stdout)
    answered = {r["id"]: r for r in replies if "id" in r}
    assert set(answered) == {1, 2, 3} and "error" not in answered[2]
    assert "data" in answered[2]["result"]["contents"]["value"]
    published = [r["params"] for r in replies
                 if r.get("method") == "textDocument/publishDiagnostics"]
    assert published and published[-1]["diagnostics"][0]["message"].startswith("unexpected")
    assert done.returncode == 0
    assert b"Traceback" not in done.stderr


def test_without_the_editor_extra_one_line_names_it() -> None:
    code = ("import sys; sys.modules['pygls'] = None\n"
            "from runtime.cli.command import main\nsys.exit(main(['lsp']))")
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("nnspec lsp needs pygls, which cannot be imported (")
    assert line.endswith("); pip install 'nnspec[editor]'")
