"""The one way a run folder's files are written: to a temporary name beside the target, then
renamed over it, so a kill at any moment leaves the old file or the new one, never half of one."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

ARTIFACTS = ("trials.csv", "summary.csv", "best.json", "model.npz", "spec.spec")


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call `write(temporary_path)`, then rename the result to `path`; the temporary file keeps
    `path`'s suffix (writers such as NumPy's add one otherwise) and is removed on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of our own (not mkstemp's 0600 file), so the artifact gets the usual permissions.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """`write_atomic` for a text file (UTF-8)."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def clear_artifacts(folder: Path) -> list[str]:
    """Remove a run folder's artifacts and store (for `fresh`); the names removed."""
    import shutil
    removed = []
    for name in (*ARTIFACTS, "store.sqlite", "store.sqlite-wal", "store.sqlite-shm"):
        if (folder / name).exists():
            (folder / name).unlink()
            removed.append(name)
    for name in ("members", "checkpoints", "report"):   # kept networks, an earlier report
        if (folder / name).is_dir():
            shutil.rmtree(folder / name)
            removed.append(name)
    return removed
