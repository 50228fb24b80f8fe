"""The `nnspec` command: check, fmt, run, show, report, compare, predict."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

import spec_lang
from spec_lang import SpecError

from runtime import __version__
from runtime.errors import NnspecError, first_line

EXIT_SIGPIPE = 128 + 13      # what a shell reports for a command ended by SIGPIPE (`| head`)


class UsageError(Exception):
    """A bad command-line value found after parsing (exit 2, like argparse's own errors)."""


EXAMPLES = {
    "check": "examples:\n  nnspec check specs/*.spec\n  nnspec check --gradients --overfit "
             "specs/quickstart.spec\n  nnspec check --lr-range specs/lr_auto.spec --out lr.png",
    "fmt": "examples:\n  nnspec fmt specs/digits.spec\n  nnspec fmt --write specs/*.spec\n"
           "  nnspec fmt --check specs/*.spec   # exit 1 if any file is not canonical",
    "run": "examples:\n  nnspec run specs/quickstart.spec\n  nnspec run specs/digits.spec "
           "--out runs/digits --jobs 2\n  nnspec run specs/digits.spec --scheduler "
           "tcp://127.0.0.1:8786",
    "show": "examples:\n  nnspec show runs/quickstart\n  nnspec show runs/quickstart --top 20",
    "report": "examples:\n  nnspec report runs/quickstart   # writes runs/quickstart/report/",
    "compare": "examples:\n  nnspec compare runs/digits runs/quickstart\n"
               "  nnspec compare runs/a runs/b --out comparison.html",
    "examples": "examples:\n  nnspec examples              # into ./nnspec-examples\n"
                "  nnspec examples my-specs && nnspec run my-specs/plants.spec",
    "predict": "examples:\n  nnspec predict runs/plants specs/data/plants.csv   # + its metrics\n"
               "  nnspec predict runs/plants new.csv --out predictions.csv --proba\n"
               "  nnspec predict runs/plants specs/data/plants.csv --json   # metrics as JSON",
    "lsp": "examples:\n  nnspec lsp          # started by an editor: docs/editors.md\n"
           "  pip install 'nnspec[editor]'   # what it needs",
}


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="nnspec", description="Run neural-network experiments from a plain-text spec.",
        epilog="Run 'nnspec COMMAND --help' for a command's options.")
    top.add_argument("--version", action="version", version=f"nnspec {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, epilog=EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("check", "Parse and validate specs; optionally check gradients and overfitting.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--gradients", action="store_true",
                   help="compare backprop with finite differences (float64, a small batch)")
    p.add_argument("--overfit", action="store_true",
                   help="check that the network can overfit a tiny training subset")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per file on stdout (file, ok, lines, error)")
    p.add_argument("--lr-range", action="store_true",
                   help="a learning-rate range test: the largest rate that does not diverge, "
                        "half of it as a suggestion, a search interval, and the loss against "
                        "the rate as a PNG (beside the spec, or at --out)")
    p.add_argument("--out", type=Path, metavar="PNG",
                   help="with --lr-range and one FILE: where to write the plot")
    p = command("fmt", "Print a spec in canonical form (comments kept).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the files in place")
    mode.add_argument("--check", action="store_true",
                      help="print nothing on stdout; name each file that is not in canonical "
                           "form on stderr and exit 1")
    p = command("run", "Train and search as the spec says; print and save the results.")
    p.add_argument("file", type=Path, metavar="FILE",
                   help="a spec file, or the name of a shipped example (quickstart, ...)")
    p.add_argument("--out", type=Path, help="run folder (default: runs/<experiment name>)")
    p.add_argument("--jobs", type=jobs_count, default=None, metavar="N",
                   help="parallel trials, each with one BLAS thread (default, or -1: the "
                        "cores)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", type=scheduler_address, metavar="ADDRESS",
                       help="a Dask scheduler to run the trials on: tcp://HOST:PORT or "
                            "tls://HOST:PORT (HOST:PORT means tcp)")
    where.add_argument("--cluster", type=local_cluster, metavar="local:N|slurm:N",
                       help="start a Dask cluster for the run: N single-threaded worker "
                            "processes on this machine (local:N), or N worker jobs on a batch "
                            "queue (slurm:N, pbs:N, sge:N; see docs/scale.md)")
    p.add_argument("--cluster-option", type=cluster_option, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="a batch cluster's job option (queue, account, walltime, memory, "
                        "interface, python, log-directory, job-extra, wait), over the "
                        "[cluster] section of ./nnspec.toml and ~/.config/nnspec/config.toml")
    p.add_argument("--fresh", action="store_true",
                   help="forget the trials and artifacts an earlier run left in the folder")
    p.add_argument("--quiet", action="store_true", help="print only the final table")
    p.add_argument("--json", action="store_true",
                   help="the run's events as JSON lines on stdout (started, start, trial, "
                        "message, finished, then one result line); no table, no progress")
    p.add_argument("--report", action="store_true",
                   help="write RUN/report/index.html when the run has finished")
    p = command("show", "Print the summary and the chosen configuration of a finished run.")
    p.add_argument("run", type=Path, metavar="RUN")
    p.add_argument("--top", type=positive_int, default=10, metavar="N",
                   help="configurations to list (default 10)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object on stdout: best.json, the top summary rows, the "
                        "provenance")
    p = command("report", "Write RUN/report/index.html: one self-contained page of a finished "
                "run (curves, hyper-parameter effects, importance, the network's weights).")
    p.add_argument("run", type=Path, metavar="RUN")
    p = command("compare", "Print the chosen configurations and test scores of finished runs "
                "side by side, and write them as one HTML page.")
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN")
    p.add_argument("--out", type=Path, default=Path("compare.html"),
                   help="the HTML page to write (default: ./compare.html)")
    p = command("examples", "Copy the example specs that ship with nnspec, with their data "
                "files, to a folder.")
    p.add_argument("folder", type=Path, nargs="?", default=Path("nnspec-examples"),
                   metavar="DIR", help="where to copy them (default: ./nnspec-examples)")
    p = command("predict", "Predict with the chosen configuration's saved model.")
    p.add_argument("run", type=Path, metavar="RUN")
    p.add_argument("data", type=Path, metavar="DATA", help="a CSV (same feature columns) or "
                   ".npz (array X); with the target column (array y), its metrics are printed")
    p.add_argument("--out", type=Path, help="write the predictions CSV here (default: stdout)")
    p.add_argument("--proba", action="store_true",
                   help="add the predicted probabilities (p_<class>, or p_<i> per label)")
    p.add_argument("--json", action="store_true",
                   help="print the metrics as one JSON object on stdout (DATA must hold the "
                        "target; the predictions go to --out only)")
    p = command("lsp", "The language server of .spec files, for editors (LSP over stdio: "
                "diagnostics, completion, hover, definition, formatting, outline).")
    p.add_argument("--stdio", action="store_true",
                   help="talk over stdin and stdout (the only way; accepted for clients that "
                        "pass it)")
    return top


