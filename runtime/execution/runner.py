"""`run`: drive the search strategy over the protocol's folds and seeds, store every trial,
check the borders, score the chosen configuration on the test part once, write the artifacts."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

import spec_lang
from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.execution import executor
from runtime.execution.jobs import Job, dataset, folds, job_key
from runtime.execution.results import config_score, make_table, metric_column, summarize
from runtime.execution.store import RunStore, json_safe

Progress = Callable[[dict[str, Any]], None]
# How many configurations a sequential strategy (TPE) proposes before hearing back. Fixed, not
# the number of jobs, so that the same spec gives the same table whatever `--jobs` is.
ASK_BATCH = 4


@dataclass
class _Search:
    """The search inside one outer fold (the whole run unless the protocol is nested)."""

    exp: Experiment
    outer: int | None
    runner: "_Runner"
    history: list[tuple[Any, float | None]] = field(default_factory=list)

    def run(self) -> dict[str, str | None]:
        """Search, then widen bordering intervals and go on, up to `extend` times."""
        from runtime.search import extend_search, make_strategy
        search, borders = self.exp.search, {}
        for round_ in range(search.extend + 1):
            strategy = make_strategy(search, seed=search.seed + round_, batch_size=ASK_BATCH)
            while batch := strategy.ask():
                strategy.tell(self._evaluate(batch))
            borders = _real_borders(search, self.history) if search.dims else {}
            if round_ == search.extend or not any(borders.values()):
                break
            search = extend_search(search, borders)
            self.runner.note(f"best value on the border of {_describe(borders)}: widening "
                             f"(extension {round_ + 1} of {self.exp.search.extend})")
        return borders

    def _evaluate(self, batch: list[Any]) -> list[tuple[Any, float | None]]:
        jobs = {id(cand): self._jobs(cand) for cand in batch}
        rows = self.runner.collect([j for js in jobs.values() for j in js])
        metric, sign = self.runner.metric, -1.0 if self.runner.maximize else 1.0
        told = []
        for cand in batch:
            mine = [rows[j] for j in jobs[id(cand)]]
            score = config_score([r.get(metric_column(metric)) for r in mine],
                                 [r["state"] for r in mine])
            told.append((cand, None if score is None else sign * score))
        self.history += told
        return told

    def _jobs(self, cand: Any) -> list[Job]:
        params = tuple(cand.params.items())
        trial = self.runner.trial_number(self.outer, params, cand.fidelity)
        cfg = self.exp.bind(cand.params)
        fold_ids = self.runner.fold_ids(cfg, self.outer)
        return [Job(trial, params, seed, fold, self.outer, cand.fidelity, cand.step)
                for seed in self.exp.seed_list() for fold in fold_ids]


class _Runner:
    """State of one run: the store, the executor settings, trial numbering, progress."""

    def __init__(self, exp: Experiment, out: Path, n_jobs: int, client: Any,
                 progress: Progress | None) -> None:
        self.exp, self.out, self.n_jobs, self.client = exp, out, n_jobs, client
        self.progress = progress or (lambda event: None)
        self.store = RunStore(out / "store.sqlite")
        self.trials: dict[tuple, int] = {}
        self.trial_params: dict[int, dict[str, Any]] = {}
        # One row per (outer, trial, seed, fold): a point a strategy asks again (another step,
        # an extension round) reuses the row of its first asking.
        self.rows: dict[tuple, dict[str, Any]] = {}
        self.metric, self.maximize = _selection(exp)
        self.messages: list[str] = []

    def note(self, message: str) -> None:
        self.messages.append(message)
        self.progress({"event": "message", "message": message})

    def trial_number(self, outer: int | None, params: tuple, fidelity: float) -> int:
        key = (outer, params, fidelity)
        if key not in self.trials:
            self.trials[key] = len(self.trials)
            self.trial_params[self.trials[key]] = dict(params)
        return self.trials[key]

    def fold_ids(self, cfg: c.Config, outer: int | None) -> list[int]:
        all_folds = folds(cfg.protocol, cfg.data, str(self.exp.base_dir), self.exp.seed_start)
        return [f.fold for f in all_folds if f.outer == outer]

    def collect(self, jobs: list[Job]) -> dict[Job, dict[str, Any]]:
        """Rows of `jobs`: from this run, from the store, or trained now (and stored)."""
        todo: dict[Job, str] = {}                       # job -> its store key
        pending: set[tuple] = set()
        for job in jobs:
            if _row_key(job) in self.rows or _row_key(job) in pending:
                continue
            pending.add(_row_key(job))
            key = job_key(self.exp, job)
            stored = self.store.get(key)
            if stored is not None:
                self._record(job, {**stored, "trial": job.trial, "step": job.step}, True)
            else:
                todo[job] = key
        for job, row, curves in executor.execute(self.exp, list(todo), n_jobs=self.n_jobs,
                                                 client=self.client):
            self.store.put(todo[job], row, curves)  # committed before reported
            self._record(job, row, False)
        return {job: self.rows[_row_key(job)] for job in jobs}

    def _record(self, job: Job, row: dict[str, Any], cached: bool) -> None:
        self.rows[_row_key(job)] = row
        self.progress({"event": "trial", "row": row, "cached": cached, "done": len(self.rows),
                       "metric": metric_column(self.metric), "maximize": self.maximize})


def _row_key(job: Job) -> tuple:
    return job.outer, job.trial, job.seed, job.fold


def _selection(exp: Experiment) -> tuple[str, bool]:
    """The selection metric and whether it is maximized (the task comes from the data)."""
    from runtime.engine.metrics import is_maximized, selection_metric
    data = exp.config.data
    task = data.task or dataset(data, str(exp.base_dir)).task
    metric = selection_metric(task, exp.config.metric)
    return metric, is_maximized(metric)


def _real_borders(search: c.Search, history: list[tuple[Any, float | None]]
                  ) -> dict[str, str | None]:
    """The border report, less a best value at its setting's natural limit (momentum 0)."""
    from runtime.search import border_report
    from runtime.search.border import best_candidate
    report, best = border_report(search, history), best_candidate(history)
    for dim in search.dims:
        side, value = report.get(dim.name), best.params.get(dim.name) if best else None
        limit = dim.limits[0 if side == "low" else 1] if side else None
        if limit is not None and value is not None and float(value) == limit:
            report[dim.name] = None
    return report


