"""Anomalies: agreement with an independent xarray implementation, land zeros, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product
from geoxai.enso.anomalies import AnomalySettings, anomaly_block, coarsen_to, compute_anomalies
from geoxai.enso.sources import open_sst


def sst_file(path, months=360, start="1950-01-01", lat_step=5.0, seed=0):
    time = pd.date_range(start, periods=months, freq="MS")
    lat = np.arange(90 - lat_step / 2, -90, -lat_step)
    lon = np.arange(lat_step / 2, 360, lat_step)
    rng = np.random.default_rng(seed)
    cycle = 3 * np.sin(2 * np.pi * (time.month.values - 1) / 12)[:, None, None]
    trend = 0.002 * np.arange(months)[:, None, None] * rng.uniform(0.5, 2, (1, lat.size, lon.size))
    values = 20 + cycle + trend + rng.normal(scale=0.5, size=(months, lat.size, lon.size))
    values = values.astype("float32")
    values[:, 5:9, 10:20] = np.nan  # land
    xr.Dataset(
        {"sst": (("time", "lat", "lon"), values, {"units": "degC"})},
        coords={"time": time, "lat": lat, "lon": lon},
    ).to_netcdf(path)
    return path


def reference_anomalies(path, period, climatology):
    """Independent implementation: xarray groupby climatology + polyfit detrend, eager."""
    sst = xr.open_dataset(path)["sst"].sortby("lat").sel(time=slice(*period))
    base = sst.sel(time=slice(*climatology))
    anomalies = sst.groupby("time.month") - base.groupby("time.month").mean("time")
    steps = xr.DataArray(np.arange(sst.sizes["time"], dtype=float), dims="time")
    anomalies = anomalies.assign_coords(step=steps)
    fit = anomalies.swap_dims(time="step").polyfit("step", deg=1)
    trend = xr.polyval(anomalies["step"], fit.polyfit_coefficients)
    return (anomalies - trend).fillna(0.0).transpose("time", "lat", "lon")


def test_matches_independent_implementation(tmp_path):
    path = sst_file(tmp_path / "sst.nc")
    settings = AnomalySettings(period=("1951-01", "1978-12"), climatology=("1961-01", "1970-12"), lat_chunk=7)
    ours = compute_anomalies(open_sst(path, lat_chunk=7), settings).compute()
    reference = reference_anomalies(path, ("1951-01", "1978-12"), ("1961-01", "1970-12"))
    np.testing.assert_allclose(ours["sst_anomaly"].values, reference.values, atol=2e-4)
    assert ours["time_key"].values[0] == "1951-01" and ours.sizes["time"] == 28 * 12


def test_land_is_exact_zero_and_masked(tmp_path):
    path = sst_file(tmp_path / "sst.nc", months=120)
    result = compute_anomalies(open_sst(path), AnomalySettings(
        period=("1950-01", "1959-12"), climatology=("1950-01", "1959-12"))).compute()
    land = result["ocean_mask"].values == 0
    assert land.sum() == 4 * 10
    assert np.all(result["sst_anomaly"].values[:, land] == 0.0)
    assert np.all(result["sst_anomaly"].values[:, ~land].std(axis=0) > 0.1)


def test_trend_and_cycle_removed_exactly():
    months = np.tile(np.arange(1, 13), 20)
    steps = np.arange(240, dtype=np.float32)
    field = (5 + 0.01 * steps + np.sin(months))[:, None].astype(np.float32) * np.ones((1, 3), np.float32)
    result = anomaly_block(field, months, np.ones(240, bool), detrend=True)
    # a linear trend plus a seasonal cycle leaves only the cycle's interaction with the trend: tiny
    assert np.abs(result).max() < 0.07
    assert np.abs(result.mean(axis=0)).max() < 1e-4


def test_period_outside_data_is_a_clear_error(tmp_path):
    path = sst_file(tmp_path / "sst.nc", months=24)
    with pytest.raises(GeoxaiError, match="anomalies.period"):
        compute_anomalies(open_sst(path), AnomalySettings(period=("1900-01", "1910-12")))


def test_climatology_outside_period_is_a_clear_error(tmp_path):
    path = sst_file(tmp_path / "sst.nc", months=24)
    with pytest.raises(GeoxaiError, match="anomalies.climatology"):
        compute_anomalies(open_sst(path), AnomalySettings(period=("1950-01", "1951-12")))


def test_coarsening_averages_ocean_cells(tmp_path):
    path = sst_file(tmp_path / "sst.nc", months=12, lat_step=1.0)
    sst = open_sst(path)
    coarse = coarsen_to(sst, 4.0)
    assert coarse.sizes["lat"] == 45 and coarse.sizes["lon"] == 90
    block = sst.isel(time=0, lat=slice(40, 44), lon=slice(100, 104)).values
    weights = np.cos(np.deg2rad(sst["lat"].values[40:44]))[:, None] * np.ones((1, 4))
    expected = (block * weights).sum() / weights.sum()
    np.testing.assert_allclose(coarse.isel(time=0, lat=10, lon=25).values, expected, rtol=1e-5)
    with pytest.raises(GeoxaiError, match="grid_degrees"):
        coarsen_to(sst, 1.5)


def test_memory_stays_bounded_by_the_chunk_not_the_file(tmp_path):
    """Peak memory of the anomaly step grows far less than the input file (about 300 MB here)."""
    path = tmp_path / "big.nc"
    time = pd.date_range("1900-01-01", periods=1200, freq="MS")
    lat, lon = np.arange(-89.5, 90, 1.0), np.arange(0.5, 360, 1.0)
    dataset = xr.Dataset(
        {"sst": (("time", "lat", "lon"), np.zeros((time.size, lat.size, lon.size), np.float32), {"units": "degC"})},
        coords={"time": time, "lat": lat, "lon": lon},
    )
    rng = np.random.default_rng(1)
    dataset["sst"].values[:] = 20 + rng.standard_normal((time.size, 1, lon.size), dtype=np.float32)
    dataset.to_netcdf(path)
    del dataset
    size_mb = path.stat().st_size / 1e6

    script = textwrap.dedent(f"""
        import json, sys
        from geoxai.steps import anomalies as anomaly_steps
        import geoxai.enso.anomalies, geoxai.enso.sources, xarray, dask, netCDF4  # noqa: F401 (baseline imports)

        def high_water_mb():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024

        # The peak resident size survives fork+exec on Linux: reset it after the imports.
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        baseline = high_water_mb()
        if sys.argv[1] == "run":
            anomaly_steps.enso_anomalies({str(path)!r}, {str(tmp_path / 'anomalies.nc')!r}, {{}},
                            {{"period": ["1900-01", "1999-12"], "climatology": ["1961-01", "1990-12"],
                              "lat_chunk": 4, "dask_scheduler": "synchronous"}})
        peak = high_water_mb()
        print(json.dumps({{"baseline": baseline, "peak": peak}}))
    """)
    result = subprocess.run([sys.executable, "-c", script, "run"], capture_output=True, text=True, check=True)
    memory = json.loads(result.stdout.strip().splitlines()[-1])
    growth = memory["peak"] - memory["baseline"]
    print(f"file {size_mb:.0f} MB, baseline {memory['baseline']:.0f} MB, peak {memory['peak']:.0f} MB")
    assert size_mb > 250
    assert growth < 0.5 * size_mb, memory
    with open_product(tmp_path / "anomalies.nc") as out:
        assert out["sst_anomaly"].sizes == {"time": 1200, "lat": 180, "lon": 360}
        assert abs(float(out["sst_anomaly"].isel(time=slice(0, 24)).mean())) < 0.2


def test_blocks_in_any_memory_layout_are_detrended():
    """dask hands blocks over in Fortran order after a transpose; the result must not depend on it."""
    rng = np.random.default_rng(3)
    months = np.tile(np.arange(1, 13), 10)
    field = (rng.normal(size=(120, 4, 5)) + np.arange(120)[:, None, None] * 0.05).astype(np.float32)
    c_order = anomaly_block(field, months, np.ones(120, bool), detrend=True)
    f_order = anomaly_block(np.asfortranarray(field), months, np.ones(120, bool), detrend=True)
    np.testing.assert_array_equal(c_order, f_order)
    assert np.abs(f_order.mean(axis=0)).max() < 1e-5


def test_a_running_dask_scheduler_gives_the_same_anomalies(tmp_path):
    """`anomalies.dask_scheduler: tcp://...` sends the blocks to an existing dask cluster."""
    from distributed import LocalCluster

    from geoxai.steps import anomalies as anomaly_steps

    path = sst_file(tmp_path / "sst.nc", months=120)
    settings = {"period": ["1950-01", "1959-12"], "climatology": ["1950-01", "1959-12"], "lat_chunk": 9}
    anomaly_steps.enso_anomalies(str(path), str(tmp_path / "threads.nc"), {}, {**settings, "dask_scheduler": "threads"})
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://", host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        anomaly_steps.enso_anomalies(str(path), str(tmp_path / "cluster.nc"), {},
                        {**settings, "dask_scheduler": cluster.scheduler_address})
    with open_product(tmp_path / "threads.nc") as local, open_product(tmp_path / "cluster.nc") as remote:
        xr.testing.assert_equal(local["sst_anomaly"], remote["sst_anomaly"])
    with pytest.raises(GeoxaiError, match="dask_scheduler"):
        anomaly_steps.enso_anomalies(str(path), str(tmp_path / "x.nc"), {}, {**settings, "dask_scheduler": "magic"})


def test_annual_samples_with_a_missing_year_are_detrended_against_their_years(tmp_path):
    """One sample a year (January), 1960 missing: a linear trend in years is removed exactly, and
    a climatology of January alone is enough."""
    years = np.array([y for y in range(1950, 1980) if y != 1960])
    time = pd.to_datetime([f"{y}-01-16" for y in years])
    lat, lon = np.array([-2.5, 2.5]), np.array([182.5, 187.5, 192.5])
    values = (20 + 0.1 * (years - 1950))[:, None, None] * np.ones((1, lat.size, lon.size))
    xr.Dataset({"sst": (("time", "lat", "lon"), values.astype("float32"), {"units": "degC"})},
               coords={"time": time, "lat": lat, "lon": lon}).to_netcdf(tmp_path / "annual.nc")
    result = compute_anomalies(open_sst(tmp_path / "annual.nc"), AnomalySettings(
        period=("1950-01", "1979-12"), climatology=("1950-01", "1979-12"))).compute()
    assert np.abs(result["sst_anomaly"].values).max() < 1e-4
    assert result["time_key"].values.tolist() == [f"{y}-01" for y in years]


def test_columns_with_gaps_are_detrended_on_their_valid_samples():
    """Complete columns go through the shared fit, a column with gaps through its own, an empty
    one stays empty; each matches numpy's polyfit on its valid samples."""
    from geoxai.enso.anomalies import remove_linear_trend

    rng = np.random.default_rng(4)
    steps = np.arange(300, dtype=np.float32)
    series = (rng.normal(size=(300, 6)) + 0.01 * steps[:, None] * np.arange(1, 7)).astype("float32")
    series[40:90, 2] = np.nan
    series[:, 5] = np.nan
    expected = series.copy()
    for column in range(5):
        valid = np.isfinite(series[:, column])
        fit = np.polyfit(steps[valid], series[valid, column].astype(float), 1)
        expected[valid, column] -= np.polyval(fit, steps[valid])
    detrended = remove_linear_trend(series.copy())
    np.testing.assert_allclose(detrended[:, :5], expected[:, :5], atol=2e-5, equal_nan=True)
    assert np.isnan(detrended[40:90, 2]).all() and np.isnan(detrended[:, 5]).all()


def test_compress_changes_the_storage_not_the_values(tmp_path):
    """enso.anomalies.compress: zlib on request, plain storage by default, the same numbers."""
    import netCDF4

    from geoxai.steps import anomalies as anomaly_steps

    path = sst_file(tmp_path / "sst.nc", months=240)
    settings = {"period": ["1950-01", "1969-12"], "climatology": ["1950-01", "1969-12"], "lat_chunk": 9}
    for name, compress in (("plain.nc", False), ("zlib.nc", True)):
        anomaly_steps.enso_anomalies(str(path), str(tmp_path / name), {}, {**settings, "compress": compress})
        with netCDF4.Dataset(tmp_path / name) as stored:
            assert stored["sst_anomaly"].filters()["zlib"] is compress
    plain, zipped = (open_product(tmp_path / name)["sst_anomaly"].values for name in ("plain.nc", "zlib.nc"))
    np.testing.assert_array_equal(plain, zipped)
    assert (tmp_path / "zlib.nc").stat().st_size < 0.9 * (tmp_path / "plain.nc").stat().st_size
