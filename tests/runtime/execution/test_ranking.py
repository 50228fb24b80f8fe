"""One ranking (metric, then the validation loss, then the trial number) for every consumer:
the chosen configuration, the summary's ranks, the border check, `extend`, the strategies."""
from __future__ import annotations

import math
import pickle

import runtime
import spec_lang
from runtime.execution import jobs
from runtime.execution.results import Score

from ..conftest import TINY


def test_a_score_breaks_ties_on_the_loss_and_stays_a_number():
    tied_worse, tied_better = Score(0.1, 0.9), Score(0.1, 0.2)
    assert tied_better < tied_worse and min([tied_worse, tied_better]) is tied_better
    assert sorted([tied_worse, Score(0.05, 5.0), tied_better]) == [0.05, tied_better, tied_worse]
    assert [s.tiebreak for s in sorted([tied_worse, tied_better])] == [0.2, 0.9]
    assert Score(0.1, 0.2) < 0.1 and not (0.1 < Score(0.1, 0.2))   # a plain number ties last
    assert Score(0.1, 0.2) == 0.1                                    # its value, for arithmetic
    assert float(tied_better) + 1 == 1.1 and math.isfinite(tied_better)
    again = pickle.loads(pickle.dumps(tied_better))
    assert again == tied_better and again.tiebreak == 0.2


def test_a_tie_on_the_metric_gives_one_best_everywhere(tmp_path, monkeypatch):
    """Two learning rates tie on the error; the higher one has the lower loss. It must be the
    chosen one, the border (high), and where extend widens (up)."""
    real = jobs.run_job

    def tied(exp, job):                 # real training; the scores a tie would produce
        row, curves, member = real(exp, job)
        row.update(valid_error=0.1, valid_loss=1.0 / (1.0 + job.param_dict["lr"]))
        return row, curves, member
    from runtime.execution import executor
    monkeypatch.setattr(executor, "run_job", tied)
    spec = TINY.replace("lr in 0.01, 0.1", "lr in 0.01, 0.1").replace("search grid",
                                                                     "search grid extend 1")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    best = table.attrs["best"]
    assert table["param_lr"].max() > 0.1                  # extend widened upwards
    assert best["params"]["lr"] == table["param_lr"].max()
    assert best["borders"]["lr"] == "high"                # the widened best is still highest
