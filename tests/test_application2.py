"""Application 2 (seasonal land temperature from CESM SST) end to end on the demo config.

The demo's CESM-like source has a known answer: one land box's next-season 2-m temperature follows
SST in a tropical-Pacific driver region, every other box is noise. The workflow runs only the lst
targets here (a config file with `applications: [lst]`), through the same rules as the paper run:
generated Zarr stores -> fetch -> seasonal anomalies -> checkpoint of land boxes -> labels -> one
network per box and seed -> skill map, composites and figures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from conftest import REPO, config_files, run_snakemake

from geoxai.composites import relevance_share_in_region

pytestmark = pytest.mark.workflow

LST = "results/lst"
DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())


@pytest.fixture(scope="session")
def lst_run(tmp_path_factory) -> Path:
    """The demo's Application 2 run once into a fresh folder; tests read its outputs."""
    workdir = tmp_path_factory.mktemp("lst_demo")
    only_lst = tmp_path_factory.mktemp("lst_config") / "only_lst.yaml"
    only_lst.write_text("applications: [lst]\n")
    started = time.perf_counter()
    run_snakemake(workdir, "--cores", "2", "--configfile", *config_files("demo.yaml", only_lst))
    print(f"\nApplication 2 demo: {time.perf_counter() - started:.0f} s on 2 cores")
    return workdir


@pytest.fixture(scope="session")
def truth(lst_run) -> dict:
    return json.loads((lst_run / "resources/lst/truth.json").read_text())


@pytest.fixture(scope="session")
def skill(lst_run) -> xr.Dataset:
    return xr.load_dataset(lst_run / LST / "skill.nc")


def test_driven_box_is_skilful(skill, truth):
    driven = skill.sel(box=truth["driven_box"])
    median = float(driven["validation_accuracy_median"])
    print(f"driven box {truth['driven_box']}: median validation accuracy {median:.3f} "
          f"(seeds {driven['validation_accuracy'].values.round(3).tolist()}; best possible "
          f"{truth['best_possible_accuracy_driven_box']}); persistence "
          f"{float(driven['persistence_accuracy']):.3f}")
    assert median >= 0.8
    # The networks see the driver itself, persistence only its echo in the box: they must win.
    assert median > float(driven["persistence_accuracy"])


def test_undriven_boxes_stay_near_chance(skill, truth):
    """With ~160 validation seasons one network's accuracy on noise scatters by 0.5/sqrt(160)
    = 0.04 around 0.5: the median over boxes (of medians over seeds) must lie within 0.1
    (2.5 sigma of a single network), and no box may reach 0.7 (5 sigma)."""
    others = skill.drop_sel(box=truth["driven_box"])["validation_accuracy_median"]
    assert others.sizes["box"] >= 3
    median = float(others.median())
    print("undriven boxes: " + ", ".join(
        f"{box} {value:.3f}" for box, value in zip(others["box"].values, others.values, strict=True)
    ) + f"; median {median:.3f}")
    assert abs(median - 0.5) <= 0.1
    assert float(others.max()) <= 0.7


def test_driven_box_relevance_concentrates_on_the_driver(lst_run, truth):
    box = truth["driven_box"]
    composites = xr.open_dataset(lst_run / LST / f"composites/{box}/alpha_1_beta_0.nc")
    mask = xr.open_dataset(lst_run / "resources/lst/truth.nc")["driver_mask"]
    np.testing.assert_allclose(mask["lat"], composites["lat"])
    np.testing.assert_allclose(mask["lon"], composites["lon"])
    for c, name in enumerate(composites["class"].values):
        ratio = relevance_share_in_region(
            composites["relevance_composite_mean"].values[c], mask.values,
            composites["ocean_mask"].values,
        )
        print(f"{box} {name}: share of relevance in the driver region / its share of ocean = "
              f"{ratio:.1f}")
        assert ratio >= 5


