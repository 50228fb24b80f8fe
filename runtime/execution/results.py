"""The results table (one row per trial x seed x fold) and its per-configuration summary."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd

from spec_lang.layerwise import LAYERS

from runtime.types import EVALUATED_STATES, TrialState

if TYPE_CHECKING:
    from runtime.execution.outcome import Choice, Refit

FIRST = ["trial", "seed", "fold", "outer", "state", "step", "fidelity"]
LAST = ["best_epoch", "epochs", "epochs_trained", "updates", "duration_s", "error"]
# From the best outcome to the worst (a configuration's state is the last of its rows'), as
# the plain strings the tables hold.
STATES = tuple(state.value for state in TrialState)


def metric_column(metric: str) -> str:
    """The table column of a validation metric: loss -> valid_loss, error -> valid_error."""
    return f"valid_{metric}"


def make_table(rows: Iterable[dict[str, Any]], metric: str, maximize: bool) -> pd.DataFrame:
    """Rows in a stable order (outer, trial, seed, fold) with the documented columns first."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        frame = pd.DataFrame(columns=[c for c in FIRST if c != "outer"] + LAST)
    for column in ("train_loss", "valid_loss", metric_column(metric)):
        if column not in frame:  # every trial failed: the columns still exist, empty
            frame[column] = np.nan
    params = sorted(c for c in frame.columns if c.startswith("param_"))
    metrics = ["train_loss", "valid_loss"] + sorted(
        c for c in frame.columns if c.startswith("valid_") and c != "valid_loss")
    order = [c for c in FIRST if c in frame.columns] + params + \
        [c for c in metrics if c in frame.columns] + [c for c in LAST if c in frame.columns]
    order += [c for c in frame.columns if c not in order]
    keys = [c for c in ("outer", "trial", "seed", "fold") if c in frame.columns]
    frame = frame[order].sort_values(keys, kind="stable").reset_index(drop=True)
    if "error" in frame.columns:
        frame["error"] = frame["error"].fillna("")
    frame.attrs.update(metric=metric_column(metric), maximize=maximize)
    return frame


def config_score(values: Iterable[float | None], states: Iterable[str]) -> float | None:
    """The mean of a configuration's metric over its seeds and folds (a stalled or pruned one
    at the score it stopped with), or None when any of them failed or diverged (such a
    configuration ranks last)."""
    values, states = list(values), list(states)
    if not values or any(s not in EVALUATED_STATES for s in states):
        return None
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(finite)) if len(finite) == len(values) else None


