"""A one-node Slurm cluster on this machine, for tests and the start-up bench: munged, slurmctld
and slurmd started in the foreground by their pids, with every file (slurm.conf, the munge key
and socket, the state, the logs) in one folder, on free ports, so that nothing outside that
folder is read or changed. Commands see it through `SLURM_CONF` (`OneNodeSlurm.env`).

Needs Debian's `slurm-wlm` and `munge` (installed by .ci/run) and root (slurmd starts the
jobs as their user)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "scancel", "squeue", "sinfo")
START_S = 60.0
REQUIRE = "NNSPEC_REQUIRE_SLURM"       # set (by .ci/run): a Slurm that cannot start fails
NODE = "nnspec-node"
ACTIVE = "PENDING,CONFIGURING,RUNNING,COMPLETING"    # a job not ended yet

CONF = """ClusterName=nnspec
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={folder}/munge.socket
CredType=cred/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=30
SchedulerParameters=sched_interval=2
NodeName={node} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def why_not() -> str | None:
    """Why a one-node Slurm cannot start here (None: it can)."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        return (f"Slurm is not installed ({', '.join(missing)} missing): "
                "apt-get install slurm-wlm munge")
    if os.geteuid() != 0:
        return "a test Slurm's slurmd runs as root, and this is not root"
    return None


def _free_ports(count: int) -> list[int]:
    """`count` distinct ports free now (each held until all are chosen: two in a row could
    otherwise be the same). Another process may still take one before a daemon binds it:
    `OneNodeSlurm.start` then starts again on new ones."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _memory_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return max(1000, total_kb // 1024 - 512)


class OneNodeSlurm:
    """munged, slurmctld and slurmd in `folder`; `start()` waits for the node to be idle."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.conf = folder / "slurm.conf"
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self, attempts: int = 3) -> None:
        """Start the cluster (`_start`); again on new ports when a daemon found its port
        taken between choosing it and binding it (seen once in CI: slurmd's)."""
        for attempt in range(attempts):
            try:
                self._start()
                return
            except RuntimeError as exc:
                self.stop()
                if "Address already in use" not in str(exc) or attempt == attempts - 1:
                    raise

    def _start(self) -> None:
        """Write the configuration and the key, start the three daemons, wait for the node."""
        for sub in ("state", "spool"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        key = self.folder / "munge.key"
        key.unlink(missing_ok=True)                 # read-only, from an earlier attempt
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        host = socket.gethostname().split(".")[0]
        ctld_port, d_port = _free_ports(2)
        self.conf.write_text(CONF.format(host=host, ctld_port=ctld_port,
                                         d_port=d_port, folder=self.folder, node=NODE,
                                         cpus=os.cpu_count() or 1, memory=_memory_mb()))
        f = self.folder
        (f / "munge.socket").unlink(missing_ok=True)    # an earlier attempt's
        self._daemon("munged", "--foreground", "--force", f"--socket={f}/munge.socket",
                     f"--key-file={key}", f"--log-file={f}/munged.log",
                     f"--pid-file={f}/munged.pid", f"--seed-file={f}/munged.seed")
        self._wait(lambda: (f / "munge.socket").exists(), "munged's socket")
        self._daemon("slurmctld", "-D", "-i")
        self._daemon("slurmd", "-D", "-N", NODE)
        self._wait(self.idle, "the Slurm node to be idle")

    def _daemon(self, *command: str) -> None:
        log = open(self.folder / f"{command[0]}.out", "wb")
        try:
            self.procs.append(subprocess.Popen(list(command), env=self.env, stdout=log,
                                               stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL))
        finally:
            log.close()

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_S
        while not ready():
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(p.read_text(errors="replace")[-2000:]
                                 for p in sorted(self.folder.glob("*.out")))
                raise RuntimeError(f"waiting for {what}: {dead or 'timed out'}\n{logs}")
            time.sleep(0.2)

    def run(self, *command: str) -> str:
        """A Slurm command against this cluster; its stdout."""
        return subprocess.run(list(command), env=self.env, capture_output=True, text=True,
                              timeout=30).stdout

    def idle(self) -> bool:
        """Whether the node is up and has nothing running."""
        return self.run("sinfo", "-h", "-o", "%T").strip() == "idle"

    def jobs(self, state: str = "RUNNING") -> list[str]:
        """The ids of the jobs in `state` (RUNNING, PENDING)."""
        return self.run("squeue", "-h", "-t", state, "-o", "%i").split()

    def stop(self) -> None:
        """Cancel what is left, then stop the daemons (newest first) by their pids."""
        if self.procs and self.procs[-1].poll() is None:
            self.run("scancel", "--user", "root")
            deadline = time.monotonic() + 20
            while self.jobs(ACTIVE) and time.monotonic() < deadline:
                time.sleep(0.5)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs = []
