"""What one job is: a configuration to train with one seed on one fold (the worker's unit of
work, `jobs.run_job`), and its identity."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FINAL = -1          # the trial number of the final phase's jobs (its members are kept)


@dataclass(frozen=True)
class Job:
    """What to train: the configuration `params`, at `fidelity`, with `seed`, on a fold."""

    trial: int
    params: tuple[tuple[str, Any], ...]
    seed: int
    fold: int
    outer: int | None = None
    fidelity: float = 1.0
    step: str = ""
    # The final phase's refit (`split ... refit`): trained for exactly this many epochs on the
    # development rows (fold REFIT_FOLD: train + valid, every fold), with no validation part.
    epochs: int | None = None
    # Per-epoch pruning bounds from the trials finished when this job was handed out: they
    # decide how it trains, not what it is (not part of its identity).
    prune: Any = field(default=None, compare=False, hash=False)
    # The checkpoint (its arrays) of the same network trained at a lower fidelity, or, for a
    # layerwise stage, the pre-trained stack its previous stage chose, to continue from: the
    # same result as training from the start (`engine.warm_start`), less work.
    start: Any = field(default=None, compare=False, hash=False)
    # Where to write per-epoch progress (`heartbeat`), for a local run's display; None: nowhere.
    heartbeat: str | None = field(default=None, compare=False, hash=False)

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)
