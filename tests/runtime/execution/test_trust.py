"""The run is a record you can trust (issue: content-keyed cache, provenance, retried failures,
cooperating processes, atomic artifacts): each test runs real tiny specs end to end."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import runtime
import spec_lang
from runtime.execution import jobs
from runtime.execution.keys import canonical_params, trial_key
from runtime.execution.store import RunStore

from ..conftest import TINY, stable

CSV_SPEC = """experiment csvtrust
data "points.csv" target "label"
split train 0.6 valid 0.2 test 0.2 stratified
network
    dense 8 tanh
train
    sgd lr $lr momentum 0.9
    epochs 5
search grid
    lr in 0.01, 0.1
seeds 1
"""


def write_points(folder: Path, shuffle_seed: int | None = None) -> None:
    """A small two-class CSV; with `shuffle_seed`, the same rows with their labels shuffled."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    label = (x[:, 0] > 0).astype(int)
    if shuffle_seed is not None:
        label = np.random.default_rng(shuffle_seed).permutation(label)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=label)
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "points.csv", index=False)
    (folder / "spec.spec").write_text(CSV_SPEC)


def trained(events: list[dict]) -> int:
    return sum(1 for e in events if e["event"] == "trial" and not e["cached"])


def test_a_changed_data_file_retrains_and_says_so(tmp_path):
    write_points(tmp_path / "d")
    runtime.run(tmp_path / "d" / "spec.spec", out=tmp_path / "run", jobs=1)
    write_points(tmp_path / "d", shuffle_seed=1)            # same path, other labels
    events: list[dict] = []
    table = runtime.run(tmp_path / "d" / "spec.spec", out=tmp_path / "run", jobs=1,
                        progress=events.append)
    assert trained(events) == 2
    assert "data changed since the stored trials: retraining" in table.attrs["best"]["messages"]


def test_the_same_spec_and_data_in_another_folder_reuse_the_store(tmp_path):
    write_points(tmp_path / "a")
    first = runtime.run(tmp_path / "a" / "spec.spec", out=tmp_path / "run", jobs=1)
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    events: list[dict] = []
    again = runtime.run(tmp_path / "elsewhere" / "b" / "spec.spec", out=tmp_path / "run",
                        jobs=1, progress=events.append)
    assert trained(events) == 0
    pd.testing.assert_frame_equal(stable(first), stable(again))


def test_a_failed_trial_is_trained_again_on_the_next_run(tiny_spec, tmp_path, monkeypatch):
    real = jobs.fit_job

    def out_of_memory(exp, job):
        raise MemoryError("the worker ran out of memory")
    monkeypatch.setattr(jobs, "fit_job", out_of_memory)
    first = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    assert set(first["state"]) == {"failed"}
    monkeypatch.setattr(jobs, "fit_job", real)
    again = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    assert set(again["state"]) == {"complete"} and set(again["attempts"]) == {2}


def test_a_renamed_dimension_keeps_its_trials_under_the_new_name(tiny_spec, tmp_path):
    runtime.run(tiny_spec, out=tmp_path, jobs=1)
    renamed = TINY.replace("$lr", "$rate").replace("    lr in", "    rate in")
    events: list[dict] = []
    table = runtime.run(spec_lang.loads(renamed), out=tmp_path, jobs=1, progress=events.append)
    assert trained(events) == 0
    assert "param_rate" in table and "param_lr" not in table


def test_near_equal_values_are_one_configuration():
    exp = spec_lang.loads(TINY)
    drifted = canonical_params({"lr": 1.0000000000000001e-4 * 3})
    assert drifted == canonical_params({"lr": 3e-4}) == {"lr": 3e-4}
    assert trial_key(exp, drifted, 0, 0, None, 1.0) == trial_key(exp, {"lr": 3e-4}, 0, 0,
                                                                   None, 1.0)
    assert trial_key(exp, {"lr": 3e-4}, 0, 0, None, 1.0) != trial_key(exp, {"lr": 3e-4}, 1, 0,
                                                                        None, 1.0)


def test_the_folder_keeps_the_spec_and_the_store_its_provenance(tiny_spec, tmp_path):
    runtime.run(tiny_spec, out=tmp_path / "run", jobs=1)
    assert (tmp_path / "run" / "spec.spec").read_text() == tiny_spec.read_text()
    store = RunStore(tmp_path / "run" / "store.sqlite", readonly=True)
    (record,) = store.runs()
    assert record["status"] == "finished" and record["spec"] == tiny_spec.read_text()
    assert record["nnspec"] == runtime.__version__ and record["numpy"] == np.__version__
    assert record["finished"] >= record["started"] and record["data_digest"]


