"""Dress rehearsal of the paper run: `rule all` of config/config.yaml, both applications, against
local servers holding the real sources' layouts (tests/rehearsal.py).

The paper config is not edited. The override changes only where Application 1's files are
served, turns on Application 2 (as a user does) and makes the run fit CI: a 4-degree COBE-layout
grid and 6-degree Application 2 grid (with the L2 penalties scaled to them, 25/k^2 as the demo
does), two seeds, 150 model years of the CESM-like control run, two null networks for the
significance test and a demo-size attribution benchmark.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import config_files, figure_stems, merged_config, run_snakemake
from rehearsal import CATALOG_STORES, cesm_settings, serve_paper_data

from geoxai.core.provenance import open_product
from geoxai.xai.composites import relevance_share_in_region

pytestmark = pytest.mark.workflow

CI_SIZE = {
    "applications": ["enso", "lst"],
    "seeds": [0, 1],
    "model": {"l2": [1.5625, 0.01, 0.01]},
    "lst": {"years": [400, 549], "anomalies": {"grid_degrees": 6},
            "model": {"l2": [0.694, 0.01, 0.01]}},
    # sizes of the evaluation steps: two null networks instead of 20, a demo-size benchmark
    "significance": {"networks": 2, "bootstrap": 20},
    "attribution_benchmark": {"samples": 20000, "hidden_units": [256]},
}
#: The config keys the rehearsal may set: data locations and size, nothing else.
ALLOWED_OVERRIDES = {"enso.sst.url", "enso.index.url", "applications", "seeds", "model.l2",
                     "lst.years", "lst.anomalies.grid_degrees", "lst.model.l2",
                     "significance.networks", "significance.bootstrap",
                     "attribution_benchmark.samples", "attribution_benchmark.hidden_units"}


def _merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and key in out else value
    return out


def _leaf_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        keys |= _leaf_keys(value, path + ".") if isinstance(value, dict) else {path}
    return keys


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearsal")
    cesm = cesm_settings(n_years=150, ocean_shape=(60, 72), atm_degrees=(4.0, 5.0))
    with serve_paper_data(root, cobe_degrees=4, cesm=cesm) as served:
        s3 = served.s3
        bucket = sorted(path.split("/", 1)[1] for path in s3.filesystem().find(s3.bucket)
                        if path.endswith(".zmetadata"))
        override = _merged(served.locations, CI_SIZE)
        override_file = root / "rehearsal.yaml"
        override_file.write_text(yaml.safe_dump(override))
        workdir = root / "run"
        arguments = ("--configfile", *config_files(override_file))
        run = run_snakemake(workdir, "--cores", "2", *arguments, env=served.environment,
                            timeout=2400)
        report = run_snakemake(workdir, "--cores", "1", *arguments, "--report",
                               str(workdir / "results/report.html"), env=served.environment)
        again = run_snakemake(workdir, "-n", *arguments, env=served.environment)
        requests = [r.path for r in served.http.requests]
    return {"workdir": workdir, "override": override, "bucket": bucket, "run": run,
            "report": report, "again": again, "requests": requests, "truth": served.truth}


def test_only_data_locations_and_size_differ_from_the_paper_config(rehearsal):
    assert _leaf_keys(rehearsal["override"]) <= ALLOWED_OVERRIDES
    assert any(p.endswith("/COBE2/sst.mon.mean.nc") for p in rehearsal["requests"])
    assert any(p.endswith("/nino34.long.anom.data") for p in rehearsal["requests"])


def test_the_bucket_holds_only_the_catalog_stores(rehearsal):
    stores = {key.rsplit("/.zmetadata", 1)[0] for key in rehearsal["bucket"]}
    assert stores == set(CATALOG_STORES)


def test_every_final_output_exists_and_a_rerun_has_nothing_to_do(rehearsal):
    workdir = rehearsal["workdir"]
    assert "Nothing to be done" in rehearsal["again"].stdout + rehearsal["again"].stderr
    figures = workdir / "results/enso/figures/nino34"
    for case in ("1998-05", "1987-02"):
        for fmt in ("png", "pdf"):
            path = figures / f"alpha_1_beta_0_case_{case}.{fmt}"
            assert path.stat().st_size > 10_000, path
    config = merged_config("config.yaml", rehearsal["override"])
    assert {p.stem for p in figures.glob("*.png")} == figure_stems(config, config["enso"]["case_studies"])
    for box in config["lst"]["explain_targets"]:
        drawn = {p.stem for p in (workdir / f"results/lst/figures/{box}").glob("*.png")}
        assert drawn == figure_stems(config, config["lst"]["case_studies"]), box
    assert (workdir / "results/lst/figures/skill_map.png").stat().st_size > 10_000
    report = (workdir / "results/report.html").read_text(errors="replace")
    assert len(report) > 200_000
    for name in ("alpha_1_beta_0_case_1998-05", "skill_map", "run_summary", "nino34_accuracy"):
        assert name in report, name


def test_the_paper_labels_come_out(rehearsal):
    counts = json.loads((rehearsal["workdir"] / "results/enso/labels/nino34.counts.json").read_text())
    assert counts["all"]["El Nino"] == 337 and counts["all"]["La Nina"] == 485
    assert counts["all"]["total"] == 822
    assert counts["train"]["total"] == 658 and counts["validation"]["total"] == 164


def test_the_networks_learn_the_real_index(rehearsal):
    table = pd.read_csv(rehearsal["workdir"] / "results/enso/evaluation/nino34.csv", dtype={"seed": str})
    per_seed = table[table["seed"].str.isdigit()]
    print("rehearsal ENSO validation accuracy per seed:", per_seed["validation_accuracy"].tolist())
    assert len(per_seed) == 2 and per_seed["validation_accuracy"].min() >= 0.9


def test_enso_relevance_falls_where_the_signal_is(rehearsal):
    workdir = rehearsal["workdir"]
    composites = open_product(workdir / "results/enso/composites/nino34/alpha_1_beta_0.nc")
    truth = open_product(rehearsal["truth"])
    for c, name in enumerate(composites["class"].values):
        ratio = relevance_share_in_region(
            composites["relevance_composite_mean"].values[c], truth["driving_region_mask"].values,
            composites["ocean_mask"].values, lat=composites["lat"].values)
        print(f"rehearsal {name}: relevance share in the driving region / its ocean share = {ratio:.2f}")
        assert ratio >= 3


def test_anomalies_read_the_cobe_layout(rehearsal):
    with open_product(rehearsal["workdir"] / "results/enso/anomalies.nc") as anomalies:
        assert anomalies.sizes["lat"] == 45 and anomalies.sizes["lon"] == 90
        assert np.all(np.diff(anomalies["lat"].values) > 0)
        keys = anomalies["time_key"].values.astype(str)
        assert keys[0] == "1880-01" and keys[-1] == "2018-12" and len(keys) == 139 * 12
        # land (missing in the file) is exactly 0, and so is no ocean cell everywhere
        land = anomalies["ocean_mask"].values == 0
        assert 0.2 < land.mean() < 0.5
        assert np.all(anomalies["sst_anomaly"].values[:, land] == 0)


def test_application2_reads_the_catalog_and_derives_the_land_fraction(rehearsal):
    workdir = rehearsal["workdir"]
    record = json.loads((workdir / "resources/lst/sst.nc.provenance.json").read_text())
    assert record["url"] == "s3://ncar-cesm-lens/ocn/monthly/cesmLE-CTRL-SST.zarr"
    assert record.get("grid_store") == "s3://ncar-cesm-lens/ocn/static/grid.zarr"
    with open_product(workdir / "resources/lst/landfrac.nc") as landfrac:
        assert "Natural Earth" in json.dumps(landfrac.attrs) + json.dumps(
            {k: v.attrs for k, v in landfrac.data_vars.items()}, default=str)
    boxes = json.loads((workdir / "results/lst/targets.json").read_text())["boxes"]
    # 20-70N, 190-300E in 10-degree boxes: 55 boxes, of which land (>= 0.5) ...
    assert {"lat30_lon260", "lat50_lon230", "lat40_lon250"} <= set(boxes)
    assert not {"lat20_lon190", "lat20_lon200", "lat30_lon210"} & set(boxes)  # open Pacific
    assert all(re.fullmatch(r"lat\d+_lon\d+", box) for box in boxes)


def test_application2_finds_the_driven_box(rehearsal):
    skill = open_product(rehearsal["workdir"] / "results/lst/skill.nc")
    boxes = [str(b) for b in skill["box"].values]
    accuracy = dict(zip(boxes, skill["validation_accuracy_median"].values.tolist()))
    print("rehearsal Application 2 driven box lat30_lon260:", accuracy["lat30_lon260"])
    assert accuracy["lat30_lon260"] >= 0.75
    others = np.array([v for b, v in accuracy.items() if b != "lat30_lon260"])
    assert np.median(others) < 0.62