def jobs_count(text: str) -> int:
    """`--jobs`: a positive number of workers, or -1 for every core (as joblib and scikit-learn)."""
    from spec_lang.limits import workers_problem
    value = _int(text)
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"must be a positive number of workers, or -1 for "
                                         f"every core; got {value}")
    problem = workers_problem(value, "asks for")
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: '{text}'") from None


def scheduler_address(text: str) -> str:
    """`--scheduler`: `runtime.execution.cluster.scheduler_address`, as a usage error."""
    from runtime.execution import cluster
    try:
        cluster.require_dask()
        return cluster.scheduler_address(text)
    except (ValueError, NnspecError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def local_cluster(text: str) -> str:
    """`--cluster local:N` (or slurm:N, pbs:N, sge:N): checked here, started by the runner."""
    from runtime.execution import batch_options, cluster
    try:
        if cluster.is_batch(text):
            batch_options.cluster_name(text)
        else:
            cluster.local_workers(text)
        cluster.require_dask()
    except (ValueError, NnspecError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def cluster_option(text: str) -> str:
    """`--cluster-option KEY=VALUE`: the key known and the value checked (its use later)."""
    from runtime.execution import batch_options
    try:
        batch_options.option_pair(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def run_cluster(args: argparse.Namespace) -> Any:
    """`run --cluster`: a `BatchCluster` for slurm:N, pbs:N, sge:N (the config files' options
    under --cluster-option's), the text otherwise; UsageError for a bad option."""
    from runtime.execution import batch_options, cluster
    if not cluster.is_batch(args.cluster):
        if args.cluster_option:
            raise UsageError("--cluster-option sets the jobs of --cluster slurm:N, pbs:N or "
                             "sge:N")
        return args.cluster
    try:
        return batch_options.batch_cluster(args.cluster, args.cluster_option)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def entry() -> None:
    """The console script: `main`, then an immediate exit. Every artifact is written and
    renamed, the store closed and the workers told to end by then; what is left, the
    interpreter's teardown of pandas, scikit-learn and the worker pool, took 2 of a 10-second
    search's seconds, so it is skipped (local workers end themselves with their parent)."""
    signal.signal(signal.SIGTERM, _terminated)     # a batch system's polite stop
    quiet_resource_tracker()
    status = main()
    from runtime.execution.executor import stop_workers
    stop_workers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(status)


TRACKER_NOTICES = "ignore:resource_tracker:UserWarning"


def quiet_resource_tracker() -> None:
    """Keep loky's resource tracker from telling the user about its own cleanup. A worker
    killed while it holds the pool's semaphores (a run stopped mid-trial; the quick exit's
    shutdown) never gives back its share of them, so the tracker, a child process writing to
    our stderr, unlinks them once we exit and warns "There appear to be N leaked semlock
    objects". The cleanup is its job; the notice is noise. The tracker starts with this
    process's `sys.warnoptions`, so this runs before any worker does (the command line only:
    importing the library changes no warning filter)."""
    if TRACKER_NOTICES not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_NOTICES)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the run stops where it is, its record and its workers
    closed, the finished trials stored (exit status 143, as a shell reports a SIGTERM)."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nnspec` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = COMMANDS[args.command]
    try:
        status = handler(args)
        sys.stdout.flush()          # a closed pipe shows here, not at interpreter exit
        return status
    except (SpecError, NnspecError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"nnspec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:         # `nnspec show RUN | head`: the reader has what it wanted
        _drop_stdout()
        return EXIT_SIGPIPE
    except OSError as exc:          # a path to read or write: missing, full, read-only
        print(f"nnspec {args.command}: error: {_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        word, status = ("terminated", 143) if isinstance(exc, Terminated) else \
            ("interrupted", 130)
        print(f"{word}: finished trials are stored; run again to resume", file=sys.stderr)
        return status


def _os_error(exc: OSError) -> str:
    """`path: reason` of a failed read or write (`cannot write out.csv: Read-only file system`)."""
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:           # a copy: which file was going where
        where = f"{where} -> {exc.filename2}"
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileExistsError):    # mkdir's word when a file has the folder's name
        reason = "a file is where a folder must be made"
    return f"{where}: {reason}" if where else reason


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again
    (the recipe of Python's `signal` documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _check(args: argparse.Namespace) -> int:
    from runtime.cli import checks
    failed = False
    for path in args.files:
        error = ""
        lines: list[str] = []
        try:
            exp = spec_lang.load(_example_or(path))
            lines = checks.run_checks(exp, gradients=args.gradients, overfit=args.overfit,
                                      lr_range=_lr_range_png(args, path))
        except SpecError as exc:
            error = str(exc)
        except NnspecError as exc:
            error = f"{path}: {exc}"
        bad = bool(error) or any(line.startswith("FAIL") for line in lines)
        failed |= bad
        if args.json:
            import json
            print(json.dumps({"file": str(path), "ok": not bad, "lines": lines,
                              "error": error}))
        elif error:
            print(error, file=sys.stderr)
        else:
            print(f"{path}: OK" if not lines else f"{path}:\n  " + "\n  ".join(lines))
    return 1 if failed else 0


def _lr_range_png(args: argparse.Namespace, path: Path) -> Path | None:
    """`check --lr-range`'s PNG for `path` (None without --lr-range); --out: one FILE."""
    from runtime.cli.lr_range import png_path
    if args.out is not None and (not args.lr_range or len(args.files) > 1):
        raise UsageError("--out names the --lr-range plot of one FILE")
    return png_path(path, args.out) if args.lr_range else None


def _fmt(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            source = spec_lang.read(path)
            text = spec_lang.format(source, str(path))
        except SpecError as exc:             # one file's fault: say it, go on with the rest
            print(str(exc), file=sys.stderr)
            status = 1
            continue
        if args.check:
            if text != source:
                print(f"{path}: not in canonical form", file=sys.stderr)
                status = 1
        elif args.write:
            if text != source:          # atomically: a full disk never leaves half a spec
                from runtime.execution.artifacts import write_text_atomic
                write_text_atomic(path, text)
        else:
            sys.stdout.write(text)
    return status


def _run(args: argparse.Namespace) -> int:
    from runtime.cli import checks
    from runtime.execution import runner
    from runtime.execution.outcome import RunOutcome
    from runtime.execution.prepare import prepare_run
    from runtime.report import console
    from runtime.cli.examples import resolve
    path, shipped = resolve(args.file)
    if shipped:
        print(f"running the example {args.file} ({path})", file=sys.stderr)
    exp = spec_lang.load(path)
    out = args.out or Path("runs") / exp.name
    check_out_folder(out)
    where = run_cluster(args)
    local = not (args.scheduler or args.cluster)
    # The workers start (and import) while this process loads and checks the data: their
    # start overlaps the check instead of following it. A data error (exit 1) still trains
    # nothing, and the exit stops them.
    prepared = prepare_run(exp, args.jobs, local=local, check=checks.run_check)
    make_out_folder(out)
    try:
        with console.RunProgress(exp, quiet=args.quiet, jobs=prepared.n_jobs,
                                 json_lines=args.json, local=local) as progress:
            table = runner.run(exp, out=out, jobs=prepared.n_jobs, client=args.scheduler,
                               cluster=where, progress=progress, fresh=args.fresh,
                               prepared=prepared)
    except _lost_scheduler_errors(args.scheduler or args.cluster) as exc:
        raise NnspecError(f"lost the Dask scheduler during the run ({first_line(exc)}): the "
                          f"trials that finished are stored in {out}; run again to "
                          "resume") from None
    outcome: RunOutcome = table.attrs["outcome"]
    report = _run_report(out) if args.report else None
    if args.json:
        import json

        from runtime.execution.store import json_safe
        print(json.dumps(json_safe({"event": "result", "run": str(out),
                                    "best": table.attrs["best"],
                                    "report": report and str(report)}), default=str))
    else:
        console.print_results(table, out, notes=args.quiet)  # shown live unless --quiet
        if report is not None:
            print(f"wrote {report}", file=sys.stderr)
    if outcome.failed:                         # nothing to choose from: the run failed
        print(f"no trial completed; the most common error: {outcome.most_common_error}",
              file=sys.stderr)
        return 1
    return 0


def _run_report(out: Path) -> Path | None:
    """`run --report`: the page of the run just finished (None when nothing completed)."""
    from runtime.report import page
    try:
        return page.write_report(out)
    except NnspecError as exc:
        print(f"no report: {exc}", file=sys.stderr)
        return None


def check_out_folder(out: Path) -> None:
    """`run --out`: a folder that exists or can be made, and written in; else UsageError.
    Nothing is created here (the runner makes the folder)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    parent = out
    while not parent.exists():            # the nearest existing folder will hold the new ones
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"--out {out}: {parent} is not a folder, so none can be made in it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot write in {parent.resolve()} (permission "
                         "denied or a read-only file system)")


def make_out_folder(out: Path) -> None:
    """Make the run folder and write a probe file in it (permissions, read-only or special
    file systems: what `os.access` cannot tell, e.g. for root); UsageError when that fails."""
    import tempfile
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def _lost_scheduler_errors(dask: str | None) -> tuple[type[BaseException], ...]:
    """What a Dask run raises when its scheduler goes away: its futures are cancelled
    (FutureCancelledError is a CancelledError) or its connection closes. () without Dask."""
    if dask is None:
        return ()
    from concurrent.futures import CancelledError
    try:
        from distributed.comm import CommClosedError
    except ImportError:             # no Dask extra: the run said so in one line already
        return ()
    return CancelledError, CommClosedError




def _show(args: argparse.Namespace) -> int:
    from runtime.report import console
    if args.json:
        console.show_json(args.run, top=args.top)
    else:
        console.show_run(args.run, top=args.top)
    return 0


def _report(args: argparse.Namespace) -> int:
    from runtime.report import page
    print(page.write_report(args.run))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from runtime.report import compare
    runs = compare.load_runs(args.runs)
    compare.print_comparison(runs)
    print(compare.write_comparison(runs, args.out))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from runtime.model import predict
    result = predict.predict_data(args.run, args.data, proba=args.proba)
    if args.json and not result.metrics:
        raise NnspecError(f"{args.data}: no target to score (the model's target column, or "
                          "an .npz array y): --json prints the metrics, which need it")
    if args.out:
        from runtime.execution.artifacts import write_atomic
        write_atomic(args.out, lambda tmp: result.frame.to_csv(tmp, index=False))
    elif not args.json:
        result.frame.to_csv(sys.stdout, index=False)
    if args.json:
        import json
        print(json.dumps({"n": result.n, "target": result.target, "metrics": result.metrics}))
    elif result.metrics:           # beside a CSV on stdout, on stderr: the CSV stays clean
        line = f"metrics on {result.n} examples ({result.target}): " + ", ".join(
            f"{name} {value:.6g}" for name, value in result.metrics.items())
        print(line, file=sys.stdout if args.out else sys.stderr)
    return 0


def _example_or(path: Path) -> Path:
    """`path`, or the shipped example a bare name means (`runtime.cli.examples.resolve`);
    `path` again when it is neither (reading it then says what is wrong)."""
    from runtime.cli.examples import resolve
    try:
        return resolve(path)[0]
    except NnspecError:
        return path


def _examples(args: argparse.Namespace) -> int:
    from runtime.cli.examples import copy_examples
    copied = copy_examples(args.folder)
    for relative in copied:
        print(args.folder / relative)
    first = "quickstart.spec" if Path("quickstart.spec") in copied else copied[0]
    print(f"copied {len(copied)} files; try: nnspec run {args.folder / first}",
          file=sys.stderr)
    return 0


def _lsp(args: argparse.Namespace) -> int:
    """Serve LSP on the process's stdin and stdout. The protocol gets its own copy of stdout,
    and stdout itself goes to stderr, so that nothing printed by accident breaks a message."""
    from runtime.errors import MissingExtra
    try:
        from runtime.cli.lsp.server import serve
    except ImportError as exc:
        raise MissingExtra("nnspec lsp needs pygls, which cannot be imported", "editor",
                           (), first_line(exc)) from None
    sys.stdout.flush()
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, protocol)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "examples": _examples, "lsp": _lsp,
    "check": _check, "fmt": _fmt, "run": _run, "show": _show, "report": _report,
    "compare": _compare, "predict": _predict}

if __name__ == "__main__":
    sys.exit(main())
