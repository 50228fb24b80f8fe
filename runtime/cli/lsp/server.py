"""The language server on pygls: each LSP request answered from the language's own pieces
(`spec_lang.assist`, `hover`, `outline`, `format`; `findings` for diagnostics). A request that
fails is logged to the client in one line and answered with nothing: the server never dies of a
document it is sent."""
from __future__ import annotations

import asyncio
import functools
import logging
from urllib.parse import unquote
from pathlib import Path
from typing import Any, BinaryIO, Callable, TypeVar

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

import spec_lang
from spec_lang import Diagnostic, SpecError
from spec_lang.assist import complete
from spec_lang.hover import hover
from spec_lang.outline import Place, Symbol, parameter_at, symbols

from runtime import __version__
from runtime.cli.lsp.findings import NOTE, Finding, on_change, on_save

R = TypeVar("R")
KINDS = {"keyword": t.CompletionItemKind.Keyword, "option": t.CompletionItemKind.Property,
         "value": t.CompletionItemKind.EnumMember, "parameter": t.CompletionItemKind.Variable,
         "column": t.CompletionItemKind.Field}
MAX_CHARS = 5_000_000           # a larger document is not read (it is no spec)


class SpecServer(LanguageServer):
    """The server: pygls' with the data checks of the last save kept per document."""

    def __init__(self) -> None:
        super().__init__("nnspec", __version__,
                         text_document_sync_kind=t.TextDocumentSyncKind.Incremental)
        self.saved: dict[str, tuple[str, list[Finding]]] = {}      # uri -> (text, findings)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """One line to the client's log (never a traceback)."""
        log(self, f"nnspec lsp: {type(error).__name__}: {error}")


def log(server: LanguageServer, message: str) -> None:
    """A line in the client's log of this server."""
    server.window_log_message(t.LogMessageParams(t.MessageType.Log, message))


def guarded(handler: Callable[[SpecServer, Any], R]) -> Callable[[SpecServer, Any], R | None]:
    """The handler, made to log a failure in one line and answer nothing (None) instead of
    raising."""
    @functools.wraps(handler)
    def safe(server: SpecServer, params: Any) -> R | None:
        try:
            return handler(server, params)
        except Exception as exc:       # noqa: BLE001 - any document must leave us alive
            log(server, f"nnspec lsp: {handler.__name__} failed: {type(exc).__name__}: {exc}")
            return None
    return safe


def _document(server: SpecServer, uri: str, whole: bool = False) -> TextDocument | None:
    """The open document `uri`: None when the client never opened it, or when it is too large
    to be a spec (unless `whole`: the diagnostics say so)."""
    doc = server.workspace.text_documents.get(unquote(uri))
    if doc is None or not whole and len(doc.source) > MAX_CHARS:
        return None
    return doc


def _path(uri: str) -> Path:
    return Path(to_fs_path(uri) or "untitled.spec")


def _range(doc: TextDocument, line: int, start: int, end_line: int, end: int) -> t.Range:
    """A 0-based range in characters, in the client's units (UTF-16 by default)."""
    return doc.position_codec.range_to_client_units(
        doc.lines, t.Range(t.Position(max(line, 0), max(start, 0)),
                           t.Position(max(end_line, 0), max(end, 0))))


def _diagnostic(doc: TextDocument, finding: Finding) -> t.Diagnostic:
    d = finding.diagnostic
    line, col = d.line - 1, d.column - 1
    end = d.end_column - 1 if d.end_column > d.column else col + 1
    severity = t.DiagnosticSeverity.Information if finding.severity == NOTE else \
        t.DiagnosticSeverity.Error
    return t.Diagnostic(_range(doc, line, col, line, end), finding.text, severity,
                        source="nnspec check")


def publish(server: SpecServer, doc: TextDocument) -> None:
    """Check the document as it is now and send what was found (a document too large to be
    a spec is said to be, and not read)."""
    size = len(doc.source)
    findings = on_change(doc.source, _path(doc.uri)) if size <= MAX_CHARS else \
        [Finding(Diagnostic(1, 1, f"the document is too large to check ({size:,} "
                            f"characters; a spec has at most {MAX_CHARS:,})"))]
    saved = server.saved.get(doc.uri)
    if saved is not None and saved[0] == doc.source:
        findings += saved[1]
    server.text_document_publish_diagnostics(t.PublishDiagnosticsParams(
        doc.uri, [_diagnostic(doc, f) for f in findings], doc.version))


def _place_range(doc: TextDocument, place: Place) -> t.Range:
    return _range(doc, place.line, place.start, place.line, place.end)


def _symbol(doc: TextDocument, symbol: Symbol) -> t.DocumentSymbol:
    line, col, end_line, end = symbol.whole
    kind = t.SymbolKind.Variable if symbol.dimension else \
        t.SymbolKind.Namespace if symbol.children else t.SymbolKind.Property
    return t.DocumentSymbol(symbol.name, kind, _range(doc, line, col, end_line, end),
                            _place_range(doc, symbol.keyword), detail=symbol.detail or None,
                            children=[_symbol(doc, c) for c in symbol.children] or None)


