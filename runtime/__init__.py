"""nnspec's runtime: data, preprocessing, the NumPy/BLAS engine, search, the run store.

    >>> import runtime
    >>> table = runtime.run("specs/quickstart.spec")      # doctest: +SKIP
    >>> runtime.summarize(table)                           # doctest: +SKIP
"""
from __future__ import annotations

from .estimator import SpecClassifier, SpecRegressor
from .model import SavedModel
from .results import summarize
from .runner import run

load_model = SavedModel.load

__all__ = ["run", "summarize", "load_model", "SavedModel", "SpecClassifier", "SpecRegressor"]
