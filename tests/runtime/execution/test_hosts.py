"""Dask across real hosts: the scheduler (and the client, `nnspec run`) on one network
namespace, each of two workers on its own, joined by veth pairs to a bridge on a private /24
made here (10.77.0.0/24: no other address, no route out). Each worker starts in an empty folder
of its own; the spec's data path is relative to the client's folder. One worker's link is cut
mid-run: the run ends with `--jobs 2`'s table, no trial lost, none trained twice (the
scheduler's own transition log: each trial's task reached memory once).

Every process started here is stopped by its pid, and the namespaces are deleted, at the end.
Needs root and `ip netns`; skipped otherwise, unless NNSPEC_REQUIRE_NETNS is set (CI)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest

from .test_distributed import RUN_S, START_S, TRIALS, _env, _stop, _table, _wait_until, \
    write_spec
from .test_slurm import _rows

distributed = pytest.importorskip("distributed")

REQUIRE = "NNSPEC_REQUIRE_NETNS"
SUBNET = "10.77.0"
TTL = "6s"      # the scheduler drops a worker it has not heard from for this long (default 5 min)

COUNT_MEMORY = """
import json, sys
from collections import Counter
from distributed import Client
with Client(sys.argv[1], timeout="20s") as client:
    log = client.run_on_scheduler(lambda dask_scheduler: [
        (str(key), finish) for key, start, finish, *_ in dask_scheduler.transition_log])
trials = [key for key, _ in log if key.startswith("_on_dask_worker")]
print(json.dumps({"memory": Counter(k for k, f in log if f == "memory" and k in trials),
                  "processing": Counter(k for k, f in log if f == "processing"
                                        and k in trials)}))
"""


class Hosts:
    """Three network namespaces, `hub` (bridge, 10.77.0.1) and `w1`, `w2` (.11, .12)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        tag = f"{os.getpid() % 100000}"
        self.ns = {name: f"nnspec{tag}-{name}" for name in ("hub", "w1", "w2")}
        self.procs: list[subprocess.Popen] = []

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)

    def create(self) -> None:
        hub = self.ns["hub"]
        for ns in self.ns.values():
            self.ip("netns", "add", ns)
            self.ip("-n", ns, "link", "set", "lo", "up")
        self.ip("-n", hub, "link", "add", "br0", "type", "bridge")
        self.ip("-n", hub, "addr", "add", f"{SUBNET}.1/24", "dev", "br0")
        self.ip("-n", hub, "link", "set", "br0", "up")
        for number, name in ((11, "w1"), (12, "w2")):
            self.ip("link", "add", f"to-{name}", "netns", hub, "type", "veth", "peer", "name",
                    "eth0", "netns", self.ns[name])
            self.ip("-n", hub, "link", "set", f"to-{name}", "master", "br0")
            self.ip("-n", hub, "link", "set", f"to-{name}", "up")
            self.ip("-n", self.ns[name], "addr", "add", f"{SUBNET}.{number}/24", "dev", "eth0")
            self.ip("-n", self.ns[name], "link", "set", "eth0", "up")

    def start(self, host: str, *command: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> tuple[subprocess.Popen, Path]:
        """`command` on `host`, in `cwd` or a new empty folder of its own; with its log."""
        name = f"{host}-{len(self.procs)}"
        if cwd is None:
            cwd = self.folder / name
            cwd.mkdir()
        log = open(self.folder / f"{name}.log", "wb")
        try:
            proc = subprocess.Popen(["ip", "netns", "exec", self.ns[host], *command], cwd=cwd,
                                    env={**_env(), **(env or {})}, stdout=log,
                                    stderr=subprocess.STDOUT)
        finally:
            log.close()
        self.procs.append(proc)             # `ip netns exec` execs: its pid is the command's
        return proc, self.folder / f"{name}.log"

    def cut(self, host: str) -> None:
        """Take `host`'s link down (its end on the bridge): it is unreachable, not stopped."""
        self.ip("-n", self.ns["hub"], "link", "set", f"to-{host}", "down")

    def close(self) -> None:
        for proc in reversed(self.procs):
            _stop(proc)
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _why_not() -> str | None:
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[Hosts]:
    reason = _why_not()
    if reason:
        if os.environ.get(REQUIRE):
            pytest.fail(f"{REQUIRE} is set, but {reason}")
        pytest.skip(reason)
    made = Hosts(tmp_path / "hosts")
    made.folder.mkdir()
    try:
        made.create()
        yield made
    finally:
        made.close()


def test_a_worker_host_cut_off_mid_run_costs_nothing(hosts, jobs2_run, tmp_path):
    client_dir = tmp_path / "client"
    write_spec(client_dir / "d")

    info = hosts.folder / "scheduler.json"
    hosts.start("hub", sys.executable, "-m", "dask", "scheduler", "--host", f"{SUBNET}.1",
                "--port", "0", "--no-dashboard", "--scheduler-file", str(info),
                env={"DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL": TTL})
    _wait_until(lambda: info.exists() and bool(info.read_text().strip()), START_S,
                "the scheduler")
    address = json.loads(info.read_text())["address"]
    assert address.startswith(f"tcp://{SUBNET}.1:")
    for number, name in ((11, "w1"), (12, "w2")):
        hosts.start(name, sys.executable, "-m", "dask", "worker", address, "--host",
                    f"{SUBNET}.{number}", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                    "--death-timeout", "60", "--local-directory", "scratch")
    homes = [hosts.folder / "w1-1", hosts.folder / "w2-2"]
    out = tmp_path / "hosts-run"
    run, log = hosts.start("hub", sys.executable, "-m", "runtime", "run", "d/spec.spec",
                           "--quiet", "--scheduler", address, "--out", str(out),
                           cwd=client_dir)
    _wait_until(lambda: bool(_rows(out)) or run.poll() is not None, RUN_S, "a trial stored")
    assert run.poll() is None, "the run ended before a worker could be cut off"
    hosts.cut("w1")
    trained = len(_rows(out))
    run.wait(timeout=RUN_S)
    assert run.returncode == 0, log.read_text()
    assert trained < TRIALS
    pd.testing.assert_frame_equal(_table(out), _table(jobs2_run))
    stored = _rows(out)
    assert len(stored) == TRIALS and {(r, a) for r, a, *_ in stored.values()} == {(1, 1)}
    counts = json.loads(subprocess.run(
        ["ip", "netns", "exec", hosts.ns["hub"], sys.executable, "-c", COUNT_MEMORY, address],
        env=_env(), capture_output=True, text=True, timeout=60, check=True).stdout)
    # every task (the trials, then the final phase's refits) reached memory once: none trained
    # twice; the cut-off worker's trial was handed to the other worker
    assert len(counts["memory"]) >= TRIALS and set(counts["memory"].values()) == {1}
    assert max(counts["processing"].values()) == 2
    for home in homes:                                  # no file reached the workers
        assert [p.name for p in home.iterdir()] == ["scratch"]
        assert not list((home / "scratch").glob("**/*.csv"))
