"""Stage 3: LRP relevance of every sample (``geoxai.xai.explain.explain``), both backends, and
stage 4: backwards optimization (``geoxai.xai.optimal_input.optimal_input``).

LRP's floor is memory traffic: each input is read once and its relevance written once, 8 bytes
per input cell, which a numpy copy of the same bytes measures. Both backends run in the same
process on the same network (the paper's architecture, he_normal weights: the cost does not
depend on training) and the same anomaly-like inputs (land cells exactly zero), and their
relevance is compared sample by sample.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np
from measure import Figure, best_child, command_line, now

SAMPLES = 822
#: iNNvestigate's batch besides geoxai's default (256).
SMALL_BATCH = 64
RULES = ("alpha_1_beta_0", "z")


def _inputs(degrees: float, samples: int) -> np.ndarray:
    from geoxai.enso.synthetic import grid_centres, ocean_mask

    lat, lon = grid_centres(degrees)
    ocean = ocean_mask(lat, lon).ravel()
    rng = np.random.default_rng(0)
    return rng.standard_normal((samples, ocean.size), dtype=np.float32) * ocean.astype(np.float32)


def _model(features: int, tf_threads: int):
    """The paper's network with he_normal kernels and small random biases (as after training:
    zero biases would leave every ReLU at its kink for an all-zero start)."""
    from geoxai.learn.models import build_model, configure_tensorflow

    tf = configure_tensorflow(tf_threads)
    tf.keras.utils.set_random_seed(0)
    model = build_model(features)
    rng = np.random.default_rng(1)
    model.set_weights([w if w.ndim == 2 else (0.1 * rng.standard_normal(w.shape)).astype(np.float32)
                       for w in model.get_weights()])
    return model


def _best(work, repeats: int, clock=time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        work()
        best = min(best, clock() - start)
    return best


def _analyze_only(model, rule: str, inputs: np.ndarray, batch_size: int = 256):
    """iNNvestigate's steady state: the analyzer built (and its graph traced) once, outside."""
    import innvestigate

    from geoxai.xai.explain import RULES

    analyzer = innvestigate.create_analyzer(RULES[rule].analyzer, innvestigate.model_wo_softmax(model))
    analyzer.analyze(inputs[:batch_size])

    def analyze() -> None:
        for start in range(0, len(inputs), batch_size):
            analyzer.analyze(inputs[start:start + batch_size])

    return analyze


def lrp_throughput(degrees_list: list[float], samples: int, repeats: int, tf_threads: int,
                   cpu_clock: bool = False) -> dict[str, Any]:
    """Child task: seconds of each backend and rule, their agreement, and a copy of the bytes.

    ``explain(..., backend="innvestigate")`` is what a workflow job pays (it builds the analyzer
    and runs a separate prediction for the winning logits); ``analyze`` is iNNvestigate alone.
    With ``cpu_clock`` the process CPU time is taken instead of wall time (run it with one BLAS
    and one TensorFlow thread: then it hardly depends on what else runs on the machine).
    """
    from geoxai.xai.explain import explain

    clock = time.process_time if cpu_clock else time.perf_counter
    results: dict[str, Any] = {}
    for degrees in degrees_list:
        inputs = _inputs(degrees, samples)
        model = _model(inputs.shape[1], tf_threads)
        copy = np.empty_like(inputs)
        np.copyto(copy, inputs)
        row = results[f"{degrees:g}"] = {
            "features": inputs.shape[1],
            "copy_s": _best(partial(np.copyto, copy, inputs), repeats, clock)}
        for rule in RULES:
            runs = {backend: partial(explain, model, inputs, rule, backend=backend)
                    for backend in ("numpy", "innvestigate")}
            reference, ours = runs["innvestigate"]().relevance, runs["numpy"]().relevance
            scale = np.abs(reference).max(axis=1)
            error = np.abs(reference - ours).max(axis=1) / np.where(scale > 0, scale, 1.0)
            row[f"{rule}_median_error"] = float(np.median(error))
            row[f"{rule}_max_error"] = float(error.max())
            # No result is kept while timing: each call's output then reuses freed memory, as a
            # workflow job's would (fresh pages cost a lot here, see the README).
            del reference, ours
            # numpy runs take a fraction of a second: more of them to find an undisturbed one
            row[f"{rule}_numpy_s"] = _best(runs["numpy"], max(5, repeats), clock)
            if not cpu_clock:
                row[f"{rule}_innvestigate_s"] = _best(runs["innvestigate"], repeats, clock)
            row[f"{rule}_analyze_s"] = _best(_analyze_only(model, rule, inputs), repeats, clock)
            if not cpu_clock:
                # 64 rows of a 1° map stay below glibc's largest mmap threshold (32 MB) per tensor
                row[f"{rule}_analyze64_s"] = _best(_analyze_only(model, rule, inputs, SMALL_BATCH),
                                                   repeats, clock)
    return results


