"""Every diagnostic of the language server is `nnspec check`'s: for each broken-spec fixture the
server, sent the file's text, publishes exactly the message (and hint) and the position that
`nnspec check --json` prints for it."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types as t
from pytest_lsp import LanguageClient

from .conftest import ENV, ROOT, open_doc

BROKEN = sorted((ROOT / "tests" / "spec_lang" / "broken").glob("*.spec"))
WHERE = re.compile(r"^(.*):(\d+):(\d+): error: (.*)$")


def _check(paths: list[Path]) -> dict[Path, tuple[int, int, str]]:
    """`nnspec check --json` of every file at once: (line, column, message + hint) of each."""
    done = subprocess.run([sys.executable, "-m", "runtime", "check", "--json", *map(str, paths)],
                          capture_output=True, text=True, env=ENV, timeout=300)
    found = {}
    for row in map(json.loads, done.stdout.splitlines()):
        lines = row["error"].splitlines()
        match = WHERE.match(lines[0])
        assert match, row
        hints = [line.strip() for line in lines if line.startswith("  hint: ")]
        message = match[4] + ("\n" + hints[0] if hints else "")
        found[Path(row["file"])] = (int(match[2]), int(match[3]), message)
    return found


@pytest.mark.asyncio
async def test_every_diagnostic_is_what_check_says(client: LanguageClient) -> None:
    expected = _check(BROKEN)
    assert set(expected) == set(BROKEN)
    wrong = []
    for path in BROKEN:
        got = await open_doc(client, path, path.read_text())
        seen = [(d.range.start.line + 1, d.range.start.character + 1, d.message) for d in got]
        if seen != [expected[path]]:
            wrong.append((path.name, seen, expected[path]))
        assert all(d.severity == t.DiagnosticSeverity.Error for d in got)
    assert not wrong
