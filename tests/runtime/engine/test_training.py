"""fit(): accuracy on digits, determinism, divergence, early stopping, batching, tasks."""
import dataclasses

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.model_selection import train_test_split
from scipy import special
from sklearn.preprocessing import StandardScaler

from runtime.engine.metrics import evaluate
from runtime.engine.stopping import Best
from runtime.engine.training import fit
from runtime.types import TrainData
from spec_lang.config import Config, Dense, Dropout, EarlyStop, Optimizer, Schedule, Train


def split(X: np.ndarray, y: np.ndarray, task: str, seed: int = 1, n_classes: int = 0):
    """Stratified (classification) 60/20/20 split, StandardScaler fitted on the training part."""
    strat = y if task == "classification" else None
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, stratify=strat,
                                                      random_state=seed)
    strat = y_rest if task == "classification" else None
    X_tr, X_va, y_tr, y_va = train_test_split(X_rest, y_rest, test_size=0.25, stratify=strat,
                                              random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    data = TrainData(scaler.transform(X_tr), y_tr, scaler.transform(X_va), y_va, task, n_classes)
    return data, scaler.transform(X_test), y_test


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return split(X, y, "classification", n_classes=10)


def with_train(config: Config = Config(), **changes) -> Config:
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **changes))


def small(data: TrainData, n: int = 300) -> TrainData:
    return TrainData(data.X_train[:n], data.y_train[:n], data.X_valid, data.y_valid, data.task,
                     data.n_classes)


def test_digits_reaches_97_percent_with_the_defaults(digits) -> None:
    data, X_test, y_test = digits
    result = fit(with_train(epochs=60), data, seed=0)
    assert result.state == "complete"
    assert evaluate("classification", y_test, result.model.predict(X_test))["accuracy"] >= 0.97


def test_curves_and_result_fields(digits) -> None:
    data, _, _ = digits
    rows = []
    result = fit(with_train(epochs=4), small(data), seed=0,
                 progress=lambda epoch, row: rows.append((epoch, row)))
    assert set(result.curves) == {"epoch", "train_loss", "valid_loss", "valid_error",
                                  "valid_accuracy", "valid_f1", "lr", "time_s"}
    assert [e for e, _ in rows] == [1, 2, 3, 4] == result.curves["epoch"]
    assert rows[-1][1]["valid_loss"] == result.curves["valid_loss"][-1]
    assert result.epochs == 4 and result.updates == 4 * 10          # 300 / 32 -> 10 batches
    assert result.curves["train_loss"][0] > result.curves["train_loss"][-1]
    best = result.best_epoch - 1
    assert result.valid_loss == result.curves["valid_loss"][best]
    assert result.valid_metrics == evaluate("classification", data.y_valid,
                                            *result.model.scored(data.X_valid))
    # one_over_t with tau = 30 epochs: still lr0 at the end of epoch 4
    assert result.curves["lr"] == [0.01] * 4


def test_same_seed_same_weights_and_curves_different_seed_differs(digits) -> None:
    data, _, _ = digits
    config = Config(network=(Dense(32, "relu"), Dropout(0.2), Dense(16, "tanh")),
                    train=Train(epochs=3))
    runs = [fit(config, small(data), seed) for seed in (3, 3, 4)]
    a, b, c = (r.model.params for r in runs)
    np.testing.assert_array_equal(a, b)
    for key in runs[0].curves:
        if key != "time_s":
            assert runs[0].curves[key] == runs[1].curves[key]
    assert not np.array_equal(a, c)
    assert runs[0].curves["train_loss"] != runs[2].curves["train_loss"]


@pytest.mark.parametrize("task, lr, phrase", [
    ("classification", 1e4, "became non-finite"),
    ("classification", 3.0, "exceeds 1000 x the initial loss"),
    ("regression", 1e4, "became non-finite")])
def test_huge_learning_rate_diverges_with_a_reason(digits, task: str, lr: float, phrase: str):
    data, _, _ = digits
    if task == "regression":
        data = dataclasses.replace(data, task="regression", y_train=data.y_train * 1.0,
                                   y_valid=data.y_valid * 1.0)
    config = with_train(optimizer=Optimizer("sgd", lr=lr), schedule=Schedule("constant"),
                        epochs=20)
    result = fit(config, small(data), seed=0)                       # no exception
    assert result.state == "diverged"
    assert phrase in result.reason and f"in epoch {result.epochs} (after" in result.reason
    assert result.epochs < 20 and len(result.curves["epoch"]) == result.epochs
    if result.best_epoch:                                          # weights from before it blew up
        assert np.isfinite(result.model.predict(data.X_valid)).all()


