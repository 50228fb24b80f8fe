"""One job: a configuration trained with one seed on one fold. Runs in a worker process;
returns a results-table row and never raises for a bad configuration."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np

from spec_lang.config import Config, Param
from spec_lang.experiment import Experiment
from spec_lang.layerwise import has_next_stage, is_cut

from runtime.execution.job import FINAL as FINAL, Job as Job
from runtime.execution.prepared import dataset, development_ratio, folds, train_data
from runtime.types import EVALUATED_STATES, FitResult, TrainData, TrialState


def at_fidelity(config: Config, fidelity: float, kind: str) -> Config:
    """The configuration shortened to `fidelity` of its epochs (and update cap), each rounded
    to the nearest whole number, halves up, at least 1: 1/27 of 30 epochs is 1, 1/9 is 3."""
    if fidelity >= 1.0 or kind != "epochs":
        return config
    train = config.train
    updates = None if train.updates is None else share_of(train.updates, fidelity)
    return dataclasses.replace(config, train=dataclasses.replace(
        train, epochs=share_of(train.epochs, fidelity), updates=updates))


def share_of(count: int, fidelity: float) -> int:
    """`fidelity` of `count` epochs or updates: the nearest whole number, halves up, >= 1."""
    return max(1, math.floor(count * fidelity + 0.5 + 1e-9))


# A trained network and its fitted preprocessing, as plain arrays ("prep" and "net" states):
# what a worker sends back so that the final phase reuses the network instead of training it
# again (runtime.model.saved.Member is rebuilt from it). A job at a lower fidelity sends back
# {"resume": checkpoint arrays} instead, for a promotion to continue from, and a layerwise stage
# below the top {"resume": its pre-trained stack's arrays}, for the next stage to continue from.
MemberState = dict[str, dict[str, np.ndarray]]


def fit_job(exp: Experiment, job: Job) -> tuple[FitResult, Config, Any]:
    """Train the job's network (raises on an unusable configuration); with its preprocessing."""
    from runtime.engine.training import fit, refit_config
    from runtime.engine.warm_start import start_from
    config = at_fidelity(exp.bind(job.param_dict), job.fidelity, exp.search.fidelity)
    if job.epochs is not None:           # a refit: the search's plan on more rows
        config = refit_config(config, development_ratio(config, exp, job.outer))
    data, prep = train_data(config, exp, job)
    resume = None if job.start is None else start_from(job.start)
    beat = None
    if job.heartbeat is not None:
        from runtime.engine.metrics import selection_metric
        from runtime.execution.heartbeat import beater
        beat = beater(job.heartbeat, config.train.epochs,
                      selection_metric(data.task, config.metric))
    return fit(config, data, job.seed, prune=job.prune, resume=resume, progress=beat,
               stop_after=job.epochs), config, prep


def job_row(job: Job) -> dict[str, Any]:
    """The identifying columns of a job's row: trial, seed, fold (outer), step, fidelity and
    its parameters."""
    row: dict[str, Any] = {"trial": job.trial, "seed": job.seed, "fold": job.fold}
    if job.outer is not None:
        row["outer"] = job.outer
    row.update(step=job.step, fidelity=job.fidelity)
    row.update({f"param_{k}": v for k, v in job.params})
    return row


def failed_row(job: Job, error: str, seconds: float = 0.0) -> dict[str, Any]:
    """The row of a job that could not be trained, saying why."""
    return {**job_row(job), "state": TrialState.FAILED.value, "error": error, "duration_s": seconds}


