"""This machine's limits: float32 matrix-multiply GFLOP/s and memory bandwidth (numpy copies).

Both are measured in child processes so that the BLAS thread count can be set per measurement
(``OPENBLAS_NUM_THREADS`` is read once, when numpy loads OpenBLAS).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from measure import Figure, command_line, load_average, now, run_child


def _best_seconds(work, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(size: int = 2048, repeats: int = 5) -> dict[str, Any]:
    """Child task: float32 GEMM of two square matrices, best of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm-up: OpenBLAS starts its threads
    seconds = _best_seconds(lambda: np.matmul(a, b, out=out), repeats)
    return {"gflops": 2 * size**3 / seconds / 1e9, "seconds": seconds}


def skinny_matmul_gflops(rows: int, features: int, units: int, repeats: int = 5) -> dict[str, Any]:
    """Child task: the shapes of a dense layer with few units, the paper network's first layer.

    Forward ``(rows, features) @ (features, units)`` and the weight gradient
    ``(features, rows) @ (rows, units)``: few units make both far from a square GEMM's speed.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, features), dtype=np.float32)
    kernel = rng.standard_normal((features, units), dtype=np.float32)
    delta = rng.standard_normal((rows, units), dtype=np.float32)
    calls = max(1, int(2e8 // (2 * rows * features * units)))

    def forward():
        for _ in range(calls):
            x @ kernel

    def weight_gradient():
        for _ in range(calls):
            x.T @ delta

    flops = 2 * rows * features * units * calls
    return {"forward_gflops": flops / _best_seconds(forward, repeats) / 1e9,
            "weight_gradient_gflops": flops / _best_seconds(weight_gradient, repeats) / 1e9}


def copy_bandwidth(megabytes: int = 256, repeats: int = 7) -> dict[str, Any]:
    """Child task: ``np.copyto`` of a large float32 array; bytes read + bytes written per second.

    Also the write speed into freshly allocated memory (first touch: the kernel must supply
    and zero every page), worst and best of ``repeats``.
    """
    source = np.ones(megabytes * 2**20 // 4, dtype=np.float32)
    first_touch = []
    for _ in range(repeats):
        fresh = np.empty_like(source)
        start = time.perf_counter()
        np.copyto(fresh, source)
        first_touch.append(source.nbytes / (time.perf_counter() - start) / 1e9)
        del fresh
    target = np.empty_like(source)
    np.copyto(target, source)  # fault in the pages before timing
    seconds = _best_seconds(lambda: np.copyto(target, source), repeats)
    read_seconds = _best_seconds(lambda: source.sum(), repeats)
    return {"copy_gbs": 2 * source.nbytes / seconds / 1e9, "read_gbs": source.nbytes / read_seconds / 1e9,
            "first_touch_worst_gbs": min(first_touch), "first_touch_best_gbs": max(first_touch)}


def measure_limits(repeats: int) -> tuple[dict[str, float], list[Figure]]:
    """GFLOP/s with 1 and 2 BLAS threads and the copy bandwidth, as figures and as numbers."""
    figures = []
    limits: dict[str, float] = {}
    for threads in (1, 2):
        before = load_average()
        answer = run_child("machine:matmul_gflops", {"repeats": repeats},
                           environment={"OPENBLAS_NUM_THREADS": str(threads)})
        limits[f"matmul_gflops_{threads}"] = answer["gflops"]
        figures.append(Figure(
            "machine", f"float32 matmul, {threads} thread{'s' * (threads > 1)}", "2048 x 2048",
            round(answer["gflops"], 1), "GFLOP/s", note="numpy (OpenBLAS) sgemm, best of N",
            load=(before, load_average()), repeats=repeats, date=now(),
            command=command_line("machine")))
    before = load_average()
    answer = run_child("machine:copy_bandwidth", {"repeats": repeats})
    limits.update(answer)
    figures.append(Figure(
        "machine", "memory bandwidth (numpy copy, read + write)", "256 MiB", round(answer["copy_gbs"], 1),
        "GB/s", note=f"read only (sum): {answer['read_gbs']:.1f} GB/s", load=(before, load_average()),
        repeats=repeats, date=now(), command=command_line("machine")))
    figures.append(Figure(
        "machine", "write into freshly allocated memory (first touch)", "256 MiB",
        round(answer["first_touch_worst_gbs"], 2), "GB/s (worst)",
        reference=f"best {answer['first_touch_best_gbs']:.1f} GB/s",
        note="page faults: every new large array pays this on its first write", load=figures[-1].load,
        repeats=repeats, date=now(), command=command_line("machine")))
    return limits, figures
