"""The batch run's watch (`runtime.execution.batch._Watch`) without a queue: a look that fails
once does not silence the watch (the Slurm tests run it against a real queue)."""
from __future__ import annotations

import threading
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


def test_a_failed_look_does_not_end_the_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "WATCH_S", 0.01)
    said: list[str] = []
    heard = threading.Event()

    def say(text: str) -> None:
        said.append(text)
        heard.set()

    request = SimpleNamespace(title="Slurm", jobs=2, options=SimpleNamespace(wait="10m"))
    cluster = FlakyCluster()
    watch = batch._Watch(cluster, client=None, request=request, say=say)   # type: ignore[arg-type]
    watch.start()
    try:
        assert heard.wait(timeout=10), "the watch went silent after one failed look"
    finally:
        watch.stop()
    assert cluster.looks >= 3
    assert said[0].startswith("Slurm job 11 ended")
    assert not watch._thread.is_alive()
