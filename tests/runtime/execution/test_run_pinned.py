"""Whole runs of shipped specs pinned to digests of their artifacts, computed on the runner
before its state was typed (issue 26): `trials.csv` and `summary.csv` (their wall-clock
`duration_s` columns aside), `best.json` (its `run_id` aside) and the arrays of `model.npz`
must not move by one bit. The specs cover a grid with two seeds and a refit (quickstart), low
fidelity first (halving), `lr auto`'s range test and nested cross-validation. A change meant
to alter what a run computes updates these digests, and says so. (Engine REVISION 4, the
patience of 300 updates, moved only best.json's: the refit members' keys carry the revision;
every trial, summary and model array is the same. Trials in this process then took one BLAS
thread, as a worker's do: trials.csv's and summary.csv's validation figures moved in their last
bits, the models did not, and --jobs 1 and 2 now give the same bytes.)"""
from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import runtime

SPECS = Path(__file__).resolve().parents[3] / "specs"
# Exact float bytes depend on the BLAS kernels: the digests hold where they were computed.
PINNED_ON = ("x86_64", "2.4.6", "openblas", "0.3.31.188.0", "Haswell")
PINNED = {              # spec: trials.csv, summary.csv, best.json, model.npz ("": none)
    'quickstart': (
        'c3ad98ad41e29cb4e6a0265f74753cdc10355102ebba82e21077596f50d63db3',
        '6888da24dca140bb514362c9bb816e3eb5431fa63d7bc2b008ae5886af69fa94',
        'db0eeb0ec38d45325d24e304475ff6270795eac5696a8f047214ae86e0ef6127',
        '8a2aa8d4d3f8451db06fdd5d30eb2f13ed26d85cc38bf0a646ee2b9c0fe07a5e'),
    'breast_cancer': (
        '3f227a33cf56d59e74d752fc5e4c87269a6dfcd32bd30a44422e10bd891428cf',
        'aaefcc7d8d67da8c0466cf7b4bdfb1ea6745289797294c6ff88edf1e7e158927',
        '9b3372b20b39503f5f329df25577ee4b334e519f98bfaa69ed1c5933b27d8924',
        'dd4910de26c4018d0024c16ad1054bd21fa35ef53b81a8ba09255491122a2834'),
    'lr_auto': (
        '2f2bf245fd219b30c7a5d785fd4a351caaeb2118589e30b8619e805d1d1ab304',
        '2a71684c9eae162e6572dcb2543a1261ecf5bd2b36fa1838273b1bd8ac611f75',
        '59ccc52c6398efa78af197ed7930a5b37202608e16e5b6d079752a51415653da',
        'e71d8644254bbd0971d541e1308943e894804787dd31518f5625e50bd12ad4cb'),
    'nested': (
        '0a54efd80e2f6cb7b063c2ce3df6264ad44af3de07d22b6c05d7a4311e78f2af',
        'ccf13af7bd4193706e65fc66409f18d08778d2c0ac342a9d1467c887eb73028c',
        '60995da2c04fc8d928616b13ccc7fa56db44b7374def8d7beb380d7fef18a9e0',
        ''),
}


def platform_of_floats() -> tuple[str, ...]:
    """The machine, NumPy and BLAS (its build and kernel) that decide a fit's exact bytes
    (as tests/runtime/engine/test_fit_pinned.py reads them)."""
    import platform

    import threadpoolctl
    blas = [(m["internal_api"], str(m.get("version")), str(m.get("architecture")))
            for m in threadpoolctl.threadpool_info()
            if m["user_api"] == "blas" and "numpy" in m["filepath"]]
    return (platform.machine(), np.__version__, *(blas[0] if blas else ("?", "?", "?")))


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def _table(path: Path) -> str:
    """A CSV without its wall-clock columns (they differ from one run to the next)."""
    frame = pd.read_csv(path)
    frame = frame[[c for c in frame.columns if "duration_s" not in c]]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return _sha(buffer.getvalue())


def _best(path: Path) -> str:
    """best.json without the store's run id."""
    best = json.loads(path.read_text())
    best.pop("run_id", None)
    return _sha(json.dumps(best, indent=1))


def _model(path: Path) -> str:
    """The arrays of a model file, by name, with their dtypes and shapes ("" when the run
    saved none: nested cross-validation)."""
    if not path.exists():
        return ""
    digest = hashlib.sha256()
    with np.load(path, allow_pickle=False) as arrays:
        for name in arrays.files:
            value = arrays[name]
            digest.update(f"{name} {value.dtype} {value.shape}".encode())
            digest.update(value.tobytes())
    return digest.hexdigest()


def digests(folder: Path) -> tuple[str, str, str, str]:
    """The four digests of a run folder."""
    return (_table(folder / "trials.csv"), _table(folder / "summary.csv"),
            _best(folder / "best.json"), _model(folder / "model.npz"))


@pytest.mark.parametrize("spec", sorted(PINNED))
def test_a_shipped_spec_gives_the_pinned_artifacts(spec: str, tmp_path: Path) -> None:
    here = platform_of_floats()
    if here != PINNED_ON:
        pytest.skip(f"digests pinned on {PINNED_ON}, this is {here}: print this machine's "
                    "with python tests/runtime/execution/test_run_pinned.py RUN_ROOT")
    runtime.run(SPECS / f"{spec}.spec", out=tmp_path / spec, jobs=1)    # as pinned: --jobs 1
    assert digests(tmp_path / spec) == PINNED[spec]


if __name__ == "__main__":
    # python tests/runtime/execution/test_run_pinned.py ROOT: the digests of ROOT/<spec> folders
    # (each made by `nnspec run specs/<spec>.spec --jobs 1 --out ROOT/<spec>`)
    print(platform_of_floats())
    root = Path(sys.argv[1])
    for name in ("quickstart", "breast_cancer", "lr_auto", "nested"):
        print(f"    {name!r}: {digests(root / name)!r},")
