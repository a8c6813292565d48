"""Seasonal means, anomalies with drift removed, land-box targets and lead labels."""

from __future__ import annotations

import cftime
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product
from geoxai.lst.boxes import land_box_targets, lead_labels, prepare_land_targets
from geoxai.lst.seasonal import (
    prepare_sst_anomalies,
    seasonal_anomalies,
    seasonal_means,
    sst_anomaly_dataset,
)
from geoxai.lst.synthetic import pop_like_grid, synthetic_land
from geoxai.products.anomalies import write_anomalies

NOLEAP_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def monthly(
    values: np.ndarray, first_year: int, calendar: str = "noleap", dims=("x",)
) -> xr.DataArray:
    """A monthly series stamped mid-month from January of ``first_year``."""
    times = []
    for k in range(values.shape[0]):
        year, month = divmod(k, 12)
        if calendar == "noleap":
            times.append(
                cftime.DatetimeNoLeap(first_year + year, month + 1, 15, has_year_zero=True)
            )
        else:
            times.append(np.datetime64(f"{first_year + year:04d}-{month + 1:02d}-15"))
    time = np.array(times, dtype=object if calendar == "noleap" else "datetime64[ns]")
    return xr.DataArray(values, dims=("time", *dims), coords={"time": time}, name="field")


def test_seasonal_means_noleap_weights_days_and_takes_december_from_the_year_before():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(36, 2))
    means = seasonal_means(monthly(values, 400))
    # 0400-0402: DJF 0400 lacks Dec 0399 and Dec 0402 has no Jan/Feb 0403: 2 DJF + 3 x 3 others.
    assert means.sizes["time"] == 11
    assert list(means["time_key"].values[:4]) == ["0400-04", "0400-07", "0400-10", "0401-01"]
    assert list(means["season"].values[:4]) == ["MAM", "JJA", "SON", "DJF"]
    djf_0401 = means.sel(time=means["time_key"] == "0401-01").values[0]
    expected = (31 * values[11] + 31 * values[12] + 28 * values[13]) / 90
    np.testing.assert_allclose(djf_0401, expected, rtol=1e-12)
    son_0402 = means.sel(time=means["time_key"] == "0402-10").values[0]
    np.testing.assert_allclose(son_0402, (30 * values[32] + 31 * values[33] + 30 * values[34]) / 91)
    assert means["time"].values[3].month == 1 and means["time"].values[3].year == 401


def test_seasonal_means_standard_calendar_counts_leap_february():
    values = np.arange(36.0)[:, None]
    means = seasonal_means(monthly(values, 1951, calendar="standard"), seasons=("DJF",))
    assert list(means["time_key"].values) == ["1952-01", "1953-01"]
    # DJF 1952: Dec 1951 (31 days), Jan 1952 (31), Feb 1952 (29, a leap year).
    np.testing.assert_allclose(means.values[0, 0], (31 * 11 + 31 * 12 + 29 * 13) / 91)


def test_missing_values_and_missing_months():
    values = np.ones((24, 2))
    values[4, 1] = np.nan  # May of the first year, second cell
    series = monthly(values, 400)
    means = seasonal_means(series, seasons=("MAM",))
    assert np.isnan(means.values[0, 1]) and means.values[0, 0] == 1.0
    gappy = series.isel(time=[i for i in range(24) if i != 15])  # April of the second year missing
    assert list(seasonal_means(gappy, seasons=("MAM",))["time_key"].values) == ["0400-04"]
    jfm = seasonal_means(series, seasons=("JFM",))
    assert list(jfm["time_key"].values) == ["0400-02", "0401-02"]
    with pytest.raises(GeoxaiError, match="consecutive month initials"):
        seasonal_means(series, seasons=("DXF",))


def synthetic_seasonal(n_years: int = 40, seed: int = 0):
    """Seasonal means = season climatology + linear drift + noise, at 3 cells (one land)."""
    rng = np.random.default_rng(seed)
    values = np.zeros((12 * n_years, 3))
    months = np.arange(12 * n_years)
    values += (10 * np.sin(2 * np.pi * months / 12))[:, None]
    values += 0.05 * (months / 12)[:, None] * np.array([1.0, -2.0, 0.5])
    values += rng.normal(size=values.shape)
    values[:, 2] = np.nan
    return seasonal_means(monthly(values, 400))


def training_mask(seasonal, train_fraction=0.8):
    """The first round(train_fraction * n) seasons of the record, written out independently."""
    n = seasonal.sizes["time"]
    return np.arange(n) < round(train_fraction * n)


