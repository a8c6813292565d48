"""Application 2 (seasonal land temperature from CESM SST) end to end on the demo config.

The demo's CESM-like source has a known answer: one land box's next-season 2-m temperature follows
SST in a tropical-Pacific driver region, every other box is noise. The workflow runs only the lst
targets here (a config file with `applications: [lst]`), through the same rules as the paper run:
generated Zarr stores -> fetch -> seasonal anomalies -> checkpoint of land boxes -> labels -> one
network per box and seed -> skill map, composites and figures. The tests at the end run the
same steps without Snakemake on a tiny store, and check the config schema of Application 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from conftest import REPO, config_files, figure_stems, merged_config, run_snakemake

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import load_product, open_product
from geoxai.lst.synthetic import generate_cesm_like
from geoxai.steps import anomalies as anomaly_steps
from geoxai.steps import data as data_steps
from geoxai.steps import labels as label_steps
from geoxai.xai.composites import relevance_share_in_region

LST = "results/lst"
DEMO = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())


@pytest.fixture(scope="session")
def lst_run(demo_run) -> Path:
    """The demo (both applications) run once by conftest's `demo_run`; these tests read Application 2."""
    return demo_run


@pytest.fixture(scope="session")
def truth(lst_run) -> dict:
    return json.loads((lst_run / "resources/lst/truth.json").read_text())


@pytest.fixture(scope="session")
def skill(lst_run) -> xr.Dataset:
    return load_product(lst_run / LST / "skill.nc")


@pytest.mark.workflow
def test_driven_box_is_skilful(skill, truth):
    driven = skill.sel(box=truth["driven_box"])
    median = float(driven["validation_accuracy_median"])
    print(f"driven box {truth['driven_box']}: median validation accuracy {median:.3f} "
          f"(seeds {[round(float(v), 3) for v in driven['validation_accuracy'].values]}; best possible "
          f"{truth['best_possible_accuracy_driven_box']}); persistence "
          f"{float(driven['persistence_accuracy']):.3f}")
    assert median >= 0.8
    # The networks see the driver itself, persistence only its echo in the box: they must win.
    assert median > float(driven["persistence_accuracy"])


@pytest.mark.workflow
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


@pytest.mark.workflow
def test_driven_box_relevance_concentrates_on_the_driver(lst_run, truth):
    box = truth["driven_box"]
    composites = open_product(lst_run / LST / f"composites/{box}/alpha_1_beta_0.nc")
    mask = open_product(lst_run / "resources/lst/truth.nc")["driver_mask"]
    np.testing.assert_allclose(mask["lat"], composites["lat"])
    np.testing.assert_allclose(mask["lon"], composites["lon"])
    for c, name in enumerate(composites["class"].values):
        ratio = relevance_share_in_region(
            composites["relevance_composite_mean"].values[c], mask.values,
            composites["ocean_mask"].values, lat=composites["lat"].values,
        )
        print(f"{box} {name}: share of relevance in the driver region / its share of ocean = "
              f"{ratio:.1f}")
        assert ratio >= 5


@pytest.mark.workflow
def test_skill_file_has_the_persistence_baseline_and_provenance(lst_run, skill):
    boxes = json.loads((lst_run / LST / "targets.json").read_text())["boxes"]
    assert sorted(skill["box"].values.tolist()) == sorted(boxes)
    assert skill.sizes["seed"] == len(DEMO["seeds"])
    for box in boxes:
        table = pd.read_csv(lst_run / LST / f"labels/{box}.csv", dtype={"time": str})
        validation = table[table["split"] == "validation"]
        # chance: the best constant forecast on validation (always its majority class)
        warm = (validation["label"] == 1).mean()
        expected = max(warm, 1 - warm)
        assert float(skill["chance_accuracy"].sel(box=box)) == pytest.approx(expected, abs=1e-6)
        expected = (validation["persistence"] == validation["label"]).mean()
        persistence = float(skill["persistence_accuracy"].sel(box=box))
        assert persistence == pytest.approx(expected, abs=1e-6)
        assert int(skill["validation_samples"].sel(box=box)) == len(validation)
    for key in ("Conventions", "history", "git_commit", "config_digest", "input_targets_sha256"):
        assert key in skill.attrs, key
    for name, variable in skill.data_vars.items():
        if name not in ("significant", "majority_class"):  # flags
            assert variable.attrs.get("units") == "1", name
    assert set(np.unique(skill["significant"].values)) <= {0, 1}
    assert ((skill["p_value"] >= 0) & (skill["p_value"] <= 1)).all()
    assert skill["lat"].attrs["units"] == "degrees_north"
    assert ((skill["lon"] > skill["box_lon"]) & (skill["lon"] < skill["box_lon_max"])).all()


