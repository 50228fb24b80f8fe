"""Warm starts: continuing a capped fit gives bit for bit the fit a larger cap gives."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import spec_lang
from runtime.engine.training import fit
from runtime.engine.warm_start import Checkpoint, resumable
from runtime.execution.jobs import preflight

OPTIMIZERS = ["sgd lr 0.05 momentum 0.9", "sgd lr 0.05 momentum 0.9 nesterov",
              "adam lr 0.003", "rmsprop lr 0.001", "adagrad lr 0.05"]


def problem(optimizer: str, extra: str = "") -> tuple:
    exp = spec_lang.loads("data iris\nnetwork\n    dense 16 tanh\n    dropout 0.2\ntrain\n"
                          f"    {optimizer}\n    batch 8\n    epochs 12 early_stop patience 40"
                          f"\n{extra}")
    return preflight(exp)


def capped(config, epochs: int):
    return dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))


def same_fit(a, b) -> None:
    assert np.array_equal(a.model.params, b.model.params)
    assert (a.state, a.best_epoch, a.epochs, a.updates) == (b.state, b.best_epoch, b.epochs,
                                                            b.updates)
    assert a.valid_metrics == b.valid_metrics and a.train_loss == b.train_loss
    for name in a.curves:
        if name != "time_s":
            assert a.curves[name] == b.curves[name], name


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_continuing_a_capped_fit_is_the_longer_fit(optimizer) -> None:
    config, data = problem(optimizer)
    short = fit(capped(config, 4), data, 7)
    assert short.checkpoint is not None and short.checkpoint.epoch == 4
    same_fit(fit(config, data, 7, resume=short.checkpoint), fit(config, data, 7))


def test_a_checkpoint_survives_a_round_trip_through_a_file(tmp_path) -> None:
    config, data = problem("sgd lr 0.05 momentum 0.9")
    short = fit(capped(config, 3), data, 1)
    np.savez(tmp_path / "c.npz", **short.checkpoint.arrays())
    with np.load(tmp_path / "c.npz", allow_pickle=False) as stored:
        again = Checkpoint.from_arrays(stored)
    same_fit(fit(config, data, 1, resume=again), fit(config, data, 1))


def test_two_steps_of_continuation_and_the_step_schedule() -> None:
    config, data = problem("sgd lr 0.05 momentum 0.9", "    schedule step gamma 0.5 every 30\n")
    first = fit(capped(config, 2), data, 4)
    second = fit(capped(config, 6), data, 4, resume=first.checkpoint)
    same_fit(fit(config, data, 4, resume=second.checkpoint), fit(config, data, 4))


def test_a_fit_early_stopping_ended_is_what_a_longer_cap_gives_without_training() -> None:
    exp = spec_lang.loads("data iris\nnetwork\n    dense 4 tanh\ntrain\n    sgd lr 1e-6\n"
                          "    epochs 200 early_stop patience 2 stall 0\n")
    config, data = preflight(exp)
    short = fit(config, data, 0)
    assert short.epochs < 200 and short.checkpoint.finished
    longer = capped(config, 400)
    continued, updates = fit(longer, data, 0, resume=short.checkpoint), short.updates
    same_fit(continued, fit(longer, data, 0))
    assert continued.updates == updates                   # not one more update was made


def test_a_diverged_fit_leaves_no_checkpoint() -> None:
    config, data = problem("sgd lr 1e6")
    result = fit(config, data, 0)
    assert result.state == "diverged" and result.checkpoint is None


def test_the_cosine_schedule_depends_on_the_cap_so_it_does_not_resume() -> None:
    cosine, _ = problem("sgd lr 0.05", "    schedule cosine\n")
    plain, _ = problem("sgd lr 0.05", "    schedule one_over_t\n")
    assert not resumable(cosine) and resumable(plain)


def test_pre_training_is_recorded_per_layer_and_a_warm_start_keeps_it() -> None:
    """Each pre-trained layer's reconstruction error before and after each of its epochs is in
    the curves; a warm start (which does not pre-train again) carries them over."""
    exp = spec_lang.loads("data iris\npreprocess\n    quantile\nnetwork\n    dense 8 sigmoid\n"
                          "    dense 6 sigmoid\npretrain autoencoder epochs 4 lr 0.1\ntrain\n"
                          "    sgd lr 0.05\n    epochs 6 early_stop off\n")
    config, data = preflight(exp)
    whole = fit(config, data, 2)
    layers = sorted(k for k in whole.curves if k.startswith("pretrain_"))   # and "_valid"
    assert len(layers) == 4 and all(len(whole.curves[k]) == 5 for k in layers)
    assert all(whole.curves[k][-1] < whole.curves[k][0] for k in layers)   # it learned
    short = fit(capped(config, 2), data, 2)
    same_fit(fit(config, data, 2, resume=short.checkpoint), whole)
