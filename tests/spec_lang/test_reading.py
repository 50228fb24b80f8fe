"""Reading spec files and reporting what is wrong with them: encodings, unreadable files,
lexical problems, names taken from the file, and rendering that stays linear."""
from __future__ import annotations

from pathlib import Path

import pytest

import spec_lang
from spec_lang.errors import Diagnostic, SpecError


def test_a_file_that_is_not_utf8_is_one_positioned_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.spec"
    path.write_bytes('data iris\nexperiment "café"\n'.encode("latin-1"))
    with pytest.raises(SpecError) as info:
        spec_lang.load(path)
    err = info.value
    assert (err.filename, err.line, err.column) == (str(path), 2, 16)
    assert "is not UTF-8 text (byte 0xe9" in err.diagnostics[0].message
    assert str(err).startswith(f"{path}:2:16: error: the spec is not UTF-8 text")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    text = "\ufeff# comment\ndata iris\nnetwork\n    dense 8\n"
    path = tmp_path / "bom.spec"
    path.write_text(text, encoding="utf-8")
    assert spec_lang.load(path).config.data.source == "iris"
    assert spec_lang.loads(text).config.network[0].width == 8
    assert spec_lang.format(text) == "# comment\ndata iris\nnetwork\n    dense 8\n"
    assert spec_lang.read(path) == text[1:]


@pytest.mark.parametrize("make", [lambda p: p, lambda p: (p.mkdir(), p)[1]],
                         ids=["missing", "folder"])
def test_an_unreadable_spec_is_one_line_without_a_position(tmp_path: Path, make) -> None:
    path = make(tmp_path / "x.spec")
    for read in (spec_lang.read, spec_lang.load):
        with pytest.raises(SpecError) as info:
            read(path)
        text = str(info.value)
        assert text.startswith(f"{path}: error: cannot read the spec: ")
        assert "\n" not in text and ":0:0" not in text


@pytest.mark.parametrize("filename, name", [("...spec", "experiment"), ("d/..spec", "experiment"),
                                            (".hidden.spec", "hidden"),
                                            ("runs/my run?.spec", "my run_"),
                                            ("digits.spec", "digits"), ("<string>", "experiment")])
def test_a_name_from_the_file_is_always_a_plain_folder_name(filename: str, name: str) -> None:
    assert spec_lang.loads("data iris\n", filename=filename).name == name


def test_a_file_named_dots_does_not_run_in_the_working_folder(tmp_path: Path) -> None:
    path = tmp_path / "...spec"
    path.write_text("data iris\n")
    name = spec_lang.load(path).name
    assert name == "experiment" and Path("runs", name).resolve().parent == Path("runs").resolve()


def test_known_escapes_are_kept() -> None:
    exp = spec_lang.loads('data "a \\"b\\" c\\\\y.csv"\n')
    assert exp.config.data.path == 'a "b" c\\y.csv'


class _CountingText(str):
    """A str that counts how often it is split into lines."""

    splits = 0

    def splitlines(self, keepends: bool = False) -> list[str]:   # type: ignore[override]
        _CountingText.splits += 1
        return super().splitlines(keepends)


def test_rendering_many_problems_splits_the_source_once() -> None:
    """One split for all diagnostics: rendering 20,000 problems is linear, not quadratic."""
    source = _CountingText("data iris\n" * 1000)
    diagnostics = [Diagnostic(i, 1, "'data' is already given") for i in range(2, 1001)]
    _CountingText.splits = 0
    err = SpecError(diagnostics, "many.spec", source)          # renders its message once
    assert _CountingText.splits == 1
    assert str(err).count("error: 'data' is already given") == 999
