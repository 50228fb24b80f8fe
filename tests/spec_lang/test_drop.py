"""`drop` on the data line: CSV columns left out when the file is read, checked at their place."""
from __future__ import annotations

from pathlib import Path

import pytest

import spec_lang

DATA = Path(__file__).resolve().parents[2] / "specs" / "data"


def test_drop_names_columns_bare_or_quoted() -> None:
    exp = spec_lang.loads('data "plants.csv" target species drop "soil", leaf_count\n',
                          base_dir=DATA)
    assert exp.config.data.drop == ("soil", "leaf_count")
    assert spec_lang.loads("data iris\n").config.data.drop == ()


@pytest.mark.parametrize("line, where, message, hint", [
    ('data "plants.csv" target species drop soyl\n', (1, 39), "'soyl' is not a column of "
     "plants.csv", "did you mean 'soil'?"),
    ('data "plants.csv" target species drop species\n', (1, 39), "'species' is the target",
     "name another target"),
    ('data "plants.csv" drop species\n', (1, 24), "'species' is the target", ""),   # the last
    ('data "plants.csv" drop soil, soil\n', (1, 30), "'soil' is dropped twice", ""),
    ('data iris drop id\n', (1, 16), "drop names columns of a CSV file's header", "remove"),
    ('data "plants.csv" drop height_cm, leaf_width_mm, leaf_count, rainfall_mm, soil\n',
     (1, 24), "drop leaves no input column of plants.csv", ""),
    ('data "plants.csv" drop 3\n', (1, 24), "'drop' of 'data' must be column names", ""),
    ('data "shops.csv" target sales drop city\nnetwork\n    embed columns "city"\n', (1, 36),
     "'city' is embedded", ""),
])
def test_a_wrong_drop_is_located(line: str, where: tuple[int, int], message: str,
                                 hint: str) -> None:
    with pytest.raises(spec_lang.SpecValidationError) as info:
        spec_lang.loads(line, base_dir=DATA)
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.column) == where and message in diag.message, diag
    assert hint in diag.hint


def test_a_file_that_cannot_be_read_here_is_checked_by_the_loader() -> None:
    exp = spec_lang.loads('data "later.csv" drop "id"\n')
    assert exp.config.data.drop == ("id",)
