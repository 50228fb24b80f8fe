"""A trained predictor of the chosen configuration, saved as `.npz` (plain arrays, no pickle):
every member (seed x fold) keeps its own fitted preprocessing; predictions are averaged.

`SavedModel.predict` and `predict_output` take what training took: an array whose columns are in
the training order, or a DataFrame whose columns are found by name, text columns included
(`runtime.model.features`). Class probabilities are handed out in float64, each row summing to 1
to float64 rounding. `SavedModel.load` reads a `model.npz` or a run folder holding one; any file
that is not a model nnspec wrote is a `NnspecError` naming it.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.errors import NnspecError, first_line
from runtime.types import Target

TASKS = ("classification", "multilabel", "regression", "multitarget")


@dataclass
class Member:
    """One trained network and the preprocessing fitted on its training part."""

    prep: Any        # runtime.data.preprocess.Preprocessor
    net: Any         # runtime.engine.network.Network

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The network's predictions (`Network.predict`) for raw features X (n, d)."""
        return self.net.predict(self.prep.transform(X))

    def scored(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """`predict(X)` and the logits of its loss (`Network.scored`), for exact test scores."""
        return self.net.scored(self.prep.transform(X))


def normalized(proba: np.ndarray) -> np.ndarray:
    """Class probabilities in float64 whose rows sum to 1 to float64 rounding (float32 outputs
    sum to 1 only within ~1e-7, which scikit-learn's log_loss warns about)."""
    proba = np.asarray(proba, dtype=np.float64)
    return proba / proba.sum(axis=1, keepdims=True)


@dataclass
class SavedModel:
    """The ensemble of the chosen configuration's members."""

    members: list[Member]
    task: str
    classes: tuple[Any, ...] = ()
    feature_names: tuple[str, ...] = ()
    target: str = ""      # the training target's column ("" when unknown: an older model)
    # The data file's sorted values of each embedded text column (`embed`): how a table's text
    # becomes the codes the members read (runtime.model.features).
    categories: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Several targets (task "multitarget"): each target's name, task and class labels; the
    # members' output columns are the targets' side by side (`runtime.engine.multitarget`).
    targets: tuple[Target, ...] = ()

    @property
    def n_features(self) -> int:
        """The number of raw feature columns the model reads."""
        return int(self.members[0].prep.n_features_in)

    def features(self, X: Any, where: str = "X") -> np.ndarray:
        """The float64 feature matrix of X (an array in the training column order, or a
        DataFrame by column name); DataError naming `where` when it does not fit."""
        from runtime.model.features import feature_matrix
        return feature_matrix(X, self.feature_names, self.n_features, where, self.categories)

    def predict_output(self, X: Any) -> np.ndarray:
        """Class probabilities (classification: float64, rows summing to 1; multilabel) or
        values (regression), averaged over the members."""
        return self.output_of(self.features(X))

    def output_of(self, features: np.ndarray) -> np.ndarray:
        """`predict_output` of an already checked feature matrix (`features`)."""
        out = np.mean([np.asarray(m.predict(features), dtype=np.float64)
                       for m in self.members], axis=0)
        return normalized(out) if self.task == "classification" else out

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (original values), 0/1 label matrices, or regression values."""
        return self.decide(self.predict_output(X))

    def decide(self, out: np.ndarray) -> np.ndarray:
        """Labels from `predict_output`'s probabilities (regression: the values as they are)."""
        if self.task == "classification":
            return np.asarray(self.classes)[out.argmax(axis=1)]
        if self.task == "multilabel":
            return (out >= 0.5).astype(np.int64)
        if self.task == "multitarget":
            return np.column_stack([p.astype(object) for p in self.per_target(out)])
        return out

    def per_target(self, out: np.ndarray) -> list[np.ndarray]:
        """Several targets: each target's prediction from `predict_output`'s columns, a class
        target's as its labels, a regression target's as values (n,)."""
        head = self.members[0].net.head
        return [np.asarray(t.classes)[out[:, s].argmax(axis=1)] if t.task == "classification"
                else out[:, s.start] for t, s in zip(self.targets, head.decoded)]

    def target_probabilities(self, out: np.ndarray) -> list[np.ndarray]:
        """Several targets: each class target's probability columns (n, K) ([] for none)."""
        head = self.members[0].net.head
        return [out[:, s] for t, s in zip(self.targets, head.decoded)
                if t.task == "classification"]

    def save(self, path: Path | str) -> None:
        """Write every member's arrays into one `.npz`."""
        arrays: dict[str, Any] = {
            "task": np.array(self.task), "n_members": np.array(len(self.members)),
            "classes": np.array([str(c) for c in self.classes]),
            "classes_numeric": np.array(_numeric(self.classes)),
            "feature_names": np.array(self.feature_names, dtype=str),
            "target": np.array(self.target)}
        for j, t in enumerate(self.targets):
            arrays.update({f"targets/{j}/name": np.array(t.name), f"targets/{j}/task":
                           np.array(t.task), f"targets/{j}/classes":
                           np.array([str(v) for v in t.classes]),
                           f"targets/{j}/classes_numeric": np.array(_numeric(t.classes))})
        from runtime.data.files import code_name
        embedded = [(col, cats) for col, cats in self.categories
                    if code_name(col) in self.feature_names]
        if embedded:
            arrays["embedded_columns"] = np.array([col for col, _ in embedded], dtype=str)
            arrays.update({f"embedded/{j}": np.array(cats, dtype=str)
                           for j, (_, cats) in enumerate(embedded)})
        for i, member in enumerate(self.members):
            arrays.update({f"m{i}/prep/{k}": v for k, v in member.prep.state().items()})
            arrays.update({f"m{i}/net/{k}": v for k, v in member.net.state().items()})
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path | str) -> SavedModel:
        """Read a model written by `save`, from its file or from a run folder holding
        `model.npz` (allow_pickle=False: nothing is unpickled). NnspecError, naming the file,
        when there is none or it is not such a model."""
        file = model_file(Path(path))
        arrays = _read_arrays(file)
        try:
            return _from_arrays(arrays)
        except KeyError as exc:
            raise NnspecError(f"{file}: not an nnspec model: it lacks the array "
                              f"{exc.args[0]!r}") from None
        except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as exc:
            raise NnspecError(f"{file}: not an nnspec model: {first_line(exc)}") from None


