"""The options of a batch cluster's jobs: read from the [cluster] section of the config files
and from --cluster-option, each bad value a located one-line error (exit 2 from the CLI)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runtime.execution.batch_options import BatchOptions, batch_cluster, option_pair


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the user's config file, the project's nnspec.toml), both in tmp_path, not yet written."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "nnspec").mkdir(parents=True)
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    return tmp_path / "config" / "nnspec" / "config.toml", tmp_path / "project" / "nnspec.toml"


def test_defaults_without_any_file(places):
    request = batch_cluster("slurm:3")
    assert (request.system, request.jobs, request.options) == ("slurm", 3, BatchOptions())
    assert request.sources == ()


def test_the_project_file_over_the_users_and_the_command_line_over_both(places):
    user, project = places
    user.write_text('[cluster]\nqueue = "long"\naccount = "lab"\nwalltime = "02:00:00"\n')
    project.write_text('[cluster]\nqueue = "short"\njob-extra = ["--qos=low", "--gres=none"]\n')
    request = batch_cluster("pbs:2", ["walltime=0-00:30:00", "job-extra=--exclusive"])
    assert request.options == BatchOptions(queue="short", account="lab",
                                           walltime="0-00:30:00", job_extra=("--exclusive",))
    assert request.sources == (str(user), str(project), "--cluster-option walltime",
                               "--cluster-option job-extra")
    project.write_text('[cluster]\njob-extra = ["--qos=low", "--gres=none"]\n')
    assert batch_cluster("sge:1").options.job_extra == ("--qos=low", "--gres=none")


@pytest.mark.parametrize("text, expected", [
    ("quue=short", "no cluster option 'quue'; did you mean 'queue'?"),
    ("queue", "give KEY=VALUE"),
    ("walltime=1h", "'walltime=1h': a walltime is HH:MM:SS"),
    ("memory=lots", "'memory=lots': a memory size is a number with a unit"),
    ("memory=0GB", "a memory size"),
    ("wait=soon", "a duration"),
    ("queue=two words", "give one word"),
])
def test_a_bad_command_line_option_says_what_is_wrong(text, expected):
    with pytest.raises(ValueError, match=expected.replace("?", r"\?")):
        option_pair(text)


def test_a_bad_value_in_a_file_names_the_file_and_line(places):
    user, project = places
    project.write_text('# lab settings\n[cluster]\nqueue = "short"\n\nwalltime = "1h"\n')
    with pytest.raises(ValueError) as error:
        batch_cluster("slurm:2")
    assert str(error.value).startswith(f"{project}:5: [cluster] walltime: a walltime is")
    project.write_text('[cluster]\nqueue = "a" "b"\n')
    with pytest.raises(ValueError, match=f"{project}: not valid TOML: .*line 2"):
        batch_cluster("slurm:2")
    project.write_text('[cluster]\nmemory = true\n')
    with pytest.raises(ValueError, match=r":2: \[cluster\] memory: give a string"):
        batch_cluster("slurm:2")
    project.write_text('cluster = "slurm"\n')
    with pytest.raises(ValueError, match=r"must be a table, \[cluster\]"):
        batch_cluster("slurm:2")


def test_job_options_retire_before_the_walltime_and_name_the_account_as_each_system_does():
    from runtime.execution.batch import job_options
    from runtime.execution.batch_options import BatchCluster
    options = BatchOptions(walltime="2-00:00:00", account="lab", queue="gpu")
    slurm = job_options(BatchCluster("slurm", 2, options), Path("runs/x"))
    assert slurm["walltime"] == "48:00:00" and slurm["account"] == "lab"
    assert slurm["worker_extra_args"] == ["--lifetime", "172500s", "--lifetime-stagger", "150s"]
    assert (slurm["cores"], slurm["processes"], slurm["queue"]) == (1, 1, "gpu")
    assert slurm["log_directory"] == str(Path("runs/x/workers"))
    sge = job_options(BatchCluster("sge", 2, options), None)
    assert sge["project"] == "lab" and "account" not in sge and sge["log_directory"] is None


@pytest.mark.parametrize("args, expected", [
    (["--cluster", "slurm:0"], "argument --cluster: 'slurm:0': a cluster to start is local:N, "
                               "slurm:N"),
    (["--cluster", "lsf:2"], "argument --cluster: 'lsf:2'"),
    (["--cluster", "slurm:2", "--cluster-option", "quue=short"],
     "argument --cluster-option: 'quue=short': no cluster option 'quue'"),
    (["--cluster", "local:1", "--cluster-option", "queue=short"],
     "--cluster-option sets the jobs of --cluster slurm:N"),
    (["--cluster-option", "queue=short"], "--cluster-option sets the jobs"),
])
def test_bad_cluster_arguments_are_one_line_and_exit_2(tiny_spec, tmp_path, capsys, places,
                                                       args, expected):
    from runtime.cli.command import main
    try:
        status = main(["run", str(tiny_spec), "--out", str(tmp_path / "never"), *args])
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and expected in errors[0], err
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "never").exists()


def test_a_bad_config_file_is_a_located_usage_error(tiny_spec, tmp_path, capsys, places):
    from runtime.cli.command import main
    places[1].write_text('[cluster]\nmemory = "2 gigs"\n')
    status = main(["run", str(tiny_spec), "--out", str(tmp_path / "never"), "--cluster",
                   "slurm:2"])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"nnspec run: error: {places[1]}:2: [cluster] memory")
    assert not (tmp_path / "never").exists()


def test_no_sbatch_here_is_one_line_saying_where_to_run(tiny_spec, tmp_path, capsys, places,
                                                        monkeypatch):
    pytest.importorskip("dask_jobqueue")
    from runtime.cli.command import main
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status = main(["run", str(tiny_spec), "--out", str(tmp_path / "out"), "--quiet",
                   "--cluster", "slurm:2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1, err
    assert "`sbatch`, which is not on this machine's PATH" in err[0]
    assert "login node" in err[0]


def test_without_dask_jobqueue_the_error_says_what_to_install(tiny_spec, tmp_path, capsys,
                                                              places, monkeypatch):
    from runtime.cli.command import main
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)     # as if not installed
    status = main(["run", str(tiny_spec), "--out", str(tmp_path / "out"), "--quiet",
                   "--cluster", "slurm:2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and err == ["running on a batch queue needs dask-jobqueue: "
                                   "pip install 'nnspec[jobqueue]'"]


@pytest.mark.parametrize("system, lines", [
    ("slurm", ["#SBATCH -p short", "#SBATCH -A lab", "#SBATCH -t 48:00:00",
               "#SBATCH --mem=3G", "#SBATCH --cpus-per-task=1", "#SBATCH --qos=low"]),
    ("pbs", ["#PBS -q short", "#PBS -A lab", "#PBS -l walltime=48:00:00", "#PBS --qos=low"]),
    ("sge", ["#$ -q short", "#$ -P lab", "#$ -l h_rt=48:00:00", "#$ --qos=low"]),
])
def test_each_systems_job_script_carries_the_options(system, lines, tmp_path):
    """The header dask-jobqueue writes for each system, and one single-threaded worker that
    retires before the walltime (its job script, nothing submitted)."""
    jobqueue = pytest.importorskip("dask_jobqueue")
    from runtime.execution.batch import CLASSES, job_options
    from runtime.execution.batch_options import BatchCluster
    options = BatchOptions(queue="short", account="lab", walltime="2-00:00:00", memory="3GB",
                           job_extra=("--qos=low",), python=sys.executable)
    kwargs = job_options(BatchCluster(system, 2, options), tmp_path)
    with getattr(jobqueue, CLASSES[system])(**kwargs) as cluster:
        script = cluster.job_script()
    for line in lines:
        assert line in script.splitlines(), script
    assert "--nthreads 1 " in script and "--lifetime 172500s --lifetime-stagger 150s" in script
