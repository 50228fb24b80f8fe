"""Trials on a real Dask LocalCluster (127.0.0.1, no dashboard) give the local table."""
from __future__ import annotations

import pandas as pd
import pytest

import runtime

from .conftest import stable

distributed = pytest.importorskip("distributed")


def test_dask_cluster_runs_the_same_table_as_local(tiny_spec, tmp_path):
    local = runtime.run(tiny_spec, out=tmp_path / "local", jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster) as client:
        remote = runtime.run(tiny_spec, out=tmp_path / "dask", client=client)
        assert len(client.scheduler_info()["workers"]) == 2
    pd.testing.assert_frame_equal(stable(local), stable(remote))
