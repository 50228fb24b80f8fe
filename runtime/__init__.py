"""nnspec's runtime: data, preprocessing, the NumPy/BLAS engine, search, the run store.

    >>> import runtime
    >>> table = runtime.run("specs/quickstart.spec")      # doctest: +SKIP
    >>> runtime.summarize(table)                           # doctest: +SKIP

The public names are imported when first used, so `import runtime` stays cheap (NumPy,
pandas and scikit-learn load with the function that needs them) and changes no global state.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runtime.version import __version__

# public name -> (the module that defines it, the attribute path in that module)
_PUBLIC = {
    "run": ("runtime.execution.runner", "run"),
    "summarize": ("runtime.execution.results", "summarize"),
    "SavedModel": ("runtime.model.saved", "SavedModel"),
    "load_model": ("runtime.model.saved", "SavedModel.load"),
    "SpecClassifier": ("runtime.model.estimator", "SpecClassifier"),
    "SpecRegressor": ("runtime.model.estimator", "SpecRegressor"),
}

__all__ = ["run", "summarize", "load_model", "SavedModel", "SpecClassifier", "SpecRegressor",
           "__version__"]

if TYPE_CHECKING:
    from runtime.execution.results import summarize
    from runtime.execution.runner import run
    from runtime.model.estimator import SpecClassifier, SpecRegressor
    from runtime.model.saved import SavedModel
    load_model = SavedModel.load


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562) and keep it as a module attribute."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    module, path = _PUBLIC[name]
    value: Any = importlib.import_module(module)
    for part in path.split("."):
        value = getattr(value, part)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
