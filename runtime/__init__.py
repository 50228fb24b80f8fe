"""nnspec's runtime: data, preprocessing, the NumPy/BLAS engine, search, the run store.

    >>> import runtime
    >>> table = runtime.run("specs/quickstart.spec")      # doctest: +SKIP
    >>> runtime.summarize(table)                           # doctest: +SKIP
"""
from __future__ import annotations

from runtime.model.estimator import SpecClassifier, SpecRegressor
from runtime.model.saved import SavedModel
from runtime.execution.results import summarize
from runtime.execution.runner import run

load_model = SavedModel.load

__all__ = ["run", "summarize", "load_model", "SavedModel", "SpecClassifier", "SpecRegressor"]
