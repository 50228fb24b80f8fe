"""The real `nnspec lsp`, started as a subprocess and driven over stdio by pytest-lsp's client:
one fixture and the helpers the language-server tests share."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
WAIT = 60.0
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "runtime", "lsp"],
                            server_env=ENV)


# Every publishDiagnostics each client received, and how many a test has read: pytest-lsp's
# wait_for_notification misses a notification that arrives before it is awaited (two in one read).
PUBLISHED: dict[int, list[t.PublishDiagnosticsParams]] = {}
READ: dict[int, int] = {}


def _record(client: LanguageClient) -> None:
    """Keep every publishDiagnostics the client receives, in order."""
    handle = client.protocol._handle_notification
    PUBLISHED[id(client)], READ[id(client)] = [], 0

    def recorded(method: str, params: Any) -> None:
        if method == t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            PUBLISHED[id(client)].append(params)
        handle(method, params)
    client.protocol._handle_notification = recorded      # type: ignore[method-assign]


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):      # noqa: ANN201 - pytest-lsp's fixture
    """A session with the server: initialized, then shut down and its process ended."""
    _record(lsp_client)
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
    """The next publishDiagnostics of `uri` not yet read (of its `version`, when given),
    waited for a minute at most (a busy machine)."""
    async def wait() -> list[t.Diagnostic]:
        published = PUBLISHED[id(client)]
        while True:
            for i in range(READ[id(client)], len(published)):
                params = published[i]
                if params.uri == uri and version in (None, params.version):
                    READ[id(client)] = i + 1
                    return list(params.diagnostics)
            await asyncio.sleep(0.005)
    return await asyncio.wait_for(wait(), WAIT)
