"""The example specs ship with nnspec: `nnspec examples DIR` copies them with their data,
`nnspec run NAME` runs a shipped one; and a wheel, installed into a fresh virtual environment
and run in an empty folder, runs the quickstart (`pip install nnspec && nnspec run quickstart`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from runtime.cli import examples
from runtime.cli.command import main

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "runtime", "spec_lang", "specs")
OFFLINE = ("No matching distribution", "Could not find a version", "connection",
           "Network is unreachable", "Temporary failure in name resolution")


def test_examples_copies_every_spec_and_its_data(tmp_path, capsys) -> None:
    target = tmp_path / "ex"
    assert main(["examples", str(target)]) == 0
    listed = capsys.readouterr().out.split()
    shipped = sorted(p.relative_to(ROOT / "specs") for p in (ROOT / "specs").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    assert sorted(Path(p).relative_to(target) for p in listed) == shipped
    for relative in shipped:
        assert (target / relative).read_bytes() == (ROOT / "specs" / relative).read_bytes()
    assert main(["check", str(target / "plants.spec")]) == 0     # its data came along
    assert capsys.readouterr().out.strip().endswith(": OK")


def test_examples_never_overwrites_a_changed_file(tmp_path, capsys) -> None:
    target = tmp_path / "ex"
    assert main(["examples", str(target)]) == 0
    (target / "iris.spec").write_text("mine\n")
    capsys.readouterr()
    assert main(["examples", str(target)]) == 1
    line, = capsys.readouterr().err.strip().splitlines()
    assert "iris.spec exists and differs" in line and "nothing copied" in line
    assert (target / "iris.spec").read_text() == "mine\n"


def test_a_bare_name_is_a_shipped_example(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)                    # no file of that name here
    path, shipped = examples.resolve(Path("quickstart"))
    assert shipped and path.read_text() == (ROOT / "specs" / "quickstart.spec").read_text()
    assert examples.resolve(Path("quickstart.spec")) == (Path("quickstart.spec"), False)
    (tmp_path / "quickstart").write_text("a file wins over an example")
    assert examples.resolve(Path("quickstart")) == (Path("quickstart"), False)
    assert main(["run", "quickstrt"]) == 1
    line, = capsys.readouterr().err.strip().splitlines()
    assert "quickstrt: no such spec file, and no example of that name" in line
    assert "quickstart" in line and "nnspec examples DIR" in line


def _sources(to: Path) -> Path:
    to.mkdir()
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, to / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "examples"))
        else:
            shutil.copy2(src, to / name)
    return to


def _wheel(tmp: Path) -> Path:
    """A wheel built from a copy of the sources (the shared tree gets no build/ folder); skip
    when the build back-end cannot be had from the package registry."""
    src, dist = _sources(tmp / "src"), tmp / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                            str(src), "-w", str(dist)], capture_output=True, text=True,
                           timeout=600)
    if built.returncode != 0:
        if any(word in built.stderr for word in OFFLINE):
            pytest.skip("cannot build a wheel: the build back-end (setuptools>=77) is not "
                        f"available from the package registry ({built.stderr.strip()[-200:]})")
        raise AssertionError(built.stderr)
    wheel, = dist.glob("nnspec-*.whl")
    return wheel


def test_a_wheel_runs_the_quickstart_from_an_empty_folder(tmp_path) -> None:
    wheel = _wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "--quiet", str(wheel)], check=True, timeout=600)
    # The dependencies (numpy, scikit-learn, ...) come from this interpreter's site-packages,
    # after the new environment's own (so its nnspec, from the wheel, is the one imported):
    # nothing is downloaded. A path listed in a .pth file is not scanned for .pth files, so
    # an editable nnspec of this interpreter stays out.
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (Path(site) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(MPLBACKEND="Agg", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    where = subprocess.run([str(python), "-c", "import runtime; print(runtime.__file__)"],
                           cwd=empty, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv))          # the wheel's copy, not the source tree
    run = subprocess.run(["nnspec", "run", "quickstart"], cwd=empty, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "running the example quickstart" in run.stderr and str(venv) in run.stderr
    assert "test (scored once)" in run.stdout
    assert (empty / "runs" / "quickstart" / "model.npz").is_file()
    copied = subprocess.run(["nnspec", "examples"], cwd=empty, env=env, capture_output=True,
                            text=True, timeout=120)
    assert copied.returncode == 0, copied.stderr
    assert (empty / "nnspec-examples" / "data" / "plants.csv").read_bytes() == \
        (ROOT / "specs" / "data" / "plants.csv").read_bytes()
    check = subprocess.run(["nnspec", "check", "nnspec-examples/plants.spec"], cwd=empty,
                           env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.strip().endswith("OK"), check.stderr
