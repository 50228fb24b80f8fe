"""Live progress of `nnspec run`, fed by the runner's progress events.

Events (`runtime.execution.runner`): "start" (a job handed to a worker), "trial" (a row is in:
`row`, `cached`, `done`, `metric`, `maximize`) and "message" (a note). The total is the number
of rows the run will fill: the strategy's planned trials (`runtime.search.planned_trials`:
exact for grid, random and TPE, an upper bound for the others) times seeds times folds (times
outer folds). Three ways to show it:

- stderr a terminal: two lines, a rich progress bar with the name, done/total, the ETA and
  the elapsed time, then (wrapped, not cut) running, the counts per state, the best so far and
  the running trial's epoch: readable at 80 columns;
- stderr piped (a log file, CI, a cluster job): plain timestamped lines, one when the run
  starts, one at each new best and one every `interval` seconds (from a timer thread, so a
  long trial still leaves a heartbeat), each with done/total;
- `json`: every event as one JSON line on stdout (nothing on stderr).

The ETA is the remaining rows (a running one less the fraction of its epochs its heartbeat
says are done) times the mean duration of the rows trained so far in this run (cached rows
took no time; before any, the running ones' projected from their heartbeats), divided by the
number of parallel workers.
"""
from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import Counter
from typing import Any, Iterable, TextIO

from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column
from rich.text import Text

from spec_lang import config as c
from spec_lang.experiment import Experiment

from runtime.types import TrialState

STATES = (TrialState.COMPLETE, TrialState.FAILED, TrialState.DIVERGED, TrialState.STALLED,
          TrialState.PRUNED)          # in the order the display counts them
INTERVAL_S = 30.0          # seconds between two plain lines when stderr is piped
LIVE_REFRESH_S = 1.0       # seconds between two refreshes of the live display
NAME_WIDTH = 24            # the experiment's name, at most, on the live display
BAR_WIDTH = 20             # the bar's fixed width: it stays visible at 80 columns


class _TwoLines(Progress):
    """rich's Progress, with the run's details (running, states, best, the running trial's
    epoch) on a line of their own under the bar, wrapped rather than cut: on one line at 80
    columns they squeezed the bar out and cut the name to 'p02_p…'."""

    details = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        """The bar's line, then the details' line."""
        yield self.make_tasks_table(self.tasks)
        if self.details:
            yield Text(self.details, style="dim", overflow="fold")


def planned_rows(exp: Experiment) -> tuple[int, bool]:
    """The rows (trial x seed x fold) the run fills before any border extension, and whether
    that number is exact (else an upper bound); (0, False) when there is no bound."""
    from runtime.search import planned_trials
    trials, exact = planned_trials(exp.search)
    protocol = exp.config.protocol
    if isinstance(protocol, c.Nested):
        folds = protocol.outer * protocol.inner
    elif isinstance(protocol, c.KFold):
        folds = protocol.k
    else:
        folds = 1
    return trials * len(exp.seed_list()) * folds, exact


