"""The synthetic ENSO source as files: SST in the COBE-SST2 layout, the index in PSL text and the
truth record."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geoxai.core.grid import lat_lon_attrs
from geoxai.core.provenance import write_netcdf_atomic
from geoxai.enso.psl import read_psl_index, write_psl_index
from geoxai.enso.synthetic.model import (
    enso_pattern,
    flavour_weight,
    grid_centres,
    ocean_mask,
    region_mask,
    sst_field,
    synthetic_index,
)
from geoxai.enso.synthetic.settings import month_start, synthetic_settings

COBE_TIME_UNITS = "days since 1800-1-1 00:00:00"
COBE_MISSING_VALUE = np.float32(-9.96921e36)
# COBE-SST2's own lat/lon attributes: capitalised long names and an axis.
_cobe_lat, _cobe_lon = lat_lon_attrs("long_name", "standard_name", "units")
COBE_LAT_ATTRS = {**_cobe_lat, "long_name": "Latitude", "axis": "Y"}
COBE_LON_ATTRS = {**_cobe_lon, "long_name": "Longitude", "axis": "X"}
TRUTH_LAT_ATTRS, TRUTH_LON_ATTRS = lat_lon_attrs("standard_name", "units")


def _month_key(stamp: pd.Timestamp) -> str:
    return f"{stamp.year:04d}-{stamp.month:02d}"


def simulate_enso(
    settings: Mapping[str, Any] | None = None,
) -> tuple[xr.Dataset, pd.Series, xr.Dataset]:
    """Build the synthetic world in memory: (SST in COBE-SST2 layout, PSL-ready index, truth)."""
    s = synthetic_settings(settings)
    times = pd.date_range(month_start(s["start"], "start"), month_start(s["end"], "end"),
                          freq="MS")
    lat, lon = grid_centres(float(s["grid_degrees"]))
    ocean = ocean_mask(lat, lon, s["land"])
    region = s["driving_region"]
    east = enso_pattern(lat, lon, s["eastern_center"], s["eastern_width"], region, ocean,
                        s["taper_degrees"])
    central = enso_pattern(lat, lon, s["central_center"], s["central_width"], region, ocean,
                           s["taper_degrees"])
    # Separate streams: the index and flavours do not change when the grid or noise does.
    # A fourth stream for the correlated noise: the first three are those of earlier versions.
    index_rng, flavour_rng, noise_rng, correlated_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(s["seed"]).spawn(4)
    )
    keys = [_month_key(t) for t in times]
    if s["index_file"] is None:
        n = synthetic_index(index_rng, len(times), s["index_autocorrelation"], s["index_std"])
    else:
        n = read_psl_index(s["index_file"]).reindex(keys).fillna(0.0).to_numpy()
    w = flavour_weight(flavour_rng, len(times), s["flavour_autocorrelation"],
                       s["flavour_contrast"])
    sst = sst_field(s, times, lat, lon, n, w, east, central, noise_rng, correlated_rng)
    if s["sea_ice_celsius"] is not None:
        np.maximum(sst, np.float32(s["sea_ice_celsius"]), out=sst)
    sst[:, ~ocean] = np.nan
    index = pd.Series(n, index=pd.Index(keys), name="index")
    index.index.name = "month"
    truth = _truth_dataset(s, times, keys, lat, lon, ocean, east, central, n, w)
    return _cobe_dataset(s, times, lat, lon, sst), index, truth



def _cobe_dataset(
    s: dict[str, Any], times: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray,
    sst: np.ndarray,
) -> xr.Dataset:
    """The SST in COBE-SST2's layout: lat descending, float32, land NaN, CF time units."""
    descending = slice(None, None, -1)
    dataset = xr.Dataset(
        {"sst": (("time", "lat", "lon"), sst[:, descending, :], {
            "long_name": "Monthly Means of Global Sea Surface Temperature",
            "standard_name": "sea_surface_temperature",
            "units": "degC",
            "var_desc": "Sea Surface Temperature",
            "level_desc": "Surface",
            "statistic": "Mean",
            "cell_methods": "time: mean",
            "comment": "monthly means of synthetic values",
        })},
        coords={
            "time": ("time", times.to_numpy(), {
                "long_name": "Time", "standard_name": "time", "axis": "T",
                "delta_t": "0000-01-00 00:00:00", "avg_period": "0000-01-00 00:00:00",
            }),
            "lat": ("lat", lat[descending].astype(np.float32), COBE_LAT_ATTRS),
            "lon": ("lon", lon.astype(np.float32), COBE_LON_ATTRS),
        },
        attrs={
            "title": "Synthetic monthly SST with a known ENSO answer (COBE-SST2 layout)",
            "source": f"geoxai.enso.synthetic.generate_enso, seed {s['seed']}: not observations",
            "comment": "ENSO-like signal only inside the driving region recorded in the truth "
                       "file; see geoxai.enso.synthetic for the model.",
        },
    )
    # COBE-SST2 marks land with a missing value, not NaN: readers must honour the attribute.
    dataset["sst"].encoding = {"_FillValue": COBE_MISSING_VALUE, "missing_value": COBE_MISSING_VALUE}
    return dataset


