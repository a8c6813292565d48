"""Bring-your-own SST files: names, units, latitude order, longitude convention, calendars."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import month_keys
from geoxai.enso.sources import SSTFileSpec, open_sst


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
    from geoxai.enso.sources import aligned_rows

    assert aligned_rows(30, 60) == 60 and aligned_rows(61, 60) == 120
    assert aligned_rows(30, None) == 30 and aligned_rows(None, 60) == -1


def _with_time(path, times, bounds=None, attrs=None):
    lat, lon = np.array([-2.5, 2.5]), np.array([182.5, 187.5])
    values = np.full((len(times), 2, 2), 25.0, dtype="float32")
    dataset = xr.Dataset({"sst": (("time", "lat", "lon"), values, {"units": "degC"})},
                         coords={"time": ("time", times, dict(attrs or {})), "lat": lat, "lon": lon})
    if bounds is not None:
        dataset["time_bnds"] = (("time", "nv"), bounds)
        dataset["time"].attrs["bounds"] = "time_bnds"
        if np.asarray(times).dtype.kind == "M":
            for name in ("time", "time_bnds"):
                dataset[name].encoding.update(units="days since 1900-01-01", dtype="float64")
    dataset.to_netcdf(path)
    return path


def test_months_a_sample_covers_come_from_its_bounds_to_the_half_month(tmp_path):
    """Bounds at month edges, at 23:59 of the last day, or half a month off all give whole months."""
    stamps = pd.to_datetime(["2000-01-16", "2001-01-16", "2002-01-16"])
    lower = pd.to_datetime(["1999-11-01", "2000-10-31 23:00", "2001-11-10"], format="ISO8601")
    upper = pd.to_datetime(["2000-04-01", "2001-03-31 23:59", "2002-03-20"], format="ISO8601")
    path = _with_time(tmp_path / "b.nc", stamps, np.stack([lower, upper], axis=1))
    assert open_sst(path)["covered_months"].values.tolist() == [
        "1999-11/2000-03", "2000-11/2001-03", "2001-11/2002-03"]


def test_months_since_units_are_calendar_months(tmp_path):
    """xarray cannot decode "months since" in the standard calendar; geoxai reads calendar months."""
    path = _with_time(tmp_path / "m.nc", np.array([1.0, 4.0, 7.0]),
                      bounds=np.array([[0.0, 3.0], [3.0, 6.0], [6.0, 9.0]]),
                      attrs={"units": "months since 1990-12-01", "calendar": "standard"})
    sst = open_sst(path)
    assert month_keys(sst["time"]).tolist() == ["1991-01", "1991-04", "1991-07"]
    assert sst["covered_months"].values.tolist() == ["1990-12/1991-02", "1991-03/1991-05", "1991-06/1991-08"]
    with pytest.raises(GeoxaiError, match="cannot be decoded"):
        open_sst(_with_time(tmp_path / "f.nc", np.array([1.0, 2.0]), attrs={"units": "fortnights since 1990"}))


def test_samples_are_put_in_time_order_and_must_differ_in_month(tmp_path):
    path = _with_time(tmp_path / "r.nc", pd.to_datetime(["2001-01-16", "2000-01-16"]))
    assert month_keys(open_sst(path)["time"]).tolist() == ["2000-01", "2001-01"]
    path = _with_time(tmp_path / "d.nc", pd.to_datetime(["2000-01-01", "2000-01-16"]))
    with pytest.raises(GeoxaiError, match="same month 2000-01"):
        open_sst(path)


def test_error_messages_name_the_full_config_key(tmp_path):
    with pytest.raises(GeoxaiError, match=r"config key enso\.sst\.variable"):
        open_sst(write(tmp_path / "x.nc", var="tos"))
    with pytest.raises(GeoxaiError, match=r"config key enso\.sst\.units"):
        open_sst(write(tmp_path / "b.nc", units="furlongs"))
    with pytest.raises(GeoxaiError, match=r"config key enso\.sst\.url"):
        open_sst(tmp_path / "nope.nc")
