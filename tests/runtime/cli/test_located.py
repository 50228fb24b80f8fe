"""Errors found after the spec is checked (the data file, a target column, the strategy's
library) are shown at `file:line:col` of the spec, with the line, carets and a hint."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from runtime.cli.command import main

ROOT = Path(__file__).resolve().parents[3]
PLANTS = ROOT / "specs" / "data" / "plants.csv"
DIABETES = ROOT / "specs" / "diabetes.spec"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    shutil.copy(PLANTS, tmp_path / "data" / "plants.csv")
    return tmp_path


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_missing_data_file_is_located_with_the_file_beside_it(
        folder: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    spec = folder / "s.spec"
    spec.write_text('data "data/plant.csv" target "species"\n')
    out = ["--out", str(folder / "run")] if command == "run" else []
    assert main([command, str(spec), *out]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{spec}:1:6: error: data/plant.csv: file not found (looked in ")
    assert err[1:3] == ['    data "data/plant.csv" target "species"', " " * 9 + "^" * 16]
    assert err[3] == '  hint: did you mean "data/plants.csv"?'


def test_a_data_file_in_a_folder_below_is_suggested(folder: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # `data "plants.csv"` beside data/plants.csv: no near miss in the spec's folder, so the
    # hint was empty
    spec = folder / "s.spec"
    spec.write_text('data "plants.csv" target "species"\n')
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{spec}:1:6: error: plants.csv: file not found (looked in ")
    assert err[3] == '  hint: did you mean "data/plants.csv"?'


def test_a_misspelt_target_column_is_located_with_did_you_mean(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = folder / "s.spec"
    spec.write_text('# plants\ndata "data/plants.csv" target specie\n')
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{spec}:2:31: error: data/plants.csv: column 'specie': no such "
                             "target column; the columns are: height_cm, ")
    assert err[2] == " " * 34 + "^" * 6
    assert err[3] == "  hint: did you mean 'species'?"


def test_a_data_error_the_spec_does_not_name_stays_one_line(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "data" / "plants.csv").write_text("a,b\n1,2\n")
    spec = folder / "s.spec"
    spec.write_text('data "data/plants.csv" target "b"\n')     # one row: cannot split
    main(["check", str(spec)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "^" not in err.splitlines()[0]


def test_a_column_is_looked_for_on_the_data_line_only(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A column named like a word of another statement ('valid' of split) is not that word: the
    error about it points at the data file."""
    (folder / "d.csv").write_text("a,valid,y\n" + "".join(f"{i},{i if i != 3 else ''},{i % 2}\n"
                                                         for i in range(40)))
    spec = folder / "s.spec"
    spec.write_text('data "d.csv"\nsplit train 0.6 valid 0.2 test 0.2\n')
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{spec}:1:6: error: d.csv: column 'valid': 1 missing or infinite")


def test_diabetes_without_optuna_says_which_extra_at_the_strategy(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert main(["check", str(DIABETES)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{DIABETES}:18:8: error: tpe search needs Optuna")
    assert err[-1] == "  hint: pip install 'nnspec[tpe]'"


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_broken_optuna_is_located_not_a_traceback(
        tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Optuna installed (so the spec's check passes) but failing to import, as with a missing
    dependency of its own: one located error, exit 1, nothing trained."""
    fake = tmp_path / "site" / "optuna"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named sqlalchemy')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m == "optuna" or m.startswith("optuna.")]:
        monkeypatch.delitem(sys.modules, name)
    args = [command, str(DIABETES)] + (["--out", str(tmp_path / "run")] if command == "run"
                                       else [])
    assert main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"{DIABETES}:18:8: error: tpe search needs Optuna, which cannot be "
                      "imported (No module named sqlalchemy)")
    assert err[-1] == "  hint: pip install 'nnspec[tpe]'"
    assert not (tmp_path / "run" / "store.sqlite").exists()
