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

__all__ = ["loads", "load", "format", "parse", "Experiment", "Config", "Param", "SpecError",
           "SpecSyntaxError", "SpecValidationError", "Diagnostic", "BindError"]


def loads(text: str, filename: str = "<string>", base_dir: Path | str | None = None
          ) -> Experiment:
    """Parse and check spec text; data paths resolve against `base_dir` (default: cwd)."""
    spec = parse(text, filename)
    return validate(spec, text, Path(base_dir) if base_dir is not None else Path("."))


def load(path: Path | str) -> Experiment:
    """Parse and check a `.spec` file; its data paths resolve against the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([Diagnostic(0, 0, f"cannot read the spec: {exc.strerror}")],
                        str(path)) from None
    return loads(text, str(path), path.parent)


def format(text: str, filename: str = "<string>") -> str:  # noqa: A001 - the public name
    """The canonical form of spec text (comments kept); raises `SpecSyntaxError`."""
    return _format_spec(text, filename)
