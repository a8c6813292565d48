"""``anomalies.nc``: ``sst_anomaly(time, lat, lon)`` float32 with land exactly 0,
``ocean_mask(lat, lon)`` int8 and a ``time_key`` (YYYY-MM) per sample; both applications write it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.grid import LAT_ATTRS, LON_ATTRS
from geoxai.core.months import month_keys
from geoxai.core.provenance import write_netcdf_atomic

LAND_IS_ZERO = "land and missing cells are set to exactly 0"
OCEAN_MASK_ATTRS = {"long_name": "ocean mask (1 ocean, 0 land or missing)", "units": "1"}


def anomaly_dataset(
    anomalies: xr.DataArray,
    ocean: xr.DataArray,
    *,
    long_name: str,
    cell_methods: str,
    comment: str,
    title: str,
    coords: dict[str, Any] | None = None,
    variable_attrs: dict[str, Any] | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """The layout from anomalies (time, lat, lon) and an ocean mask (lat, lon): land set to 0."""
    values = anomalies.fillna(0.0).where(ocean == 1, 0.0).astype("float32")
    values.attrs = {
        "long_name": long_name,
        "units": "K",
        "cell_methods": cell_methods,
        "comment": "; ".join(part for part in (comment, LAND_IS_ZERO) if part),
        **(variable_attrs or {}),
    }
    ocean = ocean.astype("int8")
    ocean.attrs = dict(OCEAN_MASK_ATTRS)
    dataset = xr.Dataset({"sst_anomaly": values, "ocean_mask": ocean}, coords=coords or {})
    dataset["lat"].attrs = dict(LAT_ATTRS)
    dataset["lon"].attrs = dict(LON_ATTRS)
    dataset.attrs = {"title": title, **(attrs or {})}
    return dataset


def write_anomalies(dataset: xr.Dataset, path: str | os.PathLike, config: dict[str, Any] | None = None,
                    inputs: dict[str, str | os.PathLike] | None = None, compress: bool = False) -> None:
    write_netcdf_atomic(dataset, path, compress=compress, config=config, inputs=inputs)


def open_anomalies(path: str | Path) -> xr.Dataset:
    path = Path(path)
    try:
        dataset = xr.open_dataset(path)
    except (OSError, ValueError) as error:
        raise GeoxaiError(f"anomaly file {path} cannot be read ({error}): rerun the anomalies rule") from error
    for name in ("sst_anomaly", "ocean_mask"):
        if name not in dataset:
            raise GeoxaiError(f"anomaly file {path} has no variable {name!r}: rerun the anomalies rule")
    if "time_key" not in dataset.coords:
        dataset = dataset.assign_coords(time_key=("time", month_keys(dataset["time"])))
    return dataset
