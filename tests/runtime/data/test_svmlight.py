"""The svmlight/libsvm reader (runtime.data.svmlight) against scikit-learn's own, an independent
implementation: the same matrices and labels on files of every shape it writes, the same files
refused, and a data set read without importing scikit-learn."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from runtime.data.svmlight import read


@pytest.mark.parametrize("seed", range(6))
def test_files_scikit_learn_writes_read_as_scikit_learn_reads_them(tmp_path: Path,
                                                                   seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 60)), int(rng.integers(1, 300))
    X = sp.random(n, d, density=float(rng.uniform(0.0, 0.3)), format="csr", random_state=seed)
    X.data = rng.standard_normal(X.nnz) * 10.0 ** rng.integers(-8, 8, X.nnz)   # every scale
    y = rng.integers(-3, 4, n).astype(float) if seed % 2 else rng.standard_normal(n)
    path = tmp_path / "d.svm"
    dump_svmlight_file(X, y, str(path), zero_based=bool(seed % 3), comment="made: a test",
                       query_id=rng.integers(0, 5, n) if seed == 4 else None)
    ours, labels = read(path)
    theirs, expected = load_svmlight_file(str(path), zero_based=True)
    assert np.array_equal(labels, expected)
    assert ours.shape[0] == theirs.shape[0]
    width = max(ours.shape[1], theirs.shape[1])          # both: the largest index + 1
    theirs = sp.csr_matrix((theirs.data, theirs.indices, theirs.indptr),
                           shape=(theirs.shape[0], width))
    assert ours.shape[1] == width
    assert (ours != theirs).nnz == 0


def test_a_file_read_in_many_blocks_reads_the_same(tmp_path: Path, monkeypatch) -> None:
    # memory is bounded by reading whole lines a block at a time: blocks of 50 bytes cut most
    # lines, one line is longer than two blocks, and the last has no newline
    from runtime.data import svmlight
    rng = np.random.default_rng(7)
    X = sp.random(40, 30, density=0.3, format="lil", random_state=7)
    X[5, :] = rng.standard_normal(30)
    X = X.tocsr()
    path = tmp_path / "d.svm"
    dump_svmlight_file(X, rng.integers(0, 3, 40), str(path), zero_based=True)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    whole = read(path)
    monkeypatch.setattr(svmlight, "BLOCK_BYTES", 50)
    blocks = read(path)
    assert np.array_equal(blocks[1], whole[1]) and (blocks[0] != whole[0]).nnz == 0
    assert blocks[0].shape == whole[0].shape == (40, 30)
    bad = path.read_bytes().split(b"\n")
    bad[31] = b"1 4:1 2:1"
    path.write_bytes(b"\n".join(bad))
    with pytest.raises(ValueError, match=r"^line 32 \(1 4:1 2:1\): feature indices"):
        read(path)


def test_comments_blank_lines_tabs_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "d.svm"
    path.write_bytes(b"# a header\r\n+1 qid:3 2:1.5\t7:-2 # why\r\n\r\n-1 1:1e-3\r\n0\n")
    X, y = read(path)
    assert y.tolist() == [1.0, -1.0, 0.0]
    assert X.shape == (3, 8)
    assert X.toarray()[0, 2] == 1.5 and X.toarray()[0, 7] == -2 and X.toarray()[1, 1] == 1e-3
    assert X.getrow(2).nnz == 0


@pytest.mark.parametrize("text, line, what", [
    (b"1 1:2\n1 3:1 2:1\n", 2, "sorted and unique"),
    (b"1 1:2 1:3\n", 1, "sorted and unique"),
    (b"# c\n\n1 2.5:1\n", 3, "whole number"),
    (b"1 -1:2\n", 1, "whole number"),
    (b"1,2 3:1\n", 1, "label, then index:value"),
    (b"1 3:\n", 1, "label, then index:value"),
    (b"1 2 3:4\n5:6\n", 1, "label, then index:value"),      # counts alone would balance
    (b"1 2:3:4 5\n", 1, "label, then index:value"),
    (b"1 1:1\n0 1:1 4:x\n", 2, "label, then index:value"),
])
def test_a_bad_line_is_named_and_scikit_learn_refuses_it_too(tmp_path: Path, text: bytes,
                                                             line: int, what: str) -> None:
    path = tmp_path / "bad.svm"
    path.write_bytes(text)
    with pytest.raises(ValueError, match=f"^line {line} .*{what}"):
        read(path)
    with pytest.raises(ValueError):
        load_svmlight_file(str(path), zero_based=True)


def test_an_svmlight_data_set_loads_without_importing_scikit_learn(tmp_path: Path) -> None:
    # the import costs about 2 s a process: the run's and each worker's
    (tmp_path / "d.svm").write_text("1 1:2 3:1\n0 2:1\n1 1:1\n")
    code = ("import sys; from pathlib import Path; from spec_lang.config import DataSpec; "
            "from runtime.data.sources import load_dataset; "
            f"d = load_dataset(DataSpec('file', 'd.svm'), Path({str(tmp_path)!r})); "
            "print(d.X.shape, 'sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["(3,", "3)", "False"]
