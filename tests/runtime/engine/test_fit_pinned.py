"""Fits pinned to digests computed on the engine before the epoch loop was split into pieces
(issue 26): the final weights, the curves (time_s aside), the best epoch's metrics, the state
and the checkpoint's arrays must not move by one bit. A change meant to alter what a fit
computes updates these digests, and says so."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any

import pytest

import spec_lang
from runtime.engine.training import fit
from runtime.execution.jobs import preflight
from runtime.types import FitResult, PruneBounds


def _spec(network: str, train: str, extra: str = "", data: str = "wine") -> tuple[Any, Any]:
    return preflight(spec_lang.loads(f"data {data}\nnetwork\n{network}train\n{train}{extra}"))


def _capped(config: Any, epochs: int) -> Any:
    return dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))


def _checkpoint_text(result: FitResult) -> str:
    """The checkpoint's arrays as text, its clock (seconds, the rows' time_s) left out."""
    if result.checkpoint is None:
        return "none"
    arrays = result.checkpoint.arrays()
    meta = json.loads(str(arrays["meta"][()]))
    meta.pop("seconds")
    meta["curves"].pop("time_s", None)
    meta["best_row"].pop("time_s", None)
    parts = [json.dumps(meta, sort_keys=True)]
    parts += [f"{name}:{arrays[name].dtype}:{arrays[name].tobytes().hex()}"
              for name in sorted(arrays) if name != "meta"]
    return "\n".join(parts)


def digest(result: FitResult) -> str:
    """sha256 of everything a fit determines (time_s aside), in a fixed order."""
    h = hashlib.sha256()
    h.update(result.model.params.tobytes())
    head = (result.state, result.reason, result.best_epoch, result.epochs, result.updates,
            result.resumed_at, repr(result.train_loss), repr(result.valid_loss),
            sorted((k, repr(v)) for k, v in result.valid_metrics.items()))
    h.update(repr(head).encode())
    for name, values in result.curves.items():          # the columns' order counts too
        if name != "time_s":
            h.update(f"{name}={[repr(float(v)) for v in values]}".encode())
    h.update(_checkpoint_text(result).encode())
    return h.hexdigest()[:16]


def momentum_one_over_t() -> FitResult:
    config, data = _spec("    dense 32 tanh\n    dense 16 relu\n",
                         "    sgd lr 0.05 momentum 0.9 nesterov\n    batch 16\n"
                         "    schedule one_over_t tau 40\n    epochs 15 early_stop patience 4\n"
                         "    l2 1e-4\n")
    return fit(config, data, 3)


def adam_cosine_warmup() -> FitResult:
    config, data = _spec("    dense 24 relu\n    dropout 0.2\n    dense 12 tanh\n",
                         "    adam lr 0.003\n    batch 32\n    schedule cosine warmup 20\n"
                         "    epochs 12 early_stop off\n", data="breast_cancer")
    return fit(config, data, 5)


def pruned_fit() -> FitResult:
    config, data = _spec("    dense 16 tanh\n", "    rmsprop lr 0.001\n    batch 16\n"
                         "    epochs 20 early_stop patience 30\n")
    bounds = (math.nan, 0.9, 0.5, 0.01) + (0.0,) * 16
    return fit(config, data, 1, prune=PruneBounds("error", bounds, "pinned bounds"))


def stalled_fit() -> FitResult:
    config, data = _spec("    dense 8 relu\n", "    sgd lr 1e-7\n    batch 32\n"
                         "    epochs 40 early_stop patience 30 stall 4\n")
    return fit(config, data, 2)


def promoted_fit() -> FitResult:
    config, data = _spec("    dense 8 sigmoid\n    dense 6 sigmoid\n",
                         "    adagrad lr 0.05\n    batch 8\n    schedule step gamma 0.5 every 30\n"
                         "    epochs 14 early_stop patience 40\n",
                         "pretrain autoencoder epochs 3 lr 0.1\n", data="iris")
    short = fit(_capped(config, 5), data, 4)
    return fit(config, data, 4, resume=short.checkpoint)


FITS = {"momentum_one_over_t": momentum_one_over_t, "adam_cosine_warmup": adam_cosine_warmup,
        "pruned": pruned_fit, "stalled": stalled_fit, "promoted": promoted_fit}
PINNED = {
    "adam_cosine_warmup": "ea9098df99853c1a",     # complete, 12 epochs
    "momentum_one_over_t": "45e504b1e7e2332c",    # complete: early stopping in epoch 7, best 6
    "promoted": "a22d9ecc45d59d61",               # complete, 14 epochs, continued from 5
    "pruned": "33499153b8b8fcac",                 # pruned in epoch 4
    "stalled": "128afce31b74a92f",                # stalled in epoch 4, best 1
}


# Exact float bytes depend on the BLAS kernels: the digests hold where they were computed.
PINNED_ON = ("x86_64", "2.4.6", "openblas", "0.3.31.188.0", "Haswell")


def platform_of_floats() -> tuple[str, ...]:
    """The machine, NumPy and BLAS (its build and kernel) that decide a fit's exact bytes."""
    import platform

    import numpy
    import threadpoolctl
    # NumPy's own BLAS (the engine's products): SciPy loads another, listed first or not
    # depending on what the process imported before
    blas = [(m["internal_api"], str(m.get("version")), str(m.get("architecture")))
            for m in threadpoolctl.threadpool_info()
            if m["user_api"] == "blas" and "numpy" in m["filepath"]]
    return (platform.machine(), numpy.__version__, *(blas[0] if blas else ("?", "?", "?")))


@pytest.mark.parametrize("name", sorted(FITS))
def test_a_fit_gives_the_pinned_weights_curves_and_checkpoint(name: str) -> None:
    here = platform_of_floats()
    if here != PINNED_ON:
        pytest.skip(f"digests pinned on {PINNED_ON}, this is {here}: print this machine's "
                    "with python tests/runtime/engine/test_fit_pinned.py")
    assert digest(FITS[name]()) == PINNED[name]


if __name__ == "__main__":
    print(platform_of_floats())
    for key, make in sorted(FITS.items()):
        made = make()
        print(f"    {key!r}: {digest(made)!r},  # {made.state} {made.epochs} {made.best_epoch}")
