"""What `nnspec check` says about a document, as an editor shows it: every error of the
language (`spec_lang.loads`) and the notes that need no data, on each change; on save, also
what loading the data finds (`runtime.cli.checks.run_checks`: the file, the target column),
located at the words of the spec as `check` locates them. Same words, same places."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import spec_lang
from spec_lang import Diagnostic, SpecError
from spec_lang.experiment import Experiment
from spec_lang.incremental import StatementCache
from spec_lang.scan import scan
from spec_lang.validate import validate

from runtime.errors import NnspecError

ERROR, NOTE = "error", "note"
CACHE = StatementCache()             # the server's, for every document it checks


@dataclass(frozen=True)
class Finding:
    """One problem (or note) of a document: where and what (`diagnostic`: 1-based line and
    column, as `check` prints them), and how serious."""

    diagnostic: Diagnostic
    severity: str = ERROR

    @property
    def text(self) -> str:
        """The message, then the hint on its own line (as `check` prints them)."""
        hint = self.diagnostic.hint
        return self.diagnostic.message + (f"\nhint: {hint}" if hint else "")


def on_change(text: str, path: Path) -> list[Finding]:
    """The language's errors of `text` (the document at `path`: data paths resolve against its
    folder, and CSV headers are read as `check` reads them), or the notes of a valid spec that
    need no data (asynchronous search, pruning rungs). What `spec_lang.loads` does, with the
    statements a keystroke did not change parsed once (`spec_lang.incremental`)."""
    try:
        exp = validate(CACHE.parse(text, str(path)), text, path.parent)
    except SpecError as exc:
        return [Finding(d) for d in exc.diagnostics]
    return [_note(text, line) for line in _static_notes(exp)]


def _static_notes(exp: Experiment) -> list[str]:
    from runtime.cli.checks import asynchronous_note, rungs_note
    lines = [asynchronous_note(exp.search)] if exp.search.asynchronous else []
    return lines + rungs_note(exp.search, exp.config.train.epochs)


def on_save(path: Path) -> list[Finding]:
    """What `nnspec check` adds by loading the data of the saved file at `path` (an error at
    the words it is about, or the notes about the data, like the rungs' updates); [] when the
    spec itself has errors (`on_change` shows those)."""
    from runtime.cli.checks import run_checks
    from runtime.cli.located import located
    try:
        exp = spec_lang.load(path)
        text = spec_lang.read(path)
    except SpecError:
        return []
    try:
        lines = run_checks(exp)
    except SpecError as exc:
        return [Finding(d) for d in exc.diagnostics]
    except NnspecError as exc:
        found = located(exc, exp)
        if isinstance(found, SpecError):
            return [Finding(d) for d in found.diagnostics]
        return [Finding(_at_statement(text, exc.statement or "data", str(exc)))]
    static = set(_static_notes(exp))
    return [_note(text, line) for line in lines if line not in static]


def _note(text: str, line: str) -> Finding:
    """A note of `check` (`note: ...`), shown on the search statement it is about."""
    return Finding(_at_statement(text, "search", line.removeprefix("note: ")), NOTE)


def _at_statement(text: str, keyword: str, message: str) -> Diagnostic:
    """`message` on the keyword of the top-level statement `keyword` (the first line when
    there is none)."""
    for line in scan(text):
        if line.context == "top" and line.keyword == keyword:
            word = line.words[0]
            return Diagnostic(line.number + 1, word.start + 1, message, end_column=word.end + 1)
    return Diagnostic(1, 1, message)