def test_a_run_that_saves_no_model_removes_the_old_one(tiny_spec, tmp_path):
    runtime.run(tiny_spec, out=tmp_path, jobs=1)
    assert (tmp_path / "model.npz").exists()
    diverging = TINY.replace("lr in 0.01, 0.1", "lr in 1e6, 1e7")
    table = runtime.run(spec_lang.loads(diverging), out=tmp_path, jobs=1)
    assert not (tmp_path / "model.npz").exists()
    best = table.attrs["best"]
    assert any("removed the model.npz" in m for m in best["messages"])
    assert best["completed"] == 0 and best["most_common_error"]


def test_fresh_clears_the_earlier_artifacts_before_training(tiny_spec, tmp_path, monkeypatch):
    runtime.run(tiny_spec, out=tmp_path, jobs=1)
    seen = []

    def look(exp, job):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        raise KeyboardInterrupt                          # interrupted at its first trial
    monkeypatch.setattr(jobs, "fit_job", look)
    with pytest.raises(KeyboardInterrupt):
        runtime.run(tiny_spec, out=tmp_path, jobs=1, fresh=True)
    assert not {"trials.csv", "summary.csv", "best.json", "model.npz"} & set(seen[0])


def test_no_temporary_file_is_left_and_artifacts_are_complete(tiny_spec, tmp_path):
    runtime.run(tiny_spec, out=tmp_path, jobs=1)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert runtime.load_model(tmp_path / "model.npz") is not None


SLOW = TINY.replace("epochs 15 early_stop patience 5", "epochs 60").replace(
    "lr in 0.01, 0.1", "lr in 0.01, 0.02, 0.03, 0.04, 0.05, 0.06").replace(
    "dense 8 tanh", "dense 64 tanh").replace("seeds 2", "seeds 1")


def _run_process(spec: Path, out: Path, table: Path, jobs_: int = 1,
                 go: Path | None = None) -> subprocess.Popen:
    """`runtime.run` in a new process; with `go`, it starts once that file exists (so that
    several processes begin together, whatever their import times)."""
    code = textwrap.dedent(f"""
        import os, time, runtime, runtime.execution.runner
        while {str(go) if go else ""!r} and not os.path.exists({str(go) if go else ""!r}):
            time.sleep(0.05)
        t = runtime.run({str(spec)!r}, out={str(out)!r}, jobs={jobs_})
        t.drop(columns=["duration_s", "attempts"]).to_csv({str(table)!r}, index=False)
    """)
    return subprocess.Popen([sys.executable, "-c", code])


def test_three_processes_on_one_folder_train_every_trial_once(tmp_path):
    spec = tmp_path / "slow.spec"
    spec.write_text(SLOW)
    go = tmp_path / "go"
    procs = [_run_process(spec, tmp_path / "run", tmp_path / f"table{i}.csv", go=go)
             for i in range(3)]
    time.sleep(3.0)                                              # all three imported
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    tables = [pd.read_csv(tmp_path / f"table{i}.csv") for i in range(3)]
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other)
    store = RunStore(tmp_path / "run" / "store.sqlite", readonly=True)
    attempts = [row["attempts"] for _, row, _ in store.items()]
    assert len(attempts) == 6 and set(attempts) == {1}          # none trained twice
    assert {r["status"] for r in store.runs()} == {"finished"}


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_no_worker_outlives_a_killed_run_and_the_rerun_finishes_the_table(tmp_path):
    spec = tmp_path / "slow.spec"
    spec.write_text(SLOW.replace("epochs 60", "epochs 400"))
    proc = _run_process(spec, tmp_path / "run", tmp_path / "killed.csv", jobs_=2)
    deadline = time.time() + 60
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = [p for p in _children(proc.pid)
                   if "loky" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]
    assert workers, "the run started no worker process"
    time.sleep(1.0)                                              # they are training now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "a worker kept training after its run died"
    again = _run_process(spec, tmp_path / "run", tmp_path / "again.csv", jobs_=2)
    assert again.wait(timeout=300) == 0                          # the dead run's claims lapse
    whole = _run_process(spec, tmp_path / "whole", tmp_path / "whole.csv", jobs_=1)
    assert whole.wait(timeout=300) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again.csv"),
                                  pd.read_csv(tmp_path / "whole.csv"))


def test_failures_are_replayed_when_retrying_is_off(tiny_spec, tmp_path, monkeypatch):
    real = jobs.fit_job

    def broken(exp, job):
        raise OSError("a file went missing on the worker")
    monkeypatch.setattr(jobs, "fit_job", broken)
    runtime.run(tiny_spec, out=tmp_path, jobs=1)
    monkeypatch.setattr(jobs, "fit_job", real)
    replayed = runtime.run(tiny_spec, out=tmp_path, jobs=1, retry_failed=False)
    assert set(replayed["state"]) == {"failed"} and set(replayed["attempts"]) == {1}


