"""Bring-your-own SST files that are not monthly: seasonal and annual means, anomalies already,
extra coordinates; and error messages that name the user's file and the full config key.

Every file is written here in the form a user would bring it; the steps run as the workflow runs
them (the SST linked into resources/ by geoxai.core.download.fetch_or_link, then steps.anomalies.anomalies and
steps.labels.labels).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoxai.core.download import fetch_or_link
from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import describe_input, open_product
from geoxai.enso.anomalies import AnomalySettings, compute_anomalies
from geoxai.enso.psl import write_psl_index
from geoxai.enso.sources import SSTFileSpec, open_sst
from geoxai.steps import anomalies as anomaly_steps
from geoxai.steps import labels as label_steps

LAT = np.arange(-27.5, 30, 5.0)
LON = np.arange(152.5, 280, 5.0)
YEARS = np.arange(1950, 1990)  # winters stamped 1950-01 .. 1989-01
WINTER = [11, 12, 1, 2, 3]
ALL_YEAR = list(range(1, 13))
PERIOD = {"period": ["1940-01", "2000-12"], "climatology": ["1955-01", "1984-12"], "detrend": False}


def monthly_index(seed=0):
    """A red-noise Nino3.4-like index, 1949-07 .. 1990-12, keyed "YYYY-MM"."""
    keys = [f"{y:04d}-{m:02d}" for y in range(1949, 1991) for m in range(1, 13)][6:]
    rng = np.random.default_rng(seed)
    values = np.zeros(len(keys))
    for i in range(1, len(keys)):
        values[i] = 0.8 * values[i - 1] + 0.6 * rng.standard_normal()
    return pd.Series(values, index=keys)


def field(n, seed=1, offset=20.0):
    rng = np.random.default_rng(seed)
    values = offset + rng.normal(scale=1.0, size=(n, LAT.size, LON.size)).astype("float32")
    values[:, :2, :3] = np.nan  # land
    return values


def write_sst(path, times, values, bounds=None, units="degC", time_attrs=None, extra=None):
    """A NetCDF like a user's: ``sst(time, lat, lon)``, optional CF ``time_bnds``."""
    dataset = xr.Dataset(
        {"sst": (("time", "lat", "lon"), values, {"units": units})},
        coords={"time": ("time", times, dict(time_attrs or {})), "lat": LAT, "lon": LON},
    )
    if bounds is not None:
        dataset["time_bnds"] = (("time", "nv"), bounds)
        dataset["time"].attrs["bounds"] = "time_bnds"
    if np.asarray(times).dtype.kind == "M":
        dataset["time"].encoding["units"] = "days since 1900-01-01"
        if bounds is not None:
            dataset["time_bnds"].encoding["units"] = "days since 1900-01-01"
    for name, value in (extra or {}).items():
        dataset = dataset.assign_coords({name: value})
    dataset.to_netcdf(path)
    return path


def winter_file(path, with_bounds=True, years=YEARS):
    times = pd.to_datetime([f"{y}-01-16" for y in years])
    bounds = None
    if with_bounds:
        bounds = np.stack([pd.to_datetime([f"{y - 1}-11-01" for y in years]),
                           pd.to_datetime([f"{y}-04-01" for y in years])], axis=1)
    return write_sst(path, times, field(len(years)), bounds=bounds)


def link_like_the_workflow(original, root):
    """resources/enso/sst.nc as the workflow makes it: a symlink plus a provenance record."""
    link = root / "resources" / "enso" / "sst.nc"
    fetch_or_link(str(original), link)
    return link


def run_steps(tmp_path, sst_link, sst_spec, labels, index, anomalies=PERIOD, name="run"):
    """The anomalies step then the labels step, as the two rules call them; the label table and counts."""
    out = tmp_path / name
    out.mkdir(exist_ok=True)
    index_path = out / "index.txt"
    write_psl_index(index, index_path)
    anomalies_path = out / "anomalies.nc"
    if not anomalies_path.exists():
        anomaly_steps.enso_anomalies(str(sst_link), str(anomalies_path), sst_spec, anomalies)
    counts = label_steps.enso_labels(str(index_path), str(anomalies_path), str(out / "labels.csv"),
                          str(out / "counts.json"), {"format": "psl"}, labels)
    table = pd.read_csv(out / "labels.csv", dtype={"time": str})
    assert json.loads((out / "counts.json").read_text()) == counts
    return table, counts