def test_linear_drift_and_climatology_are_fitted_on_training_years_per_season():
    seasonal = synthetic_seasonal()
    anomalies = seasonal_anomalies(seasonal)
    train = training_mask(seasonal)
    for season in ("DJF", "MAM", "JJA", "SON"):
        members = np.flatnonzero(seasonal["season"].values == season)
        part = anomalies.isel(time=members)
        years = np.array([int(k[:4]) for k in part["time_key"].values], dtype=float)
        original = seasonal.isel(time=members)
        fitted = train[members]
        for cell in (0, 1):
            # the line through the training years only, extended over the whole record
            slope, intercept = np.polyfit(years[fitted], original.values[fitted, cell], 1)
            expected = original.values[:, cell] - (slope * years + intercept)
            np.testing.assert_allclose(part.values[:, cell], expected, atol=1e-9)
            # the drift is gone from the training part, which averages to 0
            assert abs(np.polyfit(years[fitted], part.values[fitted, cell], 1)[0]) < 1e-9
            assert abs(part.values[fitted, cell].mean()) < 1e-9
    assert np.isnan(anomalies.values[:, 2]).all()
    assert list(anomalies["time_key"].values) == list(seasonal["time_key"].values)
    keys = seasonal["time_key"].values
    assert anomalies.attrs["climatology_period"] == f"{keys[0]} .. {keys[train][-1]}"
    assert anomalies.attrs["climatology_train_fraction"] == 0.8
    assert "training period" in anomalies.attrs["comment"]
    filled = seasonal_anomalies(seasonal, fill_missing=0.0)
    assert (filled.values[:, 2] == 0).all()
    assert filled.attrs["drift_removal"] == "linear"
    # train_fraction=1 fits the whole record
    whole = seasonal_anomalies(seasonal, train_fraction=1.0)
    djf = np.flatnonzero(seasonal["season"].values == "DJF")
    years = np.array([int(k[:4]) for k in seasonal["time_key"].values[djf]], dtype=float)
    slope, intercept = np.polyfit(years, seasonal.values[djf, 0], 1)
    np.testing.assert_allclose(whole.values[djf, 0],
                               seasonal.values[djf, 0] - (slope * years + intercept), atol=1e-9)
    for bad in (0.0, 1.5):
        with pytest.raises(GeoxaiError, match="lst.labels.train_fraction"):
            seasonal_anomalies(seasonal, train_fraction=bad)


@pytest.mark.parametrize("drift", ["none", "linear", "running_mean"])
def test_validation_years_keep_a_shift_the_training_years_do_not_have(drift):
    """Fitted on the training years only, the climatology leaves a shift of the validation years'
    mean in their anomalies; fitted on the whole record it would remove part of it."""
    rng = np.random.default_rng(3)
    months = np.arange(12 * 50)
    values = (10 * np.sin(2 * np.pi * months / 12))[:, None] + rng.normal(size=(months.size, 2))
    seasonal = seasonal_means(monthly(values, 400))  # a climatology and noise, no drift
    train = training_mask(seasonal)
    shift = 2.0
    shifted = seasonal.copy(data=seasonal.values + np.where(train, 0.0, shift)[:, None])
    anomalies = seasonal_anomalies(shifted, drift=drift, window_years=11)
    reference = seasonal_anomalies(seasonal, drift=drift, window_years=11)
    # the same fit as without the shift: the validation anomalies are the unshifted ones + shift
    np.testing.assert_allclose(anomalies.values[~train], reference.values[~train] + shift,
                               atol=1e-9)
    np.testing.assert_allclose(anomalies.values[train], reference.values[train], atol=1e-9)
    kept = anomalies.values[~train].mean()
    assert abs(anomalies.values[train].mean()) < 0.2 and abs(kept - shift) < 0.3
    # whole-record fitting takes (part of) the shift into the climatology (or drift)
    whole = seasonal_anomalies(shifted, drift=drift, window_years=11, train_fraction=1.0)
    assert whole.values[~train].mean() < kept - 0.3


