"""The svmlight / libsvm text format, read without scikit-learn: `label index:value ...` a line,
optional `qid:N` (ignored) and `# comments`, indices as written (0- or 1-based: the caller
decides), sorted and unique in each line, as scikit-learn's `load_svmlight_file` requires.

scikit-learn's reader is compiled and fast, but importing scikit-learn costs about 2 s a process
(measured here, 2.1 s), which an svmlight run paid in its main process and again in each worker
before training a network of a few milliseconds. This reader is NumPy's, as fast as scikit-learn's
(a 238 MB file of 10^7 values: 9.8 s, 463 MB peak for the whole process, against 10.4 s and
302 MB): block by block, the layout of tokens and colons is found on the bytes, and the numbers
are parsed in one C call (`np.fromstring`).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

QID = re.compile(rb"(?<!\S)qid:\S*")
COMMENT = re.compile(rb"#[^\n]*")


BLOCK_BYTES = 32 * 2 ** 20     # read and parsed this much at a time: the scratch is a few times it


class _Block(NamedTuple):
    """The parsed rows of one block of whole lines."""

    labels: np.ndarray
    indices: np.ndarray        # float64, checked whole
    values: np.ndarray
    pairs: np.ndarray          # per row


def read(path: Path) -> tuple[Any, np.ndarray]:
    """(X, labels) of one svmlight/libsvm file: X a CSR float64 matrix whose column j is the
    file's feature index j, as wide as its largest index + 1; labels float64. ValueError names
    the first bad line. Read in blocks of whole lines (`BLOCK_BYTES`), so that memory is the
    result's plus a few times a block, however large the file."""
    import scipy.sparse as sp
    blocks: list[_Block] = []
    first_line = 0                             # the 0-based file line each block starts at
    with open(path, "rb") as file:
        carry = b""
        while True:
            chunk = file.read(BLOCK_BYTES)
            text = carry + chunk
            if not chunk:                      # the end: the last line needs no newline
                blocks.append(_parse(text, first_line))
                break
            cut = text.rfind(b"\n") + 1
            if cut == 0:                       # no whole line yet: a line longer than a block
                carry = text
                continue
            text, carry = text[:cut], text[cut:]
            blocks.append(_parse(text, first_line))
            first_line += text.count(b"\n")
    pairs = np.concatenate([b.pairs for b in blocks])
    indices = np.concatenate([b.indices for b in blocks])
    width = int(indices.max()) + 1 if indices.size else 0
    index_type = np.int32 if max(width, indices.size) <= np.iinfo(np.int32).max else np.int64
    indptr = np.concatenate([[0], np.cumsum(pairs)]).astype(index_type)
    X = sp.csr_matrix((np.concatenate([b.values for b in blocks]), indices.astype(index_type),
                       indptr), shape=(len(pairs), width))
    return X, np.concatenate([b.labels for b in blocks])


def _parse(text: bytes, first_line: int) -> _Block:
    """The rows of `text` (whole lines, the file's from its 0-based line `first_line`)."""
    if b"#" in text:
        text = COMMENT.sub(b"", text)
    if b"qid:" in text:
        text = QID.sub(b"", text)
    lines, pairs, bad = _layout(text)
    if bad is not None:
        raise ValueError(_where(text, bad, first_line, "expected a label, then index:value "
                                "pairs"))
    if not lines.size:
        return _Block(np.empty(0), np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))
    numbers = _numbers(text.replace(b":", b" "))
    if numbers.size != len(lines) + 2 * int(pairs.sum()):     # a token is not a number
        raise ValueError(_where(text, lines[_bad_row(text, lines)], first_line,
                                "expected a label, then index:value pairs"))
    starts = np.cumsum(1 + 2 * pairs) - (1 + 2 * pairs)        # each row's label
    is_pair = np.ones(numbers.size, dtype=bool)
    is_pair[starts] = False
    flat = numbers[is_pair].reshape(-1, 2)
    indices, values = flat[:, 0].copy(), flat[:, 1].copy()
    problem = _index_problem(indices, pairs)
    if problem is not None:
        row, what = problem
        raise ValueError(_where(text, lines[row], first_line, what))
    return _Block(numbers[starts], indices, values, pairs)


def _layout(text: bytes) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(the 0-based line of each row, each row's index:value pairs, None) when every line with
    data reads `token token:token ...` (no colon in the first token, one in each other);
    else (_, _, the first line that does not). On the bytes, with NumPy: no Python loop."""
    raw = np.frombuffer(text, dtype=np.uint8)
    space = raw <= 32                                       # whitespace and control bytes
    token_at = np.flatnonzero(~space & np.concatenate([[True], space[:-1]]))
    if not token_at.size:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), None
    token_line = np.searchsorted(np.flatnonzero(raw == 10), token_at)
    first = np.concatenate([[True], token_line[1:] != token_line[:-1]])
    colon_token = np.searchsorted(token_at, np.flatnonzero(raw == 58), side="right") - 1
    colons = np.bincount(colon_token, minlength=token_at.size)
    wrong = colons != ~first                                # 0 in a label, 1 in a pair
    if wrong.any():
        return token_line, colons, int(token_line[np.argmax(wrong)])
    lines = token_line[first]
    pairs = np.diff(np.concatenate([np.flatnonzero(first), [token_at.size]])) - 1
    return lines, pairs.astype(np.int64), None


def _numbers(text: bytes) -> np.ndarray:
    """Every whitespace-separated number of `text`, in order; parsing stops at the first token
    that is not a number (its count then tells that a line is bad)."""
    with warnings.catch_warnings():   # NumPy warns, or raises, when it stops before the end
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return np.fromstring(text, dtype=np.float64, sep=" ")
        except ValueError:
            return np.empty(0)


def _index_problem(indices: np.ndarray, pairs: np.ndarray) -> tuple[int, str] | None:
    """(row, what) of the first row (of `pairs` pairs each) whose indices are not whole numbers
    from 0 below 2**53 (exact in float64), strictly increasing; None when every row's are."""
    if not indices.size:
        return None
    row_of = np.repeat(np.arange(len(pairs)), pairs)
    with np.errstate(invalid="ignore"):
        bad = ~((indices >= 0) & (indices < 2.0 ** 53) & (indices == np.floor(indices)))
    if bad.any():
        return int(row_of[np.argmax(bad)]), "a feature index is not a whole number from 0"
    falls = np.diff(indices) <= 0
    falls &= row_of[1:] == row_of[:-1]                # only within a line
    if falls.any():
        return int(row_of[1:][np.argmax(falls)]), "feature indices must be sorted and unique"
    return None


def _bad_row(text: bytes, lines: np.ndarray) -> int:
    """The first row with a token that is not a number: looked for line by line, only once
    the whole file is known to hold one."""
    all_lines = text.split(b"\n")
    for row, at in enumerate(lines):
        try:
            [float(number) for number in all_lines[at].replace(b":", b" ").split()]
        except ValueError:
            return row
    return len(lines) - 1


def _where(text: bytes, line: int, first_line: int, what: str) -> str:
    """'line N (its text): what', for the 0-based `line` of `text`, which starts at the file's
    0-based line `first_line`."""
    shown = text.split(b"\n")[line].decode("utf-8", "replace").strip()
    number = first_line + line + 1
    return f"line {number} ({shown if len(shown) <= 40 else shown[:37] + '...'}): {what}"