def winter_mean(index, year):
    """The November-March mean around a January stamp, computed here month by month."""
    months = [f"{year - 1}-11", f"{year - 1}-12", f"{year}-01", f"{year}-02", f"{year}-03"]
    if not all(m in index.index for m in months):
        return np.nan
    return float(np.mean([index[m] for m in months]))


def expected_table(values_by_stamp):
    """Stamp key -> index value: the rows a label table must have at thresholds +-0.5."""
    return {key: value for key, value in values_by_stamp.items()
            if np.isfinite(value) and abs(value) > 0.5}


def assert_table(table, expected):
    assert table["time"].tolist() == sorted(expected)
    np.testing.assert_allclose(table["index"].to_numpy(), [expected[k] for k in sorted(expected)], atol=6e-5)
    assert table["label"].tolist() == [int(expected[k] > 0) for k in sorted(expected)]


@pytest.mark.parametrize("with_bounds", [True, False], ids=["time_bnds", "sample_months"])
def test_winter_means_with_stamp_and_sample_labels(tmp_path, with_bounds):
    (tmp_path / "user").mkdir()
    original = winter_file(tmp_path / "user" / "ndjfm.nc", with_bounds=with_bounds)
    link = link_like_the_workflow(original, tmp_path)
    spec = {"url": str(original), "variable": "sst"}
    if not with_bounds:
        spec["sample_months"] = WINTER

    sst = open_sst(link, SSTFileSpec.from_config(spec))
    assert sst["covered_months"].values[0] == "1949-11/1950-03"
    assert sst["covered_months"].values[-1] == "1988-11/1989-03"

    index = monthly_index()
    stamp, stamp_counts = run_steps(tmp_path, link, spec, {"index_months": "stamp"}, index)
    sample, sample_counts = run_steps(tmp_path, link, spec, {"index_months": "sample"}, index)

    assert_table(stamp, expected_table({f"{y}-01": index[f"{y}-01"] for y in YEARS}))
    assert_table(sample, expected_table({f"{y}-01": winter_mean(index, y) for y in YEARS}))
    # The index starts in 1949-07, so every winter is complete and nothing is dropped for it.
    assert sample_counts["dropped"]["index_missing"] == 0 and sample_counts["samples"] == YEARS.size
    assert sample_counts["index_months"] == "sample" and stamp_counts["index_months"] == "stamp"
    # The two choices are different labellings, not the same one twice.
    assert stamp["time"].tolist() != sample["time"].tolist()

    with open_product(tmp_path / "run" / "anomalies.nc") as anomalies:
        assert anomalies["time_key"].values.tolist() == [f"{y}-01" for y in YEARS]
        # One sample a year, all stamped in January: the January climatology of the 1955-1984
        # winters (stamps) is removed from every winter.
        raw = xr.open_dataset(original)["sst"].values
        ocean = anomalies["ocean_mask"].values == 1
        base = (YEARS >= 1956) & (YEARS <= 1984)  # winters whose months all lie in 1955-01..1984-12
        expected = raw - raw[base].mean(axis=0)
        np.testing.assert_allclose(anomalies["sst_anomaly"].values[:, ocean], expected[:, ocean], atol=1e-4)
        assert np.all(anomalies["sst_anomaly"].values[:, ~ocean] == 0)


def test_a_winter_the_index_does_not_cover_is_dropped_and_counted(tmp_path):
    (tmp_path / "user").mkdir()
    original = winter_file(tmp_path / "user" / "ndjfm.nc")
    link = link_like_the_workflow(original, tmp_path)
    index = monthly_index()
    index = index[index.index >= "1950-01"]  # the 1950 winter needs 1949-11 and 1949-12
    spec = {"url": str(original)}
    sample, counts = run_steps(tmp_path, link, spec, {"index_months": "sample"}, index)
    stamp, _ = run_steps(tmp_path, link, spec, {"index_months": "stamp"}, index)
    assert counts["dropped"]["index_missing"] == 1
    assert "1950-01" not in sample["time"].tolist()
    assert (abs(index["1950-01"]) > 0.5) == ("1950-01" in stamp["time"].tolist())
    assert counts["all"]["total"] + sum(counts["dropped"].values()) == counts["samples"] == YEARS.size


