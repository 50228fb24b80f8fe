"""What identifies a trial's result: the one key of the run store.

A key is the SHA-256 of a canonical text of everything that determines the trained network:
the bound configuration (as canonical JSON, not `repr`), the seed, the fold, the fidelity and
its kind, the split seed, the data's identity and the engine revision (and, with pre-training,
its own revision). Never a path: the same spec and data copied to another folder find their
trials, and a data file changed in place retrains (its bytes are digested).

Numeric search values are canonicalised (`canonical_params`) before they become a
configuration, so a point reached twice through floating-point drift (1e-4 and
1.0000000000000001e-4) is one configuration, trained once.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Mapping

from spec_lang.config import DataSpec
from spec_lang.experiment import Experiment

from runtime.engine import PRETRAIN_REVISION, REVISION as ENGINE_REVISION
from runtime.execution.jobs import Job, at_fidelity

SIGNIFICANT_DIGITS = 12
PRUNE_REVISION = 2         # how the engine applies pruning bounds (keyed with the prune rule)


def canonical_value(value: Any) -> Any:
    """A float rounded to `SIGNIFICANT_DIGITS` significant digits; anything else unchanged."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def canonical_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with canonical numeric values, in their given order."""
    return {name: canonical_value(value) for name, value in params.items()}


def canonical_text(value: Any) -> str:
    """Canonical JSON of a configuration tree: dataclasses by type name and fields, tuples as
    lists, floats exactly (repr round-trips), keys sorted."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__type__": type(value).__name__, **fields}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)                         # JSON has no inf/nan
    if isinstance(value, Path):
        return str(value)
    return value


def data_identity(spec: DataSpec, base_dir: Path | str) -> dict[str, Any]:
    """The data's identity: for a file, the digest of its bytes (not its path), and of the
    fixed valid and test files' (`valid_sha256`, `test_sha256`); for a bundled set or a
    generator, its settings and the scikit-learn version that makes it. Unset valid / test
    fields, and `nonzeros` for other sources than make_sparse, are left out, so keys made before
    they existed still match."""
    fields = {k: v for k, v in dataclasses.asdict(spec).items()
              if k not in ("valid", "test") or v is not None}
    if spec.source != "make_sparse":       # only make_sparse reads it: keys stay as they were
        fields.pop("nonzeros")
    if not spec.embed:                     # nothing embedded: keys stay as they were
        fields.pop("embed")
    if not spec.drop:                      # nothing dropped: keys stay as they were
        fields.pop("drop")
    if spec.source == "file" and spec.path:
        fields.update(path=None, sha256=file_digest(Path(base_dir) / spec.path))
        for part in ("valid", "test"):
            if getattr(spec, part, None):
                fields.update({part: None,
                               f"{part}_sha256": file_digest(Path(base_dir) / getattr(spec, part))})
        return fields
    return {**fields, "sklearn": sklearn_version()}


@functools.lru_cache(maxsize=1)
def sklearn_version() -> str:
    """`sklearn.__version__`, read from the installed distribution without importing it."""
    from importlib.metadata import version
    return version("scikit-learn")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (cached per path, size and modification time)."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def data_digest(exp: Experiment) -> str:
    """A short digest of the experiment's data identity (recorded per run, compared across
    runs to say when the data changed)."""
    identity = data_identity(exp.config.data, exp.base_dir)
    return hashlib.sha256(canonical_text(identity).encode()).hexdigest()[:16]


def trial_key(exp: Experiment, params: Mapping[str, Any], seed: int, fold: int,
              outer: int | None, fidelity: float, refit_epochs: int | None = None) -> str:
    """The store key of one (configuration, seed, fold, fidelity) of `exp`; `refit_epochs`:
    of the final phase's network trained for that many epochs on the development rows."""
    from runtime.data.protocol import split_seed
    config = exp.bind(params)
    plain = _plain(config)
    plain["data"] = data_identity(config.data, exp.base_dir)     # what it holds, not where
    if not config.embed:               # no embed statement: keys stay as they were
        plain.pop("embed")
    if not config.target_weights:      # nor with one target
        plain.pop("target_weights")
    if config.pretrain is not None and not config.pretrain.layers:   # nor without layerwise
        plain["pretrain"].pop("layers")
    # The seed the split uses, however it was set (`split ... seed 0` and the default with
    # `seeds ... start 0` make the same folds): one field, not the protocol's own.
    plain["protocol"].pop("seed", None)
    plain["protocol"].pop("refit", None)     # what the final phase does, not what a trial is
    content = {"config": plain, "seed": seed, "fold": fold, "outer": outer,
               "fidelity": float(fidelity), "fidelity_kind": exp.search.fidelity,
               "split_seed": split_seed(config.protocol, exp.seed_start),
               "engine": ENGINE_REVISION}
    if refit_epochs is not None:
        content["refit_epochs"] = refit_epochs
    if config.pretrain is not None:    # how pre-training draws (keyed where it is used)
        content["pretrain_revision"] = PRETRAIN_REVISION
    if fidelity < 1.0 and exp.search.fidelity == "epochs":
        # what a fidelity trains, not only the fraction: how a fraction becomes whole epochs
        # changed (ceil -> nearest), and a trial stored under the old rule is not this one
        short = at_fidelity(config, fidelity, "epochs").train
        content["fidelity_train"] = {"epochs": short.epochs, "updates": short.updates}
    if exp.search.prune is not None:   # a pruned outcome depends on the rule that pruned it
        content["prune"] = _plain(exp.search.prune)
        if exp.search.prune.eta is None:   # median and percentile: no eta in their keys
            content["prune"].pop("eta")
        # 2: a fit is no longer pruned in the epoch it ends with anyway (a trial stored as
        # pruned there would now be complete: it is trained again, never served stale)
        content["prune"]["revision"] = PRUNE_REVISION
    return hashlib.sha256(canonical_text(content).encode()).hexdigest()


def job_key(exp: Experiment, job: Job) -> str:
    """The store key of a job's result: the content that determines it (`trial_key`)."""
    return trial_key(exp, job.param_dict, job.seed, job.fold, job.outer, job.fidelity,
                     job.epochs)
