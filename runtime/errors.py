"""Errors the runtime reports to a person (never a traceback for their mistakes)."""
from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a
    one-line error quotes of a library's longer one."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class NnspecError(Exception):
    """Root of the runtime's user-facing errors.

    `words` are what the spec wrote that the error is about, most specific first (a column, a
    file's path, a strategy's name), in its top-level statement `statement`, so that `nnspec
    check` and `run` can point at them (`runtime.cli.located`); `hint` says what to do.
    """

    words: tuple[str, ...] = ()
    statement: str = ""
    hint: str = ""


class DataError(NnspecError):
    """A data source that cannot be used: says which file (and column) and what is wrong;
    `message` is that without the hint."""

    statement = "data"

    def __init__(self, message: str, *, path: str | None = None, column: str | None = None,
                 hint: str = "") -> None:
        self.path = path
        self.column = column
        self.hint = hint
        self.words = tuple(w for w in (column, path) if w)
        where = path or ""
        if column is not None:
            where = f"{where}: column '{column}'" if where else f"column '{column}'"
        self.message = f"{where}: {message}" if where else message
        super().__init__(f"{self.message}; {hint}" if hint else self.message)


class MissingExtra(NnspecError, ImportError):
    """An optional dependency that cannot be imported: names the extra that installs it (an
    ImportError too, for callers that catch one)."""

    statement = "search"          # the strategies are the extras' users

    def __init__(self, what: str, extra: str, words: tuple[str, ...], reason: str) -> None:
        self.words = words
        self.hint = f"pip install 'nnspec[{extra}]'"
        self.message = f"{what} ({reason})"
        super().__init__(f"{self.message}; {self.hint}")


class StorageError(NnspecError):
    """A file or the run store that cannot be read or written (a full or read-only disk, a
    missing folder): says which and why. Nothing stored is deleted or changed because of it."""