def test_skill_file_has_the_persistence_baseline_and_provenance(lst_run, skill):
    boxes = json.loads((lst_run / LST / "targets.json").read_text())["boxes"]
    assert sorted(skill["box"].values.tolist()) == sorted(boxes)
    assert skill.sizes["seed"] == len(DEMO["seeds"])
    assert float(skill["chance_accuracy"]) == 0.5
    for box in boxes:
        table = pd.read_csv(lst_run / LST / f"labels/{box}.csv", dtype={"time": str})
        validation = table[table["split"] == "validation"]
        expected = (validation["persistence"] == validation["label"]).mean()
        persistence = float(skill["persistence_accuracy"].sel(box=box))
        assert persistence == pytest.approx(expected, abs=1e-6)
        assert int(skill["validation_samples"].sel(box=box)) == len(validation)
    for key in ("Conventions", "history", "git_commit", "config_digest", "input_targets_sha256"):
        assert key in skill.attrs, key
    for name, variable in skill.data_vars.items():
        assert variable.attrs.get("units") == "1", name
    assert skill["lat"].attrs["units"] == "degrees_north"
    assert ((skill["lon"] > skill["box_lon"]) & (skill["lon"] < skill["box_lon_max"])).all()


def test_anomalies_have_the_enso_layout_and_come_from_the_generated_stores(lst_run):
    anomalies = xr.open_dataset(lst_run / LST / "anomalies.nc")
    grid = DEMO["lst"]["anomalies"]["grid_degrees"]
    assert anomalies["sst_anomaly"].dims == ("time", "lat", "lon")
    assert anomalies["lat"].size == 180 / grid and anomalies["lon"].size == 360 / grid
    assert np.all(np.diff(anomalies["lat"].values) > 0) and 0 < anomalies["lon"].min() < 360
    land = anomalies["ocean_mask"].values == 0
    assert land.any() and np.all(anomalies["sst_anomaly"].values[:, land] == 0)
    first, last = DEMO["lst"]["years"]
    keys = anomalies["time_key"].values.astype(str)
    assert keys[0] == f"{first:04d}-04" and keys[-1] == f"{last:04d}-10"  # complete seasons only
    assert len(anomalies.attrs["input_sst_sha256"]) == 64
    for field in ("sst", "trefht", "landfrac"):
        record = json.loads((lst_run / f"resources/lst/{field}.nc.provenance.json").read_text())
        assert record["url"].startswith("resources/lst/stores/"), record


def test_every_box_has_a_label_table_aligned_to_the_anomalies(lst_run):
    keys = set(xr.open_dataset(lst_run / LST / "anomalies.nc")["time_key"].values.astype(str))
    for box in json.loads((lst_run / LST / "targets.json").read_text())["boxes"]:
        table = pd.read_csv(lst_run / LST / f"labels/{box}.csv", dtype={"time": str})
        assert list(table.columns) == ["time", "index", "label", "split", "persistence"]
        assert set(table["time"]) <= keys and table["time"].is_monotonic_increasing
        assert (table["label"] == (table["index"] > 0)).all()
        assert (table["split"] == "train").sum() == round(0.8 * len(table))


def test_figures_of_the_explained_boxes_and_the_skill_map(lst_run):
    assert (lst_run / LST / "figures/skill_map.png").stat().st_size > 10_000
    for box in DEMO["lst"]["explain_targets"]:
        figures = sorted(p.name for p in (lst_run / LST / f"figures/{box}").glob("*.png"))
        assert len(figures) == 6, figures  # training, index, 2 composites, 2 agreement


def test_rerun_is_a_no_op(lst_run, tmp_path):
    only_lst = tmp_path / "only_lst.yaml"
    only_lst.write_text("applications: [lst]\n")
    result = run_snakemake(lst_run, "-n", "--configfile", *config_files("demo.yaml", only_lst))
    assert "Nothing to be done" in result.stdout + result.stderr


def test_an_explain_target_that_is_not_a_land_box_stops_with_a_clear_message(lst_run, tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({
        "applications": ["lst"], "lst": {"explain_targets": ["lat60_lon190"]},
    }))
    result = run_snakemake(lst_run, "-n", "--configfile", *config_files("demo.yaml", override),
                           check=False)
    assert result.returncode != 0
    assert "lst.explain_targets" in result.stdout + result.stderr
    assert "lat60_lon190" in result.stdout + result.stderr