@pytest.mark.workflow
def test_anomalies_have_the_enso_layout_and_come_from_the_generated_stores(lst_run):
    anomalies = open_product(lst_run / LST / "anomalies.nc")
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


@pytest.mark.workflow
def test_every_box_has_a_label_table_aligned_to_the_anomalies(lst_run):
    keys = set(open_product(lst_run / LST / "anomalies.nc")["time_key"].values.astype(str))
    for box in json.loads((lst_run / LST / "targets.json").read_text())["boxes"]:
        table = pd.read_csv(lst_run / LST / f"labels/{box}.csv", dtype={"time": str})
        assert list(table.columns) == ["time", "index", "label", "split", "persistence"]
        assert set(table["time"]) <= keys and table["time"].is_monotonic_increasing
        assert (table["label"] == (table["index"] > 0)).all()
        assert (table["split"] == "train").sum() == round(0.8 * len(table))


@pytest.mark.workflow
def test_figures_of_the_explained_boxes_and_the_skill_map(lst_run):
    assert (lst_run / LST / "figures/skill_map.png").stat().st_size > 10_000
    demo = merged_config("config.yaml", "demo.yaml")
    expected = figure_stems(demo, demo["lst"]["case_studies"])
    for box in DEMO["lst"]["explain_targets"]:
        figures = {p.stem for p in (lst_run / LST / f"figures/{box}").glob("*.png")}
        assert figures == expected, box


@pytest.mark.workflow
def test_rerun_is_a_no_op(lst_run):
    result = run_snakemake(lst_run, "-n", "--configfile", *config_files("demo.yaml"))
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.workflow
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


# --- the steps without Snakemake, on a small generated store (fast) ---------------------------

SMALL = {"n_years": 12, "ocean_nlat": 24, "ocean_nlon": 36, "atm_dlat": 10.0, "atm_dlon": 10.0,
         "sst_grid_degrees": 10.0}
TARGETS = {"lat_edges": [20, 30, 40], "lon_edges": [240, 250, 260], "land_threshold": 0.5}
ANOMALIES = {"grid_degrees": 10, "seasons": ["DJF", "MAM", "JJA", "SON"], "drift": "linear"}


@pytest.fixture(scope="module")
def small_steps(tmp_path_factory) -> dict[str, Path]:
    """Stores -> fetch (SST one year shorter than TREFHT) -> anomalies -> targets."""
    folder = tmp_path_factory.mktemp("lst_steps")
    stores = generate_cesm_like(SMALL, folder / "stores")
    paths = {name: folder / f"{name}.nc" for name in ("sst", "trefht", "landfrac", "anomalies",
                                                      "targets")}
    paths["boxes"] = folder / "targets.json"
    data_steps.fetch_lst_field(stores["sst"], "SST", str(paths["sst"]), years=[400, 410])
    data_steps.fetch_lst_field(stores["trefht"], "TREFHT", str(paths["trefht"]), years=[400, 411])
    data_steps.fetch_lst_landfrac(stores["landfrac"], "LANDFRAC", str(paths["landfrac"]))
    anomaly_steps.lst_anomalies(str(paths["sst"]), str(paths["anomalies"]), "SST", ANOMALIES)
    label_steps.lst_targets(str(paths["trefht"]), str(paths["landfrac"]), str(paths["targets"]),
                      str(paths["boxes"]), TARGETS, ANOMALIES)
    return paths


