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
    from runtime.cli import command as cli
    from runtime.cli.command import main
    monkeypatch.setattr(cli, "SCHEDULER_TIMEOUT", "1s")
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