#: The gradient-type methods (numpy backend) and the first-layer products each needs per sample
#: ((n, 64,800) by (64,800, 8) or its transpose, 2 x 64,800 x 8 FLOPs each): gradient and input x
#: gradient one forward and one backward product; integrated gradients the same, because the
#: path runs in the 8-unit space; SmoothGrad also one per noisy copy (the noise lives in input
#: space). The LRP rules: z two, alpha-beta four.
GRADIENT_METHODS = {"gradient": {}, "input_x_gradient": {},
                    "integrated_gradients": {"steps": 32}, "smoothgrad": {"samples": 32}}
SMOOTHGRAD_SAMPLES = 64  # inputs explained by SmoothGrad (32 noisy 1° copies each)


def products_per_sample(rule: str, parameters: dict[str, Any]) -> int:
    if rule == "smoothgrad":
        return 2 + int(parameters["samples"])
    return {"alpha_1_beta_0": 4, "z": 2}.get(rule, 2)


def gradient_methods(degrees: float, samples: int, repeats: int,
                     cpu_clock: bool = False) -> dict[str, Any]:
    """Child task: seconds of each gradient-type method (numpy backend) and of a copy; with
    ``cpu_clock`` process CPU time (run it with one BLAS thread)."""
    from geoxai.xai.explain import explain
    from geoxai.xai.numpy_backend import smoothgrad_noise

    clock = time.process_time if cpu_clock else time.perf_counter
    inputs = _inputs(degrees, samples)
    model = _model(inputs.shape[1], 1)
    copy = np.empty_like(inputs)
    np.copyto(copy, inputs)
    row: dict[str, Any] = {"features": inputs.shape[1],
                           "copy_s": _best(partial(np.copyto, copy, inputs), max(5, repeats),
                                           clock)}
    for rule, parameters in GRADIENT_METHODS.items():
        chosen = inputs[:SMOOTHGRAD_SAMPLES] if rule == "smoothgrad" else inputs
        run = partial(explain, model, chosen, rule, backend="numpy", parameters=parameters)
        run()
        row[f"{rule}_s"] = _best(run, max(3, repeats), clock)
        row[f"{rule}_samples"] = len(chosen)
    copies = GRADIENT_METHODS["smoothgrad"]["samples"]
    draw = partial(smoothgrad_noise, 0, 0, copies, inputs.shape[1], 0.5)
    row["noise_rate"] = 1 / _best(draw, max(5, repeats), clock)
    return row


def _full_steps(weights, x: np.ndarray, calls: int) -> None:
    from geoxai.xai.optimal_input import loss_and_gradient

    for _ in range(calls):
        loss_and_gradient(weights, x, 1)


def optimal_input_cost(degrees_list: list[float], steps: int, repeats: int) -> dict[str, Any]:
    """Child task: seconds for ``steps`` steps of the package's loop, and what one plain
    forward + backward pass over the full map costs (the step of textbook gradient descent)."""
    from geoxai.xai.explain import weights_of
    from geoxai.xai.optimal_input import optimal_input

    results: dict[str, Any] = {}
    calls = 50
    for degrees in degrees_list:
        features = round(180 / degrees) * round(360 / degrees)
        model = _model(features, 1)
        weights32 = weights_of(model)
        weights64 = [(k.astype(np.float64), b.astype(np.float64)) for k, b in weights32]
        row = results[f"{degrees:g}"] = {"features": features}
        row["loop_s"] = _best(partial(optimal_input, model, 1, steps=steps), repeats)
        row["final_probability"] = float(optimal_input(model, 1, steps=steps).probability)
        row["full_step_float64_s"] = _best(
            partial(_full_steps, weights64, np.zeros(features), calls), repeats) / calls
        row["full_step_float32_s"] = _best(
            partial(_full_steps, weights32, np.zeros(features, np.float32), calls), repeats) / calls
    return results


