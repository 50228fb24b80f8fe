"""The one way a run folder's files are written: to a temporary name beside the target, then
renamed over it, so a kill at any moment leaves the old file or the new one, never half of one."""
from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import Callable

from runtime.errors import StorageError

ARTIFACTS = ("trials.csv", "summary.csv", "best.json", "model.npz", "spec.spec")


def write_atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call `write(temporary_path)`, then rename the result to `path`; the temporary file keeps
    `path`'s suffix (writers such as NumPy's add one otherwise) and is removed on failure."""
    # A name of our own (not mkstemp's 0600 file), so the artifact gets the usual permissions.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, path)
    except OSError as exc:          # a full or read-only disk, a folder that is a file
        reason = "a file is where its folder must be made" if isinstance(
            exc, (FileExistsError, NotADirectoryError)) else exc.strerror or str(exc)
        raise StorageError(f"{path}: cannot write it ({reason})") from None
    finally:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass                    # a read-only folder: nothing was made there
    return path


# The temporary names of `write_atomic`: .<name>.<pid>.<8 hex digits><suffix>
TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)\.[0-9a-f]{8}(\.[^.]+)?$")
# A writer renames its file within a write's time: one whose pid is not alive here and that
# is older than this was left by a killed process (a live writer on another host that shares
# the folder has a pid of its own host, so the age guards its file while it writes).
LEFTOVER_AGE_S = 5.0


def clear_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files that a process killed mid-write left in a run folder (and its
    members/, checkpoints/, report/): those of a process that is gone, once they are older
    than `LEFTOVER_AGE_S`. The paths removed."""
    removed = []
    now = time.time()
    for candidate in folder.rglob(".*"):
        found = TEMPORARY.match(candidate.name)
        if found is None or not candidate.is_file():
            continue
        try:
            if not process_alive(int(found["pid"])) and \
                    now - candidate.stat().st_mtime > LEFTOVER_AGE_S:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue                # gone meanwhile, or a folder we may not write
    return removed


def process_alive(pid: int) -> bool:
    """False only when no process `pid` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


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
