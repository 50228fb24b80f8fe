"""Importing nnspec is cheap and changes no global state (DESIGN: rules that hold everywhere).
Each check runs in a fresh interpreter, so what an earlier test imported cannot hide a cost."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["pandas", "sklearn", "scipy", "matplotlib", "optuna", "dask", "distributed", "rich"]


def fresh(code: str) -> dict:
    """Run `code` in a new interpreter; it prints one JSON value, returned here."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["runtime", "spec_lang", "runtime.cli", "runtime.cli.command"])
def test_the_light_entry_points_load_no_heavy_library(module):
    loaded = fresh(f"import json, sys, {module}\n"
                   f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert loaded == []


def test_the_public_names_resolve_on_first_use():
    names = fresh("import json, runtime\n"
                  "print(json.dumps([callable(getattr(runtime, n)) for n in runtime.__all__"
                  " if n != '__version__'] + [runtime.__version__]))")
    assert all(names[:-1]) and names[-1].count(".") == 2
    with pytest.raises(subprocess.CalledProcessError):
        fresh("import runtime; runtime.no_such_name")


STATE = """
import json, logging, warnings, matplotlib
matplotlib.use("svg")                 # the embedding program's choice, which we must keep
import optuna, threadpoolctl
# Third-party libraries set their own warning filters when imported: load them first, so that
# the comparison sees what nnspec's own modules do.
import numpy, scipy.special, scipy.sparse, sklearn.base, pandas, rich, distributed
def state():
    return {"handlers": len(logging.root.handlers), "level": logging.root.level,
            "warnings": len(warnings.filters), "backend": matplotlib.get_backend(),
            "optuna": optuna.logging.get_verbosity(),
            "blas": sorted({p["num_threads"] for p in threadpoolctl.threadpool_info()})}
before = state()
import pkgutil, importlib, runtime, spec_lang
for pkg in (runtime, spec_lang):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if info.name not in ("runtime.__main__",):
            importlib.import_module(info.name)
after = state()
print(json.dumps([before, after]))
"""


def test_importing_every_module_changes_no_global_state():
    before, after = fresh(STATE)
    assert after == before
