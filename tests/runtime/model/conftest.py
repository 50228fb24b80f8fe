"""Two small finished runs whose saved models the model tests use: iris (bundled, named numeric
columns) and plants (a CSV with a text column, one-hot encoded, and logged columns)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLANTS_CSV = ROOT / "specs" / "data" / "plants.csv"

IRIS = """experiment iris_model
data iris
split train 0.6 valid 0.2 test 0.2
network
    dense 8 tanh
train
    adam lr 0.02
    epochs 40 early_stop patience 10
seeds 2
"""

PLANTS = f"""experiment plants_model
data "{PLANTS_CSV}" target "species"
split train 0.6 valid 0.2 test 0.2 stratified
preprocess
    log columns "leaf_count", "rainfall_mm"
    standardize
network
    dense 16 relu
train
    adam lr 0.01
    epochs 30 early_stop patience 10
seeds 1
"""


def _run(tmp_path_factory: pytest.TempPathFactory, name: str, text: str) -> Path:
    import runtime
    folder = tmp_path_factory.mktemp(name)
    spec = folder / f"{name}.spec"
    spec.write_text(text)
    out = folder / "run"
    runtime.run(spec, out=out, jobs=1)
    return out


@pytest.fixture(scope="session")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished iris run folder (two members: seeds 0 and 1)."""
    return _run(tmp_path_factory, "iris", IRIS)


@pytest.fixture(scope="session")
def plants_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished plants run folder (a text column 'soil', logged columns)."""
    return _run(tmp_path_factory, "plants", PLANTS)
