"""Layer-wise optimization of hyper-parameters (Bengio 2012, section 3.3.4).

"The hyper-parameters of the first layer's pre-training are optimized first, [...] the best
is fixed, then the second layer's, and so on", and finally the fine-tuning hyper-parameters.
`search layerwise N` runs `N` configurations per stage, drawn like random search's (on a small
finite space, all of it once):

- stage k = 1 .. L (L hidden dense layers): the dimensions the `pretrain` statement uses, for
  layer k, with layers 1 .. k-1 pre-trained as their stages chose and the layers above k not
  built (`@layers` k); the runner hands each stage-k job the stack its stage k-1
  configuration pre-trained (`layerwise.lower_stage`), so only layer k is pre-trained. `criterion reconstruction` (the default) scores a configuration by
  layer k's reconstruction error on the validation inputs, after pre-training alone (no
  supervised epoch); `criterion supervised` by the run's selection metric of the cut network
  fine-tuned with an output layer on top. Until their own stage, the fine-tuning dimensions
  sit at the middle of their space (`space.representative`: a choice's first value, a range's
  middle on its scale): a `dense $width` is built at that width.
- the fine-tuning stage: the other dimensions, with every layer's pre-training fixed, on the
  whole network; its configurations alone can be chosen for the final model.

Each stage's configurations are told together (a synchronous strategy: the same table whatever
`--jobs` is). A stage whose every configuration failed ends the search.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from spec_lang.config import Dim, Search
from spec_lang.layerwise import LAYERS, criterion_column, layer_param

from .border import best_candidate
from .random_search import draw_configs
from .space import BatchStrategy, Candidate, Result, project, representative

DEFAULT_TRIALS = 10            # configurations per stage


class LayerwiseSearch(BatchStrategy):
    """One stage's batch per ask: each hidden layer's pre-training, then the fine-tuning."""

    batch_word = "stage"

    def __init__(self, search: Search, rng: np.random.Generator) -> None:
        super().__init__("layerwise")
        self._pre, self._fine = split_dims(search)
        self._n = search.trials if search.trials is not None else DEFAULT_TRIALS
        self._layers, self._criterion = search.layers, search.criterion
        self._rng = rng
        # Until the fine-tuning stage, its dimensions sit at the middle of their space (a
        # `dense $width` needs a value before its stage: a width has no default).
        self._middle = representative(replace(search, dims=tuple(self._fine)))
        self._chosen: dict[str, Any] = {}        # name@k of every stage concluded
        self._stage = 1                          # 1 .. layers, then layers + 1: fine-tuning
        self._best: Candidate | None = None
        self._done = False

    def _conclude(self, batch: list[Candidate]) -> None:
        """Fix the stage's best and move to the next stage (the fine-tuning's ends it)."""
        best = self._scores.best(batch)
        if best is None or self._stage > self._layers:
            self._best = best
            self._done = True                    # fine-tuning told, or a stage all failed
            return
        self._chosen.update({k: v for k, v in best.params.items() if k != LAYERS})
        self._stage += 1

    def best(self) -> Candidate | None:
        """The chosen fine-tuning configuration (None before it is told, or if it failed)."""
        return self._best

    def _next_batch(self) -> list[Candidate]:
        """The current stage's configurations; [] once the fine-tuning stage is told."""
        if self._done:
            return []
        if self._stage > self._layers:
            draws = draw_configs(self._fine, self._n, self._rng) if self._fine else [{}]
            return [Candidate({**self._chosen, **project(self._fine, p)}, step="fine-tune")
                    for p in draws]
        layer = self._stage
        column = criterion_column(layer, self._criterion)
        draws = draw_configs(self._pre, self._n, self._rng)
        return [Candidate({**self._middle, **self._chosen,
                           **{layer_param(k, layer): v for k, v in project(self._pre, p).items()},
                           LAYERS: layer}, step=f"layer {layer}", metric=column)
                for p in draws]


def split_dims(search: Search) -> tuple[list[Dim], list[Dim]]:
    """(the pre-training dimensions, searched layer by layer; the fine-tuning ones)."""
    return ([d for d in search.dims if d.name in search.pretrained],
            [d for d in search.dims if d.name not in search.pretrained])


def at_layer(dim: Dim, layer: int) -> Dim:
    """A pre-training dimension as layer `layer`'s stage searches it: named `name@layer` (and
    so is the parameter its condition reads)."""
    condition = dim.condition
    if condition is not None:
        condition = replace(condition, param=layer_param(condition.param, layer))
    return replace(dim, name=layer_param(dim.name, layer), condition=condition)


@dataclass(frozen=True)
class Stage:
    """One stage of a layerwise search as told: its step ("layer k" or "fine-tune"), its layer
    (None: the fine-tuning), the dimensions it searched under their parameter names
    (`pt_lr@k` for layer k's), the results-table column it was chosen by ("": the run's
    selection metric) and its configurations with their scores."""

    step: str
    layer: int | None
    dims: tuple[Dim, ...]
    metric: str
    results: tuple[Result, ...]

    def best(self) -> Candidate | None:
        """The configuration the stage chose (the one ranking's best, as the strategy's)."""
        return best_candidate(self.results)


def told_stages(search: Search, history: Sequence[Result]) -> list[Stage]:
    """The stages of a layerwise search's `history` (what the runner told it), in order; a
    stage nothing was told of is left out."""
    pre, fine = split_dims(search)
    stages = [Stage(f"layer {k}", k, tuple(at_layer(d, k) for d in pre),
                    criterion_column(k, search.criterion),
                    tuple(r for r in history if r[0].params.get(LAYERS) == k))
              for k in range(1, search.layers + 1)]
    stages.append(Stage("fine-tune", None, tuple(fine), "",
                        tuple(r for r in history if LAYERS not in r[0].params)))
    return [stage for stage in stages if stage.results]


def planned_trials(search: Search) -> tuple[int, bool]:
    """An upper bound: `trials` per stage, a stage per hidden layer, then the fine-tuning (a
    stage whose every configuration failed ends the search)."""
    per_stage = search.trials if search.trials is not None else DEFAULT_TRIALS
    return per_stage * (search.layers + 1), False
