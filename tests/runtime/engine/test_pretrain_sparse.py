"""Pre-training on sparse (CSR) inputs: reconstruction sampling (Dauphin et al. 2011) checked by
finite differences, by exact enumeration of the samples (unbiasedness) and against the dense
autoencoder; the exact reconstruction error; no dense (n, d) matrix; rbm refused clearly."""
import itertools
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import runtime

from runtime.data.sparse_text import make_sparse
from runtime.engine.layers import Dense
from runtime.engine.pretrain import (MIN_ZERO_SAMPLE, autoencoder_grads, pretrain,
                                     reconstruction_error, sample_columns,
                                     sparse_autoencoder_grads, sparse_reconstruction_error)
from runtime.engine.training import build_network, fit
from runtime.sparse import as_csr
from runtime.types import TrainData
from spec_lang.config import Config, DataSpec, Dense as DenseSpec, Pretrain, Train


def random_csr(rng: np.random.Generator, n: int, d: int, per_row: int,
               dtype: type = np.float64) -> sp.csr_matrix:
    """n rows of `per_row` non-zeros (values in [0.5, 2]) at random columns of d."""
    cols = np.concatenate([rng.choice(d, size=per_row, replace=False) for _ in range(n)])
    rows = np.repeat(np.arange(n), per_row)
    return as_csr(sp.coo_matrix((rng.uniform(0.5, 2, n * per_row), (rows, cols)), shape=(n, d)),
                  dtype)


def small_layer(rng: np.random.Generator, d: int, n_out: int, act: str = "tanh") -> Dense:
    layer = Dense(d, n_out, act)
    layer.bind(rng.normal(size=(d, n_out)) * 0.3, rng.normal(size=n_out) * 0.1,
               np.empty((d, n_out)), np.empty(n_out))
    return layer


def sparse_data(X: sp.csr_matrix, rng: np.random.Generator) -> TrainData:
    y = rng.integers(0, 2, size=X.shape[0])
    return TrainData(X, y, X[:0], y[:0], "classification", 2)


def test_sample_has_every_nonzero_column_and_reweighted_distinct_zeros() -> None:
    rng = np.random.default_rng(0)
    x = random_csr(rng, 8, 5000, 10)
    cols, weights, k = sample_columns(x, rng)
    nonzero = np.unique(x.indices)
    np.testing.assert_array_equal(cols[:k], nonzero)
    zeros = cols[k:]
    assert len(zeros) == max(k, MIN_ZERO_SAMPLE) and len(np.unique(zeros)) == len(zeros)
    assert not np.isin(zeros, nonzero).any() and zeros.min() >= 0 and zeros.max() < 5000
    np.testing.assert_array_equal(weights[:k], 1.0)
    np.testing.assert_allclose(weights[k:], (5000 - k) / len(zeros))


def test_sampled_criterion_gradient_matches_central_differences() -> None:
    rng = np.random.default_rng(1)
    d, n_out = 40, 3
    layer = small_layer(rng, d, n_out)
    x = random_csr(rng, 5, d, 3)
    x_in = x.copy()
    x_in.data[::3] = 0.0                                 # a corrupted copy: fewer non-zeros
    c = rng.normal(size=d) * 0.1
    cols, weights, k = sample_columns(x, rng, zeros=6)
    assert weights[-1] > 1                               # a real re-weighting
    loss, gW, gb, gc = sparse_autoencoder_grads(layer, c, x_in, x, cols, weights, k)

    def criterion() -> float:
        return sparse_autoencoder_grads(layer, c, x_in, x, cols, weights, k)[0]

    h = 1e-6
    for param, index, grad in ((layer.W, cols, gW), (layer.b, slice(None), gb), (c, cols, gc)):
        view = np.arange(param.shape[0])[index]
        numeric = np.empty_like(grad)
        for local, row in enumerate(view):
            for rest in np.ndindex(param.shape[1:]):
                idx = (row, *rest)
                saved = param[idx]
                param[idx] = saved + h
                up = criterion()
                param[idx] = saved - h
                numeric[(local, *rest)] = (up - criterion()) / (2 * h)
                param[idx] = saved
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_sampled_criterion_is_unbiased_over_every_possible_sample() -> None:
    rng = np.random.default_rng(2)
    d = 12
    layer = small_layer(rng, d, 2)
    x = random_csr(rng, 3, d, 2)
    c = rng.normal(size=d) * 0.1
    nonzero = np.unique(x.indices)
    k = len(nonzero)
    zero_cols = np.setdiff1d(np.arange(d), nonzero)
    full = autoencoder_grads(layer, c, x.toarray(), x.toarray())
    s = 2
    samples = list(itertools.combinations(zero_cols, s))
    weights = np.r_[np.ones(k), np.full(s, len(zero_cols) / s)]
    mean_loss, mean_gW = 0.0, np.zeros_like(layer.W)
    for sample in samples:                     # uniform without replacement: all equally likely
        cols = np.r_[nonzero, sample]
        loss, gW, _, _ = sparse_autoencoder_grads(layer, c, x, x, cols, weights, k)
        mean_loss += loss / len(samples)
        mean_gW[cols] += gW / len(samples)
    np.testing.assert_allclose(mean_loss, full[0], rtol=1e-12)
    np.testing.assert_allclose(mean_gW, full[1], rtol=1e-10, atol=1e-14)