def test_divergence_reports_the_rate_of_the_update_that_diverged(digits) -> None:
    """With a warm-up every update has its own rate: the message names the last one applied
    (lr_at(updates - 1), the row's lr), not the next one's (lr_at(updates))."""
    data, _, _ = digits
    lr0, warmup = 1e6, 10_000
    config = with_train(optimizer=Optimizer("sgd", lr=lr0, momentum=0.0),
                        schedule=Schedule("constant", warmup=warmup), epochs=5)
    result = fit(config, small(data), seed=0)
    assert result.state == "diverged" and result.updates >= 1
    used = lr0 * result.updates / (warmup + 1)                  # rate of update number updates-1
    assert f"after {result.updates} updates, lr {used:.3g})" in result.reason
    assert result.curves["lr"][-1] == pytest.approx(used)


def test_train_loss_weights_every_example_once() -> None:
    """10 examples in batches of 7 and 3, weights frozen (lr 0), no dropout: train_loss is the
    loss over the 10 examples, not the mean of the two batch means."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 4)), np.arange(10) % 3
    data = TrainData(X, y, X[:0], y[:0], "classification", 3)
    config = with_train(Config(network=(Dense(5, "tanh"),)), batch=7, epochs=3, dtype="float64",
                        optimizer=Optimizer("sgd", lr=0.0), early_stop=None)
    result = fit(config, data, seed=0)
    z = result.model.logits(X)
    per_example = -special.log_softmax(z, axis=1)[np.arange(10), y]
    assert result.curves["train_loss"] == pytest.approx([per_example.mean()] * 3, rel=1e-12)
    assert per_example.std() > 0.05              # so a mean of the 7- and 3-example means differs


def test_valid_loss_of_confident_mistakes_is_exact() -> None:
    """Trained hard on separable data and validated on the flipped labels, the float32 network's
    logits reach |z| > 20, where 1 - sigmoid(z) rounds to 0 in float32: the reported validation
    loss (curves, result, the tie-break) is the float64 cross-entropy of the logits."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2)) * 10
    y = (X[:, 0] > 0).astype(np.int64)
    data = TrainData(X, y, X, 1 - y, "classification", 2)
    config = with_train(Config(network=(Dense(8, "tanh"),)), epochs=40, early_stop=None,
                        optimizer=Optimizer("sgd", lr=2.0), schedule=Schedule("constant"))
    result = fit(config, data, seed=0)
    z = result.model.logits(X)[:, 0].astype(np.float64)
    assert result.model.dtype == np.float32 and np.abs(z).max() > 20
    exact = -np.mean(np.where(1 - y == 1, special.log_expit(z), special.log_expit(-z)))
    assert result.curves["valid_loss"][-1] == pytest.approx(exact, rel=1e-9)
    assert result.valid_loss == result.curves["valid_loss"][-1]


def test_best_epoch_rule_min_delta_and_ties() -> None:
    best, params = Best(), np.zeros(3)
    assert best.offer(1, 0.20, 1.0, 0.01, params, {}, {})
    assert not best.offer(2, 0.195, 0.5, 0.01, params, {}, {})      # better, but by < min_delta
    assert best.offer(3, 0.20, 0.9, 0.01, params, {}, {})            # tie, lower loss
    assert not best.offer(4, 0.20, 0.95, 0.01, params, {}, {})       # tie, higher loss
    assert best.offer(5, 0.15, 2.0, 0.01, params + 1, {}, {})
    assert best.epoch == 5 and best.params.tolist() == [1.0, 1.0, 1.0]


def test_early_stopping_restores_the_best_epochs_weights(digits) -> None:
    data, _, _ = digits
    config = with_train(Config(network=(Dense(64, "relu"),)),
                        optimizer=Optimizer("sgd", lr=0.3), schedule=Schedule("constant"),
                        epochs=60, early_stop=EarlyStop(patience=4))
    config = dataclasses.replace(config, metric="loss")
    data = small(data, 200)
    result = fit(config, data, seed=0)
    assert result.best_epoch < result.epochs < 60                    # it did stop early
    losses = result.curves["valid_loss"]
    assert losses[result.best_epoch - 1] == min(losses)
    replay = fit(with_train(config, epochs=result.best_epoch, early_stop=None), data, seed=0)
    np.testing.assert_array_equal(result.model.params, replay.model.params)
    assert np.array_equal(result.model.predict(data.X_valid), replay.model.predict(data.X_valid))
    last = fit(with_train(config, epochs=result.epochs, early_stop=None), data, seed=0)
    assert not np.array_equal(result.model.params, last.model.params)


@pytest.mark.parametrize("batch, updates_per_epoch", [(None, 1), (1, 300), (64, 5)])
def test_full_batch_online_and_last_smaller_batch(digits, batch, updates_per_epoch) -> None:
    data, _, _ = digits
    config = with_train(batch=batch, epochs=3, early_stop=None,
                        optimizer=Optimizer("sgd", lr={None: 0.1, 1: 0.001}.get(batch, 0.01)))
    result = fit(config, small(data), seed=0)
    assert result.updates == 3 * updates_per_epoch                  # 300 = 4 x 64 + 44
    assert result.state == "complete"
    assert result.curves["valid_loss"][-1] < result.curves["valid_loss"][0]


def test_update_cap_stops_mid_epoch(digits) -> None:
    data, _, _ = digits
    result = fit(with_train(updates=15, epochs=50), small(data), seed=0)
    assert result.updates == 15 and result.epochs == 2


