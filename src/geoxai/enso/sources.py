"""Open a user's gridded SST file and bring it to geoxai's conventions, or say clearly why not.

Files in the wild differ in variable and coordinate names, units (K or degC), latitude order,
longitude convention (-180..180 or 0..360), fill values and calendars. Everything downstream sees
one layout: ``sst(time, lat, lon)`` in degC, latitude ascending, longitude in [0, 360) ascending,
missing values as NaN, and samples identified by the "YYYY-MM" key of their time stamp
(:func:`month_keys`).

A sample need not be a month: seasonal or annual means work too, one sample per calendar month at
most. The months a sample averages come from the file's CF time bounds, else from the config key
``enso.sst.sample_months``; they are kept as the ``covered_months`` coordinate ("YYYY-MM/YYYY-MM",
first and last month), which the anomaly file carries on to the labels step.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from geoxai.core.errors import GeoxaiError
from geoxai.core.months import COVERED, month_index, month_key, month_keys
from geoxai.core.provenance import describe_input

CELSIUS_UNITS = {"degc", "deg c", "degrees_c", "degree_c", "degrees c", "celsius", "degrees celsius",
                 "c", "°c", "deg_c", "degc.", "degree celsius"}
KELVIN_UNITS = {"k", "kelvin", "degk", "deg k", "degrees_k", "degree_k", "kelvins"}

#: Plausible range of a mean SST in degC: catches a units mix-up before it reaches a network.
PLAUSIBLE_CELSIUS = (-5.0, 40.0)

#: Where the SST keys sit in the workflow config; error messages name keys by their full path.
SECTION = "enso.sst"

_CALENDAR_UNITS = re.compile(r"^\s*(months?|years?)\s+since\s+(-?\d+)-(\d{1,2})(?:-(\d{1,2}))?", re.IGNORECASE)


@dataclass(frozen=True)
class SSTFileSpec:
    """How to read one SST file: names in the file, and what its values are."""

    variable: str = "sst"
    time_name: str = "time"
    lat_name: str = "lat"
    lon_name: str = "lon"
    units: str = "auto"
    is_anomaly: bool = False
    #: Calendar months each sample averages, in time order around its stamp, e.g. (11, 12, 1, 2, 3)
    #: for November-March means stamped in January; None: the file's time bounds, if any, say.
    sample_months: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.sample_months is not None:
            check_sample_months(self.sample_months)

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> SSTFileSpec:
        keys = {f for f in cls.__dataclass_fields__}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in section.items() if k in keys})


def check_sample_months(months: tuple[int, ...]) -> None:
    """Consecutive calendar months (wrapping from December to January), each once."""
    key = f"config key {SECTION}.sample_months={list(months)}"
    if not months or len(months) > 12 or any(
        not isinstance(m, int) or isinstance(m, bool) or not 1 <= m <= 12 for m in months
    ):
        raise GeoxaiError(f"{key}: give 1 to 12 calendar months (integers 1..12), e.g. [11, 12, 1, 2, 3]")
    # Placing a sample's months around its stamp needs one unbroken run of months.
    if len(set(months)) != len(months) or any(b != a % 12 + 1 for a, b in itertools.pairwise(months)):
        raise GeoxaiError(
            f"{key}: the months must follow each other in time order, each once (e.g. [11, 12, 1, 2, 3] "
            "for November to March); a sample is one unbroken run of months"
        )


def _describe(dataset: xr.Dataset) -> str:
    variables = ", ".join(sorted(map(str, dataset.data_vars))) or "none"
    coords = ", ".join(sorted(map(str, dataset.coords))) or "none"
    return f"variables: {variables}; coordinates: {coords}"


def _to_celsius(sst: xr.DataArray, declared: str, where: str) -> xr.DataArray:
    units = str(sst.attrs.get("units", "")) if declared == "auto" else declared
    normalized = units.strip().lower()
    if normalized in KELVIN_UNITS:
        sst = sst - 273.15
    elif normalized not in CELSIUS_UNITS:
        raise GeoxaiError(
            f"{where}: cannot tell the units of the SST variable (units={units!r}); set the config "
            f"key {SECTION}.units to 'degC' or 'K'"
        )
    sst.attrs["units"] = "degC"
    return sst


def _check_plausible(sst: xr.DataArray, where: str, units: str) -> None:
    sample = np.asarray(sst.values)
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        raise GeoxaiError(f"{where}: the first sample of the SST field has no valid (non-missing) value")
    median = float(np.median(finite))
    low, high = PLAUSIBLE_CELSIUS
    if not low <= median <= high:
        raise GeoxaiError(
            f"{where}: after reading the SST as {units!r} its median is {median:.1f} degC, which is not "
            f"a sea surface temperature: check the config keys {SECTION}.units (degC or K), "
            f"{SECTION}.variable and {SECTION}.is_anomaly"
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


def _open_dataset(path: Path, time_name: str, where: str) -> xr.Dataset:
    try:
        return xr.open_dataset(path, decode_times=True)
    except (OSError, ValueError) as error:
        problem = error
    try:
        raw = xr.open_dataset(path, decode_times=False)
    except (OSError, ValueError):
        raise GeoxaiError(
            f"{where} cannot be read as NetCDF ({problem}); the file may be truncated or not NetCDF: "
            "delete it and download it again"
        ) from problem
    # The file reads without time decoding: its time units are the problem. "months since" and
    # "years since", common for seasonal and annual files, are decoded here as calendar months.
    if time_name not in raw.variables:
        raise GeoxaiError(f"{where}: its times cannot be decoded ({problem})") from problem
    time = raw[time_name]
    units, calendar = str(time.attrs.get("units", "")), str(time.attrs.get("calendar", "standard"))
    decoded = {time_name: _decode_numeric_times(time.values, units, calendar, where, time_name)}
    bounds, name = _bounds_variable(raw, time_name)
    if bounds is not None:
        decoded[name] = (bounds.dims, _decode_numeric_times(bounds.values, units, calendar, where, name))
    # Decoded times must not keep the units they were decoded from: xarray would refuse to write them.
    attrs = {k: v for k, v in time.attrs.items() if k not in {"units", "calendar"}}
    return raw.assign_coords({time_name: (time.dims, decoded.pop(time_name), attrs)}).assign(decoded)


def _decode_numeric_times(values: np.ndarray, units: str, calendar: str, where: str, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind in "Mm" or values.dtype == object:
        return values
    try:
        flat = xr.coding.times.decode_cf_datetime(values.ravel(), units, calendar)
        return np.asarray(flat).reshape(values.shape)
    except (ValueError, TypeError, OverflowError) as error:
        match = _CALENDAR_UNITS.match(units)
        if not match:
            raise GeoxaiError(
                f"{where}: the times in {name!r} (units {units!r}, calendar {calendar!r}) cannot be "
                f"decoded ({error}); give the time axis CF units such as 'days since 1850-01-01'"
            ) from error
    import cftime

    per_unit = 1 if match.group(1).lower().startswith("month") else 12
    year, month, day = int(match.group(2)), int(match.group(3)), int(match.group(4) or 1)
    decoded = np.empty(values.shape, dtype=object)
    try:
        origin = cftime.datetime(year, month, 1, calendar=calendar)
        start = year * 12 + month - 1 + (day - 1) / origin.daysinmonth
        for position, value in np.ndenumerate(values.astype(float) * per_unit + start):
            whole = math.floor(value + 1e-9)
            first = cftime.datetime(whole // 12, whole % 12 + 1, 1, calendar=calendar)
            decoded[position] = first + _dt.timedelta(days=max(value - whole, 0.0) * first.daysinmonth)
    except (ValueError, OverflowError) as error:
        raise GeoxaiError(
            f"{where}: the times in {name!r} (units {units!r}, calendar {calendar!r}) cannot be "
            f"decoded as calendar months ({error})"
        ) from error
    return decoded


def _bounds_variable(dataset: xr.Dataset, time_name: str) -> tuple[xr.DataArray | None, str | None]:
    """The CF bounds of the time axis: the variable its ``bounds`` attribute names, else a
    conventionally named one (``time_bnds``, ``time_bounds``) along time."""
    time = dataset[time_name]
    named = time.attrs.get("bounds") or time.encoding.get("bounds")
    candidates = [named] if named else []
    candidates += [f"{time_name}_bnds", f"{time_name}_bounds", "time_bnds", "time_bounds"]
    for name in dict.fromkeys(candidates):
        if name in dataset.variables and time_name in dataset[name].dims and dataset[name].ndim == 2:
            return dataset[name], name
    return None, None


def _month_positions(times: xr.DataArray) -> np.ndarray:
    """Each time as months since year 0, with the fraction of its month elapsed."""
    dt = times.dt
    day = (dt.day - 1) + (dt.hour + dt.minute / 60 + dt.second / 3600) / 24
    return (dt.year * 12 + dt.month - 1 + day / dt.days_in_month).values.astype(float)


def _coverage_from_bounds(
    dataset: xr.Dataset, time_name: str, where: str
) -> tuple[np.ndarray, np.ndarray, str] | None:
    """First and last month (month indices) of every sample from the time bounds, or None.

    A month counts when at least half of it lies within the bounds: stamps and bounds at the
    middle of a month or a day off (end-of-day bounds, 31 Mar 23:59) still give whole months.
    """
    bounds, name = _bounds_variable(dataset, time_name)
    if bounds is None:
        return None
    bounds = bounds.transpose(time_name, ...)
    if bounds.shape[1] != 2:
        raise GeoxaiError(
            f"{where}: the time bounds {name!r} have shape {bounds.shape}; CF bounds are (time, 2)"
        )
    if bounds.dtype.kind not in "M" and bounds.dtype != object:
        time = dataset[time_name]
        units = str(bounds.attrs.get("units") or time.encoding.get("units") or time.attrs.get("units", ""))
        calendar = str(bounds.attrs.get("calendar") or time.encoding.get("calendar", "standard"))
        bounds = bounds.copy(data=_decode_numeric_times(bounds.values, units, calendar, where, name))
    ends = [_month_positions(bounds.isel({bounds.dims[1]: i})) for i in (0, 1)]
    low, high = np.minimum(*ends), np.maximum(*ends)
    if not np.all(np.isfinite(low) & np.isfinite(high)):
        raise GeoxaiError(f"{where}: the time bounds {name!r} have missing values")
    first, last = np.ceil(low - 0.5), np.floor(high - 0.5)
    # Bounds shorter than half a month (or a point): the month holding their middle.
    short = first > last
    middle = np.floor((low + high) / 2)
    first[short], last[short] = middle[short], middle[short]
    return first.astype(int), last.astype(int), name


def _coverage_from_config(stamps: np.ndarray, months: tuple[int, ...], where: str) -> tuple[np.ndarray, np.ndarray]:
    """First and last month of every sample: ``months`` placed so the stamp's month is among them."""
    place = {m: i for i, m in enumerate(months)}
    calendar_month = stamps % 12 + 1
    outside = [i for i, m in enumerate(calendar_month) if int(m) not in place]
    if outside:
        stamp = month_key(int(stamps[outside[0]]))
        raise GeoxaiError(
            f"{where}: the sample stamped {stamp} lies in calendar month {int(calendar_month[outside[0]])}, "
            f"which is not in config key {SECTION}.sample_months={list(months)} ({len(outside)} such "
            "sample(s)): each sample's months are placed around its time stamp, so they must include it"
        )
    first = stamps - np.array([place[int(m)] for m in calendar_month])
    return first, first + len(months) - 1


