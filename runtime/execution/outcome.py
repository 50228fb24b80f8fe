"""A run's outcome, typed: what was chosen (per outer fold), its validation and test scores,
the run's notes and counts. `best.json` is written from it (`RunOutcome.record`, the same keys
in the same order as ever) and the command line and the report read it by attribute
(`RunOutcome.from_record` reads a best.json back, also one an older nnspec wrote: a key it
lacks takes the value a reader assumed for it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from runtime.types import TrialState


@dataclass(frozen=True)
class MemberRef:
    """One network of the model: its seed and fold, and its file stem in `RUN/members/`."""

    seed: int
    fold: int
    key: str

    def record(self) -> dict[str, Any]:
        """As best.json lists it."""
        return {"seed": self.seed, "fold": self.fold, "key": self.key}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> MemberRef:
        """Read back from best.json."""
        return cls(record["seed"], record["fold"], record["key"])


@dataclass(frozen=True)
class Refit:
    """What the refit on the development rows did: each seed's epochs, the rows it trained on,
    and the networks it made."""

    epochs: Mapping[int, int]
    rows: int
    members: tuple[MemberRef, ...]

    def record(self) -> dict[str, Any]:
        """As best.json holds it (JSON turns the seeds into strings)."""
        return {"epochs": dict(self.epochs), "rows": self.rows,
                "members": [m.record() for m in self.members]}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Refit:
        """Read back from best.json (the seeds as numbers again)."""
        epochs = {int(seed): int(n) for seed, n in (record.get("epochs") or {}).items()}
        members = tuple(MemberRef.from_record(m) for m in record.get("members") or [])
        return cls(epochs, int(record.get("rows") or 0), members)


@dataclass(frozen=True)
class Valid:
    """The chosen configuration's validation score: the metric's column, its mean and std
    over seeds and folds (None: it did not complete) and how many rows they are of."""

    metric: str
    mean: float | None
    std: float | None
    n: int

    def record(self) -> dict[str, Any]:
        """As best.json holds it."""
        return {"metric": self.metric, "mean": self.mean, "std": self.std, "n": self.n}


@dataclass(frozen=True)
class Choice:
    """What was chosen in one outer fold (the whole run unless the protocol is nested).
    `trial` None: nothing could be chosen (then there is no refit either)."""

    outer: int | None
    trial: int | None
    params: Mapping[str, Any]
    members: tuple[MemberRef, ...]
    refit: Refit | None
    valid: Valid
    test: Mapping[str, float]
    borders: Mapping[str, str | None]
    stages: tuple[Mapping[str, Any], ...] = ()     # a layerwise search's, as best.json has them

    def record(self) -> dict[str, Any]:
        """As best.json holds it: `refit` only when something was chosen, `stages` only for a
        layerwise search."""
        record: dict[str, Any] = {"outer": self.outer, "trial": self.trial,
                                  "params": self.params,
                                  "members": [m.record() for m in self.members]}
        if self.trial is not None:
            record["refit"] = None if self.refit is None else self.refit.record()
        record.update(valid=self.valid.record(), test=self.test, borders=self.borders)
        if self.stages:
            record["stages"] = list(self.stages)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Choice:
        """Read back from best.json; what it lacks is empty (None, {}, ()), as its readers
        have always taken it."""
        valid = record.get("valid") or {}
        refit = record.get("refit")
        return cls(record.get("outer"), record.get("trial"), record.get("params") or {},
                   tuple(MemberRef.from_record(m) for m in record.get("members") or []),
                   None if not refit else Refit.from_record(refit),
                   Valid(str(valid.get("metric", "")), valid.get("mean"), valid.get("std"),
                         valid.get("n", 0)),
                   record.get("test") or {}, record.get("borders") or {},
                   tuple(record.get("stages") or ()))


@dataclass(frozen=True)
class RunOutcome:
    """The outcome of one run: the choice of each outer fold and the run's test score (the
    choice's; under nested cross-validation the mean and std of the outer folds'), its notes,
    its trials per state, how many that can be chosen completed (0: the run failed, and the
    most common error says why), the store's run id, and the budget's and `lr auto`'s records
    when it had them."""

    choices: tuple[Choice, ...]
    nested: bool
    test: Mapping[str, float]
    experiment: str
    metric: str
    messages: tuple[str, ...]
    states: Mapping[str, int] = field(default_factory=dict)
    completed: int = 1
    most_common_error: str = ""
    run_id: int | None = None
    budget: Mapping[str, Any] | None = None
    lr_auto: Mapping[str, Any] | None = None

    @property
    def failed(self) -> bool:
        """Whether nothing that can be chosen completed."""
        return self.completed == 0

    def count(self, state: TrialState) -> int:
        """The trials that ended in `state`."""
        return int(self.states.get(state.value, 0))

    def record(self) -> dict[str, Any]:
        """best.json's content: the choice's keys at the top (the outer folds' under
        `outer_folds` when nested), then the run's."""
        record: dict[str, Any] = {"outer_folds": [c.record() for c in self.choices],
                                  "test": self.test} \
            if self.nested else self.choices[0].record()
        record.update(experiment=self.experiment, metric=self.metric,
                      messages=list(self.messages), states=self.states,
                      completed=self.completed, most_common_error=self.most_common_error,
                      run_id=self.run_id)
        if self.budget is not None:
            record["budget"] = self.budget
        if self.lr_auto is not None:
            record["lr_auto"] = self.lr_auto
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RunOutcome:
        """Read back a best.json (`record_problem` says whether one can be); what it lacks
        takes the value its readers have always assumed."""
        nested = "outer_folds" in record
        choices = tuple(Choice.from_record(c) for c in
                        (record["outer_folds"] if nested else [record]))
        return cls(choices, nested, record.get("test") or {}, str(record.get("experiment", "")),
                   str(record.get("metric", "valid_error")), tuple(record.get("messages", [])),
                   record.get("states") or {}, record.get("completed", 1),
                   record.get("most_common_error", ""), record.get("run_id"),
                   record.get("budget"), record.get("lr_auto"))


def record_problem(record: Any) -> str:
    """What keeps a parsed best.json from being read as a `RunOutcome` ("" when nothing does):
    its readers say it naming the file."""
    if not isinstance(record, dict) or not isinstance(record.get("metric"), str):
        return "not the record of a finished run (no 'metric')"
    chosen = record.get("outer_folds", [record])
    if not isinstance(chosen, list) or not chosen or not all(map(_is_choice, chosen)) \
            or not isinstance(record.get("test") or {}, dict) \
            or not isinstance(record.get("messages", []), list):
        return ("not the record of a finished run (a chosen configuration needs 'trial', "
                "'params' and 'valid' with metric, mean, std and n)")
    return ""


def _is_choice(item: Any) -> bool:
    valid = item.get("valid") if isinstance(item, dict) else None
    return (isinstance(valid, dict) and {"metric", "mean", "std", "n"} <= valid.keys()
            and "trial" in item and isinstance(item.get("params"), dict)
            and isinstance(item.get("borders") or {}, dict)
            and isinstance(item.get("test") or {}, dict))
