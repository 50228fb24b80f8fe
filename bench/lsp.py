"""The language server's diagnostic round trip on a 1,000-line spec: `python bench/lsp.py`.

The real server (`python -m runtime lsp`) in a subprocess, driven over stdio by framed JSON-RPC:
open the document, then type — one character inserted into a line, then deleted (an
incremental didChange each, as an editor sends a keystroke) — and time each change from the
write of the message to the read of the publishDiagnostics that answers its version. Half of
the changes leave a typo (one error published), half repair it (none). Prints the median and
the 95th percentile of the round trip, the server's CPU time per change (which a busy machine
inflates far less than wall time), and the parse + check time alone, in this process.
"""
from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
LINES = 1000
ROUNDS = 60


def long_spec(lines: int = LINES) -> str:
    """A spec of `lines` lines: a searched network of commented layers, each width a `$name`
    of the search block, as a large real spec is written."""
    layers = (lines - 24) // 3
    head = ["# a long spec for the language server's benchmark", "experiment long", "",
            "data digits", "split train 0.6 valid 0.2 test 0.2", "", "network"]
    net = [f"    dense $w{i} relu init he_normal  # layer {i}" for i in range(layers)]
    train = ["", "train", "    sgd lr $lr momentum 0.9", "    schedule one_over_t tau 500",
             "    batch 32", "    epochs 40 early_stop patience 8", "",
             "search random 20", "    lr ~ log_uniform 1e-4 .. 1"]
    dims = [f"    w{i} in 16, 32, 64, 128  # widths of layer {i}" for i in range(layers)]
    text = head + net + train + dims + ["", "seeds 2"]
    text += [f"# note {i}" for i in range(lines - len(text))]
    return "\n".join(text) + "\n"


def _send(pipe: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    pipe.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    pipe.flush()


def _read(pipe: IO[bytes], out: "queue.Queue[dict[str, Any]]") -> None:
    """Every message the server writes, into `out`."""
    while True:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = pipe.read(1)
            if not byte:
                return
            head += byte
        fields = dict(line.split(b": ", 1) for line in head.strip().split(b"\r\n"))
        out.put(json.loads(pipe.read(int(fields[b"Content-Length"]))))


def _diagnostics(out: "queue.Queue[dict[str, Any]]", version: int) -> list[Any]:
    while True:
        message = out.get(timeout=60)
        params = message.get("params") or {}
        if message.get("method") == "textDocument/publishDiagnostics" and \
                params.get("version") == version:
            return list(params["diagnostics"])


def _cpu_seconds(pid: int) -> float:
    """The CPU time process `pid` has used (user + system; Linux), which a busy machine does
    not inflate as it does wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_trips(text: str, rounds: int = ROUNDS) -> list[float]:
    """Seconds from each change sent to its diagnostics received, then the server's CPU
    seconds per change."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "runtime", "lsp"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env)
    assert server.stdin is not None and server.stdout is not None
    out: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=_read, args=(server.stdout, out), daemon=True).start()
    uri = (ROOT / "long.spec").as_uri()        # never written: the text travels in the messages
    try:
        _send(server.stdin, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                             "params": {"capabilities": {}}})
        _send(server.stdin, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        _send(server.stdin, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "nnspec", "version": 1, "text": text}}})
        assert _diagnostics(out, 1) == []
        line = text.splitlines().index("    sgd lr $lr momentum 0.9")
        times = []
        cpu = _cpu_seconds(server.pid)
        for version in range(2, rounds + 2):
            typo = version % 2 == 0            # insert an 'x' after 'momentum', then remove it
            where = {"line": line, "character": 23}
            end = where if typo else {"line": line, "character": 24}
            change = {"range": {"start": where, "end": end}, "text": "x" if typo else ""}
            start = time.perf_counter()
            _send(server.stdin, {"jsonrpc": "2.0", "method": "textDocument/didChange",
                                 "params": {"textDocument": {"uri": uri, "version": version},
                                            "contentChanges": [change]}})
            found = _diagnostics(out, version)
            times.append(time.perf_counter() - start)
            assert len(found) == (1 if typo else 0), found
        times.append((_cpu_seconds(server.pid) - cpu) / rounds)
        _send(server.stdin, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        _send(server.stdin, {"jsonrpc": "2.0", "method": "exit"})
        server.wait(timeout=30)
        return times
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def check_alone(text: str, rounds: int = 10) -> float:
    """Median CPU seconds of what the server does per change, in this process: parse (the
    chunks cached, as after a keystroke) + check."""
    sys.path.insert(0, str(ROOT))
    from runtime.cli.lsp.findings import on_change
    times = []
    for _ in range(rounds):
        start = time.process_time()
        on_change(text, ROOT / "long.spec")
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    """Print the measurements."""
    text = long_spec()
    *trips, cpu = round_trips(text)
    times = sorted(trips)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"{text.count(chr(10))}-line spec, {len(times)} keystrokes (half a typo, half its "
          f"repair), through `nnspec lsp` over stdio:")
    print(f"  diagnostic round trip: median {statistics.median(times) * 1e3:.1f} ms, "
          f"p95 {p95 * 1e3:.1f} ms, max {times[-1] * 1e3:.1f} ms")
    print(f"  the server's CPU time per change: {cpu * 1e3:.1f} ms (wall time above includes "
          "waiting for a busy machine's cores)")
    print(f"  parse + check in this process: median {check_alone(text) * 1e3:.1f} ms of CPU")


if __name__ == "__main__":
    main()
