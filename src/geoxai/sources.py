"""Open a user's gridded SST file and bring it to geoxai's conventions, or say clearly why not.

Files in the wild differ in variable and coordinate names, units (K or degC), latitude order,
longitude convention (-180..180 or 0..360), fill values and calendars. Everything downstream sees
one layout: ``sst(time, lat, lon)`` in degC, latitude ascending, longitude in [0, 360) ascending,
missing values as NaN, and months identified by "YYYY-MM" keys (:func:`month_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.errors import GeoxaiError

CELSIUS_UNITS = {"degc", "deg c", "degrees_c", "degree_c", "degrees c", "celsius", "degrees celsius",
                 "c", "°c", "deg_c", "degc.", "degree celsius"}
KELVIN_UNITS = {"k", "kelvin", "degk", "deg k", "degrees_k", "degree_k", "kelvins"}

#: Plausible range of a monthly SST in degC: catches a units mix-up before it reaches a network.
PLAUSIBLE_CELSIUS = (-5.0, 40.0)


@dataclass(frozen=True)
class SSTFileSpec:
    """How to read one SST file: names in the file, and what its values are."""

    variable: str = "sst"
    time_name: str = "time"
    lat_name: str = "lat"
    lon_name: str = "lon"
    units: str = "auto"
    is_anomaly: bool = False

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> SSTFileSpec:
        keys = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in section.items() if k in keys})


def month_keys(time: xr.DataArray) -> np.ndarray:
    """"YYYY-MM" for every time stamp: numpy datetimes, cftime (e.g. year 0401), or strings that
    already start with the key (the sample coordinate of relevance files)."""
    values = np.asarray(time.values)
    if values.size and isinstance(values.flat[0], str | bytes):
        return np.array([(v.decode() if isinstance(v, bytes) else str(v))[:7] for v in values])
    years = time.dt.year.values
    months = time.dt.month.values
    return np.array([f"{int(y):04d}-{int(m):02d}" for y, m in zip(years, months)])


def _describe(dataset: xr.Dataset) -> str:
    variables = ", ".join(sorted(map(str, dataset.data_vars))) or "none"
    coords = ", ".join(sorted(map(str, dataset.coords))) or "none"
    return f"variables: {variables}; coordinates: {coords}"


def _to_celsius(sst: xr.DataArray, declared: str, path: Path) -> xr.DataArray:
    units = str(sst.attrs.get("units", "")) if declared == "auto" else declared
    normalized = units.strip().lower()
    if normalized in KELVIN_UNITS:
        sst = sst - 273.15
    elif normalized not in CELSIUS_UNITS:
        raise GeoxaiError(
            f"{path}: cannot tell the units of the SST variable (units={units!r}); set the config "
            "key `sst.units` to 'degC' or 'K'"
        )
    sst.attrs["units"] = "degC"
    return sst


def _check_plausible(sst: xr.DataArray, path: Path, units: str) -> None:
    sample = np.asarray(sst.values)
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        raise GeoxaiError(f"{path}: the first month of the SST field has no valid (non-missing) value")
    median = float(np.median(finite))
    low, high = PLAUSIBLE_CELSIUS
    if not low <= median <= high:
        raise GeoxaiError(
            f"{path}: after reading the SST as {units!r} its median is {median:.1f} degC, which is not "
            "a sea surface temperature: check the config key `sst.units` (degC or K) and `sst.variable`"
        )


def _storage_chunk(variable: xr.DataArray, dim: str) -> int | None:
    """Rows per on-disk chunk along ``dim`` (NetCDF-4 chunking), or None for contiguous files."""
    sizes = variable.encoding.get("chunksizes")
    if not sizes or dim not in variable.dims:
        return None
    return int(sizes[variable.dims.index(dim)])


def aligned_rows(rows: int | None, storage_rows: int | None) -> int:
    """Latitude rows per dask block, rounded up to whole on-disk chunks when the file is chunked:
    a block that cuts a compressed chunk makes every neighbouring block decompress it again."""
    if not rows:
        return -1
    if storage_rows and storage_rows > 1:
        return -(-rows // storage_rows) * storage_rows
    return rows


def normalize_grid(field: xr.DataArray, path: Path | str = "input") -> xr.DataArray:
    """Latitude ascending and longitude in [0, 360) ascending, whatever the input's conventions."""
    lon = field["lon"].values
    if np.any(lon < 0) or np.any(lon >= 360):
        field = field.assign_coords(lon=np.mod(lon, 360.0))
    field = field.sortby("lon").sortby("lat")
    if np.unique(field["lon"].values).size != field.sizes["lon"]:
        raise GeoxaiError(f"{path}: longitudes repeat after wrapping them to 0..360; the grid is not regular")
    return field


def open_sst(path: str | Path, spec: SSTFileSpec = SSTFileSpec(), lat_chunk: int | None = 30) -> xr.DataArray:
    """Open ``path`` lazily (dask) and return ``sst(time, lat, lon)`` in geoxai's conventions.

    With ``spec.is_anomaly`` the values are taken as anomalies (K == degC differences) and are not
    checked for a plausible absolute temperature.
    """
    path = Path(path)
    if not path.exists():
        raise GeoxaiError(f"SST file {path} does not exist: check the config key `sst.url`/path")
    try:
        dataset = xr.open_dataset(path, decode_times=True)
    except (OSError, ValueError) as error:
        raise GeoxaiError(
            f"{path} cannot be read as NetCDF ({error}); the file may be truncated or not NetCDF: "
            "delete it and download it again"
        ) from error
    if spec.variable not in dataset.data_vars:
        raise GeoxaiError(
            f"{path} has no variable {spec.variable!r} (config key `sst.variable`); {_describe(dataset)}"
        )
    sst = dataset[spec.variable]
    storage_rows = _storage_chunk(sst, spec.lat_name)
    names = {"time": spec.time_name, "lat": spec.lat_name, "lon": spec.lon_name}
    for role, name in names.items():
        if name not in sst.dims:
            raise GeoxaiError(
                f"{path}: variable {spec.variable!r} has dimensions {tuple(map(str, sst.dims))}, none named "
                f"{name!r} (config key `sst.{role}_name`); {_describe(dataset)}"
            )
    sst = sst.rename({v: k for k, v in names.items() if v != k})
    extra = [d for d in sst.dims if d not in names]
    for dim in extra:
        if sst.sizes[dim] != 1:
            raise GeoxaiError(
                f"{path}: variable {spec.variable!r} has an extra dimension {dim!r} of size "
                f"{sst.sizes[dim]}; select one level before using it"
            )
        sst = sst.isel({dim: 0}, drop=True)
    sst = normalize_grid(sst.transpose("time", "lat", "lon"), path)
    # The first month, read alone (one slice, cheap): units check and the ocean mask.
    first = sst.isel(time=0).load()
    if not spec.is_anomaly:
        first = _to_celsius(first, spec.units, path)
        _check_plausible(first, path, spec.units)
    # A block of latitudes with the whole record per dask chunk: no step ever holds the whole file.
    sst = sst.chunk({"time": -1, "lat": aligned_rows(lat_chunk, storage_rows), "lon": -1})
    if spec.is_anomaly:
        sst.attrs["units"] = "K"
    else:
        sst = _to_celsius(sst, spec.units, path)
    sst = sst.assign_coords(ocean_mask=first.notnull().astype("int8").drop_vars("time"))
    return sst.astype("float32").rename("sst")
