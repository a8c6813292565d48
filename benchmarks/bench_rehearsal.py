"""`make rehearsal`: the paper run at full size, offline, with its wall time and peak memory.

The data are rebuilt in the real sources' layouts (tests/rehearsal.py) and served from
127.0.0.1: COBE-SST2 at 1 degree from 1850-01 with ENSO driven by the real Niño3.4 index, the
real PSL index, and the CESM1-LE catalog's stores on a local S3 server, on the native POP
(384 x 320) and CAM (192 x 288) grids for a long control-like record. Then `rule all` of
config/config.yaml runs with both applications, ten seeds and 50,000 optimal-input steps; the
override changes only where the data live, turns Application 2 on and limits `lst.years` to the
record served. Results go to benchmarks/output/rehearsal/ (JSON and log); the table in
benchmarks/README.md quotes them.

    python benchmarks/bench_rehearsal.py [--years 200] [--keep]
    python benchmarks/bench_rehearsal.py --dag   # only the dry run of the paper-size DAG

With ``--dag`` only Application 2's targets checkpoint runs (a dry run cannot list the boxes'
jobs before it), then ``snakemake -n`` of rule all, both applications, is timed: the job
count does not depend on ``--years``, so this is the paper run's DAG.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import yaml
from bench_workflow import (
    find_snakemake,
    job_benchmarks,
    run_with_peak_memory,
    without_slurm_client,
)
from measure import OUTPUT, REPOSITORY, load_average, machine_description, now

sys.path.insert(0, str(REPOSITORY / "tests"))
from rehearsal import cesm_settings, serve_paper_data


def findings(run: Path, truth_nc: Path) -> dict[str, object]:
    """What the run found, so that a finished rehearsal says more than that it finished."""
    import numpy as np
    import pandas as pd

    from geoxai.core.provenance import open_product
    from geoxai.xai.composites import relevance_share_in_region

    found: dict[str, object] = {}
    enso = run / "results" / "enso"
    if (enso / "labels" / "nino34.counts.json").exists():
        counts = json.loads((enso / "labels" / "nino34.counts.json").read_text())
        found["enso_counts"] = {split: counts[split] for split in ("all", "train", "validation")}
        table = pd.read_csv(enso / "evaluation" / "nino34.csv", dtype={"seed": str})
        accuracy = table[table["seed"].str.isdigit()]["validation_accuracy"]
        found["enso_validation_accuracy"] = {"median": float(accuracy.median()),
                                             "min": float(accuracy.min()), "seeds": len(accuracy)}
        with open_product(next((enso / "composites" / "nino34").glob("*.nc"))) as composite, \
                open_product(truth_nc) as truth:
            found["enso_relevance_share_in_signal_region_over_area_share"] = {
                str(name): round(float(relevance_share_in_region(
                    composite["relevance_composite_mean"].values[c],
                    truth["driving_region_mask"].values, composite["ocean_mask"].values)), 2)
                for c, name in enumerate(composite["class"].values)}
    skill_nc = run / "results" / "lst" / "skill.nc"
    if skill_nc.exists():
        with open_product(skill_nc) as skill:
            accuracy = dict(zip(map(str, skill["box"].values),
                                skill["validation_accuracy_median"].values.tolist()))
        driven = "lat30_lon260"  # tests/rehearsal.py: cesm_settings
        others = [value for box, value in accuracy.items() if box != driven]
        found["lst_boxes"] = len(accuracy)
        found["lst_driven_box_median_accuracy"] = round(accuracy.get(driven, float("nan")), 3)
        found["lst_other_boxes_median_accuracy"] = round(float(np.median(others)), 3)
    return found


def dry_run_after_targets(command: list[str], folder: Path, environment: dict[str, str]) -> int:
    """Build Application 2's targets checkpoint, then time ``snakemake -n`` of rule all."""
    import re

    # the target before the options: after --config it would be read as a config entry
    seconds, _, _, code = run_with_peak_memory([command[0], "results/lst/targets.nc", *command[1:]],
                                               folder / "targets.log", environment)
    if code:
        print((folder / "targets.log").read_text()[-3000:])
        return code
    result: dict[str, object] = {"date": now(), "machine": machine_description(),
                                 "targets_seconds": round(seconds), "dry_runs": []}
    for _ in range(2):
        before = load_average()
        seconds, _, _, code = run_with_peak_memory(
            [*command, "-n"], folder / "dry_run.log",
            {**environment, "PATH": without_slurm_client(folder)["PATH"]})
        text = (folder / "dry_run.log").read_text()
        if code:
            print(text[-3000:])
            return code
        jobs = re.search(r"^total\s+(\d+)", text, re.MULTILINE)
        result["dry_runs"].append({"seconds": round(seconds, 1), "load": [before, load_average()],
                                   "jobs": int(jobs.group(1)) if jobs else -1})
    result["train_jobs"] = int(re.search(r"^train\s+(\d+)", text, re.MULTILINE).group(1))
    (folder / "dag.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=200, help="model years of the CESM-like record")
    parser.add_argument("--snakemake", default=None)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the run folder for inspection")
    parser.add_argument("--applications", default="enso,lst",
                        help="comma-separated: which applications to run (default both)")
    parser.add_argument("--dag", action="store_true",
                        help="run only the targets checkpoint, then time snakemake -n of rule all")
    options = parser.parse_args()
    folder = OUTPUT / "rehearsal"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    snakemake = find_snakemake(options.snakemake)

    started = time.perf_counter()
    cesm = cesm_settings(options.years, ocean_shape=(384, 320), atm_degrees=(180 / 191, 1.25))
    with serve_paper_data(folder, cobe_degrees=1.0, cesm=cesm) as served:
        preparation_seconds = time.perf_counter() - started
        override = {**served.locations, "applications": options.applications.split(","),
                    "lst": {"years": [400, 400 + options.years - 1]}}
        (folder / "rehearsal.yaml").write_text(yaml.safe_dump(override))
        command = [snakemake, "--snakefile", str(REPOSITORY / "Snakefile"),
                   "--directory", str(folder / "run"), "--cores", str(options.cores),
                   "--profile", str(REPOSITORY / "profiles" / "local"),
                   "--configfile", str(REPOSITORY / "config" / "config.yaml"),
                   str(folder / "rehearsal.yaml"),
                   "--config", f"analysis_python={sys.executable}"]
        if options.dag:
            return dry_run_after_targets(command, folder, {**os.environ, **served.environment})
        before = load_average()
        seconds, peak_total, peak_single, code = run_with_peak_memory(
            command, folder / "run.log", {**os.environ, **served.environment})
    jobs = job_benchmarks(folder / "run")
    per_rule: dict[str, dict[str, float]] = {}
    for row in jobs:
        step = "/".join(Path(row["job"]).with_suffix("").parts[:2])  # e.g. enso/train
        entry = per_rule.setdefault(step, {"jobs": 0, "s": 0.0})
        entry["jobs"] += 1
        entry["s"] += float(row["s"])
    result = {
        "date": now(), "machine": machine_description(), "exit_code": code,
        "wall_seconds": round(seconds), "peak_rss_total_mib": round(peak_total),
        "peak_rss_single_mib": round(peak_single), "load_before": before, "load_after": load_average(),
        "data_preparation_seconds": round(preparation_seconds),
        "cesm_years": options.years, "job_seconds_by_benchmark_file": per_rule,
        "command": "make rehearsal",
        "findings": findings(folder / "run", served.truth),
    }
    (folder / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    if not options.keep and code == 0:
        shutil.rmtree(folder / "run", ignore_errors=True)
        shutil.rmtree(folder / "served", ignore_errors=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
