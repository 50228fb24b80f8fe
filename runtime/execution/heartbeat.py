"""Per-epoch progress of a running trial, for the progress display: the worker writes a tiny
JSON file (`RUN/running/<trial key>.json`) at most once a second while it trains; the display
reads the files of the jobs it knows are running. Local workers only (a Dask worker on another
machine has no access to the run folder); losing a beat never matters, so every failure to
write or read one is ignored."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from runtime.execution.artifacts import write_text_atomic

FOLDER = "running"
EVERY_S = 1.0


def path(run: Path, key: str) -> Path:
    """The heartbeat file of the trial `key` while it trains."""
    return run / FOLDER / f"{key}.json"


def beater(target: str, epochs: int, metric: str) -> Callable[[int, dict[str, float]], None]:
    """A `fit` progress callback writing {epoch, epochs, metric, value, seconds} to `target`
    at most every `EVERY_S` seconds (and at the first epoch); `seconds` is the training time
    so far (from this call), so the display can project the trial's duration."""
    started = time.monotonic()
    last = [0.0]

    def beat(epoch: int, row: dict[str, float]) -> None:
        now = time.monotonic()
        if epoch > 1 and now - last[0] < EVERY_S:
            return
        last[0] = now
        record = {"epoch": epoch, "epochs": epochs, "metric": metric,
                  "value": row.get(f"valid_{metric}"), "seconds": now - started}
        try:
            write_text_atomic(Path(target), json.dumps(record, default=float))
        except OSError:
            pass
    return beat


def read(target: str) -> dict[str, Any] | None:
    """The last beat written to `target`, or None."""
    try:
        beat: dict[str, Any] = json.loads(Path(target).read_text())
        return beat
    except (OSError, ValueError):
        return None


def remove(target: Path) -> None:
    """The trial is over: its heartbeat goes."""
    target.unlink(missing_ok=True)


def clear(run: Path) -> None:
    """Remove every heartbeat of the run folder (the run is over)."""
    shutil.rmtree(run / FOLDER, ignore_errors=True)
