"""The batch run's watch (`runtime.execution.batch._Watch`) without a queue: a look that fails
once does not silence the watch; a job whose worker left is said at once, and once (the Slurm
tests run it against a real queue)."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from runtime.execution import batch


class FlakyCluster:
    """Two jobs, then one of them ended; the look in between fails as a queue command can."""

    def __init__(self) -> None:
        self.looks = 0
        self.scheduler_info: dict[str, Any] = {"workers": {}}

    @property
    def workers(self) -> dict[str, Any]:
        self.looks += 1
        if self.looks == 2:
            raise OSError("squeue: error: slurm_receive_msg: Socket timed out")
        jobs = ("11", "12") if self.looks == 1 else ("12",)
        return {job: SimpleNamespace(job_id=job) for job in jobs}


class LosingCluster:
    """Jobs 11 and 12 with their workers; then 11's worker leaves the scheduler while the
    cluster still holds the job (dask drops it only after its lost-worker timeout); then the
    job is dropped too."""

    def __init__(self) -> None:
        self.looks = 0

    @property
    def workers(self) -> dict[str, Any]:
        self.looks += 1
        jobs = ("11", "12") if self.looks <= 4 else ("12",)
        return {f"w{job}": SimpleNamespace(job_id=job) for job in jobs}

    @property
    def scheduler_info(self) -> dict[str, Any]:
        names = ("w11", "w12") if self.looks <= 2 else ("w12",)
        return {"workers": {f"tcp://h:{name}": {"name": name, "host": "h"} for name in names}}


def _watch(cluster: Any, said: list[str], heard: threading.Event) -> batch._Watch:
    def say(text: str) -> None:
        said.append(text)
        heard.set()

    request = SimpleNamespace(title="Slurm", jobs=2, options=SimpleNamespace(wait="10m"))
    return batch._Watch(cluster, client=None, request=request, say=say)   # type: ignore[arg-type]


def test_a_failed_look_does_not_end_the_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "WATCH_S", 0.01)
    said: list[str] = []
    heard = threading.Event()
    cluster = FlakyCluster()
    watch = _watch(cluster, said, heard)
    watch.start()
    try:
        assert heard.wait(timeout=10), "the watch went silent after one failed look"
    finally:
        watch.stop()
    assert cluster.looks >= 3
    assert said[0].startswith("Slurm job 11 ended")
    assert not watch._thread.is_alive()


def test_a_lost_worker_is_said_at_once_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "WATCH_S", 0.01)
    said: list[str] = []
    cluster = LosingCluster()
    watch = _watch(cluster, said, threading.Event())
    watch.start()
    try:
        deadline = time.monotonic() + 10
        while cluster.looks < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        watch.stop()
    assert cluster.looks >= 8
    lost = [text for text in said if "job 11" in text and "running" not in text]
    assert len(lost) == 1 and lost[0].startswith("Slurm job 11 lost its worker"), said
    assert said[0] == "Slurm workers running: job 11 on h, job 12 on h"