def run_job(exp: Experiment, job: Job
            ) -> tuple[dict[str, Any], dict[str, list[float]], MemberState | None]:
    """The results-table row and curves of one job, and the trained member when it could be
    part of the final model (complete, stalled or pruned, at full fidelity); a failure becomes
    a row, not an error."""
    start = time.perf_counter()
    row = job_row(job)
    try:
        result, _, prep = fit_job(exp, job)
    except Exception as exc:  # a bad configuration is a row, never a crash of the run
        return failed_row(job, f"{type(exc).__name__}: {exc}",
                          time.perf_counter() - start), {}, None
    row.update(state=result.state.value, train_loss=result.train_loss, valid_loss=result.valid_loss,
               **{f"valid_{k}": v for k, v in result.valid_metrics.items() if k != "loss"},
               best_epoch=result.best_epoch, epochs=result.epochs,
               epochs_trained=result.epochs - result.resumed_at, updates=result.updates,
               duration_s=time.perf_counter() - start, error=result.reason or "")
    row.update({f"{name}_error": curve[-1] for name, curve in result.curves.items()
                if name.startswith("pretrain_")})       # each layer's reconstruction error
    final = job.trial == FINAL
    # Every network that can be chosen keeps its member: complete, and (chosen only when no
    # configuration completed) stalled or pruned ones, whose retraining would not repeat them.
    # A layerwise stage's cut network is never part of the final model.
    keep = result.state in EVALUATED_STATES and result.model is not None and \
        (job.fidelity >= 1.0 or final) and not is_cut(job.param_dict, exp.search)
    member = {"prep": prep.state(), "net": result.model.state()} if keep else None
    if not final and job.fidelity < 1.0 and result.checkpoint is not None and \
            continues(exp, job):
        member = {"resume": result.checkpoint.arrays()}   # a promotion may go on from here
    elif result.stack is not None and has_next_stage(job.param_dict, exp.search):
        member = {"resume": result.stack.arrays()}        # the next stage may go on from here
    return row, result.curves, member


def continues(exp: Experiment, job: Job) -> bool:
    """Whether the job's training is the start of its training at a higher fidelity: fidelity
    in epochs, and a schedule that does not depend on the planned updates."""
    from runtime.engine.warm_start import resumable
    return exp.search.fidelity == "epochs" and resumable(exp.bind(job.param_dict))


def preflight(exp: Experiment) -> tuple[Config, TrainData]:
    """What every trial depends on, checked once before any trains: the data loads, the
    protocol's folds are made, and the preprocessing of a representative configuration fits
    on the first training part and leaves features that each dtype the spec may train in can
    hold (raises DataError saying what is wrong). The configuration and its arrays, for the
    debugging checks."""
    from runtime.data.preprocess import check_trainable
    from runtime.search.space import representative
    data = dataset(exp.config.data, str(exp.base_dir))
    if data.targets:                   # a target's metric must suit its column's task
        from runtime.engine.multitarget import check_data_metric
        check_data_metric(exp.config.metric, data)
    config = exp.bind(representative(exp.search))
    fold = folds(config.protocol, config.data, str(exp.base_dir), exp.seed_start)[0]
    arrays, prep = train_data(config, exp, Job(0, (), exp.seed_start, fold.fold,
                                                     fold.outer))
    for dtype in training_dtypes(exp):
        check_trainable(prep, arrays.X_train, fold.train, dtype, data.feature_names, data.name)
    _check_sparse_pretraining(exp, arrays.X_train, data.name)
    _check_network_size(exp, arrays)
    return config, arrays


def _check_network_size(exp: Experiment, arrays: TrainData) -> None:
    """The widest, deepest network the search can build (each dimension at its largest) must
    fit this machine's memory: refused before any trial, not killed by the kernel in one."""
    from runtime.errors import NnspecError
    from runtime.search.space import largest
    from spec_lang.config import Dense
    from spec_lang.limits import network_problem
    config = exp.bind(largest(exp.search))
    widths = [arrays.X_train.shape[1]] + [layer.width for layer in config.network
                                          if isinstance(layer, Dense)] + [1]
    rows = config.train.batch or arrays.X_train.shape[0]
    problem = network_problem(widths, rows, np.dtype(config.train.dtype).itemsize)
    if problem:
        raise NnspecError(f"{problem}: use fewer or narrower layers")


def _check_sparse_pretraining(exp: Experiment, X: Any, where: str) -> None:
    """An RBM cannot pre-train on sparse inputs (`engine.pretrain.SPARSE_RBM`): refused before
    any trial when the spec's pre-training is, or may be searched to be, `rbm`."""
    from runtime.sparse import is_sparse
    pretrain = exp.config.pretrain
    if pretrain is None or not is_sparse(X):
        return
    method = pretrain.method
    methods = {str(v) for d in exp.search.dims if isinstance(method, Param) and
               d.name == method.name for v in d.values} or {str(method)}
    if "rbm" in methods:
        from runtime.engine.pretrain import SPARSE_RBM
        from runtime.errors import DataError
        raise DataError(SPARSE_RBM.format(d=X.shape[1]), path=where)


def training_dtypes(exp: Experiment) -> tuple[str, ...]:
    """The dtypes an experiment's trials may train in: the spec's, or a searched dtype's values."""
    dtype = exp.config.train.dtype
    if not isinstance(dtype, Param):
        return (str(dtype),)
    return tuple(str(v) for d in exp.search.dims if d.name == dtype.name for v in d.values)
