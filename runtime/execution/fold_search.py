"""The search inside one outer fold (the whole run unless the protocol is nested): the
strategy driven over the fold's seeds and folds, then, while the best value lies on the border
of its interval, widened and driven again, up to `extend` times; what each configuration
becomes (its jobs) and what the strategy is told of it (the one ranking's score)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.execution.drive import Asking, Drive, Workers
from runtime.execution.jobs import Job
from runtime.execution.keys import canonical_params
from runtime.execution.prepared import folds
from runtime.execution.results import Score, config_score, metric_column
from runtime.execution.state import RunState, row_key
from runtime.execution.trials import TrialKeeper
from runtime.search.space import Candidate, Result
from runtime.types import TrialState

# How many configurations a sequential strategy (TPE) proposes before hearing back. Fixed, not
# the number of jobs, so that the same spec gives the same table whatever `--jobs` is.
ASK_BATCH = 4
Borders = dict[str, "str | None"]


def fold_ids(exp: Experiment, cfg: c.Config, outer: int | None) -> list[int]:
    """The inner folds of outer fold `outer` (every fold unless the protocol is nested)."""
    all_folds = folds(cfg.protocol, cfg.data, str(exp.base_dir), exp.seed_start)
    return [f.fold for f in all_folds if f.outer == outer]


@dataclass
class FoldSearch:
    """The search of one outer fold, and what its strategies were told (`history`)."""

    exp: Experiment
    outer: int | None
    state: RunState
    keeper: TrialKeeper
    workers: Workers
    history: list[Result] = field(default_factory=list)

    def run(self) -> Borders:
        """Search, then widen bordering intervals and go on, up to `extend` times (not once
        the budget is spent); the borders of the last round."""
        from runtime.search import extend_search, make_strategy
        search, borders = self.exp.search, {}
        asking = Asking(self.jobs, self.scored)
        for round_ in range(search.extend + 1):
            strategy = make_strategy(search, seed=search.seed + round_, batch_size=ASK_BATCH,
                                     spent=self.state.spend.fraction)
            Drive(strategy, asking, self.state, self.keeper, self.workers).run()
            borders = real_borders(search, self.history) if search.dims else {}
            if round_ == search.extend or not any(borders.values()) or \
                    self.state.spend.spent():
                break
            search = extend_search(search, borders)
            self.state.note(f"best value on the border of {_describe(borders)}: widening "
                            f"(extension {round_ + 1} of {self.exp.search.extend})")
        return borders

    def stages(self) -> list[dict[str, Any]]:
        """A layerwise search's stages as best.json records them ([] for another strategy):
        each stage's step and layer, the column it was chosen by, and the trial it chose with
        that trial's values of the stage's own dimensions (`pt_lr@k`, ...)."""
        from runtime.search.layerwise import told_stages
        if self.exp.search.strategy != "layerwise":
            return []
        records = []
        for stage in told_stages(self.exp.search, self.history):
            best = stage.best()
            values = canonical_params(best.params) if best is not None else {}
            trial = None if best is None else \
                self.state.trials.get((self.outer, tuple(values.items()), best.fidelity))
            records.append({"step": stage.step, "layer": stage.layer,
                            "criterion": stage.metric or metric_column(self.state.metric),
                            "trial": trial,
                            "values": {d.name: values.get(d.name) for d in stage.dims}})
        return records

    def scored(self, asked: list[tuple[Candidate, list[Job]]]) -> list[Result]:
        """What a strategy is told of configurations whose rows are all in: the one ranking's
        score (None when a seed or fold failed or diverged)."""
        told: list[Result] = []
        for cand, jobs in asked:
            mine = [self.state.rows[row_key(j)] for j in jobs]
            states = [r["state"] for r in mine]
            # a candidate scored by a column of its own (a layerwise stage) minimizes it
            column = cand.metric or metric_column(self.state.metric)
            sign = -1.0 if self.state.maximize and not cand.metric else 1.0
            score = config_score([r.get(column) for r in mine], states)
            loss = config_score([r.get("valid_loss") for r in mine], states)
            early = any(state != TrialState.COMPLETE for state in states)
            told.append((cand, None if score is None else
                         Score(sign * score, math.inf if loss is None else loss, early)))
        self.history += told
        return told

    def jobs(self, cand: Candidate) -> list[Job]:
        """The jobs of one configuration: every seed (or the first `cand.seeds`) on every fold
        of this outer fold."""
        values = canonical_params(cand.params)    # one configuration despite float drift
        params = tuple(values.items())
        trial = self.state.trial_number(self.outer, params, cand.fidelity)
        cfg = self.exp.bind(values)
        return [Job(trial, params, seed, fold, self.outer, cand.fidelity, cand.step)
                for seed in self.exp.seed_list()[:cand.seeds or None]
                for fold in fold_ids(self.exp, cfg, self.outer)]


def real_borders(search: c.Search, history: list[Result]) -> Borders:
    """The border report, less a best value at its setting's natural limit (momentum 0). A
    layerwise search's is each stage's, on the values that stage tried and chose (`pt_lr@1`,
    ..., then the fine-tuning's dimensions)."""
    from runtime.search import border_report
    from runtime.search.border import best_candidate
    from runtime.search.layerwise import told_stages
    views = [(s.dims, list(s.results)) for s in told_stages(search, history)] \
        if search.strategy == "layerwise" else [(search.dims, history)]
    report: Borders = {}
    for dims, told in views:
        part, best = border_report(replace(search, dims=dims), told), best_candidate(told)
        for dim in dims:
            side, value = part.get(dim.name), best.params.get(dim.name) if best else None
            limit = dim.limits[0 if side == "low" else 1] if side else None
            if limit is not None and value is not None and float(value) == limit:
                part[dim.name] = None
        report.update(part)
    return report


def _describe(borders: Borders) -> str:
    return ", ".join(f"{k} ({v})" for k, v in borders.items() if v)
