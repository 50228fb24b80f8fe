"""Progress of `nnspec run`: the total (exact or the strategy's bound), plain timestamped lines
with done/total when stderr is piped (at the start, each new best, a steady beat, the end), the
ETA from finished trials' durations, `--quiet`, and `--json` for run, show and check."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

import spec_lang
from runtime.cli.command import main
from runtime.report.progress import RunProgress, clock, planned_rows

SPEC = """\
experiment prog
data iris
network
    dense 4 tanh
train
    sgd lr $lr
    epochs 3
search grid
    lr in 0.01, 0.1, 1
seeds 2
"""
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d prog: (\d+)/(≤?\d+) trials")


def spec(search: str, protocol: str = "") -> spec_lang.Experiment:
    return spec_lang.loads(SPEC.replace("search grid", f"search {search}") + protocol)


@pytest.mark.parametrize("search, protocol, rows, exact", [
    ("grid", "", 3 * 2, True),
    ("random 5", "", 5 * 2, True),
    ("grid", "kfold 4 test 0.2\n", 3 * 2 * 4, True),
    ("grid", "nested outer 2 inner 3\n", 3 * 2 * 2 * 3, True),
    ("halving 9 eta 3", "", (9 + 3 + 1) * 2, False),
    ("coordinate", "", 3 * 3 * 2, False),
])
def test_planned_rows(search: str, protocol: str, rows: int, exact: bool) -> None:
    assert planned_rows(spec(search, protocol)) == (rows, exact)


def test_hyperband_bound_is_the_sum_of_its_brackets() -> None:
    from runtime.search import planned_trials
    from runtime.search.hyperband import plan
    search = spec("hyperband").search
    expected = sum(sum(b.sizes) for b in plan(search.eta, search.min_fidelity))
    assert planned_trials(search) == (expected, False) and expected == 40 + 17 + 8 + 4


def event(value: float, done: int, state: str = "complete", duration: float = 2.0) -> dict:
    return {"event": "trial", "row": {"state": state, "valid_error": value, "trial": done,
                                      "seed": 0, "fold": 0, "duration_s": duration},
            "cached": False, "done": done, "metric": "valid_error", "maximize": False}


def test_counts_eta_and_best(capsys: pytest.CaptureFixture[str]) -> None:
    progress = RunProgress(spec("grid"), quiet=True, jobs=2)       # 6 rows
    progress({"event": "start", "trial": 0, "seed": 0, "fold": 0, "outer": None})
    progress({"event": "start", "trial": 1, "seed": 0, "fold": 0, "outer": None})
    assert len(progress.running) == 2
    progress(event(0.3, 1, duration=2.0))
    progress(event(float("nan"), 2, "diverged", duration=4.0))
    assert len(progress.running) == 1
    assert progress.eta() == pytest.approx((6 - 2) * 3.0 / 2)      # mean 3 s, 2 workers
    assert progress.best_value() == pytest.approx(0.3)
    status = progress.status()
    assert status.startswith("2/6 trials") and "diverged 1" in status and "ETA 0:06" in status
    assert capsys.readouterr().err == ""                           # quiet: nothing printed


@pytest.mark.parametrize("local, shown", [(True, 2), (False, 3)])
def test_a_job_queued_ahead_of_the_local_workers_is_not_shown_running(local, shown) -> None:
    """Local workers have one job waiting in the pool's queue: 3 handed out to 2 workers are 2
    running; on a Dask cluster (more workers than local cores) every handed-out job counts."""
    progress = RunProgress(spec("grid"), quiet=True, jobs=2, local=local)
    for trial in range(3):
        progress({"event": "start", "trial": trial, "seed": 0, "fold": 0, "outer": None})
    assert f"running {shown} " in progress.status()


def test_a_maximized_metric_keeps_the_largest() -> None:
    progress = RunProgress(spec_lang.loads("metric accuracy\n"), quiet=True)
    for done, value in enumerate((0.5, 0.9, 0.7), 1):
        progress({"event": "trial", "row": {"state": "complete", "valid_accuracy": value},
                  "done": done, "metric": "valid_accuracy", "maximize": True})
    assert progress.best_value() == 0.9


def test_piped_progress_beats_at_a_steady_rate(capsys: pytest.CaptureFixture[str]) -> None:
    with RunProgress(spec("grid"), interval=0.05) as progress:
        time.sleep(0.3)
        progress(event(0.3, 1))
    lines = capsys.readouterr().err.splitlines()
    assert all(STAMP.match(line) for line in lines), lines
    assert lines[0].endswith("(started)") and lines[-1].endswith("(finished)")
    beats = [line for line in lines if line.endswith("elapsed 0:00")]
    assert len(beats) >= 3                          # the timer's lines between the events
    assert any(line.endswith("(new best)") and "1/6" in line for line in lines)


def test_a_piped_run_prints_timestamped_lines_with_the_total(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    path = tmp_path / "p.spec"
    path.write_text(SPEC)
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if STAMP.match(line)]
    assert lines[0].endswith("(started)") and "0/6 trials" in lines[0]
    assert lines[-1].endswith("(finished)") and "6/6 trials" in lines[-1]
    assert any(line.endswith("(new best)") for line in lines)
    assert all(STAMP.match(line).group(2) == "6" for line in lines)
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert not [line for line in capsys.readouterr().err.splitlines() if STAMP.match(line)]


def test_run_json_lines_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.spec"
    path.write_text(SPEC)
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--jobs", "1",
                 "--json"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    kinds = [r["event"] for r in records]
    assert kinds[0] == "started" and records[0]["total"] == 6 and records[0]["exact"]
    assert kinds.count("start") == 6 and kinds.count("trial") == 6
    assert kinds[-2:] == ["finished", "result"]
    trials = [r for r in records if r["event"] == "trial"]
    assert [t["done"] for t in trials] == list(range(1, 7))
    assert all(t["total"] == 6 and "time" in t for t in trials)
    assert records[-1]["best"]["trial"] == json.loads(
        (tmp_path / "run" / "best.json").read_text())["trial"]
    assert not STAMP.search(captured.err)           # no human progress beside the JSON


def test_show_and_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.spec"
    path.write_text(SPEC)
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["show", str(tmp_path / "run"), "--json", "--top", "2"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["summary"]) == 2 and shown["summary"][0]["rank_valid_error"] == 1
    assert shown["best"]["metric"] == "valid_error" and shown["provenance"]
    bad = tmp_path / "bad.spec"
    bad.write_text("data iris\ntrain\n    sgd lr -1\n")
    assert main(["check", "--json", str(path), str(bad)]) == 1
    good, wrong = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert good == {"file": str(path), "ok": True, "lines": [], "error": ""}
    assert not wrong["ok"] and "lr" in wrong["error"] and wrong["file"] == str(bad)


def test_clock() -> None:
    assert clock(59.6) == "1:00" and clock(3725) == "1:02:05" and clock(-3) == "0:00"


def test_a_long_trial_shows_its_epoch_between_events(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """One long trial, no event for seconds: the piped lines say which epoch it reached (its
    worker's heartbeat file), and the heartbeats are gone when the run is."""
    import runtime
    exp = spec_lang.loads("data digits\nnetwork\n    dense 256 relu\ntrain\n    sgd lr 0.01\n"
                          "    batch 8\n    epochs 200 early_stop off\nseeds 1\n")
    with RunProgress(exp, interval=0.3) as progress:
        runtime.run(exp, out=tmp_path / "run", jobs=1, progress=progress)
    lines = capsys.readouterr().err.splitlines()
    epochs = [int(m.group(1)) for line in lines
              if (m := re.search(r"\(trial 0 seed 0: epoch (\d+)/200 valid_error ", line))]
    assert len(epochs) >= 2 and epochs == sorted(epochs) and epochs[-1] > epochs[0]
    assert not (tmp_path / "run" / "running").exists()


def test_the_live_display_is_readable_at_80_columns_and_one_configuration_has_an_eta(
        tmp_path: Path) -> None:
    """One configuration, two seeds training side by side: the bar, the name (cut only past
    NAME_WIDTH) and the counts fit 80 columns, the details go on a second line, and the
    heartbeats give an ETA and move the bar before any row is in (it showed 'p02_p… 0/2
    trials ... ETA ?' with no bar until the end)."""
    import io

    from rich.console import Console
    exp = spec_lang.loads("experiment p02_plain_one_configuration\ndata iris\nseeds 2\n")
    terminal = Console(file=io.StringIO(), width=80, force_terminal=True)
    progress = RunProgress(exp, jobs=2, console=terminal)
    assert progress.live and progress.total == 2
    for seed in (0, 1):                      # each halfway: epoch 5 of 10 after 2 s
        beat = tmp_path / f"{seed}.json"
        beat.write_text(json.dumps({"epoch": 5, "epochs": 10, "metric": "error",
                                    "value": 0.25, "seconds": 2.0}))
        progress({"event": "start", "trial": 0, "seed": seed, "fold": 0, "outer": None,
                  "heartbeat": str(beat)})
    assert progress.eta() == pytest.approx((2 - 0.5 - 0.5) * 4.0 / 2)    # 4 s a row
    screen = Console(file=io.StringIO(), width=80, record=True, force_terminal=True,
                     color_system="truecolor")
    screen.print(progress.bar.get_renderable())
    first, second = screen.export_text().splitlines()
    assert first.startswith(exp.name[:23] + "…")               # NAME_WIDTH 24
    assert "━" * 10 in first and "0/2 trials  ETA 0:02" in first
    assert second.startswith("running 2  (trial 0 seed 0: epoch 5/10 valid_error 0.25)")
    assert progress.bar.tasks[0].completed == pytest.approx(1.0)          # half of each
