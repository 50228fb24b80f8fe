"""The real `nnspec lsp`, started as a subprocess and driven over stdio by pytest-lsp's client:
one fixture and the helpers the language-server tests share."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
WAIT = 60.0
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "runtime", "lsp"],
                            server_env=ENV)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):      # noqa: ANN201 - pytest-lsp's fixture
    """A session with the server: initialized, then shut down and its process ended."""
    await lsp_client.initialize_session(t.InitializeParams(
        capabilities=t.ClientCapabilities(), root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def open_doc(client: LanguageClient, path: Path, text: str, version: int = 1
                   ) -> list[t.Diagnostic]:
    """Open `text` as the document at `path`; the diagnostics the server publishes for it."""
    uri = path.as_uri()
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        t.TextDocumentItem(uri, "nnspec", version, text)))
    return await diagnostics_of(client, uri)


async def change_doc(client: LanguageClient, path: Path, text: str, version: int
                     ) -> list[t.Diagnostic]:
    """Replace the whole document; the diagnostics published for the new text."""
    uri = path.as_uri()
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        t.VersionedTextDocumentIdentifier(version, uri),
        [t.TextDocumentContentChangeWholeDocument(text)]))
    return await diagnostics_of(client, uri, version)


async def diagnostics_of(client: LanguageClient, uri: str, version: int | None = None
                         ) -> list[t.Diagnostic]:
    """Wait for the next publishDiagnostics of `uri` (of its `version`, when given; a minute
    at most: a busy machine)."""
    async def wait() -> list[t.Diagnostic]:
        while True:
            params = await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and version in (None, params.version):
                return list(params.diagnostics)
    return await asyncio.wait_for(wait(), WAIT)