def test_annual_means_in_years_since_units(tmp_path):
    """Annual means stamped mid-year, time in "years since" (which xarray cannot decode)."""
    years = np.arange(1950, 1990)
    offsets = (years - 1950) + 0.5
    bounds = np.stack([offsets - 0.5, offsets + 0.5], axis=1)
    path = write_sst(tmp_path / "annual.nc", offsets, field(years.size, seed=4), bounds=bounds,
                     time_attrs={"units": "years since 1950-01-01", "calendar": "standard"})
    sst = open_sst(path)
    assert sst["covered_months"].values[0] == "1950-01/1950-12"
    assert [str(t)[:7] for t in sst["time"].values[:2]] == ["1950-07", "1951-07"]

    result = compute_anomalies(sst, AnomalySettings(**{**PERIOD, "climatology": ("1960-01", "1969-12")})).compute()
    assert result["time_key"].values[0] == "1950-07" and result.sizes["time"] == years.size
    ocean = result["ocean_mask"].values == 1
    in_base = (years >= 1960) & (years <= 1969)
    assert np.abs(result["sst_anomaly"].values[in_base][:, ocean].mean(axis=0)).max() < 1e-5
    assert "climatology" in result["sst_anomaly"].attrs["comment"]
    # CF cell_methods take no free text in parentheses: the sampling is said in the comment.
    assert result["sst_anomaly"].attrs["cell_methods"] == "time: mean"
    assert result["sst_anomaly"].attrs["comment"].startswith("12-month means; ")

    index = monthly_index(seed=3)
    table, _ = run_steps(tmp_path, path, {}, {"index_months": "sample"}, index,
                         anomalies={**PERIOD, "climatology": ["1960-01", "1969-12"]})
    annual = {f"{y}-07": float(index[[f"{y}-{m:02d}" for m in ALL_YEAR]].mean()) for y in years}
    assert_table(table, expected_table(annual))


def test_seasonal_anomalies_as_given(tmp_path):
    """DJF/MAM/JJA/SON anomalies stamped at each season's middle month, `is_anomaly: true`."""
    middles = pd.date_range("1960-01-01", periods=120, freq="3MS") + pd.Timedelta(days=14)
    values = field(middles.size, seed=5, offset=0.0)
    path = write_sst(tmp_path / "seasonal.nc", middles, values, units="K")
    sst = open_sst(path, SSTFileSpec(is_anomaly=True))
    result = compute_anomalies(sst, AnomalySettings(period=("1960-01", "1989-12"), detrend=False),
                               is_anomaly=True).compute()
    ocean = result["ocean_mask"].values == 1
    np.testing.assert_array_equal(result["sst_anomaly"].values[:, ocean], values[:, ocean])
    assert result["time_key"].values[:4].tolist() == ["1960-01", "1960-04", "1960-07", "1960-10"]

    index = monthly_index(seed=6)
    keys = result["time_key"].values.astype(str)
    table, _ = run_steps(tmp_path, path, {"is_anomaly": True}, {"index_months": "stamp"}, index,
                         anomalies={"period": ["1960-01", "1989-12"], "detrend": False,
                                    "climatology": ["1960-01", "1989-12"]})
    assert_table(table, expected_table({k: index[k] for k in keys}))


def test_sample_months_must_include_every_stamp_month(tmp_path):
    middles = pd.date_range("1960-01-01", periods=8, freq="3MS") + pd.Timedelta(days=14)
    path = write_sst(tmp_path / "seasonal.nc", middles, field(middles.size, offset=0.0), units="K")
    with pytest.raises(GeoxaiError, match=r"stamped 1960-04.*enso\.sst\.sample_months=\[12, 1, 2\]"):
        open_sst(path, SSTFileSpec(is_anomaly=True, sample_months=(12, 1, 2)))
    with pytest.raises(GeoxaiError, match=r"enso\.sst\.sample_months=\[1, 3\]"):
        SSTFileSpec.from_config({"sample_months": [1, 3]})


def test_bounds_and_sample_months_must_agree(tmp_path):
    path = winter_file(tmp_path / "ndjfm.nc")
    assert open_sst(path, SSTFileSpec(sample_months=tuple(WINTER)))["covered_months"].size == YEARS.size
    with pytest.raises(GeoxaiError, match=r"time_bnds.*1949-11\.\.1950-03.*enso\.sst\.sample_months"):
        open_sst(path, SSTFileSpec(sample_months=(12, 1, 2)))


