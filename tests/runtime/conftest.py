"""Small real specs for runner tests (iris, a few epochs: each trial takes milliseconds)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

TINY = """experiment tiny
data iris
split train 0.6 valid 0.2 test 0.2
network
    dense 8 tanh
train
    sgd lr $lr momentum 0.9
    epochs 15 early_stop patience 5
search grid
    lr in 0.01, 0.1
seeds 2
"""

# How a row was computed, not what it holds: wall time, and the epochs trained for it (fewer
# when a promotion continued a lower rung's checkpoint, which gives the same results).
VOLATILE = ["duration_s", "epochs_trained"]


def stable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without its volatile columns (for equality across runs)."""
    return table.drop(columns=[c for c in VOLATILE if c in table]).reset_index(drop=True)


@pytest.fixture
def tiny_spec(tmp_path):
    path = tmp_path / "tiny.spec"
    path.write_text(TINY)
    return path


def run_tiny(base: Path) -> Path:
    """Run TINY in `base` with `nnspec run` (one job, quiet); the run folder `base/run`."""
    from runtime.cli.command import main
    (base / "tiny.spec").write_text(TINY)
    assert main(["run", str(base / "tiny.spec"), "--out", str(base / "run"), "--jobs", "1",
                 "--quiet"]) == 0
    return base / "run"