def _with_cobe_time_numbers(dataset: xr.Dataset) -> xr.Dataset:
    """Time as float64 days since 1800-1-1 with COBE-SST2's exact units text.

    xarray would rewrite the units as "days since 1800-01-01"; encoding by hand keeps the file
    byte-for-byte in the layout readers of the real product expect.
    """
    days = (dataset["time"].to_numpy() - np.datetime64("1800-01-01")) / np.timedelta64(1, "D")
    attrs = {**dataset["time"].attrs, "units": COBE_TIME_UNITS, "calendar": "standard"}
    return dataset.assign_coords(time=("time", days.astype(np.float64), attrs))


def _strongest(n: np.ndarray, share: np.ndarray, keys: list[str]) -> str:
    return keys[int(np.argmax(n * share))]


def _truth_dataset(
    s: dict[str, Any], times: pd.DatetimeIndex, keys: list[str], lat: np.ndarray,
    lon: np.ndarray, ocean: np.ndarray, east: np.ndarray, central: np.ndarray, n: np.ndarray,
    w: np.ndarray,
) -> xr.Dataset:
    region = s["driving_region"]
    (south, north), (west, east_edge) = region["lat"], region["lon"]
    grid = ("lat", "lon")
    flags = {"flag_values": np.array([0, 1], dtype=np.int8)}
    return xr.Dataset(
        {
            "driving_region_mask": (grid, region_mask(lat, lon, region).astype(np.int8), {
                "long_name": "1 inside the box that drives the synthetic ENSO signal, 0 outside",
                "units": "1", **flags, "flag_meanings": "outside inside",
            }),
            "el_nino_pattern": (grid, (0.5 * east + 0.5 * central).astype(np.float32), {
                "long_name": "mean El Nino SST pattern per unit index (0.5 eastern + 0.5 "
                             "central), maximum 1", "units": "1",
            }),
            "eastern_pattern": (grid, east.astype(np.float32), {
                "long_name": "eastern-Pacific El Nino SST pattern, maximum 1", "units": "1",
            }),
            "central_pattern": (grid, central.astype(np.float32), {
                "long_name": "central-Pacific El Nino SST pattern, maximum 1", "units": "1",
            }),
            "ocean_mask": (grid, ocean.astype(np.int8), {
                "long_name": "1 over ocean, 0 over land (NaN in the SST file)", "units": "1",
                **flags, "flag_meanings": "land ocean",
            }),
            "index": ("time", n, {
                "long_name": "synthetic Nino3.4-like index (as written to the PSL text file)",
                "units": "K",
            }),
            "flavour_weight": ("time", w, {
                "long_name": "share of the eastern-Pacific pattern in the ENSO signal",
                "units": "1",
            }),
        },
        coords={
            "lat": ("lat", lat, TRUTH_LAT_ATTRS),
            "lon": ("lon", lon, TRUTH_LON_ATTRS),
            "time": ("time", times.to_numpy(), {"standard_name": "time"}),
        },
        attrs={
            "title": "Known answer of the geoxai synthetic ENSO source",
            "driving_region": f"lat {south}..{north} degrees_north, lon {west}..{east_edge} "
                              f"degrees_east",
            "driving_region_lat": np.array([south, north], dtype=float),
            "driving_region_lon": np.array([west, east_edge], dtype=float),
            "strongest_eastern_el_nino_month": _strongest(n, w, keys),
            "strongest_central_el_nino_month": _strongest(n, 1 - w, keys),
            "seed": s["seed"],
            "enso_amplitude_K_per_unit_index": float(s["enso_amplitude"]),
        },
    )


def _index_notes(s: dict[str, Any]) -> str:
    return (
        "  Synthetic Nino3.4-like index from geoxai.enso.synthetic (not observations).\n"
        f"  seed {s['seed']}, AR(1) coefficient {s['index_autocorrelation']}, standard deviation "
        f"{s['index_std']}, rounded to 0.01.\n"
        f"  It drives the SST only inside lat {s['driving_region']['lat']}, "
        f"lon {s['driving_region']['lon']} (degrees_east)."
    )


def generate_enso(
    settings: Mapping[str, Any] | None,
    sst_path: str | os.PathLike,
    index_path: str | os.PathLike,
    truth_path: str | os.PathLike,
) -> None:
    """Write the synthetic SST (NetCDF), index (PSL text) and truth (NetCDF).

    ``settings`` are the ``enso.synthetic`` config keys, all optional: see DEFAULT_SETTINGS.
    """
    s = synthetic_settings(settings)
    sst, index, truth = simulate_enso(s)
    write_netcdf_atomic(_with_cobe_time_numbers(sst), sst_path, config=s)
    write_psl_index(index, index_path, notes=_index_notes(s))
    write_netcdf_atomic(truth, truth_path, config=s)
