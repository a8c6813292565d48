"""A user's own data through `rule all`: seasonal means on a regional grid that crosses the
dateline (longitudes -180..180, an extra `forecast_period` coordinate, CF time bounds) and a
CPC-style whitespace index table with year and month columns, labelled by the index averaged
over each season's months."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from conftest import config_files, figure_stems, merged_config, run_snakemake
from rehearsal import REAL_INDEX

from geoxai.core.months import add_months
from geoxai.core.provenance import open_product
from geoxai.enso.psl import read_psl_index
from geoxai.enso.synthetic import generate_enso

pytestmark = pytest.mark.workflow

REGION = {"lat": (-30, 60), "lon": (120, 290)}  # 120E..70W, across the dateline


def seasonal_regional_file(monthly: xr.Dataset) -> xr.Dataset:
    """3-month means (DJF, MAM, JJA, SON) stamped mid-season, cut to REGION, lon -180..180."""
    sst = monthly["sst"]
    seasons = sst.resample(time="QS-DEC").mean()
    starts = pd.DatetimeIndex(seasons["time"].values)
    complete = (starts >= pd.Timestamp("1870-03-01")) & (starts <= pd.Timestamp("2020-06-01"))
    seasons, starts = seasons.isel(time=complete), starts[complete]
    ends = starts + pd.DateOffset(months=3)
    stamps = starts + pd.DateOffset(months=1) + pd.Timedelta(days=14)
    seasons = seasons.assign_coords(time=stamps.to_numpy())
    lat, lon = seasons["lat"].values, seasons["lon"].values
    region = seasons.isel(
        lat=np.flatnonzero((lat >= REGION["lat"][0]) & (lat <= REGION["lat"][1])),
        lon=np.flatnonzero((lon >= REGION["lon"][0]) & (lon <= REGION["lon"][1])))
    region = region.assign_coords(lon=((region.lon + 180) % 360) - 180).sortby("lon")
    dataset = region.to_dataset(name="sst")
    dataset["time_bnds"] = (("time", "nbnd"), np.stack([starts.to_numpy(), ends.to_numpy()], 1))
    dataset["time"].attrs["bounds"] = "time_bnds"
    for name in ("time", "time_bnds"):
        dataset[name].encoding["units"] = "days since 1800-01-01"
    dataset["sst"].attrs = {**monthly["sst"].attrs, "cell_methods": "time: mean"}
    return dataset.assign_coords(forecast_period=np.timedelta64(0, "h"))


def cpc_table(index: pd.Series) -> str:
    lines = ["  YR   MON  TOTAL ClimAdjust  ANOM"]
    for key, value in index.items():
        year, month = key.split("-")
        lines.append(f"{year}  {int(month):3d}  {value + 27.0:6.2f}  {27.0:6.2f}  {value:6.2f}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    generate_enso({"grid_degrees": 4, "start": "1869-12", "end": "2020-11",
                   "index_file": str(REAL_INDEX), "sea_ice_celsius": -1.8},
                  root / "monthly.nc", root / "unused_index.txt", root / "truth.nc")
    with xr.open_dataset(root / "monthly.nc") as monthly:
        seasonal_regional_file(monthly.load()).to_netcdf(root / "my_seasonal_sst.nc")
    index = read_psl_index(REAL_INDEX)
    (root / "detrend.nino34.ascii.txt").write_text(cpc_table(index))
    override = {
        "enso": {
            "sst": {"url": str(root / "my_seasonal_sst.nc")},
            "index": {"url": str(root / "detrend.nino34.ascii.txt"), "format": "table",
                      "year_column": "YR", "month_column": "MON", "value_column": "ANOM"},
            "labels": {"index_months": "sample"},
            "case_studies": ["1998-01"],
        },
        "seeds": [0, 1],
        "model": {"l2": [1.5625, 0.01, 0.01]},
        "significance": {"networks": 2, "bootstrap": 20},  # the test's size, not the paper's 20
    }
    (root / "my.yaml").write_text(yaml.safe_dump(override))
    workdir = root / "run"
    run_snakemake(workdir, "--cores", "2", "--configfile", *config_files(root / "my.yaml"),
                  timeout=1800)
    return {"workdir": workdir, "index": index, "override": override}


def test_labels_are_the_index_averaged_over_each_season(own_run):
    table = pd.read_csv(own_run["workdir"] / "results/enso/labels/nino34.csv")
    index = own_run["index"]
    for _, row in table.sample(40, random_state=0).iterrows():
        stamp = pd.Timestamp(f"{row['time']}-15")
        months = [(stamp + pd.DateOffset(months=k)).strftime("%Y-%m") for k in (-1, 0, 1)]
        mean = index[months].mean()
        assert row["label"] == (1 if mean > 0.5 else 0), (row["time"], mean)
    seasons = len(table)
    assert 200 < seasons < 556  # only seasons beyond +-0.5 are kept, of 139 years x 4


def test_networks_learn_the_seasonal_regional_data(own_run):
    table = pd.read_csv(own_run["workdir"] / "results/enso/evaluation/nino34.csv", dtype={"seed": str})
    accuracy = table[table["seed"].str.isdigit()]["validation_accuracy"]
    print("own seasonal regional data, validation accuracy per seed:", accuracy.tolist())
    assert accuracy.min() >= 0.85


def test_outputs_have_the_regional_grid_and_no_foreign_coordinates(own_run):
    workdir = own_run["workdir"]
    with open_product(workdir / "results/enso/anomalies.nc") as anomalies:
        assert "forecast_period" not in anomalies.variables
        # the CF bounds are the anomaly file's own: the months each season covers
        first, last = str(anomalies["covered_months"].values[0]).split("/")
        bounds = [str(t)[:7] for t in anomalies["time_bnds"].values[0]]
        assert bounds == [first, add_months(last, 1)]
        assert anomalies["lat"].min() >= -30 and anomalies["lat"].max() <= 60
        lon = anomalies["lon"].values
        assert np.all((lon >= 120) & (lon <= 290)) and np.all(np.diff(lon) > 0)
    with open_product(workdir / "results/enso/composites/nino34/alpha_1_beta_0.nc") as composite:
        assert "forecast_period" not in composite.variables
        assert composite.sizes["lon"] == lon.size


def test_every_figure_is_drawn(own_run):
    figures = own_run["workdir"] / "results/enso/figures/nino34"
    config = merged_config("config.yaml", own_run["override"])
    assert {p.stem for p in figures.glob("*.png")} == figure_stems(config, ["1998-01"])
    assert (figures / "alpha_1_beta_0_case_1998-01.png").stat().st_size > 10_000
    counts = json.loads((own_run["workdir"] / "results/enso/labels/nino34.counts.json").read_text())
    assert counts["all"]["total"] == len(pd.read_csv(own_run["workdir"] / "results/enso/labels/nino34.csv"))
