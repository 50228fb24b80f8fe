"""Refits of a one-configuration search train while the search's last fits do, and the run's
results are the same as when the final phase trains them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import runtime
import spec_lang
from runtime.execution import early_refit, executor
from runtime.execution.jobs import FINAL

PLAIN = """experiment plain
data iris
split train 0.6 valid 0.2 test 0.2
network
    dense 16 relu
train
    epochs 60 early_stop patience 5
seeds 3
"""


def _run(tmp: Path, name: str, spec: str, monkeypatch: pytest.MonkeyPatch, early: bool
         ) -> tuple[dict, list[list[int]]]:
    """The run's best.json and the trial numbers of the jobs each stream of jobs handed out
    (the search's first, then the final phase's)."""
    streams: list[list[int]] = []
    stream = executor.stream

    def watched(exp, next_job, **kw):           # type: ignore[no-untyped-def]
        handed: list[int] = []
        streams.append(handed)

        def next_seen():                        # type: ignore[no-untyped-def]
            job = next_job()
            if job is not None:
                handed.append(job.trial)
            return job
        return stream(exp, next_seen, **kw)

    monkeypatch.setattr(executor, "stream", watched)
    monkeypatch.setattr(early_refit, "applies", lambda exp: early)
    runtime.run(spec_lang.loads(spec), out=tmp / name, jobs=2)
    monkeypatch.undo()
    return json.loads((tmp / name / "best.json").read_text()), streams


@pytest.mark.parametrize("protocol", ["split train 0.6 valid 0.2 test 0.2",
                                      "kfold 3 test 0.2"])
def test_early_refits_give_the_final_phase_s_results(tmp_path: Path, protocol: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    spec = PLAIN.replace("split train 0.6 valid 0.2 test 0.2", protocol)
    late, late_jobs = _run(tmp_path, "late", spec, monkeypatch, early=False)
    early, early_jobs = _run(tmp_path, "early", spec, monkeypatch, early=True)
    # Early: the search's own stream hands the refits out, as its fits come in (the last
    # fit still trains when the first refit starts); late: the final phase's stream does.
    assert [s.count(FINAL) for s in early_jobs] == [3, 0]      # the final phase: none
    assert [s.count(FINAL) for s in late_jobs] == [0, 3]
    assert early["refit"] == late["refit"] and early["test"] == late["test"]
    for member in early["refit"]["members"]:
        a = np.load(tmp_path / "early" / "members" / f"{member['key']}.npz")
        b = np.load(tmp_path / "late" / "members" / f"{member['key']}.npz")
        assert all(np.array_equal(a[k], b[k]) for k in a.files)


def test_only_a_search_of_one_configuration_refits_early() -> None:
    assert early_refit.applies(spec_lang.loads(PLAIN))
    searched = spec_lang.loads(PLAIN.replace("train\n", "train\n    sgd lr $lr\n") +
                               "search grid\n    lr in 0.01, 0.1\n")
    assert not early_refit.applies(searched)                  # the choice is not known yet
    no_refit = PLAIN.replace("test 0.2\n", "test 0.2 refit false\n", 1)
    assert not early_refit.applies(spec_lang.loads(no_refit))
    nested = PLAIN.replace("split train 0.6 valid 0.2 test 0.2", "nested outer 3 inner 2")
    assert not early_refit.applies(spec_lang.loads(nested))   # a choice per outer fold