def _why_no_model(folder: Path) -> str:
    """Why a run folder holds no model, from its best.json when it has a readable one."""
    import json
    try:
        best = json.loads((folder / "best.json").read_text())
    except (OSError, ValueError):
        return "run the spec first"
    if not isinstance(best, dict):
        return "run the spec first"
    if "outer_folds" in best:
        return "a nested cross-validation run saves no model"
    if best.get("completed") == 0:
        return "no trial of this run completed, so it saved none: see trials.csv's error column"
    return "run the spec again: its model is missing"


def model_file(path: Path) -> Path:
    """The model file of `path`: the file itself, or a run folder's `model.npz`."""
    if path.is_dir():
        if not (path / "model.npz").is_file():
            raise NnspecError(f"{path}: no model.npz in this folder ({_why_no_model(path)})")
        return path / "model.npz"
    if not path.exists():
        raise NnspecError(f"{path}: no such model file or run folder")
    return path


def _read_arrays(file: Path) -> dict[str, np.ndarray]:
    """Every array of an `.npz`, read without pickle; NnspecError for anything else."""
    if not zipfile.is_zipfile(file):
        raise NnspecError(f"{file}: not an nnspec model: not an .npz archive (a model file is "
                          "a zip of .npy arrays, as nnspec run writes it)")
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):        # object arrays: never unpickled
            raise NnspecError(f"{file}: not an nnspec model: it holds Python objects (object "
                              "arrays), and nnspec reads plain arrays only") from None
        raise NnspecError(f"{file}: not a readable .npz model file "
                          f"({first_line(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise NnspecError(f"{file}: not a readable .npz model file "
                          f"({first_line(exc)})") from None
    raw = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if raw:                     # NpzFile hands back the bytes of a member that is no .npy
        raise NnspecError(f"{file}: not a readable .npz model file (its member {raw[0]!r} is "
                          "not a .npy array)")
    return arrays


