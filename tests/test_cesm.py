"""CESM access: anonymous S3 Zarr through a local S3 server, local Zarr, local NetCDF."""

from __future__ import annotations

import json
import socket
import time

import cftime
import numpy as np
import pytest
import xarray as xr
from s3_server import local_s3_fixture  # noqa: F401

from geoxai.core.errors import GeoxaiError
from geoxai.core.provenance import open_product
from geoxai.lst.cesm import (
    fetch_cesm_variable,
    field_config_keys,
    open_cesm_static,
    open_cesm_variable,
)
from geoxai.lst.synthetic import generate_cesm_like
from geoxai.steps import anomalies as anomaly_steps
from geoxai.steps import data as data_steps
from geoxai.steps import labels as label_steps

SST_KEY = "ocn/monthly/cesmLE-CTRL-SST.zarr"
FIRST_YEAR, N_YEARS = 400, 6
NLAT, NLON = 4, 5


def month_edges(first_year: int, n_months: int) -> np.ndarray:
    return np.array(
        [
            cftime.DatetimeNoLeap(first_year + k // 12, k % 12 + 1, 1, has_year_zero=True)
            for k in range(n_months + 1)
        ],
        dtype=object,
    )


def expected_values(first_year: int = FIRST_YEAR, n_months: int = 12 * N_YEARS) -> np.ndarray:
    """Each month's field is its own "YYYYMM" number plus a spatial pattern: easy to recognize."""
    months = np.arange(n_months)
    code = (first_year + months // 12) * 100 + months % 12 + 1
    pattern = np.arange(NLAT * NLON).reshape(NLAT, NLON) / 100.0
    return (code[:, None, None] + pattern[None]).astype("float32")


def cesm_sst_store(stamps: str = "end", bounds: bool = True, members: int = 1) -> xr.Dataset:
    """An ocean store laid out like CESM's: SST(member_id, time, z_t, nlat, nlon) + POP grid."""
    n_months = 12 * N_YEARS
    edges = month_edges(FIRST_YEAR, n_months)
    stamp = {
        "end": edges[1:],
        "start": edges[:-1],
        "middle": edges[:-1] + (edges[1:] - edges[:-1]) / 2,
    }[stamps]
    values = np.stack([expected_values() + 1000 * m for m in range(members)])[:, :, None]
    lat = np.linspace(-60, 60, NLAT)[:, None] * np.ones(NLON)
    lon = np.linspace(0, 300, NLON)[None, :] * np.ones((NLAT, 1))
    dataset = xr.Dataset(
        {
            "SST": (
                ("member_id", "time", "z_t", "nlat", "nlon"),
                values,
                {"units": "degC", "long_name": "Potential Temperature"},
            )
        },
        coords={
            "member_id": np.arange(1, members + 1),
            "time": ("time", stamp, {"bounds": "time_bound"} if bounds else {}),
            "z_t": ("z_t", [500.0]),
            "TLAT": (("nlat", "nlon"), lat),
            "TLONG": (("nlat", "nlon"), lon),
            "TAREA": (("nlat", "nlon"), np.ones((NLAT, NLON))),
        },
    )
    if bounds:
        dataset["time_bound"] = (("time", "d2"), np.stack([edges[:-1], edges[1:]], axis=1))
        dataset["time_bound"].encoding = {"units": "days since 0000-01-01", "calendar": "noleap"}
    dataset["time"].encoding = {"units": "days since 0000-01-01", "calendar": "noleap"}
    dataset["SST"].encoding = {"chunks": (1, 12, 1, NLAT, NLON)}
    return dataset


@pytest.fixture(scope="module")
def sst_url(local_s3) -> str:
    return local_s3.write_store(cesm_sst_store(), SST_KEY)


def test_s3_selection_reads_only_the_requested_years(local_s3, sst_url):
    # Delete every chunk outside model years 0401-0402: if the selection needed any of them, zarr
    # would fill it with NaN and the values would not match.
    for chunk in (0, 3, 4, 5):
        local_s3.delete(f"{SST_KEY}/SST/0.{chunk}.0.0.0")
    sst = open_cesm_variable(sst_url, "SST", (401, 402), retries=1)
    assert sst.chunks is not None  # lazy
    assert sst.dims == ("time", "nlat", "nlon")
    keys = list(sst["time_key"].values)
    assert keys[0] == "0401-01" and keys[-1] == "0402-12" and len(keys) == 24
    assert sst["time"].values[0] == cftime.DatetimeNoLeap(401, 1, 16, 12, has_year_zero=True)
    np.testing.assert_array_equal(sst.values, expected_values()[12:36])
    assert {"TLAT", "TLONG", "TAREA"} <= set(sst.coords)
    assert sst.attrs["source_store"] == sst_url
    deleted = open_cesm_variable(sst_url, "SST", (400, 400), retries=1)
    assert np.isnan(deleted.values).all()  # the deletion took effect: those years are gone


def test_s3_errors_name_the_problem(local_s3, sst_url):
    with pytest.raises(GeoxaiError, match="has no variable 'TEMP'; it has: SST"):
        open_cesm_variable(sst_url, "TEMP", (401, 401), retries=1)
    with pytest.raises(GeoxaiError, match=r"covers 0400-01 \.\. 0405-12"):
        open_cesm_variable(sst_url, "SST", (404, 406), retries=1)
    with pytest.raises(
        GeoxaiError, match=r"no data at s3://ncar-cesm-lens/ocn/monthly/nothing\.zarr"
    ):
        open_cesm_variable(local_s3.url("ocn/monthly/nothing.zarr"), "SST", (401, 401), retries=1)


def test_unreachable_endpoint_is_retried_then_reported(monkeypatch):
    import s3fs

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for name, value in {
        "AWS_ENDPOINT_URL_S3": closed,
        "AWS_ENDPOINT_URL": closed,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    started = time.monotonic()
    with pytest.raises(GeoxaiError) as error:
        open_cesm_variable(
            f"s3://ncar-cesm-lens/{SST_KEY}", "SST", (401, 401), retries=2, backoff_s=0.5
        )
    s3fs.S3FileSystem.clear_instance_cache()
    message = str(error.value)
    assert (
        "could not reach s3://ncar-cesm-lens/ocn/monthly/cesmLE-CTRL-SST.zarr after 2 attempt"
        in message
    )
    assert f"AWS_ENDPOINT_URL_S3={closed}" in message
    assert time.monotonic() - started >= 0.5  # the backoff was slept between the two attempts


def test_fetch_writes_the_selection_with_grid_and_provenance(local_s3, sst_url, tmp_path):
    destination = tmp_path / "sst.nc"
    fetch_cesm_variable(
        sst_url, "SST", (401, 401), destination, config={"cesm": {"years": [401, 401]}}, retries=1
    )
    back = open_product(destination)
    assert back["SST"].dims == ("time", "nlat", "nlon")
    np.testing.assert_array_equal(back["SST"].values, expected_values()[12:24])
    assert list(back["time_key"].values) == [f"0401-{m:02d}" for m in range(1, 13)]
    assert {"TLAT", "TLONG", "TAREA"} <= set(back.coords)
    assert back.attrs["source_store"] == sst_url
    assert back.attrs["source_variable"] == "SST" and back.attrs["source_years"] == "0401-0401"
    assert "config_digest" in back.attrs
    record = json.loads((tmp_path / "sst.nc.provenance.json").read_text())
    assert record["url"] == sst_url and record["years"] == [401, 401]


@pytest.mark.parametrize(
    ("stamps", "bounds"), [("end", True), ("end", False), ("middle", False), ("start", True)]
)
def test_months_are_keyed_to_their_averaging_interval(tmp_path, stamps, bounds):
    store = tmp_path / "sst.zarr"
    cesm_sst_store(stamps, bounds).to_zarr(store, zarr_format=2, consolidated=True)
    sst = open_cesm_variable(str(store), "SST", (402, 402))
    assert list(sst["time_key"].values) == [f"0402-{m:02d}" for m in range(1, 13)]
    np.testing.assert_array_equal(sst.values, expected_values()[24:36])


def test_local_netcdf_files_and_a_grid_store(tmp_path):
    dataset = cesm_sst_store().isel(member_id=0)
    grid = dataset[["TLAT", "TLONG", "TAREA"]].reset_coords()
    bare = dataset.drop_vars(["TLAT", "TLONG", "TAREA"])
    bare.isel(time=slice(0, 36)).to_netcdf(tmp_path / "b.pop.h.SST.040001-040212.nc")
    bare.isel(time=slice(36, None)).to_netcdf(tmp_path / "b.pop.h.SST.040301-040512.nc")
    grid.to_zarr(tmp_path / "grid.zarr", zarr_format=2, consolidated=True)
    pattern = str(tmp_path / "b.pop.h.SST.*.nc")
    sst = open_cesm_variable(pattern, "SST", (402, 403))
    np.testing.assert_array_equal(sst.values, expected_values()[24:48])
    with pytest.raises(GeoxaiError, match="grid_store"):
        fetch_cesm_variable(pattern, "SST", (402, 402), tmp_path / "no_grid.nc")
    fetch_cesm_variable(
        pattern, "SST", (402, 402), tmp_path / "sst.nc", grid_store=str(tmp_path / "grid.zarr")
    )
    back = open_product(tmp_path / "sst.nc")
    np.testing.assert_array_equal(back["TLAT"].values, grid["TLAT"].values)
    assert back.attrs["source_grid_store"].endswith("grid.zarr")
    with pytest.raises(GeoxaiError, match="no file or Zarr store matches"):
        open_cesm_variable(str(tmp_path / "missing_*.nc"), "SST", (402, 402))


def test_ensemble_members_must_be_chosen(tmp_path):
    store = tmp_path / "members.zarr"
    cesm_sst_store(members=3).to_zarr(store, zarr_format=2, consolidated=True)
    with pytest.raises(GeoxaiError, match="holds 3 ensemble members"):
        open_cesm_variable(str(store), "SST", (401, 401))
    second = open_cesm_variable(str(store), "SST", (401, 401), member=2)
    np.testing.assert_array_equal(second.values, expected_values()[12:24] + 1000)
    with pytest.raises(GeoxaiError, match="no member_id 7"):
        open_cesm_variable(str(store), "SST", (401, 401), member=7)


def test_synthetic_stores_read_back_from_s3(local_s3, tmp_path):
    settings = {
        "n_years": 3,
        "ocean_nlat": 20,
        "ocean_nlon": 24,
        "atm_dlat": 10.0,
        "atm_dlon": 10.0,
    }
    paths = generate_cesm_like(settings, tmp_path / "synthetic")
    url = local_s3.upload_store(paths["trefht"], "atm/monthly/cesmLE-CTRL-TREFHT.zarr")
    trefht = open_cesm_variable(url, "TREFHT", (401, 402), retries=1)
    local = open_cesm_variable(paths["trefht"], "TREFHT", (401, 402))
    assert trefht.dims == ("time", "lat", "lon") and trefht.attrs["units"] == "K"
    np.testing.assert_array_equal(trefht.values, local.values)
    grid_url = local_s3.upload_store(paths["landfrac"], "atm/static/grid.zarr")
    landfrac = open_cesm_static(grid_url, "LANDFRAC", retries=1)
    assert 0.0 < float(landfrac.mean()) < 1.0


SST_KEYS = field_config_keys("lst.sst")


def test_config_keys_of_a_field_section():
    assert field_config_keys("lst.trefht") == {
        "store": "lst.trefht.store",
        "variable": "lst.trefht.variable",
        "grid_store": "lst.trefht.grid_store",
        "month_stamp": "lst.trefht.month_stamp",
        "years": "lst.years",
    }


def test_errors_name_the_full_config_key_and_the_store(local_s3, sst_url, tmp_path):
    store = str(tmp_path / "sst.zarr")
    cesm_sst_store().to_zarr(store, zarr_format=2, consolidated=True)
    cases = [
        ("lst.sst.variable", {"variable": "TEMP"}, store),
        ("lst.years", {"years": (404, 406)}, store),
        ("lst.years", {"years": (402, 401)}, store),
        ("lst.sst.month_stamp", {"month_stamp": "late"}, store),
        ("lst.sst.store", {"store": str(tmp_path / "nothing.zarr")}, "nothing.zarr"),
        ("lst.sst.store", {"store": local_s3.url("ocn/monthly/nothing.zarr")}, "nothing.zarr"),
    ]
    for key, change, named in cases:
        arguments = {"store": store, "variable": "SST", "years": (401, 401), **change}
        with pytest.raises(GeoxaiError) as error:
            open_cesm_variable(**arguments, retries=1, config_keys=SST_KEYS)
        message = str(error.value)
        assert message.startswith(f"config key {key}: "), message
        assert named in message, message
    # Stamps a month off leave one year a month short: the message points at month_stamp too.
    with pytest.raises(GeoxaiError, match=r"covers 0400-01 \.\. 0405-12.*lst\.sst\.month_stamp"):
        open_cesm_variable(store, "SST", (405, 406), config_keys=SST_KEYS)


def test_missing_grid_names_the_grid_store_key(tmp_path):
    bare = tmp_path / "bare.nc"
    cesm_sst_store().isel(member_id=0).drop_vars(["TLAT", "TLONG", "TAREA"]).to_netcdf(bare)
    with pytest.raises(GeoxaiError, match="^config key lst.sst.grid_store: ") as error:
        fetch_cesm_variable(str(bare), "SST", (401, 401), tmp_path / "out.nc", config_keys=SST_KEYS)
    assert str(bare) in str(error.value) and "no grid store is set" in str(error.value)
    grid = tmp_path / "empty_grid.zarr"
    xr.Dataset({"KMT": (("nlat", "nlon"), np.ones((NLAT, NLON)))}).to_zarr(grid, zarr_format=2)
    with pytest.raises(GeoxaiError, match="lst.sst.grid_store") as error:
        fetch_cesm_variable(
            str(bare),
            "SST",
            (401, 401),
            tmp_path / "out.nc",
            grid_store=str(grid),
            config_keys=SST_KEYS,
        )
    assert f"neither has the grid store {grid}" in str(error.value)


def rule_config(field: str, section: dict, synthetic: dict | None = None) -> dict:
    """The --config that rule fetch_lst_field passes: its sections keyed by their full path."""
    return {f"lst.{field}": section, "lst.years": [401, 401], "lst.synthetic": synthetic}


def test_fetch_steps_name_the_keys_of_their_field_section(tmp_path):
    store = str(tmp_path / "sst.zarr")
    cesm_sst_store().to_zarr(store, zarr_format=2, consolidated=True)
    trefht = rule_config("trefht", {"store": store, "variable": "TREFHT"})
    with pytest.raises(GeoxaiError, match="^config key lst.trefht.variable: ") as error:
        data_steps.fetch_lst_field(store, "TREFHT", str(tmp_path / "t.nc"), years=[401, 401], 
                                   section="lst.trefht", config=trefht)
    assert store in str(error.value)
    with pytest.raises(GeoxaiError, match="^config key lst.years: .*from .*sst.zarr"):
        data_steps.fetch_lst_field(store, "TREFHT", str(tmp_path / "t.nc"), years=None, 
                                   section="lst.trefht", config=trefht)
    missing = str(tmp_path / "missing.zarr")
    sst = rule_config("sst", {"store": missing, "variable": "SST"})
    with pytest.raises(GeoxaiError, match="^config key lst.sst.store: .*missing.zarr"):
        data_steps.fetch_lst_field(missing, "SST", str(tmp_path / "s.nc"), years=[401, 401], 
                                   section="lst.sst", config=sst)
    # With generated stores the store comes from lst.synthetic, not from the section.
    generated = rule_config("sst", {"store": "s3://unused", "variable": "SST"}, {"n_years": 3})
    with pytest.raises(GeoxaiError, match="^config key lst.synthetic: .*missing.zarr"):
        data_steps.fetch_lst_field(missing, "SST", str(tmp_path / "s.nc"), years=[401, 401], 
                                   section="lst.sst", config=generated)
    landfrac = {"lst.landfrac": {"store": store, "variable": "LANDFRAC"}, "lst.synthetic": None}
    with pytest.raises(GeoxaiError, match="^config key lst.landfrac.variable: "):
        data_steps.fetch_lst_landfrac(store, "LANDFRAC", str(tmp_path / "l.nc"), config=landfrac)


def test_lst_steps_name_the_variable_key_of_their_field(tmp_path):
    fetched = tmp_path / "fetched.nc"
    field = xr.DataArray(np.zeros((2, 3, 4)), dims=("time", "lat", "lon"))
    xr.Dataset({"TS": field}, attrs={"source_store": "s3://bucket/TS.zarr"}).to_netcdf(fetched)
    with pytest.raises(GeoxaiError, match="^config key lst.sst.variable: ") as error:
        anomaly_steps.lst_anomalies(str(fetched), str(tmp_path / "a.nc"), "SST", {})
    assert str(fetched) in str(error.value) and "s3://bucket/TS.zarr" in str(error.value)
    assert "['TS']" in str(error.value)
    with pytest.raises(GeoxaiError, match="^config key lst.trefht.variable: "):
        label_steps.lst_targets(
            str(fetched), str(fetched), str(tmp_path / "t.nc"), str(tmp_path / "t.json"), {}, {}
        )
    with pytest.raises(GeoxaiError, match="^config key lst.landfrac.variable: "):
        label_steps.lst_targets(
            str(fetched),
            str(fetched),
            str(tmp_path / "t.nc"),
            str(tmp_path / "t.json"),
            {},
            {},
            trefht_variable="TS",
        )


def test_fetch_reports_the_store_the_write_progress_and_the_end(tmp_path, capsys):
    import re

    store = tmp_path / "sst.zarr"
    dataset = cesm_sst_store()
    dataset["SST"].encoding = {"chunks": (1, 6, 1, NLAT, NLON)}  # half a year per chunk
    dataset.to_zarr(store, zarr_format=2, consolidated=True)
    fetch_cesm_variable(str(store), "SST", (401, 404), tmp_path / "sst.nc")
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("[geoxai] cesm SST: ") for line in lines), lines
    assert lines[0] == (
        f"[geoxai] cesm SST: opened {store}: shape (time=48, nlat={NLAT}, nlon={NLON}), years "
        f"0401-0404 (48 months), about 3.8 KiB (float32)"
    )
    written = [re.search(r"written (\d+)/48 months, chunk (\d+)/8 ", line) for line in lines[1:-1]]
    assert all(written) and len(written) >= 4
    months, chunks = zip(*((int(m[1]), int(m[2])) for m in written))
    assert list(chunks) == sorted(set(chunks)) and chunks[-1] == 8
    assert list(months) == sorted(months) and months[-1] == 48
    assert lines[-1].startswith("[geoxai] cesm SST: wrote sst.nc: 48 months (years 0401-0404), ")
    np.testing.assert_array_equal(
        open_product(tmp_path / "sst.nc")["SST"].values, expected_values()[12:60]
    )