def _position(doc: TextDocument, position: t.Position) -> tuple[int, int]:
    """The (line, character) of an LSP position, in characters."""
    pos = doc.position_codec.position_from_client_units(doc.lines, position)
    return pos.line, pos.character


def build() -> SpecServer:
    """A server with every feature registered."""
    server = SpecServer()

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    @guarded
    def did_open(ls: SpecServer, params: t.DidOpenTextDocumentParams) -> None:
        doc = _document(ls, params.text_document.uri, whole=True)
        if doc is not None:
            publish(ls, doc)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: SpecServer, params: t.DidChangeTextDocumentParams) -> None:
        await asyncio.sleep(0)        # changes already queued behind this one apply first:
        doc = _document(ls, params.text_document.uri, whole=True)      # only the last is
        if doc is not None and doc.version == params.text_document.version:   # checked
            guarded(publish)(ls, doc)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    @guarded
    def did_close(ls: SpecServer, params: t.DidCloseTextDocumentParams) -> None:
        ls.saved.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(
            params.text_document.uri, []))

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE, t.SaveOptions(include_text=False))
    async def did_save(ls: SpecServer, params: t.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        doc = _document(ls, uri)
        if doc is None:
            return
        text = doc.source
        try:
            found = await asyncio.get_running_loop().run_in_executor(
                None, on_save, _path(uri))
        except Exception as exc:           # noqa: BLE001 - a data check must leave us alive
            log(ls, f"nnspec lsp: the data check failed: {type(exc).__name__}: {exc}")
            return
        ls.saved[uri] = (text, found)
        if _document(ls, uri) is doc and doc.source == text:
            publish(ls, doc)

    @server.feature(t.TEXT_DOCUMENT_COMPLETION,
                    t.CompletionOptions(trigger_characters=[" ", "$", '"']))
    @guarded
    def completion(ls: SpecServer, params: t.CompletionParams) -> t.CompletionList | None:
        doc = _document(ls, params.text_document.uri)
        if doc is None:
            return None
        line, col = _position(doc, params.position)
        items = [t.CompletionItem(s.label, kind=KINDS.get(s.kind), detail=s.detail or None,
                                  documentation=t.MarkupContent(t.MarkupKind.Markdown,
                                                                s.documentation)
                                  if s.documentation else None)
                 for s in complete(doc.source, line, col, _path(doc.uri).parent)]
        return t.CompletionList(is_incomplete=False, items=items)

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    @guarded
    def on_hover(ls: SpecServer, params: t.HoverParams) -> t.Hover | None:
        doc = _document(ls, params.text_document.uri)
        if doc is None:
            return None
        found = hover(doc.source, *_position(doc, params.position))
        if found is None:
            return None
        return t.Hover(t.MarkupContent(t.MarkupKind.Markdown, found.text),
                       _range(doc, found.line, found.start, found.line, found.end))

    @server.feature(t.TEXT_DOCUMENT_DEFINITION)
    @guarded
    def definition(ls: SpecServer, params: t.DefinitionParams) -> t.Location | None:
        doc = _document(ls, params.text_document.uri)
        param = parameter_at(doc.source, *_position(doc, params.position)) if doc else None
        if doc is None or param is None or param.definition is None:
            return None
        return t.Location(doc.uri, _place_range(doc, param.definition))

    @server.feature(t.TEXT_DOCUMENT_REFERENCES)
    @guarded
    def references(ls: SpecServer, params: t.ReferenceParams) -> list[t.Location] | None:
        doc = _document(ls, params.text_document.uri)
        param = parameter_at(doc.source, *_position(doc, params.position)) if doc else None
        if doc is None or param is None:
            return None
        places = list(param.uses)
        if params.context.include_declaration and param.definition is not None:
            places.insert(0, param.definition)
        return [t.Location(doc.uri, _place_range(doc, p)) for p in places]

    @server.feature(t.TEXT_DOCUMENT_FORMATTING)
    @guarded
    def formatting(ls: SpecServer, params: t.DocumentFormattingParams
                   ) -> list[t.TextEdit] | None:
        doc = _document(ls, params.text_document.uri)
        if doc is None:
            return None
        try:
            text = spec_lang.format(doc.source, str(_path(doc.uri)))
        except SpecError:             # the diagnostics say why; nothing to format
            return None
        if text == doc.source:
            return []
        end = len(doc.lines)
        return [t.TextEdit(t.Range(t.Position(0, 0), t.Position(end, 0)), text)]

    @server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guarded
    def outline(ls: SpecServer, params: t.DocumentSymbolParams
                ) -> list[t.DocumentSymbol] | None:
        doc = _document(ls, params.text_document.uri)
        return [_symbol(doc, s) for s in symbols(doc.source)] if doc else None

    return server


class _OneLine(logging.Formatter):
    """pygls' own log lines without their tracebacks."""

    def formatException(self, ei: Any) -> str:           # noqa: N802 - logging's name
        return ""


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer LSP messages on `stdin` / `stdout` until the client says exit."""
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine("nnspec lsp: %(message)s"))
    pygls_log = logging.getLogger("pygls")
    pygls_log.addHandler(handler)
    pygls_log.propagate = False
    pygls_log.setLevel(logging.WARNING)
    build().start_io(stdin, stdout)