def _from_arrays(arrays: dict[str, np.ndarray]) -> SavedModel:
    """The model `save` wrote into these arrays, checked to fit together."""
    task = str(arrays["task"])
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    count = int(arrays["n_members"])
    if count < 1:
        raise ValueError(f"it has {count} members")
    members = [_member(arrays, i) for i in range(count)]
    classes: tuple[Any, ...] = tuple(np.asarray(arrays["classes"]).reshape(-1).tolist())
    if np.asarray(arrays["classes_numeric"]).size:
        classes = tuple(np.asarray(arrays["classes_numeric"]).reshape(-1).tolist())
    names = tuple(str(n) for n in np.asarray(arrays["feature_names"]).reshape(-1))
    target = str(arrays["target"]) if "target" in arrays else ""    # older models lack it
    embedded = [str(c) for c in np.asarray(arrays.get("embedded_columns", [])).reshape(-1)]
    categories = tuple((col, tuple(str(v) for v in np.asarray(arrays[f"embedded/{j}"])
                                   .reshape(-1))) for j, col in enumerate(embedded))
    model = SavedModel(members, task, classes, names, target, categories, _targets(arrays))
    _check_fits(model)
    return model


def _targets(arrays: dict[str, np.ndarray]) -> tuple[Target, ...]:
    """The several targets `save` wrote (() for one target)."""
    out, j = [], 0
    while f"targets/{j}/name" in arrays:
        labels: tuple[Any, ...] = tuple(np.asarray(arrays[f"targets/{j}/classes"]).reshape(-1)
                                        .tolist())
        numeric = np.asarray(arrays[f"targets/{j}/classes_numeric"])
        out.append(Target(str(arrays[f"targets/{j}/name"]), str(arrays[f"targets/{j}/task"]),
                          tuple(numeric.reshape(-1).tolist()) if numeric.size else labels))
        j += 1
    return tuple(out)


def _member(arrays: dict[str, np.ndarray], i: int) -> Member:
    """Member i of the arrays (a missing array: KeyError with its full name)."""
    from runtime.data.preprocess import Preprocessor
    from runtime.engine.network import Network
    part = "prep"
    try:
        prep = Preprocessor.from_state(_prefixed(arrays, f"m{i}/prep/"))
        part = "net"
        return Member(prep, Network.from_state(_prefixed(arrays, f"m{i}/net/")))
    except KeyError as exc:
        raise KeyError(f"m{i}/{part}/{exc.args[0]}") from None


def _check_fits(model: SavedModel) -> None:
    """Members, names and classes agree, and one example runs through every member."""
    widths = {int(m.prep.n_features_in) for m in model.members}
    if len(widths) != 1 or (model.feature_names and len(model.feature_names) not in widths):
        raise ValueError(f"its members and feature names disagree on the number of features "
                         f"({sorted(widths)}, {len(model.feature_names)} names)")
    probe = np.zeros((1, model.n_features))
    for i, member in enumerate(model.members):
        out = np.asarray(member.predict(probe))
        if model.task == "multitarget" and len(getattr(member.net.head, "names", ())) != \
                len(model.targets):
            raise ValueError(f"member {i} predicts {len(getattr(member.net.head, 'names', ()))}"
                             f" targets, the model names {len(model.targets)}")
        if model.task == "classification" and out.shape[1] != len(model.classes):
            raise ValueError(f"member {i} predicts {out.shape[1]} classes, the model names "
                             f"{len(model.classes)}")


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _numeric(classes: tuple[Any, ...]) -> list[Any]:
    """The class labels when they are all numbers (so they load back as numbers), else []."""
    numbers = (int, float, np.integer, np.floating)
    if not classes or not all(isinstance(c, numbers) and not isinstance(c, bool)
                              for c in classes):
        return []
    return [c.item() if isinstance(c, np.generic) else c for c in classes]


