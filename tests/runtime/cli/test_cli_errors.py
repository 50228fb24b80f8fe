"""The `nnspec` command on the failure paths: one clear line, the right exit status (1 for a spec
or data error, 2 for a usage error), never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import runtime
from runtime.cli import command
from runtime.cli.command import main
from runtime.errors import NnspecError

from ..conftest import run_tiny

ROOT = Path(__file__).resolve().parents[3]


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run argv, expect exit status 2, return stderr's last line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of the tiny spec (trained once for this module)."""
    return run_tiny(tmp_path_factory.mktemp("run"))


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the runner is ever asked to train."""
    from runtime.execution import runner

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the runner was called")
    monkeypatch.setattr(runner, "run", refuse)


# --------------------------------------------------------------------------------- --version
def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"nnspec {runtime.__version__}"


# ------------------------------------------------------------------------------- --scheduler
@pytest.mark.parametrize("address, expected", [
    ("127.0.0.1", "give the scheduler's host and port"),
    ("local", "`--cluster local:N`"),
    ("local:2", "`--cluster local:N`"),
    ("http://127.0.0.1:8786", "starts with tcp:// or tls://, not http://"),
    ("tcp://127.0.0.1", "give the scheduler's host and port"),
    ("tcp://127.0.0.1:0", "PORT from 1 to 65535"),
    ("tcp://127.0.0.1:99999", "PORT from 1 to 65535"),
    ("tcp://:8786", "give the scheduler's host and port"),
    ("tcp://a/b:8786", "give the scheduler's host and port"),
])
def test_a_bad_scheduler_address_is_a_usage_error(address, expected, tiny_spec, capsys,
                                                   no_training):
    line = usage_error(["run", str(tiny_spec), "--scheduler", address], capsys)
    assert line.startswith("nnspec run: error: argument --scheduler: ") and expected in line


@pytest.mark.parametrize("address, normalized", [
    ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("tls://scheduler.example.org:8786", "tls://scheduler.example.org:8786"),
    ("[::1]:8786", "tcp://[::1]:8786"),
])
def test_good_scheduler_addresses_get_their_scheme(address, normalized):
    assert command.scheduler_address(address) == normalized


# ------------------------------------------------------------------------------------ --jobs
@pytest.mark.parametrize("jobs", ["0", "-2", "two"])
def test_jobs_must_be_positive_or_minus_one(jobs, tiny_spec, capsys, no_training):
    line = usage_error(["run", str(tiny_spec), "--jobs", jobs], capsys)
    assert line.startswith("nnspec run: error: argument --jobs: ")


def test_jobs_minus_one_means_every_core(tiny_spec, tmp_path, monkeypatch):
    """-1 used to run serially in the main process; it means all cores, as in joblib."""
    from runtime.execution import executor, runner
    asked: dict[str, Any] = {}

    def fake_run(exp: Any, **kwargs: Any) -> None:
        asked.update(kwargs)
        raise NnspecError("stop here")
    monkeypatch.setattr(runner, "run", fake_run)
    monkeypatch.setattr(executor, "default_jobs", lambda: 7)
    assert main(["run", str(tiny_spec), "--out", str(tmp_path / "r"), "--jobs", "-1"]) == 1
    assert asked["jobs"] == 7


# ------------------------------------------------------------------------------------- --out
def test_out_on_an_existing_file_is_refused_before_training(tiny_spec, tmp_path, capsys,
                                                            no_training):
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    assert main(["run", str(tiny_spec), "--out", str(taken)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"nnspec run: error: --out {taken}: exists and is not a folder"
    assert main(["run", str(tiny_spec), "--out", str(taken / "sub"), "--fresh"]) == 2
    assert f"{taken} is not a folder" in capsys.readouterr().err
    assert taken.read_text() == "keep me"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_out_where_no_folder_can_be_made_is_refused_before_training(tiny_spec, capsys,
                                                                   no_training):
    """/proc refuses new folders even to root (for whom os.access says yes to everything)."""
    assert main(["run", str(tiny_spec), "--out", "/proc/nnspec-cannot-be-here"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnspec run: error: --out /proc/nnspec-cannot-be-here: cannot write")


def test_data_the_training_dtype_cannot_hold_is_refused_before_training(tmp_path, capsys,
                                                                      no_training):
    """Raw 1e30 without a rescaling step squares past float32's range: every trial used to
    'diverge' with a message about the learning rate."""
    X = np.random.default_rng(0).standard_normal((100, 3))
    X[:, 2] *= 1e30
    np.savez(tmp_path / "wide.npz", X=X, y=(X[:, 0] > 0).astype(int))
    spec = tmp_path / "wide.spec"
    spec.write_text('data "wide.npz"\npreprocess none\ntrain\n    dtype $d\nsearch grid\n'
                    '    d in float64, float32\n')
    assert main(["run", str(spec), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{spec}:1:6: error: wide.npz: column 'x2': ")   # at the file
    assert "float32 training" in err
    assert not (tmp_path / "r").exists()
    assert main(["check", str(spec)]) == 1
    assert "column 'x2'" in capsys.readouterr().err
    spec.write_text('data "wide.npz"\n')          # standardized first: trainable in float32
    assert main(["check", str(spec)]) == 0


# -------------------------------------------------------------------------------------- show
@pytest.mark.parametrize("name, content, expected", [
    ("best.json", "", "best.json: the file is empty"),
    ("best.json", "{not json", "best.json: not valid JSON"),
    ("best.json", "[1, 2]", "best.json: not the record of a finished run"),
    ("best.json", json.dumps({"metric": "valid_error", "trial": 0}),
     "best.json: not the record of a finished run"),
    ("summary.csv", "", "summary.csv: the file is empty"),
    ("summary.csv", "a,b\n1,2\n", "summary.csv: not the summary of a finished run"),
])
def test_show_with_a_damaged_artifact_names_the_file(finished_run, tmp_path, capsys, name,
                                                     content, expected):
    import shutil
    run = tmp_path / "damaged"
    shutil.copytree(finished_run, run)
    (run / name).write_text(content)
    assert main(["show", str(run)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"{run}/{expected}") and "Traceback" not in err


def test_show_top_must_be_positive(finished_run, capsys):
    assert "--top: must be a positive integer" in usage_error(
        ["show", str(finished_run), "--top", "0"], capsys)


def test_report_writes_the_plots(finished_run, capsys):
    """`nnspec report` named a module it had not imported (NameError)."""
    assert main(["report", str(finished_run)]) == 0
    assert "index.html" in capsys.readouterr().out


# -------------------------------------------------------------------------- a closed pipe
def test_show_into_a_closed_pipe_exits_quietly(finished_run, monkeypatch, capsys):
    """`nnspec show RUN | head -1`: the reader is gone before the table is written."""
    read, write = os.pipe()
    os.close(read)
    stdout = os.fdopen(write, "w")
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert main(["show", str(finished_run)]) == command.EXIT_SIGPIPE
    finally:
        monkeypatch.undo()
        stdout.close()
    assert capsys.readouterr().err == ""
    assert main(["show", str(finished_run)]) == 0      # the console still prints afterwards
    assert "chosen trial" in capsys.readouterr().out


def test_predict_piped_to_head_exits_quietly(finished_run, tmp_path):
    """More rows than a pipe holds, so the write after `head` exits must fail: no race."""
    from sklearn.datasets import load_iris
    np.savez(tmp_path / "many.npz", X=np.tile(load_iris().data, (700, 1)))
    done = subprocess.run(f'"{sys.executable}" -m runtime predict "{finished_run}" '
                          f'"{tmp_path / "many.npz"}" --proba | head -1; exit "${{PIPESTATUS[0]}}"',
                          shell=True, executable="/bin/bash", capture_output=True, text=True,
                          cwd=ROOT)
    assert done.stdout.startswith("prediction,p_") and done.stdout.count("\n") == 1
    assert done.stderr == "" and done.returncode == command.EXIT_SIGPIPE


# ---------------------------------------------------------------------------------------- fmt
def test_fmt_check_prints_what_its_help_says(tmp_path, capsys):
    spec = tmp_path / "m.spec"
    spec.write_text("data   iris\n")
    assert main(["fmt", "--check", str(spec)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"{spec}: not in canonical form\n"
    with pytest.raises(SystemExit):
        main(["fmt", "--help"])
    assert "nothing on stdout" in " ".join(capsys.readouterr().out.split())


# ------------------------------------------------------------------- the cheap commands stay so
@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["fmt", "--check", "SPEC"]])
def test_the_cheap_commands_load_no_heavy_library(argv, tmp_path):
    spec = tmp_path / "q.spec"
    spec.write_text("data iris\n")
    args = [str(spec) if a == "SPEC" else a for a in argv]
    code = ("import sys\nfrom runtime.cli.command import main\ntry:\n    main(sys.argv[1:])\n"
            "except SystemExit:\n    pass\nheavy = ['pandas', 'sklearn', 'matplotlib', 'dask', "
            "'distributed', 'rich', 'optuna']\nprint([m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


# ------------------------------------------------------------------- the scheduler goes away
def test_a_scheduler_that_dies_mid_run_is_a_clear_error(tiny_spec, tmp_path, capsys,
                                                         monkeypatch):
    """The cluster is closed when the first trial is reported (no timing): the in-flight
    trials are cancelled, which used to end in a FutureCancelledError traceback."""
    distributed = pytest.importorskip("distributed")
    from runtime.report import console
    from runtime.execution import cluster as dask_cluster
    monkeypatch.setattr(dask_cluster, "SCHEDULER_TIMEOUT", "1s")   # the reconnect wait
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, processes=True)
    report = console.RunProgress.__call__

    def close_on_first_trial(self: Any, event: dict[str, Any]) -> None:
        report(self, event)
        if event["event"] == "trial" and cluster.status.name != "closed":
            cluster.close()
    monkeypatch.setattr(console.RunProgress, "__call__", close_on_first_trial)
    try:
        status = main(["run", str(tiny_spec), "--out", str(tmp_path / "r"), "--quiet",
                       "--scheduler", cluster.scheduler_address])
    finally:
        cluster.close()
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]        # Dask's own log lines may come before it
    assert "lost the Dask" in last and "run again" in last and "resume" in last


def test_fmt_on_a_missing_file_or_a_folder_is_one_line_each(tmp_path, capsys):
    good = tmp_path / "good.spec"
    good.write_text("experiment good\ndata iris\n")
    status = main(["fmt", str(tmp_path / "missing.spec"), str(tmp_path), str(good)])
    captured = capsys.readouterr()
    assert status == 1 and "Traceback" not in captured.err
    assert "missing.spec" in captured.err and "cannot read the spec" in captured.err
    assert "experiment good" in captured.out                 # the readable file still formats