def clock(seconds: float) -> str:
    """Seconds as H:MM:SS (or M:SS under an hour)."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"


class RunProgress:
    """The progress display of one run (a context manager and the runner's callback)."""

    def __init__(self, exp: Experiment, quiet: bool = False, *, jobs: int = 1,
                 json_lines: bool = False, interval: float = INTERVAL_S,
                 console: Console | None = None, local: bool = True) -> None:
        from runtime.report.terminal import console as default_console
        self.console = console or default_console
        self.name, self.quiet, self.json, self.interval = exp.name, quiet, json_lines, interval
        self.jobs = max(1, jobs)
        # Local workers have a job queued ahead of them (`executor.QUEUED_AHEAD`): handed out,
        # not yet training, so no more than `jobs` are shown running.
        self.local = local
        self.total, self.exact = planned_rows(exp)
        self.best = math.inf                # sign * value: lower is better
        self.metric = ""
        self.done, self.cached = 0, 0
        self.states: Counter[str] = Counter()
        self.running: dict[tuple, str | None] = {}    # running job -> its heartbeat file
        self.durations: list[float] = []
        self.messages: Counter[str] = Counter()
        self.started = time.time()
        self.live = not quiet and not json_lines and self.console.is_terminal
        self.plain = not quiet and not json_lines and not self.live
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        name = Column(max_width=NAME_WIDTH, no_wrap=True, overflow="ellipsis")
        self.bar = _TwoLines(TextColumn("[bold]{task.description}", table_column=name),
                             BarColumn(bar_width=BAR_WIDTH), TextColumn("{task.fields[status]}"),
                             TimeElapsedColumn(), console=self.console,
                             disable=not self.live, transient=True)
        self.task = self.bar.add_task(exp.name, total=self.total or None, status="")

    # ------------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "RunProgress":
        self.started = time.time()
        self.bar.__enter__()
        self._emit({"event": "started", "experiment": self.name, "total": self.total,
                    "exact": self.exact})
        if self.plain:
            self._line("started")
        if self.plain or self.live:
            self._timer = threading.Thread(target=self._beat, daemon=True)
            self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
        self.bar.__exit__(*exc)
        if self.plain:
            self._line("finished" if exc[0] is None else "stopped")
        self._emit({"event": "finished" if exc[0] is None else "stopped", "done": self.done,
                    "states": dict(self.states), "elapsed_s": time.time() - self.started})

    def _beat(self) -> None:
        """While the run goes on: the plain line every `interval` seconds, or the live display
        refreshed every second (a long trial's epochs move it between events)."""
        wait = self.interval if self.plain else LIVE_REFRESH_S
        while not self._stop.wait(wait):
            if self.plain:
                self._line("")
            else:
                with self._lock:
                    self._update()

    # -------------------------------------------------------------------------- events
    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        with self._lock:
            if kind == "message":
                self.messages[str(event["message"])] += 1
                self._emit(event)
                if not self.quiet and not self.json:
                    self.console.print(f"[yellow]note:[/] {event['message']}")
                return
            if kind == "start":
                self.running[(event.get("outer"), event["trial"], event["seed"],
                              event["fold"])] = event.get("heartbeat")
                self._emit(event)
                self._update()
                return
            improved = self._trial(event)
        self._emit({**event, "total": self.total, "states": dict(self.states),
                    "running": self.running_now(), "best": self.best_value(),
                    "new_best": improved})
        self._update()
        if improved and self.plain:
            self._line("new best")

    def _trial(self, event: dict[str, Any]) -> bool:
        """Count one finished row; whether it is a new best."""
        row, self.metric = event["row"], event["metric"]
        self.running.pop((row.get("outer"), row.get("trial"), row.get("seed"),
                          row.get("fold")), None)
        self.done = int(event.get("done", self.done + 1))
        self.total = max(self.total, self.done) if self.total else 0
        state = str(row.get("state", ""))
        self.states[state] += 1
        if event.get("cached"):
            self.cached += 1
        elif isinstance(row.get("duration_s"), (int, float)):
            self.durations.append(float(row["duration_s"]))
        sign = -1.0 if event["maximize"] else 1.0
        value = row.get(self.metric)
        if state == TrialState.COMPLETE and isinstance(value, (int, float)) \
                and math.isfinite(value) \
                and sign * value < self.best:
            self.best = sign * value
            self._sign = sign
            return True
        return False

    def best_value(self) -> float | None:
        """The best selection value so far, in the metric's own direction (None before one)."""
        if not math.isfinite(self.best):
            return None
        return getattr(self, "_sign", 1.0) * self.best

    def eta(self) -> float | None:
        """Seconds left: the rows still to train (a running one less the fraction of its
        epochs its heartbeat says are done) x the mean duration of a row (the finished
        ones', else the running ones' projected from their heartbeats) / workers; None when
        unknown."""
        if not self.total:
            return None
        beats = self.beats()
        projected = [b["seconds"] * b["epochs"] / b["epoch"] for b in beats
                     if isinstance(b.get("seconds"), (int, float))]
        durations = self.durations or projected
        if not durations:
            return None
        left = max(0.0, self.total - self.done - sum(map(_fraction, beats)))
        return left * (sum(durations) / len(durations)) / self.jobs

    # ------------------------------------------------------------------------- output
    def counts(self) -> str:
        """Rows done of the total, and the ETA: the live display's first line."""
        return f"{self._done()}  {self._eta()}"

    def details(self) -> str:
        """Running, per state, best, the running trial's epoch: the live display's second
        line."""
        return "  ".join(self._states() + self._best())

    def status(self) -> str:
        """The counts in words, on one line: done/total, running, per state, ETA, best."""
        return "  ".join([self._done(), *self._states(), self._eta(), *self._best()])

    def _done(self) -> str:
        total = "?" if not self.total else f"{'' if self.exact else '≤'}{self.total}"
        return f"{self.done}/{total} trials"

    def _eta(self) -> str:
        eta = self.eta()
        return f"ETA {clock(eta)}" if eta is not None else "ETA ?"

    def _states(self) -> list[str]:
        return [f"running {self.running_now()}"] + [
            f"{s} {self.states[s]}" for s in STATES if s != TrialState.COMPLETE and self.states[s]]

    def _best(self) -> list[str]:
        best = self.best_value()
        parts = [] if best is None else [f"best {self.metric} {best:.4g}"]
        longest = self.longest_running()
        return parts + ([longest] if longest else [])

    def running_now(self) -> int:
        """The jobs training now: those handed out, at most one per local worker."""
        return min(len(self.running), self.jobs) if self.local else len(self.running)

    def beats(self) -> list[dict[str, Any]]:
        """The last heartbeat of each running job that has one (trial and seed added), the
        earliest-started first."""
        from runtime.execution.heartbeat import read
        found = []
        for (_, trial, seed, _), beat in self.running.items():
            last = read(beat) if beat else None
            if last and last.get("epoch") and last.get("epochs"):
                found.append({**last, "trial": trial, "seed": seed})
        return found

    def longest_running(self) -> str:
        """The epoch the earliest-started running trial has reached ("" when unknown)."""
        beats = self.beats()
        if not beats:
            return ""
        last = beats[0]
        value = last.get("value")
        shown = f" valid_{last['metric']} {value:.4g}" if isinstance(
            value, (int, float)) and math.isfinite(value) else ""
        return f"(trial {last['trial']} seed {last['seed']}: epoch {last['epoch']}/" \
            f"{last['epochs']}{shown})"

    def _update(self) -> None:
        """The live display: the bar moves with the running trials' epochs too."""
        if self.live:
            moving = self.done + sum(map(_fraction, self.beats()))
            self.bar.details = self.details()
            self.bar.update(self.task, completed=moving, total=self.total or None,
                            status=self.counts())

    def _line(self, what: str) -> None:
        """One plain timestamped line on stderr."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        elapsed = clock(time.time() - self.started)
        with self._lock:
            text = f"{stamp} {self.name}: {self.status()}  elapsed {elapsed}"
        self._write(sys.stderr, text + (f"  ({what})" if what else ""))

    def _emit(self, event: dict[str, Any]) -> None:
        if self.json:
            from runtime.execution.store import json_safe
            record = {"time": round(time.time(), 3), **event}
            self._write(sys.stdout, json.dumps(json_safe(record), default=str))

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        try:
            stream.write(text + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):      # a closed reader: progress is not vital
            pass


def _fraction(beat: dict[str, Any]) -> float:
    """The fraction of its epochs a running trial has trained, from its heartbeat."""
    return min(1.0, beat["epoch"] / beat["epochs"])
