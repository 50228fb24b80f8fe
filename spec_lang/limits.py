"""What the machine can hold: the limits on every size that a spec, a data file or a flag can make
huge (layers, generated data, features, workers), so that `nnspec check` refuses them with a
located error instead of the kernel killing the run.

The memory limits are derived from this machine's memory (`machine_memory`: its RAM, or the
cgroup's limit when lower) and are lower bounds of what the work needs: a size refused here
could never have run, and nothing that fits is refused.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

# Layers after `repeat` expands: the chapter's deep networks have tens; each layer is Python
# objects and buffers, so a count in the millions costs minutes before any training.
MAX_LAYERS = 1000
# A worker process with NumPy, scikit-learn's preprocessing and the engine imported holds about
# 70 MB before any data (measured: ru_maxrss after `executor._import_engine`).
WORKER_BYTES = 70 * 2 ** 20
# Per feature, before any network: its name, the scaler's statistics, the column of the data.
FEATURE_BYTES = 100
CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")


@functools.lru_cache(maxsize=1)
def machine_memory() -> int:
    """The bytes of memory this process may use: the physical memory, or the cgroup's
    limit when one is set and lower (a container, a batch job)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):   # not POSIX: assume a small machine
        total = 8 * 2 ** 30
    try:
        text = CGROUP_LIMIT.read_text().strip()
        limit = int(text) if text.isdigit() else total
    except OSError:
        limit = total
    return min(total, limit)


def size_in_words(n_bytes: float) -> str:
    """Bytes as a message gives them: `24 GiB`, `7.3 TiB`, `about 1e+20 bytes` past a ZiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n_bytes < 1024:
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"about {n_bytes * 1024 ** 7:.1e} bytes"


def worker_limit() -> int:
    """The most worker processes this machine can hold (each `WORKER_BYTES` before any data)."""
    return max(1, machine_memory() // WORKER_BYTES)


def workers_problem(count: int, what: str) -> str | None:
    """Why `count` worker processes cannot start here (None: they can)."""
    limit = worker_limit()
    if count <= limit:
        return None
    return (f"{what} {count:,} worker processes, but this machine's "
            f"{size_in_words(machine_memory())} holds at most {limit:,} (each needs about "
            f"{size_in_words(WORKER_BYTES)} before any data)")


def features_problem(features: int) -> str | None:
    """Why a data set of `features` columns cannot be held (None: it can). A first layer of
    even one unit would need as many weights; the names and statistics come first."""
    limit = machine_memory() // FEATURE_BYTES
    if features <= limit:
        return None
    return (f"{features:,} features: this machine's {size_in_words(machine_memory())} holds "
            f"at most {limit:,} (about {FEATURE_BYTES} bytes each before any network)")


def generated_problem(source: str, samples: int, features: int, nonzeros: int) -> str | None:
    """Why a generator's data cannot be held (None: it can). scikit-learn's generators make a
    dense float64 (samples, features) array (moons and circles: 2 features); make_sparse
    stores each example's `nonzeros` words (a value and two indices each, 24 bytes)."""
    if source == "make_sparse":
        need, what = samples * nonzeros * 24, f"{samples:,} x {nonzeros:,} stored words"
        too_wide = features_problem(features)
        if too_wide:
            return too_wide
    else:
        width = 2 if source in ("make_moons", "make_circles") else features
        need, what = samples * width * 8, f"{samples:,} x {width:,} float64 values"
    if need <= machine_memory():
        return None
    return (f"{source} would make {what} ({size_in_words(need)}), more than this "
            f"machine's {size_in_words(machine_memory())}")


def network_bytes(widths: list[int], rows: int, itemsize: int) -> int:
    """A lower bound of the memory that training a network of `widths` (inputs, hidden layers,
    outputs) takes: its parameters and their gradients, and, for a batch of `rows`, each
    layer's output and its gradient (optimizer state and the kept best weights come on top)."""
    params = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    return itemsize * (2 * params + 2 * rows * sum(widths[1:]))


def network_problem(widths: list[int], rows: int, itemsize: int) -> str | None:
    """Why a network of `widths` cannot train here (None: it may)."""
    need = network_bytes(widths, rows, itemsize)
    if need <= machine_memory():
        return None
    shape = " -> ".join(f"{w:,}" for w in widths)
    return (f"the network {shape} needs at least {size_in_words(need)} to train (its weights, "
            f"their gradients and a batch's activations), more than this machine's "
            f"{size_in_words(machine_memory())}")
