"""`lr auto`: the language accepts it only as a learning rate, the runner resolves it with one
range test before the search, records it, keys trials by the concrete rate, and recomputes it
when the data change (never a stale trial)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import runtime
import spec_lang
from runtime.engine.lr_range import RangeTest
from runtime.errors import NnspecError
from runtime.execution import lr_auto
from spec_lang import config as c

SPEC = """experiment auto
data "points.csv"
split train 0.6 valid 0.2 test 0.2
preprocess none
network
    dense 16 relu
train
    sgd lr {lr} momentum 0.9
    epochs 5
seeds 1
"""


def write_points(folder: Path, scale: float) -> None:
    """A CSV of 300 rows, 4 features times `scale`, a two-class target."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    rows = ["a,b,c,d,y"] + [",".join(f"{v:.6g}" for v in x * scale) + f",{t}"
                            for x, t in zip(X, y)]
    (folder / "points.csv").write_text("\n".join(rows) + "\n")


def run(folder: Path, lr: str = "auto") -> tuple[dict, list[bool]]:
    """Run the spec in `folder`; best.json and whether each trial came from the store."""
    path = folder / "auto.spec"
    path.write_text(SPEC.format(lr=lr))
    events: list[dict] = []
    runtime.run(path, out=folder / "run", jobs=1, progress=events.append)
    best = json.loads((folder / "run" / "best.json").read_text())
    return best, [e["cached"] for e in events if e["event"] == "trial"]


def test_lr_auto_runs_records_the_rate_and_keys_trials_by_it(tmp_path):
    write_points(tmp_path, 1.0)
    best, cached = run(tmp_path)
    chosen = best["lr_auto"]
    assert cached == [False] and chosen["lr"] > 0 and chosen["rates_tested"] > 1
    assert chosen["lr"] == pytest.approx(chosen["largest_stable"] / 2, rel=5e-3)
    assert chosen["interval"] == [pytest.approx(chosen["lr"] / 10), chosen["largest_stable"]]
    message = next(m for m in best["messages"] if m.startswith("lr auto: "))
    assert f"lr auto: {chosen['lr']:.3g} (half the largest stable rate " \
           f"{chosen['largest_stable']:.3g}" in message
    # The spec written with that rate is the same configuration: its trial is in the store.
    explicit, cached = run(tmp_path, lr=repr(chosen["lr"]))
    assert cached == [True] and "lr_auto" not in explicit
    # A rate written by hand that differs is another trial.
    _, cached = run(tmp_path, lr=repr(chosen["lr"] * 2))
    assert cached == [False]


def test_a_changed_data_set_gets_its_own_rate_and_fresh_trials(tmp_path):
    write_points(tmp_path, 1.0)
    first, _ = run(tmp_path)
    again, cached = run(tmp_path)                           # unchanged: same rate, stored
    assert again["lr_auto"] == first["lr_auto"] and cached == [True]
    write_points(tmp_path, 30.0)                              # inputs 30x larger, no scaling
    changed, cached = run(tmp_path)
    assert changed["lr_auto"]["lr"] < first["lr_auto"]["lr"] / 10
    assert cached == [False]


def test_the_resolved_experiment_holds_the_concrete_rate(tmp_path):
    write_points(tmp_path, 1.0)
    path = tmp_path / "auto.spec"
    path.write_text(SPEC.format(lr="auto"))
    exp = spec_lang.load(path)
    assert lr_auto.uses_auto(exp) and exp.config.train.optimizer.lr is c.AUTO
    resolved, chosen = lr_auto.resolve(exp)
    assert chosen is not None and resolved.config.train.optimizer.lr == chosen.lr
    assert not lr_auto.uses_auto(resolved) and resolved.filename == exp.filename
    assert lr_auto.resolve(resolved) == (resolved, None)


def test_every_rate_diverging_is_one_clear_error(tmp_path, monkeypatch):
    """(A real set where every rate diverges: tests/runtime/engine/test_lr_range.py.)"""
    write_points(tmp_path, 1.0)
    path = tmp_path / "auto.spec"
    path.write_text(SPEC.format(lr="auto"))
    exp = spec_lang.load(path)
    none = RangeTest(rates=(1e-6,), losses=(float("nan"),), train_losses=(float("nan"),),
                     diverged=(True,), initial_loss=0.7, divergence=1.0, updates=100,
                     largest_stable=None, suggestion=None, interval=None,
                     reason="The training loss became non-finite in epoch 1.")
    monkeypatch.setattr(lr_auto, "range_test_of", lambda exp, checked=None: none)
    with pytest.raises(NnspecError, match=r"auto.spec: lr auto: every rate diverged, even "
                                          r"the smallest \(1e-06\): The training loss became"):
        lr_auto.resolve(exp)
    with pytest.raises(NnspecError, match="every rate diverged"):
        runtime.run(path, out=tmp_path / "run", jobs=1)
    assert not (tmp_path / "run" / "best.json").exists()          # nothing trained


def test_auto_from_python_is_the_same_value():
    exp = spec_lang.loads("data iris\ntrain\n    sgd lr 0.1\n")
    auto = exp.replace(train__optimizer__lr="auto")
    assert lr_auto.uses_auto(auto) and auto.bind({}).train.optimizer.lr is c.AUTO
    with pytest.raises(spec_lang.SpecError, match="'momentum' of 'sgd' must be a number"):
        exp.replace(train__optimizer__momentum="auto")


@pytest.mark.parametrize("text, where, message", [
    ("train\n    sgd lr 0.1 momentum auto\n", "2:25", "'momentum' of 'sgd' cannot be auto"),
    ("train\n    sgd\n    epochs auto\n", "3:12", "'count' of 'epochs' cannot be auto"),
    ("train\n    sgd\n    batch auto\n", "3:11", "'size' of 'batch' cannot be auto"),
    ("pretrain lr auto\ntrain\n    sgd\n", "1:13", "'lr' of 'pretrain' cannot be auto"),
    ("network\n    dense auto\ntrain\n    sgd\n", "2:11", "'width' of 'dense' cannot be auto"),
    ("train\n    sgd lr $lr\nsearch random 3\n    lr in 0.1, auto\n", "4:16",
     "'lr' cannot be searched over auto"),
    ("train\n    optimizer $o lr auto\nsearch grid\n    o in sgd, adam\n", "2:21",
     "'lr auto' needs a fixed optimizer, not $o"),
])
def test_bad_uses_of_auto_are_one_error_with_position(text, where, message):
    with pytest.raises(spec_lang.SpecError) as caught:
        spec_lang.loads(text, filename="x.spec")
    lines = [line for line in str(caught.value).splitlines() if ": error: " in line]
    assert lines == [f"x.spec:{where}: error: {message}"]
    assert "hint:" in str(caught.value)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adagrad", "optimizer adam"])
def test_every_optimizer_takes_lr_auto_and_fmt_keeps_it(optimizer):
    text = f"data iris\ntrain\n    {optimizer} lr auto\n"
    assert spec_lang.loads(text).config.train.optimizer.lr is c.AUTO
    assert "lr auto" in spec_lang.format(text)
