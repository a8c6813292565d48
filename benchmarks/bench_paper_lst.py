"""Stage "lst_paper": the core-hours of Application 2 at the paper's size, from its jobs.

The paper's Application 2 trains one network per North American land box and seed on the CESM1
pre-industrial control: 1,801 model years (``lst.years`` of config/config.yaml), four seasons a
year, SST on the 2° grid. A full run is hours of training, so this stage measures each kind of
job once, as the workflow runs it (``python -m geoxai <rule>`` in a fresh process), on a
synthetic seasonal anomaly file of the paper's size, and multiplies by the job counts of
config/config.yaml: the boxes are those of ``lst.targets`` with enough land on CAM's f09 grid
(the shipped Natural Earth land, as the workflow computes it when ``lst.landfrac.store`` is
null), times ``seeds``; relevance, optimal inputs and ``significance.networks`` shuffled-label
networks for ``lst.explain_targets`` only. A shuffled-label network (``null_network``) trains
and explains as a network does, so it is counted as one training job plus one relevance job.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from measure import OUTPUT, REPOSITORY, Figure, command_line, load_average, now

#: CAM's f09 atmosphere grid (192 x 288), on which the workflow finds the land boxes.
F09_LAT = np.linspace(-90.0, 90.0, 192)
F09_LON = np.arange(288) * 1.25


def paper_config() -> dict[str, Any]:
    return yaml.safe_load((REPOSITORY / "config" / "config.yaml").read_text())


def job_counts(config: dict[str, Any]) -> dict[str, int]:
    """How many jobs of each kind the paper's Application 2 runs."""
    import xarray as xr

    from geoxai.lst.boxes import land_box_targets
    from geoxai.lst.landfrac import land_fraction

    targets = config["lst"]["targets"]
    land = land_fraction(xr.DataArray(F09_LAT, dims="lat"), xr.DataArray(F09_LON, dims="lon"))
    land = land.assign_coords(lat=F09_LAT, lon=F09_LON)
    field = xr.zeros_like(land).expand_dims(time=[0])
    boxes = land_box_targets(field, land, targets["lat_edges"], targets["lon_edges"],
                             targets["land_threshold"]).sizes["box"]
    seeds = len(config["seeds"])
    explained = len(config["lst"]["explain_targets"])
    return {"boxes": boxes, "train": boxes * seeds, "relevance": explained * seeds,
            "optimal_input": explained * seeds * 2,
            "null_network": explained * config["significance"]["networks"]}


def _files(folder: Path, years: int, degrees: float) -> dict[str, str]:
    """A seasonal SST anomaly file of ``years`` x 4 seasons on the ``degrees`` grid, with a
    planted pattern that sets the sign of each sample's label, and its label table."""
    import pandas as pd
    import xarray as xr

    from geoxai.products.anomalies import anomaly_dataset, write_anomalies

    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: str(folder / name) for name in ("anomalies.nc", "labels.csv")}
    if Path(paths["anomalies.nc"]).exists() and Path(paths["labels.csv"]).exists():
        return paths
    n_lat, n_lon = round(180 / degrees), round(360 / degrees)
    lat = -90 + degrees / 2 + degrees * np.arange(n_lat)
    lon = degrees / 2 + degrees * np.arange(n_lon)
    seasons = years * 4
    time = xr.date_range("0400-01-16", periods=seasons, freq="3MS", calendar="noleap",
                         use_cftime=True)
    keys = np.array([f"{t.year:04d}-{t.month:02d}" for t in time])
    rng = np.random.default_rng(0)
    pattern = np.exp(-((lat[:, None] / 10) ** 2) - (((lon[None, :] - 220) / 30) ** 2))
    driver = rng.standard_normal(seasons).astype(np.float32)
    values = rng.standard_normal((seasons, n_lat, n_lon), dtype=np.float32)
    values += driver[:, None, None] * pattern.astype(np.float32)
    ocean = xr.DataArray(np.ones((n_lat, n_lon), np.int8), dims=("lat", "lon"),
                         coords={"lat": lat, "lon": lon})
    field = xr.DataArray(values, dims=("time", "lat", "lon"),
                         coords={"time": time, "lat": lat, "lon": lon})
    dataset = anomaly_dataset(field, ocean, long_name="synthetic seasonal SST anomaly",
                              cell_methods="time: mean", comment="seasonal means",
                              title="synthetic SST anomalies", coords={"time_key": ("time", keys)})
    write_anomalies(dataset, paths["anomalies.nc"])
    label = (driver + 0.5 * rng.standard_normal(seasons) > 0).astype(int)
    train = round(seasons * 0.8)
    pd.DataFrame({"time": keys, "index": driver.round(4), "label": label,
                  "split": ["train"] * train + ["validation"] * (seasons - train)}
                 ).to_csv(paths["labels.csv"], index=False)
    return paths


