"""The chosen networks' statistics: the start is the exact initialization of the trained
members (retraining it reproduces the stored weights bit for bit), the histograms hold one panel
per layer with start and end, and the filters are the first layer seen through the
preprocessing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import runtime
import spec_lang
from runtime.report import network_stats
from runtime.report.run_folder import load_run

SPEC = """\
experiment net
data digits
split train 0.6 valid 0.2 test 0.2 stratified
network
    dense 12 relu
    dropout 0.1
    dense 6 tanh
train
    sgd lr $lr momentum 0.9
    batch 64
    epochs 3
    l2 1e-4
search grid
    lr in 0.01, 0.1
seeds 2
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("net")
    (tmp / "net.spec").write_text(SPEC)
    runtime.run(spec_lang.load(tmp / "net.spec"), out=tmp / "run", jobs=1)
    return tmp / "run"


@pytest.fixture(scope="module")
def stats(run_dir: Path) -> network_stats.NetworkStats:
    found = network_stats.record(load_run(run_dir))
    assert not isinstance(found, str), found
    return found


def test_layers_and_sizes(stats: network_stats.NetworkStats) -> None:
    assert stats.members == 2
    assert list(stats.end.weights) == ["dense0", "dense1", "output"]
    assert list(stats.end.activations) == ["dense0", "dense1"]      # hidden dense only
    sizes = {"dense0": 64 * 12, "dense1": 12 * 6, "output": 6 * 10}
    for snap in (stats.start, stats.end):
        for name, size in sizes.items():
            assert [len(v) for v in snap.weights[name]] == [size, size]
            assert [len(v) for v in snap.gradients[name]] == [size, size]
    # tanh activations lie in [-1, 1], relu ones are >= 0
    assert all(np.all(np.abs(v) <= 1) for v in stats.end.activations["dense1"])
    assert all(np.all(v >= 0) for v in stats.end.activations["dense0"])
    # training moved the weights, and shrank the gradient of the criterion
    assert not np.allclose(stats.start.weights["dense0"][0], stats.end.weights["dense0"][0])


def test_the_start_is_the_initialization_of_the_stored_networks(run_dir: Path,
                                                                stats: network_stats.NetworkStats
                                                                ) -> None:
    """Retraining from the rebuilt (config, data, seed) gives the stored end weights exactly,
    so the rebuilt start is the very initialization those networks were trained from."""
    from runtime.execution.jobs import FINAL, Job, fit_job
    from runtime.execution.prepared import train_data
    run = load_run(run_dir)
    exp = spec_lang.load(run_dir / "spec.spec")
    params = run.best["params"]
    config = exp.bind(params)
    refit = run.best["refit"]                    # the saved model: each seed refitted
    member = sorted(refit["members"], key=lambda m: m["seed"])[0]
    job = Job(FINAL, tuple(params.items()), member["seed"], member["fold"],
              epochs=refit["epochs"][str(member["seed"])])
    data, _ = train_data(config, exp, job)
    trained = fit_job(exp, job)[0].model
    np.testing.assert_array_equal(trained.dense[0].W.ravel(), stats.end.weights["dense0"][0])
    from runtime.engine.training import build_network
    initial = build_network(config, data, np.random.default_rng(member["seed"]))
    np.testing.assert_array_equal(initial.dense[0].W.ravel(), stats.start.weights["dense0"][0])


def test_gradients_against_finite_differences(run_dir: Path) -> None:
    """The recorded gradient is the criterion's: checked on one weight by central differences
    (float64, no dropout) through the same code path."""
    from runtime.engine.layers import Dense
    from runtime.engine.network import Network
    rng = np.random.default_rng(0)
    net = Network(4, [Dense(4, 3, "tanh")], _head(), dtype="float64")
    net.params[:] = rng.normal(0, 0.5, net.params.size)
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, 16)
    train = type("T", (), {"l2": 0.01, "l1": 0.0, "activity_l1": 0.0})()
    snap = network_stats.Snapshot()
    network_stats._snapshot(net, X, y, train, 0, snap)
    grad = snap.gradients["dense0"][0][5]
    def loss(delta: float) -> float:
        net.params[5] += delta
        ws = net.workspace(16)
        ws.a[0][...], ws.y[...] = X, net.head.encode(y, net.dtype)
        value = net.head.loss_grad(net.forward(ws, False, None), ws.y, ws.d[-1])
        value += 0.01 / 2 * float(np.sum(net.params[:net.n_weights] ** 2))
        net.params[5] -= delta
        return value
    assert grad == pytest.approx((loss(1e-6) - loss(-1e-6)) / 2e-6, rel=1e-5)


def _head():
    from runtime.engine.losses import make_head
    return make_head("classification", 3, np.array([0, 1, 2]))


def test_filters_are_the_first_layer_through_the_preprocessing(
        stats: network_stats.NetworkStats) -> None:
    assert stats.filter_space == "pixels" and stats.filters.shape == (12, 8, 8)
    fig = network_stats.plot_filters(stats)
    assert len([ax for ax in fig.axes if ax.get_images()]) == 12
    assert fig.axes[0].get_images()[0].get_array().shape == (8, 8)


def test_affine_jacobian_of_a_standardizer_and_a_non_affine_map() -> None:
    from sklearn.preprocessing import QuantileTransformer, StandardScaler
    rng = np.random.default_rng(0)
    raw = rng.normal(3, [1, 2, 4], size=(200, 3))
    scaler = StandardScaler().fit(raw)
    J = network_stats.affine_jacobian(scaler, raw)
    np.testing.assert_allclose(J, np.diag(1 / scaler.scale_), rtol=1e-9)
    quantiles = QuantileTransformer(n_quantiles=50).fit(raw)
    assert network_stats.affine_jacobian(quantiles, raw) is None


def test_histograms_one_panel_per_layer_with_start_and_end(
        stats: network_stats.NetworkStats) -> None:
    for quantity, layers in (("weights", 3), ("activations", 2), ("gradients", 3)):
        fig = network_stats.plot_histograms(stats, quantity)
        assert len(fig.axes) == layers
        for ax in fig.axes:
            assert [t.get_text() for t in ax.get_legend().get_texts()] == ["start", "end"]
            assert ax.get_xlabel() == network_stats.QUANTITIES[quantity]
            assert len(ax.patches) == 2 * network_stats.BINS


def test_a_run_whose_spec_cannot_be_read_says_why(run_dir: Path, tmp_path: Path) -> None:
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "spec.spec").write_text("# built in Python\nnot a spec\n")
    found = network_stats.record(load_run(copy))
    assert isinstance(found, str) and "could not be rebuilt" in found


@pytest.mark.parametrize("members, said", [(1, "weights, 1 member"),
                                           (2, "weights, 2 members pooled")])
def test_the_histograms_title_counts_the_members(stats: network_stats.NetworkStats,
                                                 members: int, said: str) -> None:
    from dataclasses import replace
    fig = network_stats.plot_histograms(replace(stats, members=members), "weights")
    assert fig.get_suptitle() == said
