"""``anomalies.nc``: ``sst_anomaly(time, lat, lon)`` float32 with land exactly 0,
``ocean_mask(lat, lon)`` int8 and a ``time_key`` (YYYY-MM) per sample; both applications write it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.core.months import month_index, month_keys, month_starts
from geoxai.core.provenance import open_product, write_netcdf_atomic

LAND_IS_ZERO = "land and missing cells are set to exactly 0"
OCEAN_MASK_ATTRS = {
    "standard_name": "sea_binary_mask", "long_name": "ocean mask (1 ocean, 0 land or missing)",
    "units": "1", "flag_values": np.array([0, 1], np.int8), "flag_meanings": "land_or_missing ocean",
}
#: The CF standard-name table (version 93) has no SST anomaly ("sea_surface_temperature_anomaly"
#: is not a standard name, and CF has no "anomaly" modifier): the anomalies carry a long_name only.
NO_STANDARD_NAME = ("no CF standard name: the standard-name table has none for sea surface "
                    "temperature anomalies")
TIME_KEY_ATTRS = {"long_name": "year and month of the time stamp (YYYY-MM)"}
TIME_ATTRS = {"standard_name": "time", "long_name": "time"}
SEASON_ATTRS = {"long_name": "season of the year (initials of its months)"}
#: CF bounds of the time means (CF 7.1): (time, nv), the start of each sample's first month and
#: the start of the month after its last. Without attributes of their own: CF has bounds share
#: their coordinate's (compliance-checker fails a long_name that differs from time's).
TIME_BOUNDS = "time_bnds"


def with_time_bounds(dataset: xr.Dataset, first: Sequence[str], last: Sequence[str]) -> xr.Dataset:
    """``dataset`` with CF bounds on ``time`` for samples averaging the months ``first[i]`` ..
    ``last[i]`` ("YYYY-MM", inclusive); ``time_bnds`` is a coordinate, so loops over the data
    variables do not see it, and the writer encodes it with time's units and calendar."""
    months = np.array([[month_index(a), month_index(b) + 1] for a, b in zip(first, last, strict=True)],
                      dtype=np.int64).reshape(-1, 2)
    bounds = month_starts(dataset["time"], months)
    dataset = dataset.assign_coords({TIME_BOUNDS: (("time", "nv"), bounds)})
    dataset["time"].attrs = {**dataset["time"].attrs, "bounds": TIME_BOUNDS}
    return dataset


def anomaly_dataset(
    anomalies: xr.DataArray,
    ocean: xr.DataArray,
    *,
    long_name: str,
    cell_methods: str,
    comment: str,
    title: str,
    coords: dict[str, Any] | None = None,
    time_span: tuple[Sequence[str], Sequence[str]] | None = None,
    variable_attrs: dict[str, Any] | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """The layout from anomalies (time, lat, lon) and an ocean mask (lat, lon): land set to 0.
    ``cell_methods`` is the CF one ("time: mean"); ``comment`` says over what (months, seasons),
    and ``time_span``, the first and last month ("YYYY-MM") of every sample where known, becomes
    the CF time bounds (:func:`with_time_bounds`)."""
    values = anomalies.fillna(0.0).where(ocean == 1, 0.0).astype("float32")
    values.attrs = {
        "long_name": long_name,
        "units": "K",
        "cell_methods": cell_methods,
        "comment": "; ".join(part for part in (comment, LAND_IS_ZERO, NO_STANDARD_NAME) if part),
        **(variable_attrs or {}),
    }
    ocean = ocean.astype("int8")
    ocean.attrs = dict(OCEAN_MASK_ATTRS)
    dataset = xr.Dataset({"sst_anomaly": values, "ocean_mask": ocean}, coords=coords or {})
    dataset["lat"].attrs = dict(LAT_ATTRS)
    dataset["lon"].attrs = dict(LON_ATTRS)
    dataset["time"].attrs = {**dataset["time"].attrs, **TIME_ATTRS}
    if "time_key" in dataset.coords:
        dataset["time_key"].attrs = {**TIME_KEY_ATTRS, **dataset["time_key"].attrs}
    if "season" in dataset.coords:
        dataset["season"].attrs = {**SEASON_ATTRS, **dataset["season"].attrs}
    if time_span is not None:
        dataset = with_time_bounds(dataset, *time_span)
    dataset.attrs = {"title": title, **(attrs or {})}
    return dataset


def write_anomalies(dataset: xr.Dataset, path: str | os.PathLike, config: dict[str, Any] | None = None,
                    inputs: dict[str, str | os.PathLike] | None = None, compress: bool = False) -> None:
    write_netcdf_atomic(dataset, path, compression="zlib" if compress else "none", config=config,
                        inputs=inputs)


def open_anomalies(path: str | Path) -> xr.Dataset:
    path = Path(path)
    try:
        dataset = open_product(path)
    except (OSError, ValueError) as error:
        raise GeoxaiError(f"anomaly file {path} cannot be read ({error}): rerun the anomalies rule") from error
    for name in ("sst_anomaly", "ocean_mask"):
        if name not in dataset:
            raise GeoxaiError(f"anomaly file {path} has no variable {name!r}: rerun the anomalies rule")
    if "time_key" not in dataset.coords:
        dataset = dataset.assign_coords(time_key=("time", month_keys(dataset["time"])))
    return dataset
