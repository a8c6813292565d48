"""What every benchmark stage shares: result records, best-of-N timing, machine load, and child
processes whose peak memory is their own.

Peak memory is read from ``/proc/self/status`` (``VmHWM``) inside a fresh child process, after
writing "5" to ``/proc/self/clear_refs`` (which resets the high-water mark to the current RSS):
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` would not do, it is inherited across fork/exec on Linux.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
OUTPUT = BENCHMARKS / "output"
MIB = 2**20


@dataclass
class Figure:
    """One measured number, with what it is compared against and the conditions it was taken in."""

    stage: str
    name: str
    size: str
    value: float
    unit: str
    reference: str = ""  # the limit or the other implementation it is read against, with its ratio
    note: str = ""
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    repeats: int = 1
    date: str = ""
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def wait_until_quiet(threshold: float, timeout_s: float) -> float:
    """Wait (at most ``timeout_s``) for the 1-minute load to fall below ``threshold``; return it."""
    deadline = time.monotonic() + timeout_s
    while threshold > 0 and load_average() >= threshold and time.monotonic() < deadline:
        time.sleep(5)
    return load_average()


def best_of(work: Callable[[], Any], repeats: int) -> tuple[float, tuple[float, float]]:
    """The shortest wall time of ``repeats`` calls (the least disturbed by other processes)."""
    before = load_average()
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best, (before, load_average())


def machine_description() -> dict[str, Any]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import numpy as np

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "label": f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB",
    }


# --- child processes -------------------------------------------------------------------------


def proc_status_mib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_memory() -> float:
    """Reset this process's peak RSS to its current RSS; return the current RSS (MiB)."""
    Path("/proc/self/clear_refs").write_text("5")
    return proc_status_mib("VmRSS")


@contextmanager
def phase(results: dict[str, Any], name: str) -> Iterator[None]:
    """Record wall time and peak RSS (MiB, from this phase's start) of a block in ``results``."""
    results[f"{name}_rss_before_mib"] = reset_peak_memory()
    start = time.perf_counter()
    yield
    results[f"{name}_s"] = time.perf_counter() - start
    results[f"{name}_peak_rss_mib"] = proc_status_mib("VmHWM")
    results[f"{name}_peak_virtual_mib"] = proc_status_mib("VmPeak")


def run_child(task: str, arguments: dict[str, Any], address_space_mib: float | None = None,
              environment: dict[str, str] | None = None, timeout_s: float = 900) -> dict[str, Any]:
    """Run ``benchmarks/child.py TASK JSON`` in a fresh interpreter; return its JSON answer.

    ``address_space_mib`` caps the child's virtual memory (``RLIMIT_AS``): allocations past it
    fail with MemoryError rather than swapping, so a run that finishes proves it fit.
    """
    def limit() -> None:
        if address_space_mib:
            size = int(address_space_mib * MIB)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    env = {**os.environ, **(environment or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, str(BENCHMARKS / "child.py"), task, json.dumps(arguments)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env, preexec_fn=limit,
                          timeout=timeout_s, cwd=REPOSITORY)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"failed": True, "returncode": done.returncode,
                "error": (done.stderr or done.stdout)[-2000:]}
    return json.loads(lines[-1])


def best_child(task: str, arguments: dict[str, Any], repeats: int, key: str,
               **options: Any) -> tuple[dict[str, Any], tuple[float, float]]:
    """Run a child task ``repeats`` times; keep the answer with the smallest ``key``."""
    before = load_average()
    best: dict[str, Any] | None = None
    for _ in range(max(1, repeats)):
        answer = run_child(task, arguments, **options)
        if answer.get("failed"):
            raise RuntimeError(f"benchmark child {task} failed:\n{answer['error']}")
        if best is None or answer[key] < best[key]:
            best = answer
    assert best is not None
    return best, (before, load_average())


def command_line(only: str) -> str:
    return f"python benchmarks/run.py --only {only}"


def shell_quote(parts: list[str]) -> str:
    return " ".join(shlex.quote(p) for p in parts)