def test_running_mean_and_no_drift_options():
    seasonal = synthetic_seasonal(n_years=60)
    train = training_mask(seasonal)
    climatology_only = seasonal_anomalies(seasonal, drift="none")
    djf_members = np.flatnonzero(climatology_only["season"].values == "DJF")
    djf = climatology_only.isel(time=djf_members)
    np.testing.assert_allclose(djf.values[train[djf_members], :2].mean(axis=0), 0.0, atol=1e-9)
    # The drift is left in: its trend survives.
    years = np.array([int(k[:4]) for k in djf["time_key"].values], dtype=float)
    assert np.polyfit(years, djf.values[:, 1], 1)[0] < -0.05
    djf_seasonal = seasonal.isel(time=djf_members).values[:, 0]
    # Over the whole record: the centred running mean of every year.
    running = seasonal_anomalies(seasonal, drift="running_mean", window_years=11,
                                 train_fraction=1.0)
    rolling = pd.Series(djf_seasonal).rolling(11, center=True, min_periods=6).mean().to_numpy()
    np.testing.assert_allclose(running.values[djf_members, 0], djf_seasonal - rolling, atol=1e-9)
    # Fitted on the training years: their running mean, then the mean of their last window.
    running = seasonal_anomalies(seasonal, drift="running_mean", window_years=11)
    fitted = train[djf_members]
    training = djf_seasonal[fitted]
    background = np.concatenate([
        pd.Series(training).rolling(11, center=True, min_periods=6).mean().to_numpy(),
        np.full((~fitted).sum(), training[-11:].mean()),
    ])
    np.testing.assert_allclose(running.values[djf_members, 0], djf_seasonal - background,
                               atol=1e-9)
    with pytest.raises(GeoxaiError, match="drift="):
        seasonal_anomalies(seasonal, drift="quadratic")


def box_grid():
    lat = np.arange(-90.0, 90.1, 4.0)
    lon = np.arange(0.0, 360.0, 5.0)
    return lat, lon


def test_land_box_targets_weight_land_area():
    lat, lon = box_grid()
    land = np.zeros((lat.size, lon.size))
    in_box = ((lat >= 40) & (lat < 50))[:, None] & ((lon >= 260) & (lon < 270))[None, :]
    land[in_box] = 1.0
    land[np.ix_(lat == 48, lon == 265)] = 0.5  # a coastal cell counts half
    other = ((lat >= 20) & (lat < 30))[:, None] & ((lon >= 190) & (lon < 200))[None, :]
    land[other] = 0.2  # mostly ocean: below the threshold
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5, lat.size, lon.size))
    anomaly = xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={
            "time": np.arange(5),
            "lat": lat,
            "lon": lon,
            "time_key": ("time", [f"0400-{m:02d}" for m in (1, 4, 7, 10, 12)]),
        },
        attrs={"units": "K"},
    )
    landfrac = xr.DataArray(land, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    targets = land_box_targets(anomaly, landfrac, land_threshold=0.5)
    assert targets.dims == ("time", "box")
    assert list(targets["box"].values) == ["lat40_lon260"]
    assert targets["box_lat"].item() == 40 and targets["box_lon"].item() == 260
    weights = np.cos(np.deg2rad(lat))[:, None] * land * in_box
    expected = (values * weights).sum(axis=(1, 2)) / weights.sum()
    np.testing.assert_allclose(targets.values[:, 0], expected, rtol=1e-12)
    assert list(targets["time_key"].values) == list(anomaly["time_key"].values)
    low = land_box_targets(anomaly, landfrac, land_threshold=0.1)
    assert "lat20_lon190" in list(low["box"].values)
    with pytest.raises(GeoxaiError, match="land fraction"):
        land_box_targets(anomaly, landfrac * 0, land_threshold=0.5)


def test_prepare_land_targets_equals_anomalies_then_boxes():
    lat, lon = box_grid()
    rng = np.random.default_rng(4)
    values = 280 + rng.normal(size=(12 * 12, lat.size, lon.size))
    trefht = monthly(values, 400, dims=("lat", "lon")).assign_coords(lat=lat, lon=lon)
    landfrac = xr.DataArray(
        synthetic_land(lat[:, None], lon[None, :]).astype(float),
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon},
    )
    direct = land_box_targets(seasonal_anomalies(seasonal_means(trefht)), landfrac)
    boxes_first = prepare_land_targets(trefht, landfrac)
    assert direct.sizes["box"] > 20
    np.testing.assert_allclose(boxes_first.values, direct.values, atol=1e-9)
    assert list(boxes_first["box"].values) == list(direct["box"].values)
    assert boxes_first.attrs["climatology_period"] == direct.attrs.get(
        "climatology_period", seasonal_anomalies(seasonal_means(trefht)).attrs["climatology_period"])


