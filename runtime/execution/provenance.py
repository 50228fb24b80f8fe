"""Where a run came from: the spec as run, its digest, the versions and the host (the `runs`
table of the store, and `nnspec show`)."""
from __future__ import annotations

import hashlib
import platform
import socket
from pathlib import Path
from typing import Any

from spec_lang.experiment import Experiment

from runtime.execution.keys import canonical_text, data_digest, sklearn_version


def spec_text(exp: Experiment) -> str:
    """The spec as run: its file's text, or (for an Experiment built in Python) a canonical
    description of it, marked as such."""
    path = Path(exp.filename)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            pass
    return f"# built in Python, not read from a file; its canonical content:\n# " \
           f"{canonical_text(exp)}\n"


def experiment_digest(exp: Experiment) -> str:
    """A digest of what the experiment says (not where it is): equal for equal experiments."""
    content = {"name": exp.name, "config": exp.config, "search": exp.search,
               "seeds": exp.seeds, "seed_start": exp.seed_start}
    return hashlib.sha256(canonical_text(content).encode()).hexdigest()[:16]


def provenance(exp: Experiment) -> dict[str, Any]:
    """The `runs` row of a run starting now (less its times and status)."""
    import numpy

    from runtime.version import __version__
    return {"spec": spec_text(exp), "digest": experiment_digest(exp),
            "data_digest": data_digest(exp), "nnspec": __version__,
            "python": platform.python_version(), "numpy": numpy.__version__,
            "sklearn": sklearn_version(), "host": socket.gethostname()}