def at_highest_fidelity(summary: pd.DataFrame) -> pd.DataFrame:
    """One summary row per configuration (parameters, and outer fold): the one at its highest
    fidelity, so that successive halving, ASHA and Hyperband list each configuration once, at
    the furthest rung it reached; the summary's order is kept."""
    if "fidelity" not in summary or summary.empty:
        return summary
    keys = [c for c in summary.columns if c == "outer" or c.startswith("param_")]
    ordered = summary.sort_values("fidelity", kind="stable")
    last = ordered.groupby(keys, dropna=False, sort=False).tail(1) if keys else ordered.tail(1)
    return last.sort_index()


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: parameters, n, n_complete, state (the last of STATES among
    its rows), mean_/std_ of the metrics, rank_ on the selection metric (full fidelity first; a
    configuration with a failed seed ranks last)."""
    metric = table.attrs.get("metric", "valid_error" if "valid_error" in table else "valid_loss")
    maximize = bool(table.attrs.get("maximize", False))
    stage = f"param_{LAYERS}"
    if stage in table.columns:          # a layerwise stage's cut networks are never chosen
        table = table[table[stage].isna()].drop(columns=stage)
    groups = [c for c in ("outer", "trial") if c in table.columns]
    if table.empty:
        return pd.DataFrame(columns=groups + ["n", "n_complete", f"mean_{metric}",
                                              f"std_{metric}", f"rank_{metric}"])
    params = [c for c in table.columns if c.startswith("param_")]
    numeric = [c for c in dict.fromkeys(("train_loss", "valid_loss", metric, "epochs",
                                         "duration_s")) if c in table.columns]
    summary = _per_configuration(table, groups, params, numeric, metric)
    summary[f"rank_{metric}"] = _ranks(summary, groups, metric, maximize)
    summary.attrs.update(table.attrs)
    return summary


def _per_configuration(table: pd.DataFrame, groups: list[str], params: list[str],
                       numeric: list[str], metric: str) -> pd.DataFrame:
    """The summary's columns, computed per group of rows at once (a Python loop over groups
    cost about 1.5 ms a configuration: a search of 1000 paid seconds at every summary)."""
    by = [table[c] for c in groups]

    def grouped(frame: pd.DataFrame | pd.Series) -> Any:
        return frame.groupby(by, sort=True, dropna=False)

    # every row of a configuration holds its parameters, step and fidelity
    summary = grouped(table[params + ["step", "fidelity"]]).first()
    summary["n"] = grouped(table["state"]).size()
    summary["n_complete"] = grouped(table["state"] == TrialState.COMPLETE).sum().astype(int)
    # a configuration's state: the last of STATES among its rows (one pruned seed makes it
    # pruned, one diverged seed diverged), as its rank follows: any but complete ranks after
    # every complete configuration, and a diverged or failed one is unscored
    order = table["state"].map({state: i for i, state in enumerate(STATES)})
    summary["state"] = grouped(order).max().map(dict(enumerate(STATES))).fillna("")
    values = table[numeric].apply(pd.to_numeric, errors="coerce")
    means, spreads = grouped(values).mean(), grouped(values).std(ddof=0)
    spreads[summary["n"] <= 1] = 0.0
    for col in numeric:
        summary[f"mean_{col}"] = means[col].astype(float)
        summary[f"std_{col}"] = spreads[col].astype(float)
    # config_score per configuration: the mean when every row was evaluated and finite
    if metric in table:
        scored = pd.to_numeric(table[metric], errors="coerce")
        usable = table["state"].isin(EVALUATED_STATES) & np.isfinite(scored.astype(float))
        evaluated = grouped(usable).all()
        summary[f"mean_{metric}"] = grouped(scored).mean().where(evaluated)
        # no mean, no spread: a failed or diverged seed leaves the configuration unscored
        summary[f"std_{metric}"] = summary[f"std_{metric}"].where(evaluated)
    else:
        summary[f"mean_{metric}"] = float("nan")
    return summary.reset_index().infer_objects()


def _ranks(summary: pd.DataFrame, groups: list[str], metric: str, maximize: bool) -> pd.Series:
    """Rank within each outer fold: configurations whose every seed and fold completed first
    (a stalled or pruned one is chosen only when none did), then the highest fidelity, then
    those trained with as many seeds as any, then the metric, ties (frequent for an error rate on a small validation set) broken by the
    validation loss."""
    sign = -1.0 if maximize else 1.0
    key = summary[f"mean_{metric}"] * sign
    loss = summary.get("mean_valid_loss", pd.Series(0.0, index=summary.index))
    outer = summary["outer"] if "outer" in summary else pd.Series(0, index=summary.index)
    frame = pd.DataFrame({"c": (summary["n_complete"] < summary["n"]).astype(int),
                          "f": -summary["fidelity"], "m": key.fillna(np.inf),
                          "l": loss.fillna(np.inf), "o": outer,
                          # fewer seeds than the most of its outer fold (`search auto`
                          # explores with one): a noisier mean, ranked after
                          "s": (summary["n"] < summary["n"].groupby(outer.fillna(-1)).transform(
                              "max")).astype(int)})
    order = frame.sort_values(["o", "c", "f", "s", "m", "l"], kind="stable").index
    ranks = pd.Series(0, index=summary.index)
    for outer in frame["o"].unique():
        members = [i for i in order if frame.at[i, "o"] == outer]
        for rank, i in enumerate(members, 1):
            ranks[i] = rank
    return ranks.astype(int)


class Score(float):
    """A configuration's score as a search strategy is told it (lower is better): the selection
    metric (negated when maximized), carrying the rest of the one ranking: whether a seed or
    fold ended early (stalled, pruned: such a score ranks after every completed one) and the
    documented tie-break, the mean validation loss. Comparisons use all three, so every `<`,
    `min` and `sorted` of a strategy, the border check and `extend` rank configurations exactly
    as `summarize` does (earliest first when all tie); arithmetic and Optuna see the plain
    metric."""

    tiebreak: float
    early: bool

    def __new__(cls, value: float, tiebreak: float = math.inf, early: bool = False
                ) -> "Score":
        score = super().__new__(cls, value)
        score.tiebreak = tiebreak if math.isfinite(tiebreak) else math.inf
        score.early = bool(early)
        return score

    def __reduce__(self) -> tuple[type, tuple[float, float, bool]]:   # pickles (workers, Dask)
        return Score, (float(self), self.tiebreak, self.early)

    def _key(self) -> tuple[bool, float, float]:
        return self.early, float(self), self.tiebreak

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Score):
            return self._key() == other._key()
        return float(self) == other                 # a plain number: the value alone

    def __lt__(self, other: float) -> bool:
        return self._key() < _score_key(other)

    def __le__(self, other: float) -> bool:
        return self._key() <= _score_key(other)

    def __gt__(self, other: float) -> bool:
        return self._key() > _score_key(other)

    def __ge__(self, other: float) -> bool:
        return self._key() >= _score_key(other)

    __hash__ = float.__hash__


def _score_key(value: float) -> tuple[bool, float, float]:
    """(ended early, metric, tie-break) of a Score; a plain number completed, with the worst
    tie-break."""
    return value._key() if isinstance(value, Score) else (False, float(value), math.inf)


def border_message(name: str, side: str) -> str:
    """The warning for a best value on the border of what was tried (chapter 3.3.1); for
    `epochs`, the chosen configuration still improving when the epoch cap stopped it."""
    if name == "epochs":
        return ("the chosen configuration was still improving when the epoch cap stopped it "
                "(its best epoch is among the last): raise `epochs` (or the update cap)")
    direction = "down" if side == "low" else "up"
    return (f"the best {name} is the {side}est value tried: the optimum may lie outside; "
            f"extend the interval {direction} (or add `extend` to the search)")


def border_warnings(chosen: Sequence[Choice]) -> list[tuple[str, str]]:
    """(where, message) of each border warning of the chosen configuration(s), each once: under
    nested cross-validation the outer folds choose apart and often hit the same border, so a
    warning names the outer folds it holds for ("" when not nested)."""
    folds: dict[str, list[Any]] = {}
    for item in chosen:
        for name, side in item.borders.items():
            if side:
                folds.setdefault(border_message(name, side), []).append(item.outer)
    nested = len(chosen) > 1
    return [(_outer_folds(outers, len(chosen)) if nested else "", message)
            for message, outers in folds.items()]


def _outer_folds(outers: list[Any], total: int) -> str:
    if len(outers) == total:
        return "every outer fold"
    return ("outer fold " if len(outers) == 1 else "outer folds ") + \
        ", ".join(str(o) for o in outers)


def refit_message(refit: Refit) -> str:
    """One line on the final model's refit: its rows and each seed's epochs."""
    epochs = ", ".join(str(e) for e in refit.epochs.values())
    return f"final model: each seed trained again on the {refit.rows} train + valid " \
        f"rows for its best epochs ({epochs})"
