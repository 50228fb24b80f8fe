"""Errors the runtime reports to a person (never a traceback for their mistakes)."""
from __future__ import annotations


class NnspecError(Exception):
    """Root of the runtime's user-facing errors."""


class DataError(NnspecError):
    """A data source that cannot be used: says which file (and column) and what is wrong."""

    def __init__(self, message: str, *, path: str | None = None, column: str | None = None) -> None:
        self.path = path
        self.column = column
        where = path or ""
        if column is not None:
            where = f"{where}: column '{column}'" if where else f"column '{column}'"
        super().__init__(f"{where}: {message}" if where else message)


class StorageError(NnspecError):
    """A file or the run store that cannot be read or written (a full or read-only disk, a
    missing folder): says which and why. Nothing stored is deleted or changed because of it."""
