"""Bring-your-own SST files: names, units, latitude order, longitude convention, calendars."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoxai.errors import GeoxaiError
from geoxai.sources import SSTFileSpec, month_keys, open_sst


def write(path, *, names=("time", "lat", "lon"), var="sst", units="degC", kelvin=False, lon_180=False,
          ascending=True, calendar=None, months=24):
    t_name, y_name, x_name = names
    lat = np.arange(-87.5, 90, 5.0)
    lat = lat if ascending else lat[::-1]
    lon = np.arange(-177.5, 180, 5.0) if lon_180 else np.arange(2.5, 360, 5.0)
    values = np.broadcast_to(10 + 0.01 * (lon % 360), (months, lat.size, lon.size)).astype("float32").copy()
    values += (lat[:, None] / 100).astype("float32")
    values[:, lat == lat.min(), :] = np.nan  # the southernmost row is "land", whatever the order
    if kelvin:
        values = values + 273.15
    coords = {y_name: lat, x_name: lon}
    if calendar:
        coords[t_name] = xr.date_range("0401-01-01", periods=months, freq="MS", calendar=calendar, use_cftime=True)
    else:
        coords[t_name] = pd.date_range("2000-01-01", periods=months, freq="MS")
    xr.Dataset({var: ((t_name, y_name, x_name), values, {"units": units})}, coords=coords).to_netcdf(path)
    return path


def reference(path):
    return open_sst(write(path)).values


def test_conventions_are_normalized(tmp_path):
    ref = reference(tmp_path / "ref.nc")
    for i, kwargs in enumerate([
        {"kelvin": True, "units": "K"},
        {"lon_180": True},
        {"ascending": False},
        {"lon_180": True, "ascending": False, "kelvin": True, "units": "kelvin"},
    ]):
        sst = open_sst(write(tmp_path / f"{i}.nc", **kwargs))
        assert np.all(np.diff(sst["lat"].values) > 0) and sst["lon"].values.min() >= 0
        np.testing.assert_allclose(sst.values, ref, atol=1e-4, equal_nan=True)


def test_custom_names(tmp_path):
    path = write(tmp_path / "x.nc", names=("t", "latitude", "longitude"), var="tos")
    sst = open_sst(path, SSTFileSpec(variable="tos", time_name="t", lat_name="latitude", lon_name="longitude"))
    assert sst.dims == ("time", "lat", "lon")


def test_wrong_variable_lists_what_the_file_has(tmp_path):
    path = write(tmp_path / "x.nc", var="tos")
    with pytest.raises(GeoxaiError, match=r"no variable 'sst'.*variables: tos"):
        open_sst(path)


def test_wrong_dimension_name(tmp_path):
    path = write(tmp_path / "x.nc", names=("t", "lat", "lon"))
    with pytest.raises(GeoxaiError, match="sst.time_name"):
        open_sst(path)


def test_wrong_units_are_caught(tmp_path):
    with pytest.raises(GeoxaiError, match="sst.units"):
        open_sst(write(tmp_path / "a.nc", kelvin=True, units="degC"))
    with pytest.raises(GeoxaiError, match="cannot tell the units"):
        open_sst(write(tmp_path / "b.nc", units="furlongs"))
    sst = open_sst(write(tmp_path / "c.nc", kelvin=True, units="unknown"), SSTFileSpec(units="K"))
    assert float(sst.isel(time=0, lat=5, lon=5)) < 40


def test_noleap_calendar_and_month_keys(tmp_path):
    sst = open_sst(write(tmp_path / "n.nc", calendar="noleap"))
    keys = month_keys(sst["time"])
    assert keys[0] == "0401-01" and keys[13] == "0402-02"


def test_truncated_file_is_a_clear_error(tmp_path):
    path = write(tmp_path / "t.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(GeoxaiError, match="truncated or not NetCDF"):
        open_sst(path)


def test_missing_file(tmp_path):
    with pytest.raises(GeoxaiError, match="does not exist"):
        open_sst(tmp_path / "nope.nc")


def test_blocks_are_whole_storage_chunks():
    from geoxai.sources import aligned_rows

    assert aligned_rows(30, 60) == 60 and aligned_rows(61, 60) == 120
    assert aligned_rows(30, None) == 30 and aligned_rows(None, 60) == -1