def test_exact_reconstruction_error_equals_the_densified_one() -> None:
    rng = np.random.default_rng(3)
    d = 30
    layer = small_layer(rng, d, 4, "relu")
    x = random_csr(rng, 9, d, 4)
    c = rng.normal(size=d)
    dense = reconstruction_error(layer, c, x.toarray(), "autoencoder")
    np.testing.assert_allclose(sparse_reconstruction_error(layer, c, x), dense, rtol=1e-10)


def test_sparse_pretraining_equals_dense_when_the_sample_is_every_column() -> None:
    # d < MIN_ZERO_SAMPLE: every zero column is in the sample, with weight 1, and no draw is
    # made, so the sparse run follows the dense one (the same shuffles) step for step.
    rng = np.random.default_rng(4)
    X = random_csr(rng, 50, MIN_ZERO_SAMPLE - 4, 5)
    config = Config(network=(DenseSpec(6, "tanh"), DenseSpec(4, "sigmoid")),
                    train=Train(dtype="float64"))
    spec = Pretrain(method="autoencoder", epochs=3, lr=0.05, batch=8)
    nets, reports = [], []
    for inputs in (X, X.toarray()):
        net = build_network(config, sparse_data(X, np.random.default_rng(0)),
                            np.random.default_rng(5))
        reports.append(pretrain(net, inputs, spec, 6))
        nets.append(net)
    for a, b in zip(nets[0].dense, nets[1].dense):
        np.testing.assert_allclose(a.W, b.W, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.b, b.b, rtol=1e-10, atol=1e-12)
    for name in reports[1]:
        np.testing.assert_allclose(reports[0][name]["epochs"], reports[1][name]["epochs"],
                                   rtol=1e-10)


def test_denoising_gradient_equals_dense_for_the_same_corrupted_input() -> None:
    # the masking noise is drawn per stored value (sparse) or per entry (dense): given the same
    # corrupted input, with every column sampled, both give the same criterion and gradients
    rng = np.random.default_rng(7)
    d = 50
    layer = small_layer(rng, d, 5, "sigmoid")
    x = random_csr(rng, 8, d, 6)
    x_in = x.copy()
    x_in.data *= rng.random(x_in.nnz) >= 0.25
    cols, weights, k = sample_columns(x, rng)
    assert len(cols) == d and np.all(weights == 1)
    c = np.linspace(-1, 1, d)
    sparse = sparse_autoencoder_grads(layer, c, x_in, x, cols, weights, k)
    dense = autoencoder_grads(layer, c, x_in.toarray(), x.toarray())
    np.testing.assert_allclose(sparse[0], dense[0], rtol=1e-12)
    for got, want in ((sparse[1], dense[1][cols]), (sparse[2], dense[2]),
                      (sparse[3], dense[3][cols])):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("method", ["autoencoder", "denoising"])
def test_pretraining_20000_features_never_allocates_a_dense_matrix(method) -> None:
    rng = np.random.default_rng(8)
    n, d = 1000, 20_000                   # bag of words: frequent words make it learnable
    X, _ = make_sparse(DataSpec(source="make_sparse", samples=n, features=d, nonzeros=20))
    X = as_csr(X, np.float32)
    config = Config(network=(DenseSpec(16, "tanh"), DenseSpec(8, "tanh")))
    net = build_network(config, sparse_data(X, rng), rng)
    spec = Pretrain(method=method, epochs=2, lr=0.01, batch=32)
    tracemalloc.start()
    try:
        report = pretrain(net, X, spec, 0)    # (seed 8: denoising lowers it 3%, 0: 20%)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < n * d * 4 / 20, f"peak {peak / 1e6:.1f} MB"          # 80 MB dense: < 4 MB
    assert set(report) == {"dense0", "dense1"}
    assert report["dense0"]["after"] < 0.9 * report["dense0"]["before"]


def test_rbm_on_sparse_inputs_is_refused_with_a_clear_message() -> None:
    rng = np.random.default_rng(9)
    X = random_csr(rng, 40, 500, 5)
    data = sparse_data(X, rng)
    config = Config(network=(DenseSpec(8, "sigmoid"),), pretrain=Pretrain(method="rbm"))
    with pytest.raises(ValueError, match=r"'rbm' cannot read sparse inputs.*500 visible.*"
                                         r"`pretrain autoencoder` or `pretrain denoising`"):
        fit(config, data, seed=0)
    net = build_network(config, data, rng)          # the dense inputs still work
    assert "dense0" in pretrain(net, X.toarray(), Pretrain(method="rbm", epochs=1), 9)


@pytest.mark.parametrize("method, search", [
    ("rbm", ""), ("$m", "search grid\n    m in autoencoder, rbm\n")])
def test_rbm_on_sparse_inputs_is_refused_before_any_trial(method, search, tmp_path) -> None:
    """Written or searched, `pretrain rbm` on sparse data stops the run in its preflight (one
    clear DataError, no trial row), as `nnspec check` does; autoencoders go on."""
    from runtime.errors import DataError
    from runtime.execution.jobs import preflight
    from spec_lang import loads
    text = ("data make_sparse samples 200 features 500 classes 3 nonzeros 8 seed 0\nnetwork\n"
            f"    dense 8 sigmoid\npretrain {method} epochs 1\n{search}seeds 1\n")
    with pytest.raises(DataError, match="'rbm' cannot read sparse inputs"):
        runtime.run(loads(text), out=tmp_path, jobs=1)
    assert not (tmp_path / "trials.csv").exists()
    preflight(loads(text.replace("rbm", "denoising")))            # no error
