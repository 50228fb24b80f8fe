"""`run`: drive the search strategy over the protocol's folds and seeds, store every trial,
check the borders, score the chosen configuration on the test part once, write the artifacts.

The run's phases: open its store and state (`_open`), search each outer fold (`FoldSearch`),
choose and score (`Chooser`), write the artifacts (`_write`), close its record. What it knows
is one `RunState`; the `TrialKeeper` is the only piece that writes trials to the store."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import spec_lang
from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.execution import checkpoints, executor, heartbeat
from runtime.execution.artifacts import (clear_artifacts, clear_leftovers, write_atomic,
                                         write_text_atomic)
from runtime.execution.budget import Spend
from runtime.execution.choose import Chooser, nested_test, plain, trial_counts
from runtime.execution.batch_options import BatchCluster
from runtime.execution.cluster import dask_client, is_local
from runtime.execution.drive import Workers
from runtime.execution.fold_search import FoldSearch
from runtime.execution.jobs import Job
from runtime.execution.lr_auto import Chosen
from runtime.execution.outcome import RunOutcome
from runtime.execution.prepare import Prepared, prepare_run
from runtime.execution.prepared import dataset
from runtime.execution.provenance import provenance, spec_text
from runtime.execution.pruning import CurveBank
from runtime.execution.results import make_table, metric_column, summarize
from runtime.execution.state import Progress, RunState
from runtime.execution.store import Lease, RunStore, json_safe, owner_id
from runtime.execution.trials import TrialKeeper


def run(experiment: Experiment | str | Path, *, out: str | Path | None = None,
        jobs: int | None = None, client: Any = None, progress: Progress | None = None,
        fresh: bool = False, retry_failed: bool = True,
        cluster: "str | BatchCluster | None" = None, prepared: Prepared | None = None
        ) -> pd.DataFrame:
    """Run an experiment (or a `.spec` path) and return its trials table.

    Writes `spec.spec`, `trials.csv`, `summary.csv`, `best.json` and `model.npz` to `out`
    (default `runs/<name>/`), each atomically, and keeps every finished trial in
    `out/store.sqlite`: running the same spec again skips what is finished (failed trials are
    trained again unless `retry_failed` is False), and several processes on one folder share
    the work. `fresh` forgets the
    store and the artifacts of earlier runs first. `jobs` parallel workers (default, or -1:
    the cores), or a Dask `client`. The table's `attrs["best"]` holds the chosen
    configuration and its test score as best.json records them, `attrs["outcome"]` the same
    as a typed `RunOutcome`. `client` may also be a scheduler's address
    (`tcp://HOST:PORT`), and `cluster="local:N"` starts N single-threaded Dask worker processes
    on this machine for the run, `cluster="slurm:N"` (pbs, sge) N worker jobs (docs/scale.md).
    `prepared`: the run as the caller prepared it already
    (`prepare.prepare_run` of this experiment, with these `jobs`; `nnspec run` does).
    """
    if prepared is None:
        exp = experiment if isinstance(experiment, Experiment) else spec_lang.load(experiment)
        prepared = prepare_run(exp, jobs, local=client is None and cluster is None)
    exp = prepared.exp
    out_dir = Path(out) if out is not None else Path("runs") / exp.name
    with dask_client(client, cluster, progress, out_dir) as dask:
        if is_local(cluster) and progress is not None and _dashboard(dask):
            progress({"event": "message", "message": f"started a local Dask cluster "
                      f"({cluster}); its dashboard: {_dashboard(dask)}"})
        if fresh:
            clear_artifacts(out_dir)
        return _run(exp, out_dir, Workers(exp, prepared.n_jobs, dask), progress,
                    retry_failed, prepared.lr_auto)


def _dashboard(client: Any) -> str:
    """The dashboard's address ("" when the cluster serves none: bokeh is not installed)."""
    try:
        return str(client.dashboard_link or "")
    except Exception:                       # no HTTP server, or no link to make of it
        return ""


@dataclass
class _Session:
    """One run's record in its store: the state, the keeper of its trials, and the lease that
    keeps its claims alive."""

    store: RunStore
    run_id: int
    owner: str
    lease: Lease
    state: RunState
    keeper: TrialKeeper

    def close(self, status: str) -> None:
        """End the run's record, stop renewing its claims and drop them. The store is closed
        even when it cannot be written (a full disk: its claims then expire with the lease)."""
        self.lease.stop()
        try:
            self.store.release(self.owner)
            self.store.end_run(self.run_id, status)
        finally:
            self.store.close()