def test_float64_on_request(digits) -> None:
    data, _, _ = digits
    r32 = fit(with_train(epochs=2), small(data), seed=0)
    r64 = fit(with_train(epochs=2, dtype="float64"), small(data), seed=0)
    assert r32.model.params.dtype == np.float32 and r64.model.params.dtype == np.float64
    np.testing.assert_allclose(r32.model.params, r64.model.params, atol=1e-4)


def test_regression_fits_in_original_units() -> None:
    X, y = make_regression(500, 8, noise=5.0, random_state=0)
    data, X_test, y_test = split(X, 1000 + 50 * y, "regression")
    config = Config(network=(Dense(32, "tanh"),), train=Train(epochs=100))
    result = fit(config, data, seed=0)
    metrics = evaluate("regression", y_test, result.model.predict(X_test))
    assert metrics["r2"] > 0.95
    assert result.model.predict(X_test).shape == y_test.shape
    assert abs(result.model.predict(X_test).mean() - y_test.mean()) < 0.1 * y_test.std()


def test_multilabel_learns_every_label() -> None:
    X, Y = make_multilabel_classification(600, 20, n_classes=4, random_state=0)
    data, X_test, Y_test = split(X, Y.astype(float), "multilabel", n_classes=4)
    result = fit(Config(train=Train(epochs=40)), data, seed=0)
    metrics = evaluate("multilabel", Y_test, result.model.predict(X_test))
    baseline = np.mean(Y_test != (Y_test.mean(axis=0) >= 0.5))       # majority per label
    assert metrics["error"] < 0.6 * baseline
    assert result.model.predict(X_test).shape == Y_test.shape


def test_binary_classification(digits) -> None:
    data, X_test, y_test = digits
    keep = lambda y: (y == 3) | (y == 8)                              # noqa: E731
    tr, va = keep(data.y_train), keep(data.y_valid)
    binary = TrainData(data.X_train[tr], (data.y_train[tr] == 8) * 1,
                       data.X_valid[va], (data.y_valid[va] == 8) * 1, "classification", 2)
    result = fit(with_train(epochs=20), binary, seed=0)
    proba = result.model.predict(X_test[keep(y_test)])
    assert proba.shape[1] == 2
    assert evaluate("classification", (y_test[keep(y_test)] == 8) * 1, proba)["accuracy"] > 0.95


def test_penalties_and_lr_scale_act(digits) -> None:
    data = small(digits[0])
    plain = fit(with_train(epochs=5), data, seed=0).model
    decayed = fit(with_train(epochs=5, l2=0.1), data, seed=0).model
    sparse = fit(with_train(epochs=5, activity_l1=0.05), data, seed=0).model
    w = lambda net: np.linalg.norm(net.layers[0].W)                  # noqa: E731
    assert w(decayed) < 0.9 * w(plain)
    hidden = lambda net: np.maximum(data.X_valid @ net.layers[0].W + net.layers[0].b, 0)  # noqa
    assert hidden(sparse).mean() < 0.85 * hidden(plain).mean()       # the penalized L1 norm
    frozen = fit(Config(network=(Dense(100, "relu", lr_scale=0.0),), train=Train(epochs=2)),
                 data, seed=0).model
    untrained = fit(Config(network=(Dense(100, "relu"),), train=Train(epochs=1, updates=0)),
                    data, seed=0).model
    np.testing.assert_array_equal(frozen.layers[0].W, untrained.layers[0].W)
    assert not np.array_equal(frozen.layers[1].W, untrained.layers[1].W)


def test_training_leaves_no_reference_cycles_holding_buffers() -> None:
    """Buffers must be freed when a trial ends, not at the garbage collector's next pass:
    parallel workers run trial after trial and their memory would climb."""
    import gc

    from runtime.engine.network import Workspace
    from runtime.engine.training import fit
    from runtime.types import TrainData
    from spec_lang.config import Config, Dense, Train

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 5)), rng.integers(0, 3, 100)
    data = TrainData(X[:70], y[:70], X[70:], y[70:], "classification", 3)
    config = Config(network=(Dense(8),), train=Train(epochs=2, batch=32))
    gc.collect()
    gc.disable()
    try:
        fit(config, data, 0)
        alive = [o for o in gc.get_objects() if isinstance(o, Workspace)]
    finally:
        gc.enable()
    assert alive == []


@pytest.mark.parametrize("part", ["train", "valid"])
def test_inputs_and_targets_of_different_lengths_are_refused_by_name(part) -> None:
    """A TrainData built by hand with one target too few is a clear ValueError, not an
    IndexError in the metrics."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=40)
    arrays = {"train": (X[:30], y[:30]), "valid": (X[30:], y[30:])}
    arrays[part] = (arrays[part][0], arrays[part][1][:-1])
    data = TrainData(*arrays["train"], *arrays["valid"], "classification", 2)
    with pytest.raises(ValueError, match=f"X_{part} has .* rows but y_{part} has"):
        fit(Config(), data, seed=0)