def count_training(monkeypatch) -> list[int]:
    """A spy on the engine's fit: one entry per network trained (jobs=1 trains in-process)."""
    from runtime.engine import training
    calls: list[int] = []
    real = training.fit

    def spy(config, data, seed, *args, **kwargs):
        calls.append(seed)
        return real(config, data, seed, *args, **kwargs)
    monkeypatch.setattr(training, "fit", spy)
    return calls


@pytest.mark.parametrize("refit", [" refit false", ""])
@pytest.mark.parametrize("protocol", ["split train 0.6 valid 0.2 test 0.2", "kfold 3 test 0.2"])
def test_the_chosen_configuration_is_never_trained_twice(tmp_path, monkeypatch, protocol, refit):
    calls = count_training(monkeypatch)
    spec = TINY.replace("split train 0.6 valid 0.2 test 0.2", protocol + refit)
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    # one network per row; then, refitting, one per seed on the development rows (a network
    # no row trained), else none
    refits = 0 if refit else 2
    assert len(calls) == len(table) + refits
    assert table.attrs["best"]["test"]["test_error"] >= 0
    kept = sorted(p.name for p in (tmp_path / "members").iterdir())
    assert len(kept) == len(table) + refits            # 2 configurations <= the 3 kept


def test_a_member_missing_from_disk_is_trained_again_with_the_same_result(tiny_spec, tmp_path,
                                                                          monkeypatch):
    first = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    shutil.rmtree(tmp_path / "members")
    calls = count_training(monkeypatch)
    again = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    assert len(calls) == 2                             # the chosen configuration's 2 seeds
    assert again.attrs["best"]["test"] == first.attrs["best"]["test"]


def test_only_the_best_configurations_keep_their_networks(tmp_path):
    spec = TINY.replace("lr in 0.01, 0.1", "lr in 0.001, 0.003, 0.01, 0.03, 0.1, 0.3")
    table = runtime.run(spec_lang.loads(spec), out=tmp_path, jobs=1)
    kept = len(list((tmp_path / "members").iterdir()))
    assert kept <= 3 * 2 + 2 < len(table)      # 3 configurations x 2 seeds, the 2 refitted


def test_a_chosen_configuration_stopped_by_the_cap_is_flagged(tmp_path):
    capped = TINY.replace("epochs 15 early_stop patience 5", "epochs 3 early_stop patience 50")
    best = runtime.run(spec_lang.loads(capped), out=tmp_path / "a", jobs=1).attrs["best"]
    assert best["borders"].get("epochs") == "high"
    from runtime.execution.results import border_message
    assert "raise `epochs`" in border_message("epochs", "high")
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert (summary["border_epochs"] == "high").sum() == 1
    # tau 30 updates (10 epochs of iris's 90 training rows): a rate that decays soon enough for
    # early stopping to end both configurations far below the cap
    roomy = TINY.replace("epochs 15 early_stop patience 5",
                         "schedule one_over_t tau 30\n    epochs 300 early_stop patience 3")
    best = runtime.run(spec_lang.loads(roomy), out=tmp_path / "b", jobs=1).attrs["best"]
    assert "epochs" not in best["borders"]


def test_a_searched_preprocessing_that_leaves_untrainable_values_is_a_failed_row(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    X[:, 1] *= 1e30                               # float32 squares overflow without scaling
    np.savez(tmp_path / "big.npz", X=X, y=(X[:, 0] > 0).astype(int))
    spec = textwrap.dedent("""\
        experiment big
        data "big.npz"
        preprocess
            $scaler
        network
            dense 4 tanh
        train
            epochs 3
        search grid
            scaler in standardize, none
        seeds 1
        """)
    table = runtime.run(spec_lang.loads(spec, base_dir=tmp_path), out=tmp_path / "run", jobs=1)
    states = dict(zip(table["param_scaler"], table["state"]))
    assert states == {"standardize": "complete", "none": "failed"}
    assert "float32" in table.loc[table["param_scaler"] == "none", "error"].iloc[0]


def test_the_test_loss_is_exact_from_the_logits(tiny_spec, tmp_path):
    """The reported test loss equals an independent float64 cross-entropy of the saved
    members' logits (not of rounded float32 probabilities)."""
    from runtime.execution.prepared import dataset, fold_of
    table = runtime.run(tiny_spec, out=tmp_path, jobs=1)
    exp = spec_lang.load(tiny_spec)
    model = runtime.load_model(tmp_path)
    data = dataset(exp.config.data, str(exp.base_dir))
    test = fold_of(exp.config, exp, 0, None).test
    losses = []
    for member in model.members:
        z = np.asarray(member.net.logits(member.prep.transform(data.X[test])), dtype=np.float64)
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        losses.append(-log_p[np.arange(len(test)), data.y[test]].mean())
    assert table.attrs["best"]["test"]["test_loss"] == pytest.approx(np.mean(losses), rel=1e-9)
