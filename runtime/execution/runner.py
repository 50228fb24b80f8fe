"""`run`: drive the search strategy over the protocol's folds and seeds, store every trial,
check the borders, score the chosen configuration on the test part once, write the artifacts."""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd

import spec_lang
from spec_lang import config as c
from spec_lang.experiment import Experiment
from spec_lang.layerwise import LAYERS, lower_stage

from runtime.execution import checkpoints, executor, heartbeat
from runtime.execution.artifacts import (clear_artifacts, clear_leftovers, write_atomic,
                                         write_text_atomic)
from runtime.execution.budget import Spend
from runtime.execution.cluster import dask_client
from runtime.execution.drive import Drive, row_key
from runtime.execution.final import (RefitFailed, final_model, keep_member, prune_members,
                                     prune_refits, refit_epochs)
from runtime.execution.jobs import Job
from runtime.execution.keys import job_key
from runtime.execution.prepared import REFIT_FOLD, dataset, fold_of, folds
from runtime.execution.keys import canonical_params
from runtime.execution.lr_auto import Chosen, resolve as resolve_lr_auto
from runtime.execution.provenance import provenance, spec_text
from runtime.execution.outcome import Choice, MemberRef, Refit, RunOutcome, Valid
from runtime.execution.pruning import CurveBank
from runtime.execution.results import (Score, config_score, make_table, metric_column,
                                       summarize)
from runtime.execution.store import Lease, RunStore, json_safe, owner_id
from runtime.types import EVALUATED_STATES, TrialState

Progress = Callable[[dict[str, Any]], None]
# How many configurations a sequential strategy (TPE) proposes before hearing back. Fixed, not
# the number of jobs, so that the same spec gives the same table whatever `--jobs` is.
ASK_BATCH = 4
KEPT_CONFIGURATIONS = 3   # configurations whose trained networks stay on disk during a search
EPOCH_MARGIN = 0.05       # a best epoch in the last 5% of a capped training is "at the cap"


