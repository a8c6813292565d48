"""Stage 2: training one network per seed (``geoxai.learn.models.train_model``) on the paper's sample
count: 822 maps (658 train, 164 validation), batch 32, SGD, as config/config.yaml sets it.

The cost is set by the first dense layer (features x 8 weights): per training sample, the forward
product takes 2*features*8 FLOPs and the weight gradient as many again (no gradient is needed
with respect to the input). The limit is the FLOPs of a seed divided by this machine's float32
matmul speed with the thread count the workflow gives TensorFlow (config key training.threads).
"""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

import numpy as np
from measure import Figure, best_child, command_line, load_average, now, run_child

TRAIN, VALIDATION, BATCH = 658, 164, 32
HIDDEN = (8, 8)
CLASSES = 2


def flops_per_seed(features: int, epochs: int) -> float:
    """Multiply-adds (x2) of one seed: forward + weight gradient per training sample, the
    regularized SGD update per batch, and the validation forward pass per epoch."""
    widths = [features, *HIDDEN, CLASSES]
    weights = sum(a * b for a, b in pairwise(widths))
    forward = 2 * weights
    backward = 2 * weights + 2 * sum(a * b for a, b in pairwise(widths[1:]))
    batches = -(-TRAIN // BATCH)
    per_epoch = TRAIN * (forward + backward) + batches * 4 * weights + VALIDATION * forward
    return float(epochs * per_epoch)


def synthetic_samples(features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Anomaly-like maps (a third of the cells zero, as land) whose class is a regional sign."""
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((TRAIN + VALIDATION, features), dtype=np.float32)
    inputs[:, : features // 3] = 0.0
    signal = inputs[:, features // 2: features // 2 + max(1, features // 100)].mean(axis=1)
    return inputs, (signal > 0).astype(np.int64)


def train_seeds(features: int, epochs: int, threads: int, repeats: int) -> dict[str, Any]:
    """Child task: import TensorFlow, then train ``repeats`` seeds; seconds of each."""
    start = time.perf_counter()
    from geoxai.learn.models import (
        ModelSettings,
        TrainingSettings,
        configure_tensorflow,
        train_model,
    )

    configure_tensorflow(threads)
    import_s = time.perf_counter() - start
    inputs, labels = synthetic_samples(features)
    seconds = []
    for seed in range(repeats):
        start = time.perf_counter()
        result = train_model(inputs[:TRAIN], labels[:TRAIN], inputs[TRAIN:], labels[TRAIN:], seed,
                             ModelSettings(), TrainingSettings(epochs=epochs, threads=threads))
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "best_s": min(seconds), "import_s": import_s,
            "validation_accuracy": result.history["val_accuracy"][-1]}


def run(quick: bool, repeats: int, limits: dict[str, float]) -> list[Figure]:
    command = command_line("training")
    figures = []
    threads = 1  # config/config.yaml training.threads
    grids = [4.0, 2.0, 1.0]
    for degrees in grids:
        features = round(180 / degrees) * round(360 / degrees)
        epochs = 20 if quick and degrees == 1.0 else 100
        answer, load = best_child("bench_training:train_seeds",
                                  {"features": features, "epochs": epochs, "threads": threads,
                                   "repeats": repeats if degrees == 1.0 else 1},
                                  1, "best_s", timeout_s=1800)
        per_seed = answer["best_s"] * 100 / epochs
        per_seed_at_1_degree = per_seed
        samples_per_s = TRAIN * epochs / answer["best_s"]
        gflops = limits[f"matmul_gflops_{threads}"]
        limit_s = flops_per_seed(features, 100) / (gflops * 1e9)
        size = f"{degrees:g} deg ({features:,} inputs), 822 samples"
        figures.append(Figure(
            "training", "seconds per seed (100 epochs)", size, round(per_seed, 1), "s",
            reference=f"matmul limit {limit_s:.1f} s at {gflops:.0f} GFLOP/s ({threads} thread): "
            f"{per_seed / limit_s:.1f}x it",
            note=(f"{samples_per_s:,.0f} training samples/s; {flops_per_seed(features, 1) / (TRAIN + VALIDATION) / 1e6:.2f}"
                  f" MFLOP per sample; TF import {answer['import_s']:.1f} s"
                  + (f"; measured {epochs} epochs, scaled to 100" if epochs != 100 else "")),
            load=load, repeats=len(answer["seconds"]), date=now(), command=command))
    # The same shapes as the first layer, as one BLAS call each: what a matmul of this shape gets.
    features = 180 * 360
    before = load_average()
    shapes = run_child("machine:skinny_matmul_gflops", {"rows": BATCH, "features": features, "units": 8},
                       environment={"OPENBLAS_NUM_THREADS": str(threads)})
    rate = 2 / (1 / shapes["forward_gflops"] + 1 / shapes["weight_gradient_gflops"])
    limit_s = flops_per_seed(features, 100) / (rate * 1e9)
    figures.append(Figure(
        "training", "same-shape matmul limit per seed", f"1 deg ({features:,} inputs), batch 32",
        round(limit_s, 1), "s",
        reference=f"training at 1 deg {per_seed_at_1_degree:.1f} s per seed: "
        f"{per_seed_at_1_degree / limit_s:.2f}x it (goal <= 2x: "
        f"{'met' if per_seed_at_1_degree <= 2 * limit_s else 'missed'}); forward (32 x {features}) "
        f"@ ({features} x 8): {shapes['forward_gflops']:.1f} GFLOP/s; weight gradient: "
        f"{shapes['weight_gradient_gflops']:.1f} GFLOP/s",
        note="numpy/OpenBLAS, 1 thread: few units per layer keep these products far from a "
        "square matmul's speed", load=(before, load_average()), date=now(), command=command))
    return figures