def test_extra_coordinates_never_reach_the_anomaly_file(tmp_path):
    """forecast_period (scalar), a size-1 depth and zlev: the output has none of them; its
    time_bnds are its own, in CF form, from the months each sample covers (the input's bounds)."""
    times = pd.date_range("1950-01-15", periods=48, freq="MS")
    lo, hi = pd.date_range("1950-01-01", periods=48, freq="MS"), pd.date_range("1950-02-01", periods=48, freq="MS")
    dataset = xr.Dataset(
        {"sst": (("time", "depth", "lat", "lon"), field(48)[:, None], {"units": "degC"}),
         "time_bnds": (("time", "nv"), np.stack([lo, hi], axis=1))},
        coords={"time": ("time", times, {"bounds": "time_bnds"}), "depth": ("depth", [5.0]),
                "lat": LAT, "lon": LON, "forecast_period": ((), 6.0, {"units": "hours"}),
                "zlev": ("time", np.zeros(48))},
    )
    dataset["time"].encoding["units"] = "days since 1900-01-01"
    dataset["time_bnds"].encoding["units"] = "days since 1900-01-01"
    dataset.to_netcdf(tmp_path / "forecast.nc")
    output = tmp_path / "anomalies.nc"
    anomaly_steps.enso_anomalies(str(tmp_path / "forecast.nc"), str(output), {},
                    {"period": ["1950-01", "1953-12"], "climatology": ["1950-01", "1953-12"]})
    with open_product(output, decode_times=False) as result:
        assert set(result.data_vars) == {"sst_anomaly", "ocean_mask"}
        assert result["sst_anomaly"].dims == ("time", "lat", "lon")
        assert result["ocean_mask"].dims == ("lat", "lon")
        assert set(result.variables) == {"sst_anomaly", "ocean_mask", "time", "lat", "lon", "time_key",
                                         "covered_months", "time_bnds"}
        assert result["time"].encoding["bounds"] == "time_bnds"
        assert result["time_bnds"].dims == ("time", "nv")
        # Monthly bounds: each sample covers its own month.
        assert result["covered_months"].values[0] == "1950-01/1950-01"
        assert result["sst_anomaly"].attrs["cell_methods"] == "time: mean"
        assert result["sst_anomaly"].attrs["comment"].startswith("monthly means; ")
    with open_product(output) as result:
        bounds = result["time_bnds"].values
        assert [str(t)[:10] for t in bounds[0]] == ["1950-01-01", "1950-02-01"]
        assert [str(t)[:10] for t in bounds[-1]] == ["1953-12-01", "1954-01-01"]


def test_errors_name_the_users_file_and_the_full_key(tmp_path):
    (tmp_path / "data").mkdir()
    original = winter_file(tmp_path / "data" / "ndjfm.nc", with_bounds=False)
    link = link_like_the_workflow(original, tmp_path)
    assert describe_input(link, "enso.sst.url") == f"{link} (your file {original}, config key enso.sst.url)"

    with pytest.raises(GeoxaiError) as wrong:
        open_sst(link, SSTFileSpec(variable="tos"))
    message = str(wrong.value)
    assert message.startswith(f"{link} (your file {original}, config key enso.sst.url) has no variable 'tos'")
    assert "(config key enso.sst.variable); variables: sst" in message

    with pytest.raises(GeoxaiError, match="enso.sst.lat_name") as dims:
        open_sst(link, SSTFileSpec(lat_name="latitude"))
    assert str(original) in str(dims.value)

    with pytest.raises(GeoxaiError) as period:
        anomaly_steps.enso_anomalies(str(link), str(tmp_path / "a.nc"), {}, {"period": ["1800-01", "1850-12"]})
    assert "enso.anomalies.period" in str(period.value) and str(original) in str(period.value)

    # No bounds and no sample_months: `sample` labels cannot be honoured.
    with pytest.raises(GeoxaiError) as labels:
        run_steps(tmp_path, link, {}, {"index_months": "sample"}, monthly_index())
    text = str(labels.value)
    assert "enso.labels.index_months" in text and "enso.sst.sample_months" in text
    assert str(original) in text

    with pytest.raises(GeoxaiError, match="enso.labels.index_months='winter'"):
        run_steps(tmp_path, link, {}, {"index_months": "winter"}, monthly_index())


def test_a_downloaded_file_is_named_by_its_url(tmp_path):
    copy = tmp_path / "sst.nc"
    copy.write_bytes(b"not netcdf")
    (tmp_path / "sst.nc.provenance.json").write_text(json.dumps({"url": "https://example.org/ersst.nc"}))
    with pytest.raises(GeoxaiError) as error:
        open_sst(copy)
    assert str(error.value).startswith(
        f"{copy} (downloaded from https://example.org/ersst.nc, config key enso.sst.url) cannot be read"
    )