def _describe(borders: dict[str, str | None]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in borders.items() if v)


def run(experiment: Experiment | str | Path, *, out: str | Path | None = None,
        jobs: int | None = None, client: Any = None, progress: Progress | None = None
        ) -> pd.DataFrame:
    """Run an experiment (or a `.spec` path) and return its trials table.

    Writes `trials.csv`, `summary.csv`, `best.json` and `model.npz` to `out` (default
    `runs/<name>/`), and keeps every finished trial in `out/store.sqlite`: running the same
    spec again skips what is finished. `jobs` parallel workers (default: the cores), or a Dask
    `client`. The table's `attrs["best"]` holds the chosen configuration and its test score.
    """
    exp = experiment if isinstance(experiment, Experiment) else spec_lang.load(experiment)
    out_dir = Path(out) if out is not None else Path("runs") / exp.name
    _check_data(exp)
    runner = _Runner(exp, out_dir, jobs or executor.default_jobs(), client, progress)
    try:
        outers = _outers(exp)
        searches = {o: _Search(exp, o, runner) for o in outers}
        borders = {o: s.run() for o, s in searches.items()}
        table = make_table(runner.rows.values(), runner.metric, runner.maximize)
        summary = summarize(table)
        best = _finish(exp, runner, summary, borders, outers)
    finally:
        runner.store.close()
    table.attrs["best"] = best
    _write(out_dir, table, summary, best)
    return table


def _check_data(exp: Experiment) -> None:
    """Load the data and make the folds before any training (raises DataError). Data and
    protocol are the same for every configuration: the language forbids searching them."""
    cfg = exp.config
    folds(cfg.protocol, cfg.data, str(exp.base_dir), exp.seed_start)


def _outers(exp: Experiment) -> list[int | None]:
    protocol = exp.config.protocol
    return list(range(protocol.outer)) if isinstance(protocol, c.Nested) else [None]


def _finish(exp: Experiment, runner: _Runner, summary: pd.DataFrame,
            borders: dict[int | None, dict[str, str | None]], outers: list[int | None]
            ) -> dict[str, Any]:
    """Choose per outer fold, score the test part once, record borders; the best record."""
    from runtime.execution.final import refit_chosen
    metric = metric_column(runner.metric)
    chosen = []
    for outer in outers:
        part = summary if outer is None else summary[summary["outer"] == outer]
        top = part.sort_values(f"rank_{metric}").iloc[0]
        params = runner.trial_params[int(top["trial"])]
        scores, model = {}, None
        if pd.notna(top[f"mean_{metric}"]):           # a configuration that completed
            cfg = exp.bind(params)
            scores, model = refit_chosen(exp, params, runner.fold_ids(cfg, outer), outer)
        else:
            runner.note("no configuration completed on every seed and fold: nothing is "
                        "scored on the test part and no model is saved (see the error column)")
        _mark(summary, top.name, scores, borders[outer])
        chosen.append({"outer": outer, "trial": int(top["trial"]), "params": params,
                       "valid": {"metric": metric, "mean": _plain(top[f"mean_{metric}"]),
                                 "std": _plain(top[f"std_{metric}"]), "n": int(top["n"])},
                       "test": scores, "borders": borders[outer]})
        if outer is None and model is not None:
            model.save(runner.out / "model.npz")
    best = dict(chosen[0]) if outers == [None] else _nested_best(chosen)
    best.update(experiment=exp.name, metric=metric, messages=runner.messages)
    return best


def _mark(summary: pd.DataFrame, index: Any, scores: dict[str, float],
          borders: dict[str, str | None]) -> None:
    for name, value in scores.items():
        summary.loc[index, name] = value
    for name, side in borders.items():
        summary.loc[index, f"border_{name}"] = side or ""


def _nested_best(chosen: list[dict[str, Any]]) -> dict[str, Any]:
    """Nested CV: the generalization estimate is the mean outer test score."""
    keys = sorted({k for ch in chosen for k in ch["test"] if k.startswith("test_")})
    values = {k: pd.Series([ch["test"].get(k, float("nan")) for ch in chosen]) for k in keys}
    estimate = {k: float(v.mean()) for k, v in values.items()}
    spread = {f"std_{k}": float(v.std(ddof=0)) for k, v in values.items()}
    return {"outer_folds": chosen, "test": {**estimate, **spread}}


def _plain(value: Any) -> Any:
    """numpy scalars to python, for JSON."""
    return value.item() if hasattr(value, "item") else value


def _write(out: Path, table: pd.DataFrame, summary: pd.DataFrame, best: dict[str, Any]
           ) -> None:
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "trials.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    text = json.dumps(json_safe(best), indent=2, default=_plain)   # NaN -> null: valid JSON
    (out / "best.json").write_text(text + "\n")