def sample_coverage(
    dataset: xr.Dataset, time_name: str, stamps: np.ndarray, sample_months: tuple[int, ...] | None, where: str
) -> np.ndarray | None:
    """"YYYY-MM/YYYY-MM" (first/last month averaged) per sample, or None when nothing says.

    The file's time bounds win; ``sample_months`` fills in for files without them and must agree
    with them where both exist, since a silent choice between the two would label wrong months.
    """
    from_bounds = _coverage_from_bounds(dataset, time_name, where)
    from_config = None if sample_months is None else _coverage_from_config(stamps, sample_months, where)
    if from_bounds is not None:
        first, last, name = from_bounds
        if from_config is not None:
            differ = np.flatnonzero((from_config[0] != first) | (from_config[1] != last))
            if differ.size:
                i = int(differ[0])
                raise GeoxaiError(
                    f"{where}: the time bounds {name!r} say the sample stamped {month_key(int(stamps[i]))} "
                    f"covers {month_key(int(first[i]))}..{month_key(int(last[i]))}, but config key "
                    f"{SECTION}.sample_months={list(sample_months)} says "
                    f"{month_key(int(from_config[0][i]))}..{month_key(int(from_config[1][i]))}: remove "
                    "the key (the bounds are used) or correct it"
                )
    elif from_config is not None:
        first, last = from_config
    else:
        return None
    return np.array([f"{month_key(int(a))}/{month_key(int(b))}" for a, b in zip(first, last)])


