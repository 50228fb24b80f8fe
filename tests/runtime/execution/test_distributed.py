"""Trials on a real Dask LocalCluster (127.0.0.1, no dashboard) give the local table."""
from __future__ import annotations

import pandas as pd
import pytest

import runtime

from ..conftest import stable

distributed = pytest.importorskip("distributed")


def test_dask_cluster_runs_the_same_table_as_local(tiny_spec, tmp_path):
    local = runtime.run(tiny_spec, out=tmp_path / "local", jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster) as client:
        remote = runtime.run(tiny_spec, out=tmp_path / "dask", client=client)
        assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(stable(local), stable(remote))


def test_nnspec_run_with_a_scheduler_address(tiny_spec, tmp_path, capsys):
    from runtime.cli.command import main
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        status = main(["run", str(tiny_spec), "--out", str(tmp_path), "--quiet",
                       "--scheduler", cluster.scheduler_address])
    assert status == 0
    assert (tmp_path / "trials.csv").exists()
    assert "test (scored once)" in capsys.readouterr().out


def test_an_unreachable_scheduler_is_a_clear_error(tiny_spec, tmp_path, capsys, monkeypatch):
    import socket
    from runtime.cli.command import main
    from runtime.execution import cluster
    monkeypatch.setattr(cluster, "SCHEDULER_TIMEOUT", "1s")
    with socket.socket() as sock:           # a free port on loopback, nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status = main(["run", str(tiny_spec), "--out", str(tmp_path), "--quiet",
                   "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert status == 1
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_workers_need_no_data_files_the_client_ships_the_data(tmp_path, monkeypatch):
    """The workers start in another folder; the spec's data path is relative to the client's
    folder. Without the data shipped from the client, every trial would fail (file not found)."""
    from .test_trust import write_points
    elsewhere = tmp_path / "workers"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)                       # the workers' working folder
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster) as client:
        write_points(tmp_path / "client" / "d")
        monkeypatch.chdir(tmp_path / "client")
        import spec_lang
        exp = spec_lang.load("d/spec.spec")
        assert not exp.base_dir.is_absolute()
        remote = runtime.run(exp, out=tmp_path / "dask", client=client)
    assert set(remote["state"]) == {"complete"}
    local = runtime.run(exp, out=tmp_path / "local", jobs=1)
    pd.testing.assert_frame_equal(stable(local), stable(remote))


def test_a_cluster_without_workers_is_a_clear_error_not_a_hang(tiny_spec, tmp_path,
                                                               monkeypatch):
    from runtime.errors import NnspecError
    from runtime.execution import executor
    monkeypatch.setattr(executor, "NO_WORKERS_S", 1.0)
    monkeypatch.setattr(executor, "DASK_CHECK_S", 0.2)
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(NnspecError, match="no worker for 1 s"):
            runtime.run(tiny_spec, out=tmp_path, client=client)


def test_a_scheduler_that_dies_mid_run_is_a_clear_error(tmp_path, monkeypatch):
    import threading
    from runtime.errors import NnspecError
    from runtime.execution import executor
    from .test_trust import SLOW
    monkeypatch.setattr(executor, "DASK_CHECK_S", 0.2)
    spec = tmp_path / "slow.spec"
    spec.write_text(SLOW.replace("epochs 60", "epochs 400"))
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None, processes=True)
    client = distributed.Client(cluster)
    try:
        stopper = threading.Timer(3.0, cluster.close)
        stopper.start()
        with pytest.raises(NnspecError, match="lost the Dask cluster mid-run"):
            runtime.run(spec, out=tmp_path / "run", client=client)
        stopper.join()
    finally:
        client.close()
        cluster.close()
    store = runtime.execution.store.RunStore(tmp_path / "run" / "store.sqlite", readonly=True)
    assert store.runs()[0]["status"] == "failed"


def test_a_local_cluster_started_for_the_run(tiny_spec, tmp_path, capsys):
    from runtime.cli.command import main
    local = runtime.run(tiny_spec, out=tmp_path / "local", jobs=1)
    status = main(["run", str(tiny_spec), "--out", str(tmp_path / "dask"), "--quiet",
                   "--cluster", "local:2"])
    assert status == 0
    remote = pd.read_csv(tmp_path / "dask" / "trials.csv", dtype={"error": str})
    remote["error"] = remote["error"].fillna("")
    pd.testing.assert_frame_equal(stable(local).drop(columns=["attempts"]),
                                  stable(remote).drop(columns=["attempts"]), check_dtype=False)


@pytest.mark.parametrize("bad", ["local:0", "cluster:2", "local:x"])
def test_a_bad_cluster_is_a_usage_error(tiny_spec, tmp_path, capsys, bad):
    from runtime.cli.command import main
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(tiny_spec), "--out", str(tmp_path), "--cluster", bad])
    assert exit_.value.code == 2 and "local:N" in capsys.readouterr().err


def test_runtime_run_takes_an_address_or_a_local_cluster(tiny_spec, tmp_path):
    from runtime.errors import NnspecError
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        by_address = runtime.run(tiny_spec, out=tmp_path / "a", client=cluster.scheduler_address)
    started = runtime.run(tiny_spec, out=tmp_path / "b", cluster="local:1")
    pd.testing.assert_frame_equal(stable(by_address), stable(started))
    with pytest.raises(NnspecError, match="tcp:// or tls://"):
        runtime.run(tiny_spec, out=tmp_path / "c", client="http://127.0.0.1:8786")
