"""What a batch cluster (`--cluster slurm:N`, `pbs:N`, `sge:N`) is asked for: the queue system,
the number of worker jobs, and their options (queue, account, walltime, memory, ...), read from
the `[cluster]` section of the config files and from `--cluster-option KEY=VALUE`, each value
checked here with a message that says where it came from. No Dask is imported here."""
from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from spec_lang.errors import did_you_mean

SYSTEMS = {"slurm": "Slurm", "pbs": "PBS", "sge": "SGE"}     # name in --cluster -> its title
PROJECT_FILE = "nnspec.toml"                                  # in the folder `nnspec run` runs in
SECTION = "cluster"
MAX_JOBS = 10_000


@dataclass(frozen=True)
class BatchOptions:
    """The options of every worker job (the defaults are those of docs/scale.md)."""

    queue: str | None = None           # Slurm partition, PBS/SGE queue; None: the system's default
    account: str | None = None         # the account (Slurm, PBS) or project (SGE) charged
    walltime: str = "01:00:00"         # each job's time limit; workers retire a little before
    memory: str = "2GB"                # each job's memory (one single-threaded worker)
    interface: str | None = None       # network interface of the scheduler and workers (ib0)
    python: str | None = None          # the workers' Python (default: this one)
    log_directory: str | None = None   # the jobs' output files (default: RUN/workers)
    job_extra: tuple[str, ...] = ()    # more lines for the job's header (e.g. --qos=short)
    wait: str = "1h"                   # how long the run waits for a worker (a slow queue)


@dataclass(frozen=True)
class BatchCluster:
    """A batch cluster to start for a run: `jobs` worker jobs on `system` with `options`;
    `sources` names where the options were read (for messages)."""

    system: str
    jobs: int
    options: BatchOptions = BatchOptions()
    sources: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The queue system's name as people write it (Slurm, PBS, SGE)."""
        return SYSTEMS[self.system]


def _walltime(text: str) -> str:
    if not re.fullmatch(r"(\d+-)?\d{1,3}:[0-5]\d(:[0-5]\d)?", text):
        raise ValueError("a walltime is HH:MM:SS, HH:MM or D-HH:MM:SS (e.g. 01:00:00)")
    return text


def _bytes(text: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*([kmgt]i?b)", text.strip(), re.IGNORECASE) \
            or float(re.split(r"[^\d.]", text.strip())[0]) <= 0:
        raise ValueError("a memory size is a number with a unit (e.g. 2GB, 500MB)")
    return text


def _duration(text: str) -> str:
    if seconds(text) is None:
        raise ValueError("a duration is a number with s, m or h (e.g. 30m, 2h)")
    return text


def _word(text: str) -> str:
    if not text.strip() or any(ch.isspace() for ch in text):
        raise ValueError("give one word, without spaces")
    return text


def _any(text: str) -> str:
    if not text.strip():
        raise ValueError("give a value")
    return text


CHECKS: dict[str, Callable[[str], str]] = {
    "queue": _word, "account": _word, "walltime": _walltime, "memory": _bytes,
    "interface": _word, "python": _any, "log-directory": _any, "job-extra": _any,
    "wait": _duration,
}


def seconds(text: str) -> float | None:
    """`90s`, `30m`, `2h` (or a bare number of seconds) in seconds; None if it is none."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        return None
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def walltime_seconds(text: str) -> int:
    """A checked walltime (`[D-]HH:MM[:SS]`) in seconds."""
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")] + [0]
    return int(days or 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def cluster_name(text: str) -> tuple[str, int]:
    """`slurm:N` (or pbs:N, sge:N) -> (system, N); ValueError saying what is accepted."""
    name, colon, count = text.partition(":")
    if name not in SYSTEMS or not colon or not count.isdigit() or int(count) < 1:
        raise ValueError(f"'{text}': a cluster to start is local:N, slurm:N, pbs:N or sge:N, "
                         "N worker processes (e.g. slurm:8)")
    if int(count) > MAX_JOBS:
        raise ValueError(f"'{text}': at most {MAX_JOBS:,} worker jobs")
    return name, int(count)


def option_pair(text: str) -> tuple[str, str]:
    """`--cluster-option KEY=VALUE` -> (KEY, VALUE), the key known and the value checked."""
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals:
        raise ValueError(f"'{text}': give KEY=VALUE (e.g. queue=short)")
    return key, _checked(key, value.strip(), f"'{text}'")


def _checked(key: str, value: str, where: str) -> str:
    if key not in CHECKS:
        hint = did_you_mean(key, CHECKS)
        raise ValueError(f"{where}: no cluster option '{key}'{'; ' + hint if hint else ''} "
                         f"(options: {', '.join(CHECKS)})")
    try:
        return CHECKS[key](value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def config_files(cwd: Path | None = None) -> list[Path]:
    """The config files read, in order (a later one wins): the user's
    `$XDG_CONFIG_HOME/nnspec/config.toml` (default `~/.config/...`), then `./nnspec.toml`."""
    home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path(home) / "nnspec" / "config.toml", (cwd or Path.cwd()) / PROJECT_FILE]


def read_section(path: Path) -> dict[str, list[str]]:
    """The `[cluster]` section of one TOML file, each value checked and as strings (a list for
    job-extra); ValueError naming the file and line of a bad one. {} without file or section."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:                                                 # Python 3.10: the same, from PyPI
        import tomli as tomllib
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return {}
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        section = tomllib.loads(text).get(SECTION, {})
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    if not isinstance(section, dict):
        raise ValueError(f"{path}: '{SECTION}' must be a table, [{SECTION}]")
    found: dict[str, list[str]] = {}
    for key, value in section.items():
        where = f"{path}:{_line_of(text, key)}: [{SECTION}] {key}"
        values = value if isinstance(value, list) and key == "job-extra" else [value]
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                   for v in values):
            raise ValueError(f"{where}: give a string (e.g. {key} = \"...\")")
        found[key] = [_checked(key, str(v), where) for v in values]
    return found


def _line_of(text: str, key: str) -> int:
    """The line of `key = ...` in a TOML text (1 when it cannot be found)."""
    pattern = re.compile(rf"^[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*=", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def batch_cluster(text: str, cli_options: Iterable[str] = (), cwd: Path | None = None
                  ) -> BatchCluster:
    """The batch cluster `text` (`slurm:N`, ...) with its options: the defaults, then each
    config file, then `cli_options` (`KEY=VALUE`, job-extra adds up); ValueError if any is bad."""
    system, jobs = cluster_name(text)
    values: dict[str, list[str]] = {}
    sources: list[str] = []
    for path in config_files(cwd):
        section = read_section(path)
        if section:
            values.update(section)
            sources.append(str(path))
    extra: list[str] = []
    for item in cli_options:
        key, value = option_pair(item)
        if key == "job-extra":
            extra.append(value)
        else:
            values[key] = [value]
        sources.append(f"--cluster-option {key}")
    if extra:
        values["job-extra"] = extra
    return BatchCluster(system, jobs, _options(values), tuple(dict.fromkeys(sources)))


def _options(values: Mapping[str, list[str]]) -> BatchOptions:
    fields: dict[str, Any] = {key.replace("-", "_"): vals[0] for key, vals in values.items()}
    if "job_extra" in fields:
        fields["job_extra"] = tuple(values["job-extra"])
    return dataclasses.replace(BatchOptions(), **fields)
