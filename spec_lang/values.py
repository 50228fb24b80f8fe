"""One conversion for every value a setting takes, whether written in the spec or bound later
(a searched value, a value set from Python): `coerce(arg, value, owner)` checks the value against
the keyword table's `Arg` and returns it in canonical form (`batch all` is None, `true` is True,
numbers are floats, counts ints), or raises `Invalid` with the message the spec's text gets."""
from __future__ import annotations

import math
import numbers
from typing import Any

from .errors import did_you_mean
from .config import AUTO, Auto, Param
from .schema import BOOLS, Arg

TYPE_WORDS = {"number": "a number", "int": "a whole number", "bool": "true or false",
              "name": "a name", "string": "a name or a quoted string",
              "source": "a data set name or a quoted file path", "batch": "a whole number or "
              "'all'", "names": "a list of names", "columns": "a list of column numbers or "
              "\"names\"", "targets": "a column name or a list of \"names\"",
              "headers": "column names (\"quoted\" or bare)",
              "weights": "a list of numbers or $names", "metric": "a metric name"}


class Invalid(ValueError):
    """A value a setting cannot take: `message` names the setting and the value, `hint` says
    what it takes."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def is_number(text: str) -> bool:
    """Whether `text` reads as a number (as float() reads it: "1e3", "nan", " 2 ")."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def show(value: Any) -> str:
    """A value as a message quotes it: names bare, strings quoted, numbers as Python writes
    them."""
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        return ", ".join(map(show, value))
    return repr(value) if not isinstance(value, bool) else str(value).lower()


def coerce(arg: Arg, value: Any, owner: str, shown: str | None = None) -> Any:
    """`value` as setting `arg` of `owner` takes it; raises `Invalid`. `shown` is how the value
    was written (default: `show(value)`). Applying it twice changes nothing."""
    text = show(value) if shown is None else shown
    return _CONVERT[arg.type](arg, value, owner, text)


def _wrong(arg: Arg, owner: str, text: str, hint: str = "") -> Invalid:
    return Invalid(f"'{arg.name}' of '{owner}' must be {TYPE_WORDS[arg.type]}; got {text}",
                   hint or arg.doc)


def _finite(value: Any) -> float | None:
    """A real number (not a bool) as a finite float, else None."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:                  # a Python int past 1.8e308
        return None
    return number if math.isfinite(number) else None


def _outside(arg: Arg, owner: str, text: str) -> Invalid:
    return Invalid(f"'{arg.name}' of '{owner}' must be {arg.interval()}; got {text}", arg.doc)


def _number(arg: Arg, value: Any, owner: str, text: str) -> Any:
    if arg.auto and (isinstance(value, Auto) or (isinstance(value, str) and value == "auto")):
        return AUTO                        # `lr auto`: resolved before the search runs
    number = _finite(value)
    if number is None:
        raise _wrong(arg, owner, text)
    if not arg.contains(number):
        raise _outside(arg, owner, text)
    return number


def _int(arg: Arg, value: Any, owner: str, text: str) -> Any:
    if arg.auto and (isinstance(value, Auto) or (isinstance(value, str) and value == "auto")):
        return AUTO                        # `embed ... dim auto`: from the category count
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        whole = int(value)                 # exact, however large
    elif _finite(value) is None:
        raise _wrong(arg, owner, text)
    elif not float(value).is_integer():
        raise Invalid(f"'{arg.name}' of '{owner}' must be a whole number; got {text}", arg.doc)
    else:
        whole = int(value)
    if not arg.contains(whole):
        raise _outside(arg, owner, text)
    return whole


def _bool(arg: Arg, value: Any, owner: str, text: str) -> bool:
    if isinstance(value, str) and value in BOOLS:
        return BOOLS[value]
    if isinstance(value, bool) or type(value).__name__ == "bool_":     # numpy's bool too
        return bool(value)
    raise _wrong(arg, owner, text)


def _name(arg: Arg, value: Any, owner: str, text: str) -> str:
    if not isinstance(value, str):
        raise _wrong(arg, owner, text)
    if arg.choices and value not in arg.choices:
        raise Invalid(f"unknown {arg.name} '{value}' for '{owner}'",
                      did_you_mean(value, arg.choices) or "one of: " + ", ".join(arg.choices))
    return value


def _string(arg: Arg, value: Any, owner: str, text: str) -> str:
    if not isinstance(value, str):
        raise _wrong(arg, owner, text)
    return value


def _source(arg: Arg, value: Any, owner: str, text: str) -> Any:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "path":
        return value
    return _name(arg, value, owner, text)


def _batch(arg: Arg, value: Any, owner: str, text: str) -> int | None:
    if value is None or (isinstance(value, str) and value == "all"):
        return None                        # the whole training set
    if isinstance(value, str):
        raise _wrong(arg, owner, text)
    return _int(arg, value, owner, text)


def _names(arg: Arg, value: Any, owner: str, text: str) -> tuple[str, ...]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(i, str) for i in items):
        raise _wrong(arg, owner, text)
    return items


def _columns(arg: Arg, value: Any, owner: str, text: str) -> tuple[Any, ...]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(i, str) or (isinstance(i, numbers.Integral) and
                                      not isinstance(i, bool)) for i in items):
        raise _wrong(arg, owner, text)
    return tuple(i if isinstance(i, str) else int(i) for i in items)


def _targets(arg: Arg, value: Any, owner: str, text: str) -> str | tuple[str, ...]:
    """One target column (a str) or several (a tuple of two or more str)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not items or not all(isinstance(i, str) for i in items):
        raise _wrong(arg, owner, text)
    return items[0] if len(items) == 1 else items


def _headers(arg: Arg, value: Any, owner: str, text: str) -> tuple[str, ...]:
    """Column names of a file's header (bare or quoted), always a tuple."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(i, str) for i in items):
        raise _wrong(arg, owner, text)
    return items


# One target's loss weight: a positive number (what a $name in `weights` is checked against).
WEIGHT = Arg("weight", "number", 1.0, "a target's loss weight", low=0, low_open=True)


def _weights(arg: Arg, value: Any, owner: str, text: str) -> tuple[Any, ...]:
    """Positive numbers (a `Param` stays until bound)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return tuple(i if isinstance(i, Param) else _number(WEIGHT, i, owner, show(i))
                 for i in items)


def _metric(arg: Arg, value: Any, owner: str, text: str) -> str:
    """A metric name, or a target's `<target>_<metric>` (`metric error "rooms"`)."""
    target, _, base = value.rpartition("_") if isinstance(value, str) else ("", "", "")
    if isinstance(value, str) and target and base in arg.choices:
        return value
    return _name(arg, value, owner, text)


_CONVERT = {"number": _number, "int": _int, "bool": _bool, "name": _name, "string": _string,
            "source": _source, "batch": _batch, "names": _names, "columns": _columns,
            "targets": _targets, "headers": _headers, "weights": _weights, "metric": _metric}