def run(quick: bool, repeats: int, limits: dict[str, float]) -> list[Figure]:
    grids = [4.0, 1.0] if quick else [4.0, 2.0, 1.0]
    samples = 256 if quick else SAMPLES
    command = command_line("lrp")
    bandwidth = limits["copy_gbs"]
    answer, load = best_child("bench_lrp:lrp_throughput",
                              {"degrees_list": grids, "samples": samples, "repeats": repeats,
                               "tf_threads": 2}, 1, "features", timeout_s=1800)
    figures = []
    for degrees in grids:
        row = answer[f"{degrees:g}"]
        features = row["features"]
        size = f"{degrees:g} deg ({features:,} inputs), {samples} samples"
        memory_limit = bandwidth * 1e9 / (8 * features)
        copy_rate = samples / row["copy_s"]
        analyze_ab = samples / row["alpha_1_beta_0_analyze_s"]
        for rule in RULES:
            analyze = samples / row[f"{rule}_analyze_s"]
            small = samples / row[f"{rule}_analyze64_s"]
            package = samples / row[f"{rule}_innvestigate_s"]
            ours = samples / row[f"{rule}_numpy_s"]
            figures += [
                Figure("lrp", f"iNNvestigate {rule}, batch 256", size, round(analyze), "samples/s",
                       reference=f"memory limit {memory_limit:,.0f}/s ({memory_limit / analyze:.0f}x away)",
                       note=f"analyzer built once; through geoxai.xai.explain (builds it per call, and "
                       f"predicts the logits separately): {package:,.0f}/s", load=load, repeats=repeats,
                       date=now(), command=command),
                Figure("lrp", f"iNNvestigate {rule}, batch {SMALL_BATCH}", size, round(small), "samples/s",
                       reference=f"memory limit {memory_limit / small:.0f}x away",
                       note="analyzer built once", load=load, repeats=repeats, date=now(), command=command),
                Figure("lrp", f"numpy {rule}", size, round(ours), "samples/s",
                       reference=f"{ours / analyze:.1f}x iNNvestigate {rule} at batch 256, "
                       f"{ours / small:.1f}x at batch {SMALL_BATCH}"
                       + (f"; {ours / analyze_ab:.1f}x iNNvestigate alpha_1_beta_0 (batch 256)"
                          if rule != "alpha_1_beta_0" else "")
                       + f"; {ours / package:.1f}x through explain; memory limit "
                       f"{memory_limit / ours:.1f}x away",
                       note=f"relevance vs iNNvestigate: median {row[f'{rule}_median_error']:.1e}, "
                       f"max {row[f'{rule}_max_error']:.1e} of each sample's largest",
                       load=load, repeats=max(5, repeats), date=now(), command=command),
            ]
        figures.append(Figure(
            "lrp", "memory-traffic limit (read input + write relevance once)", size, round(memory_limit),
            "samples/s", reference=f"a numpy copy of these inputs: {copy_rate:,.0f} samples/s",
            note=f"{bandwidth:.1f} GB/s copy bandwidth, {8 * features / 1e3:.0f} kB per sample",
            load=load, repeats=repeats, date=now(), command=command))
    figures += goal_figures(answer[f"{grids[-1]:g}"], grids[-1], samples, bandwidth, limits, load,
                            repeats, command)
    figures += gradient_figures(grids[-1], samples, repeats, bandwidth, limits, command)
    figures += cpu_time_figures(grids[-1], samples, repeats, command)
    return figures


def _flop_limit(rule: str, parameters: dict[str, Any], features: int,
                limits: dict[str, float]) -> float:
    """Samples/s if the first-layer products ran at the machine's square-matmul speed (the
    better of 1 and 2 threads: on a loaded machine 2 threads can be the slower)."""
    flops = products_per_sample(rule, parameters) * 2 * features * 8
    return _matmul_gflops(limits) * 1e9 / flops


