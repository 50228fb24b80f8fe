"""The final phase's decisions: per outer fold the configuration ranked first by the one
ranking, its networks (refitted on the development rows when the protocol says so), its test
score (the test part scored once, for it alone), the epoch cap as a border, and the model
saved; what the run's trials came to (`trial_counts`). The networks themselves are
`final.py`'s."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from spec_lang import config as c
from spec_lang.experiment import Experiment
from spec_lang.layerwise import LAYERS

from runtime.execution.artifacts import write_atomic
from runtime.execution.final import Execute, RefitFailed, final_model, prune_refits, refit_epochs
from runtime.execution.fold_search import Borders, fold_ids
from runtime.execution.outcome import Choice, MemberRef, Refit, Valid
from runtime.execution.prepared import REFIT_FOLD, fold_of
from runtime.execution.results import metric_column
from runtime.execution.state import RunState
from runtime.types import EVALUATED_STATES

EPOCH_MARGIN = 0.05       # a best epoch in the last 5% of a capped training is "at the cap"
Scores = dict[str, float]


class Chooser:
    """The choice of one run: it reads the run state, notes what the user should know, and
    writes the model and the networks it makes to the run folder `out`."""

    def __init__(self, exp: Experiment, out: Path, state: RunState, execute: Execute) -> None:
        self.exp, self.out, self.state, self.execute = exp, out, state, execute
        self.metric = metric_column(state.metric)

    def choose(self, summary: pd.DataFrame, borders: dict[int | None, Borders],
               stages: dict[int | None, list[dict[str, Any]]]) -> tuple[Choice, ...]:
        """Choose per outer fold (in `borders`' order), score the test part once, record
        borders (and a layerwise search's stages) and mark them in `summary`."""
        chosen = []
        for outer, found in borders.items():
            staged = tuple(stages.get(outer) or ())
            part = summary if outer is None else summary[summary["outer"] == outer]
            if part.empty:           # a layerwise search that ended before its fine-tuning
                self.state.note("no configuration can be chosen: the layerwise search ended "
                                "at a stage whose every configuration failed or diverged (see "
                                "the error column)")
                chosen.append(Choice(outer, None, {}, (), None, Valid(self.metric, None, None, 0),
                                     {}, found, staged))
                continue
            chosen.append(self._chosen(summary, part, outer, found, staged))
        prune_refits(self.out, {m.key for ch in chosen if ch.refit for m in ch.refit.members})
        return tuple(chosen)

    def _chosen(self, summary: pd.DataFrame, part: pd.DataFrame, outer: int | None,
                borders: Borders, staged: tuple[dict[str, Any], ...]) -> Choice:
        """The configuration ranked first in `part` (the outer fold's summary rows)."""
        metric, state = self.metric, self.state
        top = part.sort_values(f"rank_{metric}").iloc[0]
        trial = int(top["trial"])
        params = state.trial_params[trial]
        scores: Scores = {}
        model: Any = None
        refit: Refit | None = None
        if pd.notna(top[f"mean_{metric}"]):           # a configuration that completed
            cfg = self.exp.bind(params)
            fidelity = float(top["fidelity"])
            if fidelity < 1.0:
                state.note(f"no configuration was trained at full fidelity (the chosen one "
                           f"at {fidelity:.3g}): the model is the network it trained")
            scores, model, refit = self._final(params, cfg, outer, trial, fidelity)
            borders = {**borders, **self._epoch_cap(cfg, outer, trial)}
        else:
            state.note("no configuration completed on every seed and fold: nothing is "
                       "scored on the test part and no model is saved (see the error column)")
        _mark(summary, top.name, scores, borders)
        members = tuple(MemberRef(seed, fold, key) for (o, t, seed, fold), key
                        in state.keys.items() if o == outer and t == trial)
        valid = Valid(metric, plain(top[f"mean_{metric}"]), plain(top[f"std_{metric}"]),
                      int(top["n"]))
        if outer is None:
            self._keep_model(model)
        return Choice(outer, trial, params, members, refit, valid, scores, borders, staged)

    def _final(self, params: dict[str, Any], cfg: c.Config, outer: int | None, trial: int,
               fidelity: float) -> tuple[Scores, Any, Refit | None]:
        """The chosen configuration's test scores and model: refitted on the development rows
        when the protocol says so (each seed for the mean of its best epochs), else its search
        networks; and what the refit did (None: no refit)."""
        ids = fold_ids(self.exp, cfg, outer)
        wanted = cfg.protocol.refit and fidelity >= 1.0
        epochs = refit_epochs(self.state.configuration_rows(outer, trial),
                              self.exp.seed_list()) if wanted else None
        if wanted and epochs is None:
            self.state.note("no refit: a network of the chosen configuration did not "
                            "complete, so the model is its search networks")
        if epochs is not None:
            try:
                scores, model, listed = final_model(self.exp, self.out, params, ids, outer,
                                                    self.execute, fidelity, refit=epochs)
                rows = len(fold_of(cfg, self.exp, REFIT_FOLD, outer).train)
                refs = tuple(MemberRef(m["seed"], m["fold"], m["key"]) for m in listed)
                return scores, model, Refit(epochs, rows, refs)
            except RefitFailed as exc:
                self.state.note(f"the refit failed ({exc}); the model is the search's networks")
        scores, model, _ = final_model(self.exp, self.out, params, ids, outer, self.execute,
                                       fidelity)
        return scores, model, None

    def _epoch_cap(self, cfg: c.Config, outer: int | None, trial: int) -> dict[str, str]:
        """The epoch cap as a border: {"epochs": "high"} when a member of the chosen
        configuration was still improving when the cap stopped it (best epoch within
        `EPOCH_MARGIN` of the last); nothing without early stopping (then the last epoch is
        kept by design)."""
        train = cfg.train
        if train.early_stop is None:
            return {}
        for row in self.state.configuration_rows(outer, trial):
            capped = row.get("epochs", 0) >= train.epochs or \
                (train.updates is not None and row.get("updates", 0) >= train.updates)
            margin = max(1, math.ceil(EPOCH_MARGIN * row.get("epochs", 0)))
            if capped and row.get("best_epoch", 0) >= row.get("epochs", 0) - margin + 1:
                return {"epochs": "high"}              # worded by results.border_message
        return {}

    def _keep_model(self, model: Any) -> None:
        """Save the chosen model, or remove an earlier run's (it would be taken for this
        one's)."""
        path = self.out / "model.npz"
        if model is not None:
            write_atomic(path, model.save)
        elif path.exists():
            path.unlink()
            self.state.note("removed the model.npz of an earlier run: this run saved none")


def nested_test(chosen: tuple[Choice, ...]) -> Scores:
    """Nested CV: the generalization estimate is the mean outer test score (and its std)."""
    keys = sorted({k for ch in chosen for k in ch.test if k.startswith("test_")})
    values = {k: pd.Series([ch.test.get(k, float("nan")) for ch in chosen]) for k in keys}
    estimate = {k: float(v.mean()) for k, v in values.items()}
    spread = {f"std_{k}": float(v.std(ddof=0)) for k, v in values.items()}
    return {**estimate, **spread}


def trial_counts(table: pd.DataFrame) -> dict[str, Any]:
    """How many trials ended in each state, how many that can be chosen completed (a
    layerwise stage's cut network cannot) and, when none did, the most common error (the run
    failed)."""
    states = Counter(table["state"]) if "state" in table else Counter()
    stage = f"param_{LAYERS}"
    whole = table if stage not in table else table[table[stage].isna()]
    done = int(whole["state"].isin(EVALUATED_STATES).sum()) if "state" in whole else 0
    errors = Counter(e for e in table.get("error", pd.Series(dtype=str)) if e)
    common = errors.most_common(1)[0][0] if errors else ""
    return {"states": dict(states), "completed": done,
            "most_common_error": "" if done else common}


def _mark(summary: pd.DataFrame, index: Any, scores: Scores, borders: Borders) -> None:
    """The chosen row of the summary gains its test scores and its borders."""
    for name, value in scores.items():
        summary.loc[index, name] = value
    for name, side in borders.items():
        summary.loc[index, f"border_{name}"] = side or ""


def plain(value: Any) -> Any:
    """numpy scalars to python, for JSON."""
    return value.item() if hasattr(value, "item") else value
