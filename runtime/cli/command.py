"""The `nnspec` command: check, fmt, run, show, report, predict."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

import spec_lang
from spec_lang import SpecError

from runtime.errors import NnspecError

SCHEDULER_TIMEOUT = "10s"   # how long `--scheduler` waits to connect

EXAMPLES = {
    "check": "examples:\n  nnspec check specs/*.spec\n  nnspec check --gradients --overfit "
             "specs/quickstart.spec",
    "fmt": "examples:\n  nnspec fmt specs/digits.spec\n  nnspec fmt --write specs/*.spec\n"
           "  nnspec fmt --check specs/*.spec   # exit 1 if any file is not canonical",
    "run": "examples:\n  nnspec run specs/quickstart.spec\n  nnspec run specs/digits.spec "
           "--out runs/digits --jobs 2\n  nnspec run specs/digits.spec --scheduler "
           "tcp://127.0.0.1:8786",
    "show": "examples:\n  nnspec show runs/quickstart\n  nnspec show runs/quickstart --top 20",
    "report": "examples:\n  nnspec report runs/quickstart   # writes runs/quickstart/report/",
    "predict": "examples:\n  nnspec predict runs/plants specs/data/plants.csv\n"
               "  nnspec predict runs/plants new.csv --out predictions.csv",
}


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="nnspec", description="Run neural-network experiments from a plain-text spec.",
        epilog="Run 'nnspec COMMAND --help' for a command's options.")
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
    p = command("fmt", "Print a spec in canonical form (comments kept).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the files in place")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if a file is not in canonical form; print nothing else")
    p = command("run", "Train and search as the spec says; print and save the results.")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--out", type=Path, help="run folder (default: runs/<experiment name>)")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel trials, each with one BLAS thread (default: the cores)")
    p.add_argument("--scheduler", help="address of a Dask scheduler to run the trials on")
    p.add_argument("--fresh", action="store_true",
                   help="forget the trials stored by an earlier run in the same folder")
    p.add_argument("--quiet", action="store_true", help="print only the final table")
    p = command("show", "Print the summary and the chosen configuration of a finished run.")
    p.add_argument("run", type=Path, metavar="RUN")
    p.add_argument("--top", type=int, default=10, help="configurations to list (default 10)")
    p = command("report", "Write plots of a finished run (learning curves, hyper-parameter "
                "effects) to RUN/report/.")
    p.add_argument("run", type=Path, metavar="RUN")
    p = command("predict", "Predict with the chosen configuration's saved model.")
    p.add_argument("run", type=Path, metavar="RUN")
    p.add_argument("data", type=Path, metavar="DATA", help="a CSV (same feature columns) or "
                   ".npz (array X)")
    p.add_argument("--out", type=Path, help="write the predictions CSV here (default: stdout)")
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `nnspec` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = COMMANDS[args.command]
    try:
        return handler(args)
    except (SpecError, NnspecError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: finished trials are stored; run again to resume", file=sys.stderr)
        return 130


def _check(args: argparse.Namespace) -> int:
    from runtime.cli import checks
    failed = False
    for path in args.files:
        try:
            exp = spec_lang.load(path)
            lines = checks.run_checks(exp, gradients=args.gradients, overfit=args.overfit)
        except SpecError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
            continue
        except NnspecError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed = True
            continue
        failed |= any(line.startswith("FAIL") for line in lines)
        print(f"{path}: OK" if not lines else f"{path}:\n  " + "\n  ".join(lines))
    return 1 if failed else 0


def _fmt(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        source = path.read_text(encoding="utf-8")
        text = spec_lang.format(source, str(path))
        if args.check:
            if text != source:
                print(f"{path}: not in canonical form", file=sys.stderr)
                status = 1
        elif args.write:
            if text != source:
                path.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    return status


def _run(args: argparse.Namespace) -> int:
    from runtime.report import console
    from runtime.execution import runner
    exp = spec_lang.load(args.file)
    out = args.out or Path("runs") / exp.name
    if args.fresh:
        (out / "store.sqlite").unlink(missing_ok=True)
    client = _dask_client(args.scheduler) if args.scheduler else None
    try:
        with console.RunProgress(exp, quiet=args.quiet) as progress:
            table = runner.run(exp, out=out, jobs=args.jobs, client=client, progress=progress)
    finally:
        if client is not None:
            client.close()
    console.print_results(table, out, notes=args.quiet)  # shown live unless --quiet
    return 0


def _dask_client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise NnspecError("--scheduler needs Dask: pip install 'nnspec[distributed]'") from None
    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise NnspecError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _show(args: argparse.Namespace) -> int:
    from runtime.report import console
    console.show_run(args.run, top=args.top)
    return 0


def _report(args: argparse.Namespace) -> int:
    from runtime.report import plots
    for path in report.write_report(args.run):
        print(path)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from runtime.model import predict
    frame = predict.predict_file(args.run, args.data)
    if args.out:
        frame.to_csv(args.out, index=False)
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check, "fmt": _fmt, "run": _run, "show": _show, "report": _report,
    "predict": _predict}

if __name__ == "__main__":
    sys.exit(main())
