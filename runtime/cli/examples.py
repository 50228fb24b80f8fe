"""The example specs that ship with nnspec: `nnspec examples [DIR]` copies them (with their data
files), and `nnspec run NAME` / `nnspec check NAME` take a bare example name.

A wheel carries them as `runtime/examples/` (pyproject.toml maps the package
`runtime.examples` to the repository's `specs/`, the one copy); in a source tree or an editable
install they are read from `specs/` itself.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from runtime.errors import NnspecError

DEFAULT_FOLDER = "nnspec-examples"


def examples_dir() -> Path | None:
    """The folder of the shipped examples: the package's `examples/`, else the source tree's
    `specs/`; None when neither is there."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "examples", package.parent / "specs"):
        if folder.is_dir() and any(folder.glob("*.spec")):
            return folder
    return None


def names() -> list[str]:
    """The names of the shipped example specs (`quickstart`, `digits`, ...)."""
    folder = examples_dir()
    return sorted(p.stem for p in folder.glob("*.spec")) if folder else []


def resolve(path: Path) -> tuple[Path, bool]:
    """The spec file a command-line argument means: `path` itself when it exists (or looks
    like a path), else the shipped example of that name. The flag says it is an example."""
    text = str(path)
    if path.exists() or "/" in text or "\\" in text or path.suffix:
        return path, False
    folder = examples_dir()
    if folder is not None and (folder / f"{text}.spec").is_file():
        return folder / f"{text}.spec", True
    shipped = ", ".join(names()) or "none found"
    raise NnspecError(f"{text}: no such spec file, and no example of that name (the "
                      f"examples: {shipped}; `nnspec examples DIR` copies them)")


def copy_examples(target: Path) -> list[Path]:
    """Copy every shipped example, and the data files they read, into `target` (made when
    missing). A file already there with other content is never overwritten: NnspecError naming
    it, before anything is copied. Returns the files copied, relative to `target`."""
    folder = examples_dir()
    if folder is None:
        raise NnspecError("this installation of nnspec has no example specs (it was built "
                          "without them)")
    if target.exists() and not target.is_dir():
        raise NnspecError(f"{target}: exists and is not a folder")
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and _shipped(p, folder)]
    clashes = [p.relative_to(folder) for p in files if (target / p.relative_to(folder)).exists()
               and (target / p.relative_to(folder)).read_bytes() != p.read_bytes()]
    if clashes:
        raise NnspecError(f"{target}: {clashes[0]} exists and differs from the example: "
                          "nothing copied (choose another folder, or remove it)")
    copied = []
    for path in files:
        relative = path.relative_to(folder)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
        copied.append(relative)
    return copied


def _shipped(path: Path, folder: Path) -> bool:
    """Example files, not caches (a source tree's specs/data may hold __pycache__)."""
    parts = path.relative_to(folder).parts
    return "__pycache__" not in parts and path.suffix != ".pyc"
