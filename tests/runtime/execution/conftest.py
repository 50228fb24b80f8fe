"""The scale-out spec's `--jobs 2` run, made once for the tests that compare a cluster's run
with it (Dask on loopback, on network namespaces, on Slurm)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def jobs2_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of `nnspec run d/spec.spec --jobs 2 --quiet`, from the client's folder."""
    from .test_distributed import RUN_S, _env, write_spec
    client = tmp_path_factory.mktemp("jobs2-client")
    write_spec(client / "d")
    out = tmp_path_factory.mktemp("jobs2")
    subprocess.run([sys.executable, "-m", "runtime", "run", "d/spec.spec", "--quiet", "--jobs",
                    "2", "--out", str(out)], cwd=client, env=_env(), capture_output=True,
                   text=True, timeout=RUN_S).check_returncode()
    return out


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The client's folder: `d/spec.spec` and `d/points.csv` (run from here: relative paths)."""
    from .test_distributed import write_spec
    folder = tmp_path_factory.mktemp("client")
    write_spec(folder / "d")
    return folder