def _job(rule: str, options: dict[str, Any]) -> dict[str, float]:
    """Wall time and CPU time of one job run as the workflow runs it."""
    command = [sys.executable, "-m", "geoxai", rule]
    for key, value in options.items():
        command += [f"--{key}", *(value if isinstance(value, list) else [str(value)])]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{(done.stderr or done.stdout)[-2000:]}")
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime)
            + (after.ru_stime - before.ru_stime)}


def run(quick: bool, repeats: int) -> list[Figure]:
    config = paper_config()
    first, last = config["lst"]["years"]
    years = 100 if quick else last - first + 1
    degrees = float(config["lst"]["anomalies"]["grid_degrees"])
    paths = _files(OUTPUT / "data" / f"lst_paper_{years}y_{degrees:g}deg", years, degrees)
    scratch = OUTPUT / "lst_paper"
    scratch.mkdir(parents=True, exist_ok=True)
    class_names = config["lst"]["labels"]["class_names"]
    model_config = json.dumps({**config["model"], **config["lst"].get("model", {})})
    common = {"anomalies": paths["anomalies.nc"], "labels": paths["labels.csv"]}
    before = load_average()
    train = _job("train", {**common, "seed": 0, "model": str(scratch / "model.h5"),
                           "metrics": str(scratch / "metrics.json"),
                           "model-config": model_config,
                           "training-config": json.dumps(config["training"]),
                           "class-names": class_names})
    relevance = _job("relevance", {
        **common, "model": str(scratch / "model.h5"), "seed": 0,
        "relevance": [str(scratch / f"relevance_{m}.nc") for m in config["explain"]["rules"]],
        "methods": config["explain"]["rules"], "backend": config["explain"]["backend"],
        "parameters": json.dumps(config["explain"]["parameters"]),
        "compression": config["explain"]["compression"], "class-names": class_names})
    optimal = _job("optimal_input", {
        **common, "model": str(scratch / "model.h5"), "seed": 0, "class-index": 1,
        "optimal-input": str(scratch / "optimal_input.nc"),
        "settings": json.dumps(config["optimal_input"]), "class-names": class_names})
    load = (before, load_average())
    metrics = json.loads((scratch / "metrics.json").read_text())
    counts = job_counts(config)
    jobs = {"train": train, "relevance": relevance, "optimal_input": optimal}
    null_cpu_s = train["cpu_s"] + relevance["cpu_s"]
    core_s = (sum(counts[name] * job["cpu_s"] for name, job in jobs.items())
              + counts["null_network"] * null_cpu_s)
    samples = years * 4
    size = (f"{years} model years x 4 seasons ({samples:,} samples), {degrees:g} deg "
            f"({round(180 / degrees) * round(360 / degrees):,} inputs)")
    command = command_line("lst_paper")
    figures = [
        Figure("lst_paper", f"{name} job, one network", size, round(job["wall_s"], 1), "s",
               reference=f"CPU {job['cpu_s']:.1f} s; {counts[name]} such jobs in the paper run",
               note=(f"validation accuracy {metrics['accuracy']['validation']:.2f} on the "
                     "planted signal" if name == "train" else ""),
               load=load, repeats=1, date=now(), command=command)
        for name, job in jobs.items()]
    figures.append(Figure(
        "lst_paper", "Application 2 at the paper's size, network jobs", size,
        round(core_s / 3600, 2), "core-hours",
        reference=(f"{counts['boxes']} land boxes x {len(config['seeds'])} seeds: "
                   + "; ".join([f"{counts[name]} x {job['cpu_s']:.1f} CPU-s {name}"
                                for name, job in jobs.items()]
                               + [(f"{counts['null_network']} x {null_cpu_s:.1f} CPU-s "
                                  "null_network (train + relevance)")])),
        note="measured job CPU times x the config's job counts; not included: the anomaly and "
             "target jobs (run once; reading the stores from S3 is bound by the network), the "
             "sanity and faithfulness checks of the explained boxes and the figures",
        load=load, repeats=1, date=now(), command=command))
    return figures
