"""The two terminals nnspec writes to: `console` (stderr: progress and notes) and `out` (stdout:
tables), shared by the progress display and the printed results."""
from __future__ import annotations

import sys

from rich.console import Console


class _Console(Console):
    """rich's Console, but a closed pipe (`nnspec show RUN | head`) raises BrokenPipeError for
    the command to handle like any other output (rich itself would exit with status 1)."""

    def on_broken_pipe(self) -> None:
        del self._buffer[:]       # drop what could not be written, but stay usable (not quiet)
        raise BrokenPipeError


# Piped stderr (a log): notes stay one line each, greppable, instead of wrapping at 80 columns.
console = _Console(stderr=True, soft_wrap=not sys.stderr.isatty())
out = _Console(width=None if sys.stdout.isatty() else 160)  # piped: do not squeeze the table