def normalize_grid(field: xr.DataArray, path: Path | str = "input") -> xr.DataArray:
    """Latitude ascending and longitude in [0, 360) ascending, whatever the input's conventions."""
    lon = field["lon"].values
    if np.any(lon < 0) or np.any(lon >= 360):
        field = field.assign_coords(lon=np.mod(lon, 360.0))
    field = field.sortby("lon").sortby("lat")
    if np.unique(field["lon"].values).size != field.sizes["lon"]:
        raise GeoxaiError(f"{path}: longitudes repeat after wrapping them to 0..360; the grid is not regular")
    return field


def open_sst(
    path: str | Path, spec: SSTFileSpec = SSTFileSpec(), lat_chunk: int | None = 30
) -> xr.DataArray:
    """Open ``path`` lazily (dask) and return ``sst(time, lat, lon)`` in geoxai's conventions.

    With ``spec.is_anomaly`` the values are taken as anomalies (K == degC differences) and are not
    checked for a plausible absolute temperature. The result has a ``covered_months`` coordinate
    when the time bounds or ``spec.sample_months`` say which months each sample averages; every
    other non-dimension coordinate of the file is dropped.
    """
    path = Path(path)
    where = describe_input(path, f"{SECTION}.url")
    if not path.exists():
        raise GeoxaiError(f"SST file {where} does not exist: check the config key {SECTION}.url")
    dataset = _open_dataset(path, spec.time_name, where)
    if spec.variable not in dataset.data_vars:
        raise GeoxaiError(
            f"{where} has no variable {spec.variable!r} (config key {SECTION}.variable); {_describe(dataset)}"
        )
    sst = dataset[spec.variable]
    storage_rows = _storage_chunk(sst, spec.lat_name)
    names = {"time": spec.time_name, "lat": spec.lat_name, "lon": spec.lon_name}
    for role, name in names.items():
        if name not in sst.dims:
            raise GeoxaiError(
                f"{where}: variable {spec.variable!r} has dimensions {tuple(map(str, sst.dims))}, none named "
                f"{name!r} (config key {SECTION}.{role}_name); {_describe(dataset)}"
            )
    sst = sst.rename({v: k for k, v in names.items() if v != k})
    extra = [d for d in sst.dims if d not in names]
    for dim in extra:
        if sst.sizes[dim] != 1:
            raise GeoxaiError(
                f"{where}: variable {spec.variable!r} has an extra dimension {dim!r} of size "
                f"{sst.sizes[dim]}; select one level before using it"
            )
        sst = sst.isel({dim: 0}, drop=True)
    # Auxiliary coordinates (forecast_period, depth, height, bounds listed as coordinates) mean
    # nothing downstream, and xarray would copy them into every file written from this field.
    sst = sst.drop_vars([c for c in sst.coords if c not in names])
    # The bounds variable stays behind: an attribute naming it would point nowhere in the outputs.
    for mapping in (sst["time"].attrs, sst["time"].encoding):
        mapping.pop("bounds", None)

    keys = month_keys(sst["time"])
    stamps = np.array([month_index(k) for k in keys], dtype=int)
    covered = sample_coverage(dataset, spec.time_name, stamps, spec.sample_months, where)
    order = np.argsort(stamps, kind="stable")
    if np.any(order != np.arange(order.size)):
        sst, keys, stamps = sst.isel(time=order), keys[order], stamps[order]
        covered = None if covered is None else covered[order]
    repeated = np.flatnonzero(np.diff(stamps) == 0)
    if repeated.size:
        shared = sorted(set(keys[repeated].tolist()))
        raise GeoxaiError(
            f"{where}: several samples are stamped in the same month {shared[0]} ({len(shared)} such "
            "month(s)): geoxai tells samples apart by the year and month of their time stamp, so give "
            "at most one sample per month (monthly, seasonal or annual means)"
        )
    sst = normalize_grid(sst.transpose("time", "lat", "lon"), where)
    # The first sample, read alone (one slice, cheap): units check and the ocean mask.
    first = sst.isel(time=0).load()
    if not spec.is_anomaly:
        first = _to_celsius(first, spec.units, where)
        _check_plausible(first, where, spec.units)
    # A block of latitudes with the whole record per dask chunk: no step ever holds the whole file.
    sst = sst.chunk({"time": -1, "lat": aligned_rows(lat_chunk, storage_rows), "lon": -1})
    if spec.is_anomaly:
        sst.attrs["units"] = "K"
    else:
        sst = _to_celsius(sst, spec.units, where)
    sst = sst.assign_coords(ocean_mask=first.notnull().astype("int8").drop_vars("time"))
    if covered is not None:
        sst = sst.assign_coords({COVERED: ("time", covered, {
            "long_name": "first and last month the sample averages (inclusive)",
            "comment": "ISO 8601 interval of months, YYYY-MM/YYYY-MM",
        })})
    return sst.astype("float32").rename("sst")
