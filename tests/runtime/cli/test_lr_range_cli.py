"""`nnspec check --lr-range`: the lines it prints, the PNG it writes (and what the plot holds),
its usage errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.cli.command import main
from runtime.engine.lr_range import RangeTest

SPEC = """data iris
split train 0.6 valid 0.2 test 0.2
network
    dense 8 tanh
train
    sgd lr auto momentum 0.9
    epochs 5
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "iris.spec"
    path.write_text(SPEC)
    return path


def test_lr_range_prints_the_rates_and_writes_the_png_beside_the_spec(spec, capsys):
    assert main(["check", "--lr-range", str(spec)]) == 0
    out = capsys.readouterr().out
    png = spec.with_name("iris.lr_range.png")
    assert "lr range test (sgd, " in out and "100 updates each" in out
    assert "largest stable rate " in out and "suggestion " in out and "(half of it)" in out
    assert "search interval " in out and "first divergence at lr " in out
    assert f"wrote the loss against the rate to {png}" in out
    import matplotlib.image
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 200 and image.shape[1] > 300
    assert image[..., :3].std() > 0.05                    # not a blank canvas


def test_the_plot_has_a_point_per_rate_on_a_log_axis(spec):
    import spec_lang
    from runtime.execution.lr_auto import range_test_of
    from runtime.report.lr_range import LOSS_LABEL, plot_range_test
    test = range_test_of(spec_lang.load(spec))
    ax = plot_range_test(test).axes[0]
    line = next(line for line in ax.get_lines() if line.get_label() == LOSS_LABEL)
    x, y = line.get_data()
    assert len(x) == len(test.rates) and list(x) == list(test.rates)
    assert np.allclose(np.asarray(y, dtype=float)[:-1], test.losses[:-1])
    assert ax.get_xscale() == "log"
    verticals = {line.get_label().split()[0] for line in ax.get_lines()[1:]}
    assert {"largest", "suggestion", "diverged"} <= verticals


def test_out_json_and_the_overfit_check_use_the_test(spec, tmp_path, capsys):
    png = tmp_path / "plots" / "lr.png"
    assert main(["check", "--lr-range", "--overfit", "--json", str(spec), "--out",
                 str(png)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["ok"] and png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(line.startswith("overfit check: ") for line in record["lines"])
    assert any(str(png) in line for line in record["lines"])


def test_out_needs_lr_range_and_one_file(spec, capsys):
    assert main(["check", "--out", "x.png", str(spec)]) == 2
    assert "--out names the --lr-range plot of one FILE" in capsys.readouterr().err
    assert main(["check", "--lr-range", "--out", "x.png", str(spec), str(spec)]) == 2
    assert not Path("x.png").exists()


def test_every_rate_diverging_fails_the_check(spec, capsys, monkeypatch):
    none = RangeTest(rates=(1e-6,), losses=(float("inf"),), train_losses=(float("nan"),),
                     diverged=(True,), initial_loss=1.1, divergence=1.0, updates=100,
                     largest_stable=None, suggestion=None, interval=None,
                     reason="The training loss became non-finite in epoch 1.")
    monkeypatch.setattr("runtime.execution.lr_auto.range_test_of", lambda exp: none)
    assert main(["check", "--lr-range", str(spec)]) == 1
    out = capsys.readouterr().out
    assert "FAIL: lr range test" in out and "every rate diverged" in out
    assert spec.with_name("iris.lr_range.png").is_file()
