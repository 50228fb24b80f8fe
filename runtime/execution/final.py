"""After the search: the chosen configuration's networks, reused, and the test part scored
once, for it alone.

Every trial that could become part of the final model (complete, at full fidelity) sends its
trained network and fitted preprocessing back from the worker; the runner keeps those of the
best few configurations in `RUN/members/<trial key>.npz` (`keep_member`, `prune_members`).
The final model is built from them: no network is trained twice for the same result. A member
that is not on disk (a store written by an older nnspec, a folder whose members were removed)
is trained again through the same executor as the trials, in the workers.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from spec_lang.experiment import Experiment

from runtime.execution.artifacts import write_atomic
from runtime.errors import NnspecError
from runtime.execution.jobs import FINAL, Job, MemberState
from runtime.execution.keys import job_key
from runtime.execution.prepared import REFIT_FOLD, dataset, fold_of
from runtime.model.saved import Member, SavedModel
from runtime.types import TrialState

MEMBERS = "members"      # the run folder's subfolder of kept networks
Execute = Callable[[list[Job]], Iterable[tuple[Job, Any, Any, "MemberState | None"]]]


class RefitFailed(NnspecError):
    """A network of the refit did not complete (it diverged on the larger training part):
    the run keeps the search's networks instead."""


def refit_epochs(rows: list[dict[str, Any]], seeds: list[int] | None = None
                 ) -> dict[int, int] | None:
    """Seed -> the epochs to refit it for: the mean best epoch of its search fits (one per
    fold), rounded halves up; None when a fit did not complete (a stalled or pruned network
    was chosen because nothing completed: there is no early-stopping epoch to trust). A seed of
    `seeds` the configuration was not trained with (`search auto` explores with one, and its
    budget may end before its seeds stage) takes the mean of the others' epochs, so that the
    model still averages every seed."""
    if not rows or any(r.get("state") != TrialState.COMPLETE or not r.get("best_epoch")
                       for r in rows):
        return None
    by_seed: dict[int, list[int]] = {}
    for r in rows:
        by_seed.setdefault(int(r["seed"]), []).append(int(r["best_epoch"]))
    epochs = {seed: _halves_up(sum(e) / len(e)) for seed, e in sorted(by_seed.items())}
    untrained = [seed for seed in seeds or [] if seed not in epochs]
    if untrained:
        shared = _halves_up(sum(epochs.values()) / len(epochs))
        epochs = dict(sorted({**epochs, **dict.fromkeys(untrained, shared)}.items()))
    return epochs


def _halves_up(mean: float) -> int:
    return max(1, math.floor(mean + 0.5))


def score_test(task: str, y_test: np.ndarray, outputs: list[np.ndarray],
               logits: list[np.ndarray | None] | None = None,
               head: Any = None) -> dict[str, float]:
    """The test metrics of the chosen configuration: mean and std over its members and the
    score of their averaged prediction (`ensemble_`); the losses exact from the members'
    `logits` when given. `head`: a member's output head, which scores as it was trained to
    (several targets: each target's metrics as `<target>_<metric>`); None: the task's
    `metrics.evaluate`. The only code that reads test labels."""
    from runtime.engine.metrics import ensemble_logits, evaluate
    if head is not None:
        evaluate, ensemble_logits = head.evaluate, head.ensemble_logits
    logits = logits or [None] * len(outputs)
    each = [evaluate(task, y_test, out, z) for out, z in zip(outputs, logits)]
    scores: dict[str, float] = {}
    for name in each[0]:
        values = [m[name] for m in each]
        scores[f"test_{name}"] = float(np.mean(values))
        scores[f"std_test_{name}"] = float(np.std(values))
    exact = all(z is not None for z in logits)
    ensemble = evaluate(task, y_test, np.mean(outputs, axis=0),
                        ensemble_logits(task, logits) if exact else None)  # type: ignore[arg-type]
    scores.update({f"ensemble_test_{k}": float(v) for k, v in ensemble.items()})
    return scores


def member_from_state(state: MemberState) -> Member:
    """The Member a worker sent back as arrays."""
    from runtime.data.preprocess import Preprocessor
    from runtime.engine.network import Network
    return Member(Preprocessor.from_state(state["prep"]), Network.from_state(state["net"]))


