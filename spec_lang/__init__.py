"""nnspec's spec language: parse, check and format `.spec` files.

    >>> import spec_lang
    >>> exp = spec_lang.loads("data iris\\nnetwork\\n    dense 32 tanh\\n")
    >>> exp.config.network[0].width
    32
"""
from __future__ import annotations

from pathlib import Path

from .config import Config, Param
from .errors import Diagnostic, SpecError, SpecSyntaxError, SpecValidationError
from .experiment import BindError, Experiment
from .format import format_spec as _format_spec
from .parser import parse
from .validate import validate

__all__ = ["loads", "load", "read", "format", "parse", "Experiment", "Config", "Param",
           "SpecError", "SpecSyntaxError", "SpecValidationError", "Diagnostic", "BindError"]


def loads(text: str, filename: str = "<string>", base_dir: Path | str | None = None
          ) -> Experiment:
    """Parse and check spec text; data paths resolve against `base_dir` (default: cwd)."""
    spec = parse(text, filename)
    return validate(spec, text, Path(base_dir) if base_dir is not None else Path("."))


def read(path: Path | str) -> str:
    """The text of a `.spec` file (UTF-8; a leading byte-order mark is dropped); raises a
    one-line `SpecError` naming the file when it cannot be read or is not UTF-8 text."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError([Diagnostic(0, 0, f"cannot read the spec: {exc.strerror or exc}")],
                        str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError([_not_utf8(data, exc)], str(path),
                        data.decode("utf-8", "replace")) from None


def _not_utf8(data: bytes, exc: UnicodeDecodeError) -> Diagnostic:
    """Where the first byte that is not UTF-8 is, as a line and column."""
    line = data.count(b"\n", 0, exc.start) + 1
    column = len(data[data.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8", "replace"))
    return Diagnostic(line, column + 1, f"the spec is not UTF-8 text (byte "
                      f"0x{data[exc.start]:02x} cannot be decoded)",
                      "save the file as UTF-8 (most editors offer it under 'encoding')")


def load(path: Path | str) -> Experiment:
    """Parse and check a `.spec` file; its data paths resolve against the file's folder."""
    return loads(read(path), str(path), Path(path).parent)


def format(text: str, filename: str = "<string>") -> str:  # noqa: A001 - the public name
    """The canonical form of spec text (comments kept); raises `SpecSyntaxError`."""
    return _format_spec(text, filename)