def test_lead_labels_look_ahead_and_split_chronologically():
    keys = [f"{400 + (m // 12):04d}-{m % 12 + 1:02d}" for m in range(0, 3 * 40, 3)]
    values = np.sin(np.arange(40) * 1.3) + 0.1
    keep = [i for i in range(40) if i != 10]  # one season missing
    targets = xr.DataArray(
        np.stack([values, -values], axis=1)[keep],
        dims=("time", "box"),
        coords={
            "box": ["lat30_lon250", "lat40_lon260"],
            "time_key": ("time", np.array(keys)[keep]),
        },
    )
    tables = lead_labels(targets, lead=2, train_fraction=0.8)
    table = tables["lat30_lon250"]
    assert list(table.columns) == ["time", "index", "label", "split", "persistence"]
    lookup = dict(zip(keys, values, strict=True))
    for row in table.itertuples():
        later = keys[keys.index(row.time) + 2]
        assert row.index == pytest.approx(lookup[later])
        assert row.label == int(lookup[later] > 0)
        assert row.persistence == int(lookup[row.time] > 0)
    # 38 seasons have a season 2 later; the missing one removes itself and its predecessor by 2.
    assert len(table) == 36
    assert keys[10] not in set(table["time"]) and keys[8] not in set(table["time"])
    assert (table["split"] == "train").sum() == round(0.8 * 36)
    assert list(table["split"]) == sorted(table["split"], key=lambda s: s != "train")
    assert (tables["lat40_lon260"]["label"] == 1 - table["label"]).all()


def test_sst_anomaly_dataset_matches_the_enso_format(tmp_path):
    lat = np.array([10.0, 0.0, -10.0])  # descending, as some products are
    lon = np.array([-170.0, 0.0, 90.0])
    values = np.ones((4, 3, 3), dtype="float64")
    values[:, 0, 0] = np.nan
    anomalies = xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={
            "time": np.arange(4),
            "lat": lat,
            "lon": lon,
            "time_key": ("time", ["0400-01", "0400-04", "0400-07", "0400-10"]),
        },
    )
    dataset = sst_anomaly_dataset(anomalies)
    assert dataset["sst_anomaly"].dtype == np.float32
    assert dataset["ocean_mask"].dtype == np.int8
    assert list(dataset["lat"].values) == [-10.0, 0.0, 10.0]
    assert list(dataset["lon"].values) == [0.0, 90.0, 190.0]
    land = dataset["ocean_mask"].sel(lat=10.0, lon=190.0)
    assert land.item() == 0
    assert (dataset["sst_anomaly"].sel(lat=10.0, lon=190.0) == 0).all()
    assert int(dataset["ocean_mask"].sum()) == 8
    path = tmp_path / "anomalies.nc"
    write_anomalies(dataset, path, config={"app": "cesm"})
    back = open_product(path)
    assert back.attrs["Conventions"].startswith("CF")
    assert list(back["time_key"].values) == ["0400-01", "0400-04", "0400-07", "0400-10"]
    assert back["sst_anomaly"].attrs["units"] == "K"


def test_prepare_sst_anomalies_from_a_pop_like_field():
    grid = pop_like_grid(45, 60)
    land = synthetic_land(grid["TLAT"].values, grid["TLONG"].values)
    rng = np.random.default_rng(5)
    values = rng.normal(size=(12 * 6, *land.shape)) + 20
    values[:, land] = np.nan
    sst = (
        monthly(values, 400, dims=("nlat", "nlon"))
        .assign_coords(TLAT=grid["TLAT"], TLONG=grid["TLONG"], TAREA=grid["TAREA"])
        .chunk({"time": 12})
    )
    dataset = prepare_sst_anomalies(sst, degrees=10.0)
    assert dataset["sst_anomaly"].dims == ("time", "lat", "lon")
    assert dataset.sizes["lat"] == 18 and dataset.sizes["lon"] == 36
    assert dataset.sizes["time"] == 6 * 4 - 1
    ocean = dataset["ocean_mask"].values == 1
    assert 0.3 < ocean.mean() < 0.9
    assert (dataset["sst_anomaly"].values[:, ~ocean] == 0).all()
    assert np.isfinite(dataset["sst_anomaly"].values).all()
    assert "bin average" in dataset.attrs["regrid"]
    # CF bounds: from the first day of the season's first month to the day after its last
    # (the first season is MAM 0400: DJF 0400 would need December 0399)
    assert dataset["time"].attrs["bounds"] == "time_bnds"
    first, last = (dataset["time_bnds"].values[0], dataset["time_bnds"].values[-1])
    assert [(t.year, t.month, t.day) for t in first] == [(400, 3, 1), (400, 6, 1)]
    assert [(t.year, t.month, t.day) for t in last] == [(405, 9, 1), (405, 12, 1)]
    assert type(first[0]) is type(dataset["time"].values[0])  # the noleap calendar
    # fitted on round(0.8 x 23) = 18 seasons: 0400-04 (MAM) and 17 seasons later, 0404-07
    assert dataset.attrs["climatology_period"] == "0400-04 .. 0404-07"
    assert dataset["sst_anomaly"].attrs["climatology_train_fraction"] == 0.8