def _open(exp: Experiment, out: Path, workers: Workers, progress: Progress | None
          ) -> _Session:
    """Open the run's store (its unusable rows noted), clear a killed process's temporary
    files, begin the run's record with its provenance, and start the lease."""
    metric, maximize = _selection(exp)
    store = RunStore(out / "store.sqlite")
    clear_leftovers(out)                        # temporary files of a killed process
    prune = exp.search.prune
    state = RunState(metric, maximize, Spend(exp.search.budget, time.time()),
                     progress or (lambda event: None),
                     None if prune is None else CurveBank(prune, metric, maximize))
    for dropped in store.dropped[:3]:
        state.note(f"the store held a row no run writes ({dropped}): trained again")
    if len(store.dropped) > 3:
        state.note(f"... and {len(store.dropped) - 3} more such rows: trained again")
    facts = provenance(exp)
    earlier = [r for r in store.runs() if r["data_digest"]]
    if earlier and earlier[-1]["data_digest"] != facts["data_digest"] and len(store):
        state.note("data changed since the stored trials: retraining")
    run_id, owner = store.begin_run(facts), owner_id()
    lease = Lease(store.path, owner)
    lease.start()
    keeper = TrialKeeper(exp, out, store, run_id, owner, state, workers.client is None)
    return _Session(store, run_id, owner, lease, state, keeper)


def _run(exp: Experiment, out_dir: Path, workers: Workers, progress: Progress | None,
         retry_failed: bool, lr_auto: Chosen | None = None) -> pd.DataFrame:
    """The search, the final phase and the artifacts of one run; its record closed at the end
    (finished, or failed when anything raised)."""
    session = _open(exp, out_dir, workers, progress)
    if not retry_failed:
        session.keeper.replay_since = 0.0
    status = "failed"
    if lr_auto is not None:
        session.state.note(lr_auto.message)
    try:
        write_text_atomic(out_dir / "spec.spec", spec_text(exp))
        table = _phases(exp, out_dir, workers, session, lr_auto)
        checkpoints.clear(out_dir)                  # no promotion is left to continue
        status = "finished"
    finally:
        heartbeat.clear(out_dir)                    # no trial is running, however it ended
        session.close(status)
    return table


def _phases(exp: Experiment, out_dir: Path, workers: Workers, session: _Session,
            lr_auto: Chosen | None) -> pd.DataFrame:
    """Search each outer fold, note what the search did, choose and score, write."""
    state = session.state
    searches = {o: FoldSearch(exp, o, state, session.keeper, workers) for o in _outers(exp)}
    borders = {o: s.run() for o, s in searches.items()}
    _search_notes(state)
    table = make_table(state.rows.values(), state.metric, state.maximize)
    summary = summarize(table)
    stages = {o: s.stages() for o, s in searches.items()}

    def execute(jobs: list[Job]) -> Any:       # the final phase's missing members
        return executor.execute(exp, jobs, n_jobs=workers.n_jobs, client=workers.client)
    choices = Chooser(exp, out_dir, state, execute).choose(summary, borders, stages)
    nested = list(borders) != [None]
    outcome = RunOutcome(
        choices, nested, nested_test(choices) if nested else choices[0].test, exp.name,
        metric_column(state.metric), tuple(state.messages), **trial_counts(table),
        run_id=session.run_id,
        budget=state.spend.report() if exp.search.budget is not None else None,
        lr_auto=lr_auto.record() if lr_auto is not None else None)
    table.attrs["best"] = outcome.record()
    table.attrs["outcome"] = outcome
    _write(out_dir, table, summary, outcome)
    return table


def _search_notes(state: RunState) -> None:
    """What the searches did that the user should know: networks continued, the budget."""
    if state.warm_starts:
        state.note(f"{state.warm_starts} promotions continued the lower rung's network "
                   "instead of training its first epochs again")
    if state.stacks_reused:
        state.note(f"{state.stacks_reused} layerwise stage trials continued the pre-trained "
                   "layers their previous stage chose instead of pre-training them again")
    if state.spend.spent():
        state.note(f"the budget is spent ({_spent(state.spend)}): "
                   f"{state.spend.not_started} configurations asked for did not start")


def _spent(spend: Spend) -> str:
    words = [f"{spend.seconds():.0f} s"] + ([f"{spend.epochs} epochs"] if spend.epochs else [])
    return " and ".join(words)


def _outers(exp: Experiment) -> list[int | None]:
    protocol = exp.config.protocol
    return list(range(protocol.outer)) if isinstance(protocol, c.Nested) else [None]


def _selection(exp: Experiment) -> tuple[str, bool]:
    """The selection metric and whether it is maximized (the task comes from the data)."""
    from runtime.engine.metrics import is_maximized, selection_metric
    data = exp.config.data
    task = data.task or dataset(data, str(exp.base_dir)).task
    metric = selection_metric(task, exp.config.metric)
    return metric, is_maximized(metric)


def _write(out: Path, table: pd.DataFrame, summary: pd.DataFrame, outcome: RunOutcome
           ) -> None:
    """The run's tables and best.json, each written atomically."""
    write_atomic(out / "trials.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_atomic(out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    text = json.dumps(json_safe(outcome.record()), indent=2, default=plain)   # NaN -> null
    write_text_atomic(out / "best.json", text + "\n")
