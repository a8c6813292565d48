"""Stage "jobs": what one workflow job costs at 1° against the work it does (the set-up goal:
no job pays more for set-up than for work).

Each job runs as the workflow runs it, ``python -m geoxai <rule> ...`` in a fresh process, on an
anomaly file made by the package's anomaly step from the synthetic 1° source in the COBE-SST2
layout (1,668 months), 822 labelled months and the paper's network at 1°. Beside each job's wall
time the same run measures its parts in one process: reading the labelled maps, the explanation
or optimisation itself, writing the output; and, for training, ``train_model`` alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from measure import OUTPUT, Figure, best_child, command_line, now

DEGREES = 1.0
SAMPLES = 822
CLASS_NAMES = ["La Nina", "El Nino"]
#: The paper run's settings at 1° (config/config.yaml with the rehearsal's L2).
OPTIMAL_INPUT = {"steps": 50000, "step_size": 0.01, "l2_penalty": 25.0}


def _config_compression() -> str:
    """``explain.compression`` of config/config.yaml: the relevance files as the paper run stores
    them."""
    import yaml
    from measure import REPOSITORY

    config = yaml.safe_load((REPOSITORY / "config" / "config.yaml").read_text())
    return config["explain"]["compression"]


def _files(folder: Path) -> dict[str, str]:
    """The 1° anomaly file (the package's anomaly step), a label table and a saved network."""
    import pandas as pd
    from bench_anomalies import geoxai_task, input_file
    from bench_lrp import _model

    from geoxai.learn.models import save_model

    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: str(folder / name) for name in ("anomalies.nc", "labels.csv", "model.h5")}
    if not Path(paths["anomalies.nc"]).exists():
        geoxai_task(str(input_file(DEGREES)), paths["anomalies.nc"], keep=True)
    if not Path(paths["labels.csv"]).exists():
        import xarray as xr

        with xr.open_dataset(paths["anomalies.nc"]) as anomalies:
            keys = anomalies["time"].dt.strftime("%Y-%m").values
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(len(keys), SAMPLES, replace=False))
        pd.DataFrame({"time": keys[rows], "index": rng.standard_normal(SAMPLES).round(4),
                      "label": rng.integers(0, 2, SAMPLES),
                      "split": np.where(rng.random(SAMPLES) < 0.8, "train", "validation")}
                     ).to_csv(paths["labels.csv"], index=False)
    if not Path(paths["model.h5"]).exists():
        save_model(_model(round(180 / DEGREES) * round(360 / DEGREES), 1), paths["model.h5"])
    return paths


def _job(rule: str, options: dict[str, Any]) -> list[str]:
    command = [sys.executable, "-m", "geoxai", rule]
    for key, value in options.items():
        command += [f"--{key}", *(value if isinstance(value, list) else [str(value)])]
    return command


def job_commands(paths: dict[str, str], scratch: Path) -> dict[str, list[str]]:
    """The jobs as the workflow's rules call them (workflow/rules/explain.smk, train.smk)."""
    common = {"model": paths["model.h5"], "anomalies": paths["anomalies.nc"],
              "labels": paths["labels.csv"]}
    relevance = {**common, "methods": "alpha_1_beta_0", "seed": 0, "parameters": "{}",
                 "compression": _config_compression(), "class-names": CLASS_NAMES}
    return {
        "relevance_numpy": _job("relevance", {**relevance, "backend": "numpy",
                                              "relevance": str(scratch / "relevance_numpy.nc")}),
        "relevance_innvestigate": _job("relevance", {
            **relevance, "backend": "innvestigate",
            "relevance": str(scratch / "relevance_innvestigate.nc")}),
        "optimal_input": _job("optimal_input", {
            **common, "optimal-input": str(scratch / "optimal_input.nc"), "class-index": 1,
            "seed": 0, "settings": json.dumps(OPTIMAL_INPUT), "class-names": CLASS_NAMES}),
        "train": _job("train", {
            "anomalies": paths["anomalies.nc"], "labels": paths["labels.csv"], "seed": 0,
            "model": str(scratch / "trained.h5"), "metrics": str(scratch / "trained.json"),
            "model-config": "{}", "training-config": "{}", "class-names": CLASS_NAMES}),
    }


