"""The preprocessed folds a process keeps: every trial on the same fold and preprocessing
shares one set of arrays, which no training may write to, and nothing stale is ever served."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import spec_lang
from runtime.engine.training import fit
from runtime.execution import prepared
from runtime.execution.jobs import Job
from runtime.execution.prepared import fold_of, train_data

SPEC = """experiment prepared
data "{path}" target "y"
kfold 3 test 0.2
preprocess
    standardize
network
    dense 4 tanh
train
    sgd lr 0.1
    epochs 2
"""


@pytest.fixture
def exp(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["a,b,y"] + [f"{x:.6f},{10 * z:.6f},{int(x + z > 0)}"
                        for x, z in rng.normal(size=(60, 2))]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    prepared._PREPARED.clear()
    return spec_lang.loads(SPEC.format(path="d.csv"), base_dir=tmp_path)


def test_the_same_fold_is_prepared_once_and_shared_read_only(exp) -> None:
    config = exp.bind({})
    first, prep = train_data(config, exp, Job(0, (), 0, 0))
    again, prep_again = train_data(config, exp, Job(5, (), 1, 0, fidelity=1.0))
    assert again is first and prep_again is prep
    for array in (first.X_train, first.y_train, first.X_valid, first.y_valid):
        assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first.X_train[0, 0] = 1.0
    fit(config, first, 0)                       # training never writes to its inputs


def test_each_fold_and_preprocessing_has_its_own_arrays(exp) -> None:
    config = exp.bind({})
    arrays = [train_data(config, exp, Job(0, (), 0, k))[0] for k in range(3)]
    assert len({id(a) for a in arrays}) == 3
    fold = fold_of(config, exp, 1, None)
    raw = exp.base_dir / "d.csv"
    data = np.loadtxt(raw, delimiter=",", skiprows=1)[:, :2]
    train = data[fold.train]
    expected = (train - train.mean(axis=0)) / train.std(axis=0)
    np.testing.assert_allclose(arrays[1].X_train, expected, rtol=1e-6, atol=1e-6)
    raw_config = dataclasses.replace(config, preprocess=())
    plain, _ = train_data(raw_config, exp, Job(0, (), 0, 1))
    np.testing.assert_allclose(plain.X_train, train, rtol=1e-6)


def test_a_changed_data_file_is_prepared_again(exp) -> None:
    config = exp.bind({})
    before, _ = train_data(config, exp, Job(0, (), 0, 0))
    path = exp.base_dir / "d.csv"
    lines = path.read_text().splitlines()
    lines[1] = "100.0,100.0,1"
    path.write_text("\n".join(lines) + "\n")
    after, _ = train_data(config, exp, Job(0, (), 0, 0))
    assert after is not before
    assert not np.array_equal(np.asarray(after.X_train), np.asarray(before.X_train))


def test_the_kept_arrays_stay_within_their_byte_limit(exp, monkeypatch) -> None:
    config = exp.bind({})
    one, _ = train_data(config, exp, Job(0, (), 0, 0))
    size = one.X_train.nbytes + one.X_valid.nbytes
    monkeypatch.setattr(prepared, "PREPARED_BYTES", int(2.5 * size))
    prepared._PREPARED.clear()
    for k in range(3):
        train_data(config, exp, Job(0, (), 0, k))
    assert len(prepared._PREPARED) == 2                       # the oldest fold went
    assert train_data(config, exp, Job(0, (), 0, 2))[0] is train_data(
        config, exp, Job(0, (), 0, 2))[0]
    monkeypatch.setattr(prepared, "PREPARED_BYTES", 0)       # larger than the limit: not kept
    prepared._PREPARED.clear()
    train_data(config, exp, Job(0, (), 0, 0))
    assert not prepared._PREPARED


def test_a_data_set_no_cache_holds_any_more_takes_its_arrays_with_it(exp) -> None:
    """The prepared arrays hold their data set weakly: once the data set caches let it go (as
    they do after a few others), its entry is dropped when the next fold is prepared."""
    import gc
    config = exp.bind({})
    train_data(config, exp, Job(0, (), 0, 0))
    prepared._LOADED.clear()
    prepared._FOLDS.clear()
    gc.collect()
    assert all(ref() is None for ref, _, _ in prepared._PREPARED.values())
    train_data(config, exp, Job(0, (), 0, 1))         # loads the set again: a new object
    assert len(prepared._PREPARED) == 1
    assert all(ref() is not None for ref, _, _ in prepared._PREPARED.values())