@dataclass
class _Search:
    """The search inside one outer fold (the whole run unless the protocol is nested)."""

    exp: Experiment
    outer: int | None
    runner: "_Runner"
    history: list[tuple[Any, float | None]] = field(default_factory=list)

    def run(self) -> dict[str, str | None]:
        """Search, then widen bordering intervals and go on, up to `extend` times (not once
        the budget is spent)."""
        from runtime.search import extend_search, make_strategy
        search, borders = self.exp.search, {}
        for round_ in range(search.extend + 1):
            strategy = make_strategy(search, seed=search.seed + round_, batch_size=ASK_BATCH)
            Drive(self, strategy).run()
            borders = _real_borders(search, self.history) if search.dims else {}
            if round_ == search.extend or not any(borders.values()) or \
                    self.runner.spend.spent():
                break
            search = extend_search(search, borders)
            self.runner.note(f"best value on the border of {_describe(borders)}: widening "
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
                self.runner.trials.get((self.outer, tuple(values.items()), best.fidelity))
            records.append({"step": stage.step, "layer": stage.layer,
                            "criterion": stage.metric or metric_column(self.runner.metric),
                            "trial": trial,
                            "values": {d.name: values.get(d.name) for d in stage.dims}})
        return records

    def scored(self, asked: list[tuple[Any, list[Job]]]) -> list[tuple[Any, float | None]]:
        """What a strategy is told of configurations whose rows are all in: the one ranking's
        score (None when a seed or fold failed or diverged)."""
        told: list[tuple[Any, float | None]] = []
        for cand, jobs in asked:
            mine = [self.runner.rows[row_key(j)] for j in jobs]
            states = [r["state"] for r in mine]
            # a candidate scored by a column of its own (a layerwise stage) minimizes it
            column = cand.metric or metric_column(self.runner.metric)
            sign = -1.0 if self.runner.maximize and not cand.metric else 1.0
            score = config_score([r.get(column) for r in mine], states)
            loss = config_score([r.get("valid_loss") for r in mine], states)
            early = any(state != TrialState.COMPLETE for state in states)
            told.append((cand, None if score is None else
                         Score(sign * score, math.inf if loss is None else loss, early)))
        self.history += told
        return told

    def jobs(self, cand: Any) -> list[Job]:
        """The jobs of one configuration: every seed on every fold of this outer fold."""
        values = canonical_params(cand.params)    # one configuration despite float drift
        params = tuple(values.items())
        trial = self.runner.trial_number(self.outer, params, cand.fidelity)
        cfg = self.exp.bind(values)
        fold_ids = self.runner.fold_ids(cfg, self.outer)
        return [Job(trial, params, seed, fold, self.outer, cand.fidelity, cand.step)
                for seed in self.exp.seed_list() for fold in fold_ids]


class _Runner:
    """State of one run: the store, the executor settings, trial numbering, progress."""

    def __init__(self, exp: Experiment, out: Path, n_jobs: int, client: Any,
                 progress: Progress | None) -> None:
        self.exp, self.out, self.n_jobs, self.client = exp, out, n_jobs, client
        self.progress = progress or (lambda event: None)
        self.trials: dict[tuple, int] = {}
        self.trial_params: dict[int, dict[str, Any]] = {}
        # One row per (outer, trial, seed, fold): a point a strategy asks again (another step,
        # an extension round) reuses the row of its first asking.
        self.rows: dict[tuple, dict[str, Any]] = {}
        self.keys: dict[tuple, str] = {}                # row key -> store key
        self.metric, self.maximize = _selection(exp)
        self.messages: list[str] = []
        self.store = RunStore(out / "store.sqlite")
        for dropped in self.store.dropped[:3]:
            self.note(f"the store held a row no run writes ({dropped}): trained again")
        if len(self.store.dropped) > 3:
            self.note(f"... and {len(self.store.dropped) - 3} more such rows: trained again")
        clear_leftovers(out)                        # temporary files of a killed process
        self.started = time.time()
        # A stored failure counts as done when it is newer than this: this run's start (so a
        # failure of an earlier run is retried), or the epoch when failures are replayed.
        self.replay_since = self.started
        facts = provenance(exp)
        self._data_changed(facts["data_digest"])
        self.run_id = self.store.begin_run(facts)
        self.owner = owner_id()
        self.lease = Lease(self.store.path, self.owner)
        self.lease.start()
        self.spend = Spend(exp.search.budget, self.started)
        self.members_since_prune = 0
        # Lower-fidelity checkpoints by network (outer, params, seed, fold): [(fidelity, key)]
        self.resumes: dict[tuple, list[tuple[float, str]]] = {}
        self.warm_starts = 0
        self.stacks_reused = 0              # layerwise stages that continued a lower stack
        prune = exp.search.prune
        self.bank = None if prune is None else CurveBank(prune, self.metric, self.maximize)

    def _data_changed(self, digest: str) -> None:
        earlier = [r for r in self.store.runs() if r["data_digest"]]
        if earlier and earlier[-1]["data_digest"] != digest and len(self.store):
            self.note("data changed since the stored trials: retraining")

    def prune_members(self) -> None:
        """Keep on disk only the members of the configurations that can still be chosen:
        the best `KEPT_CONFIGURATIONS` of each outer fold by the one ranking."""
        self.members_since_prune = 0
        summary = summarize(make_table(self.rows.values(), self.metric, self.maximize))
        if summary.empty:
            return
        rank = f"rank_{metric_column(self.metric)}"
        outer = summary["outer"] if "outer" in summary else [None] * len(summary)
        best = {(o if o == o else None, int(t)) for o, t, r in
                zip(outer, summary["trial"], summary[rank]) if r <= KEPT_CONFIGURATIONS}
        keep = {key for (o, t, _, _), key in self.keys.items() if (o, t) in best}
        prune_members(self.out, set(self.keys.values()), keep)

    def execute(self, jobs: list[Job]) -> Any:
        """Train `jobs` on this run's executor (the final phase's missing members)."""
        return executor.execute(self.exp, jobs, n_jobs=self.n_jobs, client=self.client)

    def close(self, status: str) -> None:
        """End the run's record, stop renewing its claims and drop them. The store is closed
        even when it cannot be written (a full disk: its claims then expire with the lease)."""
        self.lease.stop()
        try:
            self.store.release(self.owner)
            self.store.end_run(self.run_id, status)
        finally:
            self.store.close()

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

    def store_outcome(self, job: Job, row: dict[str, Any], curves: dict[str, list[float]],
                      member: Any) -> None:
        """A job trained here: its member kept, its row committed, then recorded."""
        key = self.keys[row_key(job)]
        heartbeat.remove(heartbeat.path(self.out, key))
        if member is not None and "resume" in member:    # to continue from: a lower rung's
            checkpoints.save(self.out, key, member["resume"])   # or a lower stage's stack
            if job.fidelity < 1.0:
                self._resumable(job, key)
        elif member is not None:                # before the row: never a row whose member
            keep_member(self.exp, self.out, key, member)     # is lost
            self.members_since_prune += 1
        row["attempts"] = self.store.put(key, row, curves, self.run_id)
        self._record(job, row, False, curves)       # committed before reported

    def record_stored(self, job: Job, key: str) -> None:
        """A job whose result is in the store (cached, or trained meanwhile by another
        process sharing the folder)."""
        row = _as_job_row(job, self.store.get(key) or {})
        self._record(job, row, True, self.store.curves(key) if self.bank else {})
        if job.fidelity < 1.0 and checkpoints.path(self.out, key).exists():
            self._resumable(job, key)               # kept by the run that was interrupted

    def heartbeat_file(self, key: str) -> str | None:
        """Where the job of store key `key` writes its per-epoch progress: a file of the run
        folder for local workers, None on Dask (its workers may be elsewhere)."""
        return None if self.client is not None else str(heartbeat.path(self.out, key))

    def _resumable(self, job: Job, key: str) -> None:
        self.resumes.setdefault((job.outer, job.params, job.seed, job.fold), []).append(
            (job.fidelity, key))

    def warm_start(self, job: Job) -> Job:
        """`job` with the checkpoint of the same network at the highest lower fidelity kept
        (the same result as from the start, in fewer epochs), or, for a layerwise stage k > 1,
        with the pre-trained stack of the stage k - 1 configuration below it (kept when that
        one trained; the same result as pre-training it again); else as it is."""
        below = lower_stage(job.param_dict)
        if below is not None:
            key = job_key(self.exp, replace(job, params=tuple(below.items())))
            start = checkpoints.load(self.out, key)
            self.stacks_reused += start is not None
        else:
            lower = [(f, k) for f, k in self.resumes.get((job.outer, job.params, job.seed,
                                                          job.fold), []) if f < job.fidelity]
            start = checkpoints.load(self.out, max(lower)[1]) if lower else None
            self.warm_starts += start is not None
        return job if start is None else replace(job, start=start)

    def _record(self, job: Job, row: dict[str, Any], cached: bool,
                curves: dict[str, list[float]]) -> None:
        self.rows[row_key(job)] = row
        self.spend.epochs += int(row.get("epochs_trained", row.get("epochs")) or 0)
        if self.bank is not None:
            self.bank.add(job.fidelity, row.get("state", ""), curves)
        self.progress({"event": "trial", "row": row, "cached": cached, "done": len(self.rows),
                       "metric": metric_column(self.metric), "maximize": self.maximize})


def _as_job_row(job: Job, stored: dict[str, Any]) -> dict[str, Any]:
    """A stored row as this run's row of `job`: its trial number, step and parameter names
    (the same configuration may have been stored under other names or numbers)."""
    row = {k: v for k, v in stored.items() if not k.startswith("param_")}
    row.update(trial=job.trial, step=job.step, **{f"param_{k}": v for k, v in job.params})
    return row


def _selection(exp: Experiment) -> tuple[str, bool]:
    """The selection metric and whether it is maximized (the task comes from the data)."""
    from runtime.engine.metrics import is_maximized, selection_metric
    data = exp.config.data
    task = data.task or dataset(data, str(exp.base_dir)).task
    metric = selection_metric(task, exp.config.metric)
    return metric, is_maximized(metric)


def _real_borders(search: c.Search, history: list[tuple[Any, float | None]]
                  ) -> dict[str, str | None]:
    """The border report, less a best value at its setting's natural limit (momentum 0). A
    layerwise search's is each stage's, on the values that stage tried and chose (`pt_lr@1`,
    ..., then the fine-tuning's dimensions)."""
    from runtime.search import border_report
    from runtime.search.border import best_candidate
    from runtime.search.layerwise import told_stages
    views = [(s.dims, list(s.results)) for s in told_stages(search, history)] \
        if search.strategy == "layerwise" else [(search.dims, history)]
    report: dict[str, str | None] = {}
    for dims, told in views:
        part, best = border_report(replace(search, dims=dims), told), best_candidate(told)
        for dim in dims:
            side, value = part.get(dim.name), best.params.get(dim.name) if best else None
            limit = dim.limits[0 if side == "low" else 1] if side else None
            if limit is not None and value is not None and float(value) == limit:
                part[dim.name] = None
        report.update(part)
    return report


def _describe(borders: dict[str, str | None]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in borders.items() if v)


def run(experiment: Experiment | str | Path, *, out: str | Path | None = None,
        jobs: int | None = None, client: Any = None, progress: Progress | None = None,
        fresh: bool = False, retry_failed: bool = True, cluster: str | None = None
        ) -> pd.DataFrame:
    """Run an experiment (or a `.spec` path) and return its trials table.

    Writes `spec.spec`, `trials.csv`, `summary.csv`, `best.json` and `model.npz` to `out`
    (default `runs/<name>/`), each atomically, and keeps every finished trial in
    `out/store.sqlite`: running the same spec again skips what is finished (failed trials are
    trained again unless `retry_failed` is False), and several processes on one folder share
    the work. `fresh` forgets the
    store and the artifacts of earlier runs first. `jobs` parallel workers (default, or -1:
    the cores), or a Dask `client`. The table's `attrs["best"]` holds the chosen
    configuration and its test score. `client` may also be a scheduler's address
    (`tcp://HOST:PORT`), and `cluster="local:N"` starts N single-threaded Dask worker processes
    on this machine for the run.
    """
    exp = experiment if isinstance(experiment, Experiment) else spec_lang.load(experiment)
    exp, lr_auto = resolve_lr_auto(exp)     # `lr auto`: its range test, before workers start
    out_dir = Path(out) if out is not None else Path("runs") / exp.name
    n_jobs = _n_jobs(jobs)
    with dask_client(client, cluster) as dask:
        if dask is None:
            executor.warm_up(n_jobs)
        elif cluster is not None and progress is not None and _dashboard(dask):
            progress({"event": "message", "message": f"started a local Dask cluster "
                      f"({cluster}); its dashboard: {_dashboard(dask)}"})
        _check_data(exp)
        if fresh:
            clear_artifacts(out_dir)
        return _run(exp, out_dir, _Runner(exp, out_dir, n_jobs, dask, progress),
                    retry_failed, lr_auto)


def _dashboard(client: Any) -> str:
    """The dashboard's address ("" when the cluster serves none: bokeh is not installed)."""
    try:
        return str(client.dashboard_link or "")
    except Exception:                       # no HTTP server, or no link to make of it
        return ""


def _run(exp: Experiment, out_dir: Path, runner: "_Runner", retry_failed: bool,
         lr_auto: Chosen | None = None) -> pd.DataFrame:
    """The search, the final phase and the artifacts of one run; its record closed at the end
    (finished, or failed when anything raised)."""
    if not retry_failed:
        runner.replay_since = 0.0
    status = "failed"
    if lr_auto is not None:
        runner.note(lr_auto.message)
    try:
        write_text_atomic(out_dir / "spec.spec", spec_text(exp))
        outers = _outers(exp)
        searches = {o: _Search(exp, o, runner) for o in outers}
        borders = {o: s.run() for o, s in searches.items()}
        if runner.warm_starts:
            runner.note(f"{runner.warm_starts} promotions continued the lower rung's network "
                        "instead of training its first epochs again")
        if runner.stacks_reused:
            runner.note(f"{runner.stacks_reused} layerwise stage trials continued the "
                        "pre-trained layers their previous stage chose instead of "
                        "pre-training them again")
        if runner.spend.spent():
            runner.note(f"the budget is spent ({_spent(runner.spend)}): "
                        f"{runner.spend.not_started} configurations asked for did not start")
        table = make_table(runner.rows.values(), runner.metric, runner.maximize)
        summary = summarize(table)
        stages = {o: s.stages() for o, s in searches.items()}
        choices = _finish(exp, runner, summary, borders, outers, stages)
        outcome = RunOutcome(
            choices, outers != [None],
            _nested_test(choices) if outers != [None] else choices[0].test,
            exp.name, metric_column(runner.metric), tuple(runner.messages), **_outcome(table),
            run_id=runner.run_id,
            budget=runner.spend.report() if exp.search.budget is not None else None,
            lr_auto=lr_auto.record() if lr_auto is not None else None)
        table.attrs["best"] = outcome.record()
        table.attrs["outcome"] = outcome
        _write(out_dir, table, summary, outcome)
        checkpoints.clear(out_dir)                  # no promotion is left to continue
        status = "finished"
    finally:
        heartbeat.clear(out_dir)                    # no trial is running, however it ended
        runner.close(status)
    return table


def _spent(spend: Spend) -> str:
    words = [f"{spend.seconds():.0f} s"] + ([f"{spend.epochs} epochs"] if spend.epochs else [])
    return " and ".join(words)


def _n_jobs(jobs: int | None) -> int:
    """Parallel workers: None or -1 mean every core this process may use."""
    from runtime.errors import NnspecError
    from spec_lang.limits import workers_problem
    if jobs is None or jobs == -1:
        return executor.default_jobs()
    if jobs < 1:
        raise NnspecError(f"jobs must be a positive number of workers, or -1 for every core; "
                          f"got {jobs}")
    problem = workers_problem(jobs, "jobs asks for")
    if problem:
        raise NnspecError(problem)
    return jobs


def _outcome(table: pd.DataFrame) -> dict[str, Any]:
    """How many trials completed and, when none that can be chosen did (a layerwise stage's
    cut network cannot), the most common error (the run failed)."""
    states = Counter(table["state"]) if "state" in table else Counter()
    stage = f"param_{LAYERS}"
    whole = table if stage not in table else table[table[stage].isna()]
    done = int(whole["state"].isin(EVALUATED_STATES).sum()) \
        if "state" in whole else 0
    errors = Counter(e for e in table.get("error", pd.Series(dtype=str)) if e)
    common = errors.most_common(1)[0][0] if errors else ""
    return {"states": dict(states), "completed": done,
            "most_common_error": "" if done else common}


def _check_data(exp: Experiment) -> None:
    """The preflight before any training (raises DataError): the data, the folds, the
    preprocessing. Data and protocol are the same for every configuration: the language
    forbids searching them."""
    from runtime.execution.jobs import preflight
    preflight(exp)


def _outers(exp: Experiment) -> list[int | None]:
    protocol = exp.config.protocol
    return list(range(protocol.outer)) if isinstance(protocol, c.Nested) else [None]


def _finish(exp: Experiment, runner: _Runner, summary: pd.DataFrame,
            borders: dict[int | None, dict[str, str | None]], outers: list[int | None],
            stages: dict[int | None, list[dict[str, Any]]]) -> tuple[Choice, ...]:
    """Choose per outer fold, score the test part once, record borders (and a layerwise
    search's stages); the choices."""
    metric = metric_column(runner.metric)
    chosen: list[Choice] = []
    for outer in outers:
        staged = tuple(stages.get(outer) or ())
        part = summary if outer is None else summary[summary["outer"] == outer]
        if part.empty:               # a layerwise search that ended before its fine-tuning
            runner.note("no configuration can be chosen: the layerwise search ended at a "
                        "stage whose every configuration failed or diverged (see the error "
                        "column)")
            chosen.append(Choice(outer, None, {}, (), None, Valid(metric, None, None, 0), {},
                                 borders[outer], staged))
            continue
        top = part.sort_values(f"rank_{metric}").iloc[0]
        params = runner.trial_params[int(top["trial"])]
        scores: dict[str, float] = {}
        model: Any = None
        refit: Refit | None = None
        if pd.notna(top[f"mean_{metric}"]):           # a configuration that completed
            cfg = exp.bind(params)
            fidelity = float(top["fidelity"])
            if fidelity < 1.0:
                runner.note(f"no configuration was trained at full fidelity (the chosen one "
                            f"at {fidelity:.3g}): the model is the network it trained")
            scores, model, refit = _final(exp, runner, params, cfg, outer, top, fidelity)
            borders[outer] = {**borders[outer], **_epoch_cap(runner, cfg, outer, top)}
        else:
            runner.note("no configuration completed on every seed and fold: nothing is "
                        "scored on the test part and no model is saved (see the error column)")
        _mark(summary, top.name, scores, borders[outer])
        members = tuple(MemberRef(seed, fold, key) for (o, t, seed, fold), key
                        in runner.keys.items() if o == outer and t == int(top["trial"]))
        valid = Valid(metric, _plain(top[f"mean_{metric}"]), _plain(top[f"std_{metric}"]),
                      int(top["n"]))
        chosen.append(Choice(outer, int(top["trial"]), params, members, refit, valid, scores,
                             borders[outer], staged))
        if outer is None:
            _keep_model(runner, model)
    prune_refits(runner.out, {m.key for ch in chosen if ch.refit for m in ch.refit.members})
    return tuple(chosen)


def _final(exp: Experiment, runner: _Runner, params: dict[str, Any], cfg: c.Config,
           outer: int | None, top: Any, fidelity: float
           ) -> tuple[dict[str, float], Any, Refit | None]:
    """The chosen configuration's test scores and model: refitted on the development rows
    when the protocol says so (each seed for the mean of its best epochs), else its search
    networks; and what the refit did (None: no refit)."""
    fold_ids = runner.fold_ids(cfg, outer)
    rows = [r for (o, t, _, _), r in runner.rows.items() if o == outer and t == top["trial"]]
    wanted = cfg.protocol.refit and fidelity >= 1.0
    epochs = refit_epochs(rows) if wanted else None
    if wanted and epochs is None:
        runner.note("no refit: a network of the chosen configuration did not complete, so "
                    "the model is its search networks")
    if epochs is not None:
        try:
            scores, model, listed = final_model(exp, runner.out, params, fold_ids, outer,
                                                runner.execute, fidelity, refit=epochs)
            n_rows = len(fold_of(cfg, exp, REFIT_FOLD, outer).train)
            refs = tuple(MemberRef(m["seed"], m["fold"], m["key"]) for m in listed)
            return scores, model, Refit(epochs, n_rows, refs)
        except RefitFailed as exc:
            runner.note(f"the refit failed ({exc}); the model is the search's networks")
    scores, model, _ = final_model(exp, runner.out, params, fold_ids, outer, runner.execute,
                                   fidelity)
    return scores, model, None


def _epoch_cap(runner: _Runner, cfg: c.Config, outer: int | None, top: Any
               ) -> dict[str, str]:
    """The epoch cap as a border: {"epochs": "high"} when a member of the chosen
    configuration was still improving when the cap stopped it (best epoch within
    `EPOCH_MARGIN` of the last); nothing without early stopping (then the last epoch is kept
    by design)."""
    train = cfg.train
    if train.early_stop is None:
        return {}
    rows = [r for (o, t, _, _), r in runner.rows.items() if o == outer and t == top["trial"]]
    for row in rows:
        capped = row.get("epochs", 0) >= train.epochs or \
            (train.updates is not None and row.get("updates", 0) >= train.updates)
        margin = max(1, math.ceil(EPOCH_MARGIN * row.get("epochs", 0)))
        if capped and row.get("best_epoch", 0) >= row.get("epochs", 0) - margin + 1:
            return {"epochs": "high"}              # worded by results.border_message
    return {}


def _keep_model(runner: _Runner, model: Any) -> None:
    """Save the chosen model, or remove an earlier run's (it would be taken for this one's)."""
    path = runner.out / "model.npz"
    if model is not None:
        write_atomic(path, model.save)
    elif path.exists():
        path.unlink()
        runner.note("removed the model.npz of an earlier run: this run saved none")


def _mark(summary: pd.DataFrame, index: Any, scores: dict[str, float],
          borders: dict[str, str | None]) -> None:
    for name, value in scores.items():
        summary.loc[index, name] = value
    for name, side in borders.items():
        summary.loc[index, f"border_{name}"] = side or ""


def _nested_test(chosen: tuple[Choice, ...]) -> dict[str, float]:
    """Nested CV: the generalization estimate is the mean outer test score."""
    keys = sorted({k for ch in chosen for k in ch.test if k.startswith("test_")})
    values = {k: pd.Series([ch.test.get(k, float("nan")) for ch in chosen]) for k in keys}
    estimate = {k: float(v.mean()) for k, v in values.items()}
    spread = {f"std_{k}": float(v.std(ddof=0)) for k, v in values.items()}
    return {**estimate, **spread}


def _plain(value: Any) -> Any:
    """numpy scalars to python, for JSON."""
    return value.item() if hasattr(value, "item") else value


def _write(out: Path, table: pd.DataFrame, summary: pd.DataFrame, outcome: RunOutcome
           ) -> None:
    """The run's tables and best.json, each written atomically."""
    write_atomic(out / "trials.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_atomic(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    text = json.dumps(json_safe(outcome.record()), indent=2, default=_plain)   # NaN -> null: valid JSON
    write_text_atomic(out / "best.json", text + "\n")