def _matmul_gflops(limits: dict[str, float]) -> float:
    return max(limits["matmul_gflops_1"], limits["matmul_gflops_2"])


def goal_figures(row: dict[str, Any], degrees: float, samples: int, bandwidth: float,
                 limits: dict[str, float], load, repeats: int, command: str) -> list[Figure]:
    """The explanation-engine goal: numpy alpha_1_beta_0 >= 10x iNNvestigate at its best batch
    size (analyzer built once) and within 4x of the memory-traffic limit."""
    features = row["features"]
    ours = samples / row["alpha_1_beta_0_numpy_s"]
    best_batch = min(row["alpha_1_beta_0_analyze_s"], row["alpha_1_beta_0_analyze64_s"])
    theirs = samples / best_batch
    memory = bandwidth * 1e9 / (8 * features)
    flop = _flop_limit("alpha_1_beta_0", {}, features, limits)
    ratio, gap = ours / theirs, memory / ours
    verdict = ("met" if ratio >= 10 and gap <= 4 else "missed")
    return [Figure(
        "lrp", "goal: numpy alpha_1_beta_0 vs iNNvestigate (best batch) and the memory limit",
        f"{degrees:g} deg ({features:,} inputs), {samples} samples", round(ratio, 2), "x",
        reference=f"goal >= 10x and <= 4x from the memory limit: {verdict}; numpy {ours:,.0f}/s, "
        f"iNNvestigate {theirs:,.0f}/s, memory limit {memory:,.0f}/s ({gap:.1f}x away)",
        note=f"FLOP limit of its four first-layer products at {_matmul_gflops(limits):.0f} "
        f"GFLOP/s (square sgemm): {flop:,.0f}/s, so 10x iNNvestigate "
        f"({10 * theirs:,.0f}/s) is {10 * theirs / flop:.1f}x that FLOP limit",
        load=load, repeats=repeats, date=now(), command=command)]


def _per_cpu_second(one: dict[str, Any], rule: str, parameters: dict[str, Any],
                    limits: dict[str, float]) -> str:
    """One thread's rate against one core's limits: a copy in the same process (numpy copies
    with one thread) and the 1-thread square-sgemm speed (or, for SmoothGrad, its noise)."""
    features = one["features"]
    ours = one[f"{rule}_samples"] / one[f"{rule}_s"]
    # a copy of the inputs moves the memory limit's bytes: read each input, write one value
    bounds = {"memory": one["gradient_samples"] / one["copy_s"],
              "FLOP": limits["matmul_gflops_1"] * 1e9
              / (products_per_sample(rule, parameters) * 2 * features * 8)}
    if rule == "smoothgrad":
        bounds["noise-drawing"] = one["noise_rate"]
    kind = min(bounds, key=bounds.get)
    return (f"{ours:,.0f} samples/CPU-s, {kind} limit of one core {bounds[kind]:,.0f}/s: "
            f"{bounds[kind] / ours:.1f}x away")


def gradient_figures(degrees: float, samples: int, repeats: int, bandwidth: float,
                     limits: dict[str, float], command: str) -> list[Figure]:
    """Gradient, input x gradient, integrated gradients, SmoothGrad (numpy backend), each against
    its own limit: the memory traffic (read the input, write the result once), the FLOPs of its
    first-layer products at the square-matmul speed, or for SmoothGrad drawing its noise in
    input space (32 x 64,800 normal numbers per sample), whichever binds."""
    row, load = best_child("bench_lrp:gradient_methods",
                           {"degrees": degrees, "samples": samples, "repeats": repeats}, 1,
                           "features", timeout_s=1800)
    # the same per CPU-second with one thread, against one core's limits: what the load moves least
    one, _ = best_child("bench_lrp:gradient_methods",
                        {"degrees": degrees, "samples": samples, "repeats": repeats,
                         "cpu_clock": True}, 1, "features",
                        environment={"OPENBLAS_NUM_THREADS": "1"}, timeout_s=1800)
    features = row["features"]
    memory = bandwidth * 1e9 / (8 * features)
    figures = []
    for rule, parameters in GRADIENT_METHODS.items():
        count = row[f"{rule}_samples"]
        ours = count / row[f"{rule}_s"]
        flop = _flop_limit(rule, parameters, features, limits)
        bounds = {"memory": memory, "FLOP": flop}
        if rule == "smoothgrad":
            bounds["noise-drawing"] = row["noise_rate"]
        kind = min(bounds, key=bounds.get)
        limit = bounds[kind]
        gap = limit / ours
        settings = ", ".join(f"{key} {value}" for key, value in parameters.items())
        figures.append(Figure(
            "lrp", f"numpy {rule}" + (f" ({settings})" if settings else ""),
            f"{degrees:g} deg ({features:,} inputs), {count} samples", round(ours), "samples/s",
            reference=f"{kind} limit {limit:,.0f}/s: {gap:.1f}x away (goal <= 4x: "
            f"{'met' if gap <= 4 else 'missed'})",
            note=f"memory limit {memory:,.0f}/s; FLOP limit {flop:,.0f}/s "
            f"({products_per_sample(rule, parameters)} first-layer products per sample at "
            f"{_matmul_gflops(limits):.0f} GFLOP/s)"
            + (f"; drawing its noise alone (32 x {features:,} normal float32 per sample, "
               f"numpy's generator): {row['noise_rate']:,.0f} samples/s"
               if rule == "smoothgrad" else "")
            + f"; per CPU-second, 1 thread: {_per_cpu_second(one, rule, parameters, limits)}",
            load=load, repeats=max(3, repeats), date=now(), command=command))
    return figures


