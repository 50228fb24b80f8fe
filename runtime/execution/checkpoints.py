"""Checkpoints of lower-fidelity trials, kept in `RUN/checkpoints/<trial key>.npz` while a
search runs, so that a promotion (halving, ASHA, Hyperband over epochs) continues the same
network instead of training its first epochs again; and the pre-trained stacks of a layerwise
search's stages below the top, so that stage k continues from the layers stage k - 1 chose
instead of pre-training them again. The result is the same either way
(`runtime.engine.warm_start`), so a missing or unreadable checkpoint only costs work: the
promotion then trains from the start, the stage pre-trains every layer. Removed when the run
finishes (a killed run's stay for the next run of the folder)."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from runtime.execution.artifacts import write_atomic

FOLDER = "checkpoints"


def path(run: Path, key: str) -> Path:
    """Where the checkpoint of trial `key` is kept."""
    return run / FOLDER / f"{key}.npz"


def save(run: Path, key: str, arrays: dict[str, Any]) -> None:
    """Keep one checkpoint (written atomically)."""
    def write(tmp: Path) -> None:
        np.savez(tmp, **arrays)            # uncompressed: written once, read once, soon
    write_atomic(path(run, key), write)


def load(run: Path, key: str) -> dict[str, Any] | None:
    """The arrays of a kept checkpoint; None when it is missing or unreadable."""
    try:
        with np.load(path(run, key), allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def clear(run: Path) -> None:
    """Remove every kept checkpoint (the search is over)."""
    shutil.rmtree(run / FOLDER, ignore_errors=True)