def keep_member(exp: Experiment, folder: Path, key: str, state: MemberState) -> Path:
    """Write one trained member to `folder/members/<key>.npz` (a one-member SavedModel)."""
    data = dataset(exp.config.data, str(exp.base_dir))
    model = SavedModel([member_from_state(state)], data.task, data.classes, data.feature_names,
                       data.target, data.categories, data.targets)
    return write_atomic(folder / MEMBERS / f"{key}.npz", model.save)


REFIT_PREFIX = "refit-"   # a refit network's file: members/refit-<key>.npz


def member_name(exp: Experiment, job: Job) -> str:
    """The file stem a job's network is kept under in members/: its store key, prefixed for a
    refit (no row of the store has it; `prune_refits` tells them apart)."""
    return (REFIT_PREFIX if job.epochs is not None else "") + job_key(exp, job)


def prune_refits(folder: Path, keep: set[str]) -> None:
    """Remove the refit networks of members/ that are not in `keep` (an earlier run's choice)."""
    for path in (folder / MEMBERS).glob(f"{REFIT_PREFIX}*.npz"):
        if path.stem not in keep:
            path.unlink(missing_ok=True)


def prune_members(folder: Path, known: set[str], keep: set[str]) -> None:
    """Remove the kept members of `known` keys that are not in `keep` (their configurations
    can no longer be chosen); members of keys this process does not know are left alone."""
    for path in (folder / MEMBERS).glob("*.npz"):
        if path.stem in known and path.stem not in keep:
            path.unlink(missing_ok=True)


def final_model(exp: Experiment, folder: Path, params: dict[str, Any], fold_ids: list[int],
                outer: int | None, execute: Execute, fidelity: float = 1.0,
                refit: dict[int, int] | None = None
                ) -> tuple[dict[str, float], SavedModel, list[dict[str, Any]]]:
    """The chosen configuration's members at the fidelity it was chosen at (kept ones loaded,
    missing ones trained through `execute`: the same networks its trials trained), its test
    scores, and the model they make. `refit` (seed -> epochs): the members are instead each
    seed's network trained on the development rows (`REFIT_FOLD`) for that many epochs, kept
    under their own names (`member_name`: a resumed run loads them). Also the model's members
    as best.json lists them (seed, fold, the file stem in members/)."""
    if refit is not None:
        jobs = [Job(FINAL, tuple(params.items()), seed, REFIT_FOLD, outer, fidelity,
                    epochs=refit[seed]) for seed in exp.seed_list()]
    else:
        jobs = [Job(FINAL, tuple(params.items()), seed, fold, outer, fidelity)
                for seed in exp.seed_list() for fold in fold_ids]
    members: dict[Job, Member] = {}
    missing = []
    for job in jobs:
        path = folder / MEMBERS / f"{member_name(exp, job)}.npz"
        if path.is_file():
            members[job] = SavedModel.load(path).members[0]
        else:
            missing.append(job)
    for job, row, _, state in execute(missing):
        if state is None:
            if job.epochs is not None:
                raise RefitFailed(f"seed {job.seed} {row.get('state')} on the development "
                                  f"rows: {row.get('error')}")
            raise NnspecError(f"the chosen configuration did not train again as it did in "
                              f"the search ({row.get('state')}: {row.get('error')})")
        keep_member(exp, folder, member_name(exp, job), state)
        members[job] = member_from_state(state)
    listed = [{"seed": j.seed, "fold": j.fold, "key": member_name(exp, j)} for j in jobs]
    return (*_scored(exp, jobs, members), listed)


def _scored(exp: Experiment, jobs: list[Job], members: dict[Job, Member]
            ) -> tuple[dict[str, float], SavedModel]:
    config = exp.config
    data = dataset(config.data, str(exp.base_dir))
    outputs, logits, y_test = [], [], None
    for job in jobs:
        test = fold_of(config, exp, job.fold, job.outer).test
        if len(test):
            output, z = members[job].scored(data.X[test])
            outputs.append(output)
            logits.append(z)
            y_test = data.y[test]
    model = SavedModel([members[j] for j in jobs], data.task, data.classes, data.feature_names,
                       data.target, data.categories, data.targets)
    scores = score_test(data.task, y_test, outputs, logits, model.members[0].net.head) \
        if outputs and y_test is not None else {}
    return scores, model
