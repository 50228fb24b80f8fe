"""Sizes a data file, a network or a flag can make huge are refused by `nnspec check` and `run`
with one line, before anything is allocated. Before: an svmlight index of 2000000000 had the
kernel kill `check` at 23.6 GB, `--jobs 99999999999999999999999` was loky's OverflowError
traceback, and `--cluster local:N` grew one process to 18 GB."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import runtime
import spec_lang
from runtime.cli.command import main
from runtime.engine.layers import Dense
from runtime.engine.losses import make_head
from runtime.engine.network import Network
from runtime.errors import NnspecError
from spec_lang.limits import worker_limit

SPLIT = "split train 0.6 valid 0.2 test 0.2\n"


def check(tmp_path: Path, spec: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "s.spec"
    path.write_text(spec)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err


def test_an_svmlight_feature_index_past_the_memory_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d.svm").write_text("".join("1 2000000000:1\n" if i % 2 else "0 3:1\n"
                                            for i in range(62)))
    err = check(tmp_path, 'data "d.svm"\n' + SPLIT, capsys)
    assert err.startswith(f"{tmp_path / 's.spec'}:1:6: error: d.svm: 2,000,000,000 "
                          "features: this machine's")      # located at the file's path


def test_a_sparse_npz_wider_than_the_memory_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import scipy.sparse as sp
    X = sp.csr_matrix((np.ones(2), ([0, 1], [0, 1_999_999_999])), shape=(2, 2_000_000_000))
    sp.save_npz(tmp_path / "d.npz", X)
    arrays = dict(np.load(tmp_path / "d.npz"))
    np.savez(tmp_path / "d.npz", y=np.array([0, 1]), **arrays)
    err = check(tmp_path, 'data "d.npz"\n' + SPLIT, capsys)
    assert "d.npz: 2,000,000,000 features" in err


def test_a_network_wider_than_the_memory_is_refused_by_check_and_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ("data iris\n" + SPLIT + "network\n    dense $w relu\n    dense $w relu\n"
            "search random 3\n    w in 16 .. 300000\n")
    err = check(tmp_path, spec, capsys)      # the search's largest: 300000 x 300000 weights
    assert "the network 4 -> 300,000 -> 300,000 -> 1 needs at least" in err
    assert main(["run", str(tmp_path / "s.spec"), "--out", str(tmp_path / "run")]) == 1
    assert "300,000 -> 300,000" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()                 # a bad spec never starts a run
    fits = spec.replace("300000", "64")
    (tmp_path / "s.spec").write_text(fits)
    assert main(["check", str(tmp_path / "s.spec")]) == 0


def test_a_network_too_large_is_refused_before_its_weights_are_allocated() -> None:
    head = make_head("regression", 0, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="needs at least .* to train"):
        Network(4, [Dense(4, 2 ** 31, "relu")], head)
    assert Network(4, [Dense(4, 8, "relu")], head).params.size == 4 * 8 + 8 + 8 + 1


@pytest.mark.parametrize("flag", [["--jobs", "99999999999999999999999"],
                                  ["--cluster", "local:1000000"]])
def test_worker_counts_past_the_memory_are_a_usage_error(
        flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "quickstart", *flag])
    assert info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "worker processes, but this machine's" in last
    assert f"holds at most {worker_limit():,}" in last


def test_the_library_refuses_too_many_jobs_too(tmp_path: Path) -> None:
    exp = spec_lang.loads("data iris\n" + SPLIT + "seeds 1\n")
    with pytest.raises(NnspecError, match="worker processes"):
        runtime.run(exp, out=tmp_path / "run", jobs=10 ** 23)