def job_parts(paths: dict[str, str], output: str) -> dict[str, Any]:
    """Child task: the relevance job's parts in one process (numpy backend, α1β0)."""
    from geoxai.core import provenance
    from geoxai.learn.models import load_network
    from geoxai.learn.samples import load_samples
    from geoxai.products.relevance import relevance_dataset
    from geoxai.xai.explain import explain

    result: dict[str, Any] = {}
    start = time.perf_counter()
    samples = load_samples(paths["anomalies.nc"], paths["labels.csv"])
    result["read_s"] = time.perf_counter() - start
    start = time.perf_counter()
    network = load_network(paths["model.h5"], samples.n_features)
    predicted = network.predict(samples.inputs).argmax(axis=1)
    result["load_model_s"] = time.perf_counter() - start
    start = time.perf_counter()
    explanation = explain(network, samples.inputs, "alpha_1_beta_0", backend="numpy")
    result["explain_s"] = time.perf_counter() - start
    start = time.perf_counter()
    maps = samples.to_maps(explanation.relevance) * samples.ocean_mask
    dataset = relevance_dataset(samples, maps, explanation, predicted, "alpha_1_beta_0", "numpy",
                                0, CLASS_NAMES)
    provenance.write_netcdf_atomic(dataset, output, compression=_config_compression(),
                                   inputs={"model": paths["model.h5"],
                                           "anomalies": paths["anomalies.nc"]})
    result["write_s"] = time.perf_counter() - start
    result["output_mb"] = Path(output).stat().st_size / 1e6
    result["total_s"] = sum(result[key] for key in ("read_s", "load_model_s", "explain_s",
                                                    "write_s"))
    return result


def training_alone(paths: dict[str, str]) -> dict[str, Any]:
    """Child task: ``train_model`` for one seed at the config's settings, nothing around it."""
    from geoxai.learn.models import configure_tensorflow, train_model
    from geoxai.learn.samples import load_samples

    configure_tensorflow()
    samples = load_samples(paths["anomalies.nc"], paths["labels.csv"])
    train, validation = samples.in_split("train"), samples.in_split("validation")
    start = time.perf_counter()
    train_model(train.inputs, train.labels, validation.inputs, validation.labels, 0,
                progress=False)
    return {"train_s": time.perf_counter() - start}


def _wall(command: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{(done.stderr or done.stdout)[-2000:]}")
        best = min(best, elapsed)
    return best


def run(quick: bool, repeats: int) -> list[Figure]:
    from measure import load_average

    scratch = OUTPUT / "jobs"
    paths = _files(OUTPUT / "data" / "jobs_1deg")
    commands = job_commands(paths, scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    command = command_line("jobs")
    size = f"{DEGREES:g} deg (64,800 inputs), {SAMPLES} samples, anomaly file 1,668 months"
    before = load_average()
    walls = {name: _wall(job, 1 if name == "train" else repeats)
             for name, job in commands.items() if not (quick and name == "train")}
    parts, _ = best_child("bench_jobs:job_parts", {"paths": paths,
                                                    "output": str(scratch / "parts.nc")},
                          repeats, "total_s")
    trained = None if quick else best_child("bench_jobs:training_alone", {"paths": paths}, 1,
                                            "train_s")[0]["train_s"]
    load = (before, load_average())
    work = parts["explain_s"]
    split = (f"in one process: read the labelled maps {parts['read_s']:.2f} s, load the weights "
             f"(h5py) + predict {parts['load_model_s']:.2f} s, explain {parts['explain_s']:.2f} s, "
             f"build + write the relevance file ({parts['output_mb']:.0f} MB, "
             f"{_config_compression()}, with the inputs' sha256) "
             f"{parts['write_s']:.2f} s")
    figures = [
        Figure("jobs", "relevance job, numpy backend, 1 rule (alpha_1_beta_0)", size,
               round(walls["relevance_numpy"], 2), "s",
               reference=f"goal <= 3 s: {'met' if walls['relevance_numpy'] <= 3 else 'missed'}; "
               f"the LRP itself {work:.2f} s", note=split + "; no TensorFlow import",
               load=load, repeats=repeats, date=now(), command=command),
        Figure("jobs", "relevance job, innvestigate backend, 1 rule (alpha_1_beta_0)", size,
               round(walls["relevance_innvestigate"], 2), "s",
               reference=f"{walls['relevance_innvestigate'] / walls['relevance_numpy']:.1f}x the "
               "numpy job", note="imports TensorFlow, loads the Keras model, builds the analyzer",
               load=load, repeats=repeats, date=now(), command=command),
        Figure("jobs", "optimal-input job (50,000 steps)", f"{DEGREES:g} deg (64,800 inputs)",
               round(walls["optimal_input"], 2), "s",
               reference=f"goal <= 3 s: {'met' if walls['optimal_input'] <= 3 else 'missed'}",
               note="weights read with h5py, no TensorFlow; start zeros: the anomaly maps are not "
               "read", load=load, repeats=repeats, date=now(), command=command),
    ]
    if trained is not None:
        ratio = walls["train"] / trained
        figures.append(Figure(
            "jobs", "training job (100 epochs)", size, round(walls["train"], 1), "s",
            reference=f"train_model alone {trained:.1f} s: {ratio:.2f}x (goal <= 1.5x: "
            f"{'met' if ratio <= 1.5 else 'missed'})", note="one run each",
            load=load, repeats=1, date=now(), command=command))
    return figures
