"""The summary, computed for all configurations at once, against the plain per-configuration
definition: every column, for seeds and folds that completed, stopped early, failed or scored
inf, with conditional (missing) parameters and with outer folds."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from runtime.execution.results import STATES, make_table, summarize
from runtime.types import EVALUATED_STATES as EVALUATED


def table(outer: bool, metric: str = "error", configurations: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for trial in range(configurations):
        momentum = 0.9 if rng.random() < 0.5 else math.nan     # a conditional parameter
        for seed in range(int(rng.integers(1, 4))):
            state = str(rng.choice(["complete", "complete", "stalled", "pruned", "diverged",
                                    "failed"]))
            row = {"trial": trial, "seed": seed, "fold": 0, "state": state, "step": "random",
                   "fidelity": [1.0, 1 / 3][trial % 2], "param_lr": float(10 ** -rng.random()),
                   "param_act": ["relu", "tanh"][trial % 3 == 0], "param_m": momentum,
                   "train_loss": float(rng.random()), "epochs": int(rng.integers(1, 30)),
                   "duration_s": float(rng.random())}
            if state != "failed":
                row.update(valid_loss=float(rng.random()),
                           valid_error=float(rng.random()) if rng.random() > 0.1 else math.inf)
            if outer:
                row["outer"] = trial % 3
            rows.append(row)
    return make_table(rows, metric, False)


def expected_row(part: pd.DataFrame, metric: str) -> dict:
    """The summary's definition for one configuration, written out one value at a time."""
    row = {"n": len(part), "n_complete": int(sum(s == "complete" for s in part["state"])),
           "state": max(part["state"], key=list(STATES).index),   # the last of STATES
           "fidelity": part["fidelity"].iloc[0], "step": part["step"].iloc[0]}
    for col in ("param_lr", "param_act", "param_m"):
        row[col] = part[col].iloc[0]
    for col in ("train_loss", "valid_loss", "valid_error", "epochs", "duration_s"):
        values = [float(v) for v in part[col]]
        present = [v for v in values if not math.isnan(v)]
        row[f"mean_{col}"] = float(np.mean(present)) if present else math.nan
        row[f"std_{col}"] = float(np.std(present)) if len(values) > 1 and present else \
            (0.0 if len(values) == 1 else math.nan)
    usable = all(s in EVALUATED for s in part["state"]) and \
        all(math.isfinite(float(v)) for v in part[metric])
    row[f"mean_{metric}"] = float(np.mean(part[metric])) if usable else math.nan
    if not usable:                         # no mean, no spread
        row[f"std_{metric}"] = math.nan
    return row


@pytest.mark.parametrize("outer, metric", [(False, "error"), (True, "error"), (False, "loss")])
def test_the_summary_matches_its_definition_for_every_configuration(outer: bool,
                                                                    metric: str) -> None:
    """With the loss as the metric, valid_loss is both a column and the score."""
    rows = table(outer, metric)
    column = f"valid_{metric}"
    summary = summarize(rows)
    groups = ["outer", "trial"] if outer else ["trial"]
    assert len(summary) == len(rows.groupby(groups))
    for _, got in summary.iterrows():
        mask = rows["trial"] == got["trial"]
        want = expected_row(rows[mask], column)
        for name, value in want.items():
            if name in ("mean_valid_error", "std_valid_error") and metric != "error":
                assert name not in summary      # the error rate is summarized as the metric
            elif isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[name]), name
            elif isinstance(value, float):
                assert got[name] == pytest.approx(value, nan_ok=True), name
            else:
                assert got[name] == value, name
    assert sorted(summary[f"rank_{column}"]) == sorted(
        summary.groupby("outer").cumcount() + 1 if outer else range(1, len(summary) + 1))


@pytest.mark.parametrize("states", [("complete", "diverged"), ("diverged",), ("failed", "complete")])
def test_an_unscored_configuration_has_no_spread_either(states: tuple[str, ...]) -> None:
    """A diverged seed leaves the mean undefined: the std is NaN too (it was 0.0167 from the
    values 0.1 and 0.1333, and 0.0 for a single diverged seed)."""
    rows = [{"trial": 0, "seed": seed, "fold": 0, "state": state, "step": "grid",
             "fidelity": 1.0, "param_lr": 10.0, "train_loss": 1.0, "valid_loss": 1.0,
             "valid_error": [0.1, 0.4 / 3][seed]} for seed, state in enumerate(states)]
    summary = summarize(make_table(rows, "error", False))
    assert math.isnan(summary.at[0, "mean_valid_error"])
    assert math.isnan(summary.at[0, "std_valid_error"])
    assert summary.at[0, "std_valid_loss"] == 0.0          # the other columns are as before