def test_targets_name_the_kept_boxes_with_their_edges(small_steps):
    boxes = json.loads(small_steps["boxes"].read_text())["boxes"]
    targets = open_product(small_steps["targets"])
    assert boxes == targets["box"].values.tolist() and 1 <= len(boxes) <= 4
    assert (targets["box_lat_max"] - targets["box_lat"] == 10).all()
    assert (targets["box_lon_max"] - targets["box_lon"] == 10).all()
    assert (targets["box_land_fraction"] >= TARGETS["land_threshold"]).all()
    assert targets["trefht_box_anomaly"].attrs["units"] == "K"
    record = json.loads(Path(f"{small_steps['landfrac']}.provenance.json").read_text())
    assert record["url"].endswith("atm/static/grid.zarr") and record["variable"] == "LANDFRAC"


def test_anomalies_and_targets_record_the_training_period_they_were_fitted_on(small_steps):
    """Both fit climatology and drift on the first lst.labels.train_fraction of their seasons."""
    with open_product(small_steps["anomalies"]) as sst, \
            open_product(small_steps["targets"]) as targets:
        for dataset in (sst, targets):
            keys = dataset["time_key"].values.astype(str)
            n_fit = round(0.8 * keys.size)
            assert dataset.attrs["climatology_period"] == f"{keys[0]} .. {keys[n_fit - 1]}"
            assert dataset.attrs["climatology_train_fraction"] == 0.8
        # the TREFHT record is a year longer here; from the same years, both periods agree
        assert sst.attrs["climatology_period"].split(" .. ")[0] == \
            targets.attrs["climatology_period"].split(" .. ")[0]


def test_labels_keep_only_seasons_with_sst_and_split_them_again(small_steps, tmp_path):
    box = json.loads(small_steps["boxes"].read_text())["boxes"][0]
    table = label_steps.lst_labels(str(small_steps["targets"]), str(small_steps["anomalies"]), box,
                             str(tmp_path / "labels.csv"), lead=1, settings={})
    sst_seasons = open_product(small_steps["anomalies"])["time_key"].values.astype(str)
    # TREFHT has one more year than SST: its seasons have targets but no SST map, so they go.
    assert table["time"].iloc[-1] == sst_seasons[-1] and set(table["time"]) <= set(sst_seasons)
    assert (table["split"] == "train").sum() == round(0.8 * len(table))
    with open_product(small_steps["targets"]) as targets:
        series = targets["trefht_box_anomaly"].sel(box=box).to_series()
        keys = list(targets["time_key"].values.astype(str))
    for _, row in table.head(3).iterrows():
        position = keys.index(row["time"])
        assert row["index"] == pytest.approx(series.iloc[position + 1], abs=1e-4)
        assert row["persistence"] == int(series.iloc[position] > 0)


def test_a_box_that_is_not_a_land_box_is_refused_by_name(small_steps, tmp_path):
    with pytest.raises(GeoxaiError, match="lat60_lon190.*not among the land boxes"):
        label_steps.lst_labels(str(small_steps["targets"]), str(small_steps["anomalies"]),
                         "lat60_lon190", str(tmp_path / "labels.csv"), lead=1, settings={})


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"lst": {"targets": {"lead": 0}}}, "lead"),
        ({"lst": {"explain_targets": ["box_30_250"]}}, "box_30_250"),
        ({"applications": ["enso", "land"]}, "land"),
        ({"lst": {"anomalies": {"drift": "quadratic"}}}, "quadratic"),
    ],
)
def test_bad_lst_config_values_stop_with_a_clear_message(tmp_path, override, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(override))
    result = run_snakemake(tmp_path, "-n", "--configfile", *config_files("demo.yaml", path),
                           check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
