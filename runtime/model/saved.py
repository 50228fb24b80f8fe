"""A trained predictor of the chosen configuration, saved as `.npz` (plain arrays, no pickle):
every member (seed x fold) keeps its own fitted preprocessing; predictions are averaged."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Member:
    """One trained network and the preprocessing fitted on its training part."""

    prep: Any        # runtime.data.preprocess.Preprocessor
    net: Any         # runtime.engine.network.Network

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.net.predict(self.prep.transform(X))


@dataclass
class SavedModel:
    """The ensemble of the chosen configuration's members."""

    members: list[Member]
    task: str
    classes: tuple[Any, ...] = ()
    feature_names: tuple[str, ...] = ()

    def predict_output(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (classification, multilabel) or values (regression), averaged
        over the members."""
        X = np.asarray(X, dtype=np.float64)
        return np.mean([m.predict(X) for m in self.members], axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels (original values), 0/1 label matrices, or regression values."""
        out = self.predict_output(X)
        if self.task == "classification":
            return np.asarray(self.classes)[out.argmax(axis=1)]
        if self.task == "multilabel":
            return (out >= 0.5).astype(np.int64)
        return out

    def save(self, path: Path | str) -> None:
        """Write every member's arrays into one `.npz`."""
        arrays: dict[str, np.ndarray] = {
            "task": np.array(self.task), "n_members": np.array(len(self.members)),
            "classes": np.array([str(c) for c in self.classes]),
            "classes_numeric": np.array(_numeric(self.classes)),
            "feature_names": np.array(self.feature_names, dtype=str)}
        for i, member in enumerate(self.members):
            arrays.update({f"m{i}/prep/{k}": v for k, v in member.prep.state().items()})
            arrays.update({f"m{i}/net/{k}": v for k, v in member.net.state().items()})
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path | str) -> "SavedModel":
        """Read a model written by `save` (allow_pickle=False: nothing is unpickled)."""
        from runtime.engine.network import Network
        from runtime.data.preprocess import Preprocessor
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        members = [Member(Preprocessor.from_state(_prefixed(arrays, f"m{i}/prep/")),
                          Network.from_state(_prefixed(arrays, f"m{i}/net/")))
                   for i in range(int(arrays["n_members"]))]
        classes = tuple(arrays["classes"].tolist())
        if arrays["classes_numeric"].size:
            classes = tuple(arrays["classes_numeric"].tolist())
        return cls(members, str(arrays["task"]), classes,
                   tuple(arrays["feature_names"].tolist()))


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _numeric(classes: tuple[Any, ...]) -> list[Any]:
    """The class labels when they are all numbers (so they load back as numbers), else []."""
    numbers = (int, float, np.integer, np.floating)
    if not classes or not all(isinstance(c, numbers) and not isinstance(c, bool)
                              for c in classes):
        return []
    return [c.item() if isinstance(c, np.generic) else c for c in classes]