def cpu_time_figures(degrees: float, samples: int, repeats: int, command: str) -> list[Figure]:
    """Samples per CPU-second with one thread each: a ratio that the machine's load hardly moves."""
    answer, load = best_child("bench_lrp:lrp_throughput",
                              {"degrees_list": [degrees], "samples": samples, "repeats": repeats,
                               "tf_threads": 1, "cpu_clock": True}, 1, "features",
                              environment={"OPENBLAS_NUM_THREADS": "1"}, timeout_s=1800)
    row = answer[f"{degrees:g}"]
    size = f"{degrees:g} deg ({row['features']:,} inputs), {samples} samples"
    figures = []
    for rule in RULES:
        ours = samples / row[f"{rule}_numpy_s"]
        theirs = samples / row[f"{rule}_analyze_s"]
        figures.append(Figure(
            "lrp", f"{rule}: numpy vs iNNvestigate per CPU-second, 1 thread", size, round(ours),
            "samples/CPU-s", reference=f"iNNvestigate {theirs:,.0f}/CPU-s: numpy {ours / theirs:.1f}x",
            note="process CPU time, OPENBLAS_NUM_THREADS=1, TensorFlow 1 thread",
            load=load, repeats=repeats, date=now(), command=command))
    return figures


def run_optimal_input(quick: bool, repeats: int, limits: dict[str, float]) -> list[Figure]:
    grids = [4.0, 1.0] if quick else [4.0, 2.0, 1.0]
    steps = 5000 if quick else 50000
    command = command_line("optimal_input")
    answer, load = best_child("bench_lrp:optimal_input_cost",
                              {"degrees_list": grids, "steps": steps, "repeats": repeats}, 1, "features")
    figures = []
    for degrees in grids:
        row = answer[f"{degrees:g}"]
        features = row["features"]
        per_50k = row["loop_s"] * 50000 / steps
        loop_rate = steps / row["loop_s"]
        full_rate = 1 / row["full_step_float64_s"]
        flop_rate = limits["matmul_gflops_2"] * 1e9 / (4 * features * 8)
        figures.append(Figure(
            "optimal_input", "time to 50,000 steps", f"{degrees:g} deg ({features:,} inputs)",
            round(per_50k, 2), "s",
            reference=f"{loop_rate:,.0f} steps/s, {loop_rate / full_rate:.0f}x a plain full-map "
            f"forward+backward step ({full_rate:,.0f}/s float64, {1 / row['full_step_float32_s']:,.0f}/s "
            f"float32: {50000 / full_rate:.0f} s for 50,000; its matmul limit {flop_rate:,.0f}/s)",
            note=("measured 5,000 steps, scaled" if steps != 50000 else "")
            + " (the loop's cost per step does not depend on the map size: it iterates on the 8 "
            "coefficients of x = a*start + W1 c)", load=load, repeats=repeats, date=now(),
            command=command))
    return figures
